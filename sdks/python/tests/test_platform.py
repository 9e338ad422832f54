"""The Python SDK against the real platform.

Run by ``sdks/test/sdks.e2e-spec.ts``, which boots the platform and passes
``CLOUD_API_BASE_URL``, ``CLOUD_API_KEY`` (an API key secret), ``CLOUD_API_PROJECT_ID``,
``CLOUD_API_EMAIL`` (its user), ``CLOUD_API_MEMBER_EMAIL`` (another user),
``CLOUD_API_INVITEE_EMAIL`` and ``CLOUD_API_INVITEE_KEY`` (a third user, and a key of theirs)
and the ``CLOUD_API_OAUTH_*`` values of an authorization already granted in a browser.
"""

import datetime
import os
import time
import unittest

from cloud_api import (
    ApiError,
    AuthenticationError,
    CloudApi,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OAuth,
    OAuthError,
    RateLimitError,
)

from .faulty import FaultyServer, error_answer

ENV = os.environ
BASE_URL = ENV.get("CLOUD_API_BASE_URL")


def iso(seconds_from_now):
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@unittest.skipUnless(BASE_URL, "needs the platform: CLOUD_API_BASE_URL")
class Platform(unittest.TestCase):
    def setUp(self):
        self.api = CloudApi(api_key=ENV["CLOUD_API_KEY"], base_url=BASE_URL)
        self.project_id = ENV["CLOUD_API_PROJECT_ID"]

    def test_seed_create_a_project(self):
        project = self.api.projects.create(name="edge-ingest", region="us-east")
        self.assertRegex(project["id"], r"^prj_")
        self.assertEqual((project["name"], project["region"]), ("edge-ingest", "us-east"))
        self.assertRegex(project["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(self.api.last_response.status, 201)
        self.assertRegex(self.api.last_response.request_id, r"^req_")
        self.assertEqual(self.api.projects.retrieve(project["id"]), project)

    def test_seed_list_projects_page_by_page(self):
        self.api.projects.create(name="analytics", region="eu-central")
        page = self.api.projects.list(limit=1)
        self.assertEqual(len(page.data), 1)
        self.assertTrue(page.has_more)
        ids = [p["id"] for p in page.auto_paging_iter()]
        self.assertIn(self.project_id, ids)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertGreaterEqual(len(ids), 2)

    def test_seed_issue_a_key_and_call_with_it(self):
        key = self.api.keys.create(project_id=self.project_id, name="py-ci")
        self.assertRegex(key["secret"], r"^sk_live_")
        with CloudApi(api_key=key["secret"], base_url=BASE_URL) as with_key:
            self.assertIn(self.project_id, [p["id"] for p in with_key.projects.list().data])
        listed = list(self.api.keys.list(project_id=self.project_id, limit=1).auto_paging_iter())
        mine = [k for k in listed if k["id"] == key["id"]][0]
        self.assertEqual(mine["redacted"], "sk_live_…" + key["secret"][-4:])
        self.assertNotIn("secret", mine)
        rotated = self.api.keys.rotate(key["id"], grace_period_seconds=0)
        self.assertNotEqual(rotated["secret"], key["secret"])
        self.assertIsNotNone(self.api.keys.revoke(key["id"])["revoked_at"])

    def test_seed_read_usage(self):
        usage = self.api.usage.retrieve(
            project_id=self.project_id, start=iso(-3600), end=iso(60), granularity="hour"
        )
        self.assertEqual(usage["project_id"], self.project_id)
        self.assertIsInstance(usage["total_requests"], int)
        self.assertIsInstance(usage["data"], list)

    def test_typed_404_with_code_and_request_id(self):
        with self.assertRaises(NotFoundError) as caught:
            self.api.projects.retrieve("prj_00000000000000000000")
        error = caught.exception
        self.assertIsInstance(error, ApiError)
        self.assertEqual((error.status, error.code), (404, "project_not_found"))
        self.assertRegex(error.request_id, r"^req_")
        self.assertIn("prj_00000000000000000000", error.message)

    def test_400_names_the_param_and_a_bad_key_is_401(self):
        with self.assertRaises(InvalidRequestError) as caught:
            self.api.projects.create(name="", region="us-east")
        self.assertEqual((caught.exception.code, caught.exception.param), ("invalid_request", "name"))
        with self.assertRaises(AuthenticationError):
            CloudApi(api_key="sk_live_nope", base_url=BASE_URL).projects.list()

    def test_invitations_invite_list_revoke_accept(self):
        invitee_email = ENV["CLOUD_API_INVITEE_EMAIL"]
        invitation = self.api.members.add(self.project_id, email=invitee_email, role="developer")
        self.assertEqual(self.api.last_response.status, 201)
        fields = ("project_id", "email", "role", "status")
        self.assertEqual(
            tuple(invitation[f] for f in fields),
            (self.project_id, invitee_email, "developer", "pending"),
        )
        stranger = "py-nobody-%d@example.com" % int(time.time() * 1000)
        to_revoke = self.api.members.add(self.project_id, email=stranger, role="viewer")
        pending = self.api.invitations.list_for_project(self.project_id, limit=1)
        ids = [i["id"] for i in pending.auto_paging_iter()]
        self.assertIn(invitation["id"], ids)
        self.assertIn(to_revoke["id"], ids)
        revoked = self.api.invitations.revoke(self.project_id, to_revoke["id"])
        self.assertEqual((revoked["id"], revoked["status"]), (to_revoke["id"], "revoked"))
        after = self.api.invitations.list_for_project(self.project_id).auto_paging_iter()
        self.assertNotIn(to_revoke["id"], [i["id"] for i in after])

        with CloudApi(api_key=ENV["CLOUD_API_INVITEE_KEY"], base_url=BASE_URL) as invitee:
            mine = [i["id"] for i in invitee.invitations.list().auto_paging_iter()]
            self.assertEqual(mine, [invitation["id"]])
            accepted = invitee.invitations.accept(invitation["id"])
            self.assertEqual((accepted["id"], accepted["status"]), (invitation["id"], "accepted"))
        members = {m["email"]: m for m in self.api.members.list(self.project_id).auto_paging_iter()}
        self.assertEqual(members[invitee_email]["role"], "developer")

        joined = members[invitee_email]
        updated = self.api.members.update(self.project_id, joined["user_id"], role="viewer")
        self.assertEqual(updated, dict(joined, role="viewer"))
        # The key's user is the project's last owner: it cannot step down.
        me = members[ENV["CLOUD_API_EMAIL"]]
        with self.assertRaises(ConflictError) as caught:
            self.api.members.update(self.project_id, me["user_id"], role="admin")
        self.assertEqual((caught.exception.code, caught.exception.param), ("conflict", "role"))

    def test_every_other_resource(self):
        self.assertEqual(self.api.user.retrieve()["email"], ENV["CLOUD_API_EMAIL"])
        regions = [r["id"] for r in self.api.regions.list().data]
        self.assertIn("eu-central", regions)
        member_email = ENV["CLOUD_API_MEMBER_EMAIL"]
        added = self.api.members.add(self.project_id, email=member_email, role="viewer")
        self.assertEqual((added["email"], added["role"]), (member_email, "viewer"))
        members = list(self.api.members.list(self.project_id, limit=1).auto_paging_iter())
        self.assertIn(ENV["CLOUD_API_EMAIL"], [m["email"] for m in members])
        request_id = self.api.last_response.request_id
        ticket = self.api.support_tickets.create(
            subject="A 404 I did not expect", body="See the request.", request_ids=[request_id]
        )
        self.assertEqual(ticket["request_ids"], [request_id])
        self.assertEqual(self.api.support_tickets.retrieve(ticket["id"]), ticket)
        self.assertIn(ticket["id"], [t["id"] for t in self.api.support_tickets.list().data])
        client = self.api.oauth_clients.create(
            name="Py app", redirect_uris=["https://app.example.com/callback"]
        )
        self.assertIn("client_secret", client)
        self.assertIn(client["id"], [c["id"] for c in self.api.oauth_clients.list().data])
        self.assertEqual(CloudApi(base_url=BASE_URL).openapi.retrieve()["openapi"], "3.1.0")
        project = self.api.projects.create(name="to-rename", region="us-east")
        self.assertEqual(self.api.projects.update(project["id"], name="renamed")["name"], "renamed")
        self.assertEqual(
            self.api.projects.delete(project["id"]), {"id": project["id"], "deleted": True}
        )

    def test_429_retry_waits_for_retry_after(self):
        key = self.api.keys.create(project_id=self.project_id, name="py-slow", rate_limit=2)
        once = CloudApi(api_key=key["secret"], base_url=BASE_URL, max_retries=0)
        limited = None
        for _ in range(10):
            try:
                once.regions.list()
            except RateLimitError as error:
                limited = error
                break
        self.assertIsNotNone(limited)
        self.assertEqual(limited.code, "rate_limited")
        self.assertGreaterEqual(limited.retry_after, 1)
        self.assertEqual((limited.rate_limit.limit, limited.rate_limit.remaining), (2, 0))
        self.assertGreaterEqual(once.rate_limit.reset, int(time.time()))

        retries = []
        patient = CloudApi(api_key=key["secret"], base_url=BASE_URL, on_retry=retries.append)
        started = time.monotonic()
        for _ in range(5):
            page = patient.regions.list()
            if retries:
                break
        self.assertTrue(page.data)
        self.assertTrue(retries)
        first = retries[0]
        self.assertIsInstance(first.error, RateLimitError)
        self.assertEqual(first.delay, first.error.retry_after)
        self.assertGreaterEqual(time.monotonic() - started, first.delay)

    def test_dropped_connection_and_503s_then_the_real_answer(self):
        with FaultyServer(lambda n, s: "drop" if n == 1 else "proxy", BASE_URL) as server:
            through = CloudApi(api_key=ENV["CLOUD_API_KEY"], base_url=server.url)
            self.assertEqual(through.user.retrieve()["email"], ENV["CLOUD_API_EMAIL"])
            self.assertEqual(len(server.seen), 2)
        plan = lambda n, s: error_answer(503, "service_unavailable") if n <= 2 else "proxy"
        with FaultyServer(plan, BASE_URL) as server:
            through = CloudApi(api_key=ENV["CLOUD_API_KEY"], base_url=server.url)
            self.assertTrue(through.regions.list().data)
            self.assertEqual(len(server.seen), 3)

    def test_lost_post_response_makes_exactly_one_project(self):
        name = "py-lost-response-%d" % time.time_ns()
        cut_first = lambda n, s: "complete-then-cut" if n == 1 else "proxy"
        with FaultyServer(cut_first, BASE_URL) as server:
            through = CloudApi(api_key=ENV["CLOUD_API_KEY"], base_url=server.url)
            project = through.projects.create(name=name, region="us-east")
            self.assertEqual(len(server.seen), 2)
            keys = {s.headers["idempotency-key"] for s in server.seen}
            self.assertEqual(len(keys), 1)
            self.assertTrue(through.last_response.replayed)
        same = [p["id"] for p in self.api.projects.list(limit=100).auto_paging_iter() if p["name"] == name]
        self.assertEqual(same, [project["id"]])

    def test_lost_key_creation_response_one_key_and_its_secret(self):
        name = "py-lost-key-%d" % time.time_ns()
        cut_first = lambda n, s: "complete-then-cut" if n == 1 else "proxy"
        with FaultyServer(cut_first, BASE_URL) as server:
            through = CloudApi(api_key=ENV["CLOUD_API_KEY"], base_url=server.url)
            key = through.keys.create(project_id=self.project_id, name=name)
        self.assertRegex(key["secret"], r"^sk_live_")
        keys = self.api.keys.list(project_id=self.project_id, limit=100).auto_paging_iter()
        self.assertEqual([k["id"] for k in keys if k["name"] == name], [key["id"]])
        with_it = CloudApi(api_key=key["secret"], base_url=BASE_URL)
        self.assertEqual(with_it.user.retrieve()["email"], ENV["CLOUD_API_EMAIL"])


@unittest.skipUnless(ENV.get("CLOUD_API_OAUTH_CALLBACK"), "needs an authorization callback")
class OAuthFlow(unittest.TestCase):
    def test_exchange_call_refresh_revoke(self):
        oauth = OAuth(
            issuer=ENV["CLOUD_API_OAUTH_ISSUER"],
            client_id=ENV["CLOUD_API_OAUTH_CLIENT_ID"],
            client_secret=ENV["CLOUD_API_OAUTH_CLIENT_SECRET"],
            redirect_uri=ENV["CLOUD_API_OAUTH_REDIRECT_URI"],
        )
        callback = ENV["CLOUD_API_OAUTH_CALLBACK"]
        with self.assertRaises(OAuthError):
            oauth.code_from_callback(callback, "another state")
        code = oauth.code_from_callback(callback, ENV["CLOUD_API_OAUTH_STATE"])
        tokens = oauth.exchange_code(code, ENV["CLOUD_API_OAUTH_VERIFIER"])
        self.assertEqual(tokens["token_type"], "Bearer")
        with CloudApi(access_token=tokens["access_token"], base_url=BASE_URL) as as_user:
            self.assertEqual(as_user.user.retrieve()["email"], ENV["CLOUD_API_EMAIL"])
        refreshed = oauth.refresh(tokens["refresh_token"])
        self.assertNotEqual(refreshed["access_token"], tokens["access_token"])
        oauth.revoke(refreshed["refresh_token"], "refresh_token")
        with self.assertRaises(OAuthError) as caught:
            oauth.refresh(refreshed["refresh_token"])
        self.assertEqual(caught.exception.error, "invalid_grant")


class OAuthOffline(unittest.TestCase):
    def test_authorization_url_has_pkce_and_state(self):
        import urllib.parse

        from cloud_api import pkce_challenge

        oauth = OAuth("https://auth.example", "cli_1", "https://app.example.com/callback")
        request = oauth.authorization_url(["openid", "projects:read"])
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
        self.assertEqual(query["code_challenge_method"], "S256")
        self.assertEqual(query["code_challenge"], pkce_challenge(request.code_verifier))
        self.assertEqual(query["state"], request.state)
        self.assertEqual(query["scope"], "openid projects:read")


if __name__ == "__main__":
    unittest.main()
