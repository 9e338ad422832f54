"""The Python SDK's retry policy, pagination and headers against a local faulty server."""

import json
import time
import unittest

from cloud_api import (
    ApiConnectionError,
    CloudApi,
    ConflictError,
    IdempotencyError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    parse_rate_limit,
    parse_retry_after,
)

from .faulty import FaultyServer, error_answer

PROJECT = {"id": "prj_1", "name": "edge-ingest", "region": "us-east", "created_at": "x"}
OK = (200, {"Request-Id": "req_ok"}, PROJECT)


def page(ids, more):
    return (200, {}, {"data": [dict(PROJECT, id=i) for i in ids], "has_more": more})


class Case(unittest.TestCase):
    def serve(self, plan, **options):
        server = FaultyServer(lambda n, seen: plan(n))
        self.addCleanup(server.close)
        self.retries = []
        api = CloudApi(
            api_key="sk_test", base_url=server.url, on_retry=self.retries.append, **options
        )
        return api, server


class Retries(Case):
    def test_dropped_connection_then_success(self):
        api, server = self.serve(lambda n: "drop" if n == 1 else OK)
        self.assertEqual(api.projects.retrieve("prj_1"), PROJECT)
        self.assertEqual(len(server.seen), 2)
        self.assertEqual(api.last_response.attempts, 2)
        self.assertEqual(api.last_response.request_id, "req_ok")

    def test_503_twice_then_success_one_idempotency_key(self):
        api, server = self.serve(
            lambda n: error_answer(503, "service_unavailable") if n <= 2 else (201, {}, PROJECT)
        )
        self.assertEqual(api.projects.create(name="edge-ingest", region="us-east"), PROJECT)
        self.assertEqual([s.method for s in server.seen], ["POST"] * 3)
        keys = {s.headers["idempotency-key"] for s in server.seen}
        self.assertEqual(len(keys), 1)
        self.assertRegex(keys.pop(), r"^[0-9a-f-]{36}$")
        self.assertEqual([r.error.code for r in self.retries], ["service_unavailable"] * 2)

    def test_gives_up_after_max_retries(self):
        api, server = self.serve(lambda n: error_answer(500, "internal_error"))
        with self.assertRaises(ServerError) as caught:
            api.regions.list()
        self.assertEqual(caught.exception.status, 500)
        self.assertEqual(caught.exception.request_id, "req_faulty")
        self.assertEqual(len(server.seen), 3)

    def test_max_retries_zero(self):
        api, server = self.serve(lambda n: error_answer(503, "upstream_timeout"), max_retries=0)
        with self.assertRaises(ServerError):
            api.user.retrieve()
        self.assertEqual(len(server.seen), 1)

    def test_no_other_4xx_is_retried(self):
        for status, code, klass in [
            (400, "invalid_request", InvalidRequestError),
            (404, "project_not_found", NotFoundError),
            (409, "conflict", ConflictError),
            (422, "idempotency_key_reused", IdempotencyError),
        ]:
            with self.subTest(code=code):
                api, server = self.serve(lambda n, s=status, c=code: error_answer(s, c))
                with self.assertRaises(klass) as caught:
                    api.projects.create(name="a", region="us-east")
                self.assertEqual(caught.exception.code, code)
                self.assertEqual(len(server.seen), 1)

    def test_idempotency_key_in_use_is_retried_with_the_same_key(self):
        api, server = self.serve(
            lambda n: error_answer(409, "idempotency_key_in_use", {"Retry-After": "0"})
            if n == 1
            else OK
        )
        api.keys.revoke("key_1", idempotency_key="my-own-key")
        self.assertEqual([s.headers["idempotency-key"] for s in server.seen], ["my-own-key"] * 2)

    def test_429_waits_for_retry_after(self):
        api, server = self.serve(
            lambda n: error_answer(429, "rate_limited", {"Retry-After": "1"}) if n == 1 else OK
        )
        started = time.monotonic()
        api.projects.retrieve("prj_1")
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(len(self.retries), 1)
        self.assertIsInstance(self.retries[0].error, RateLimitError)
        self.assertEqual(self.retries[0].delay, 1.0)

    def test_a_retry_after_past_the_overall_timeout_is_raised_at_once(self):
        api, server = self.serve(
            lambda n: error_answer(429, "rate_limited", {"Retry-After": "30"}), total_timeout=5
        )
        with self.assertRaises(RateLimitError) as caught:
            api.projects.retrieve("prj_1")
        self.assertEqual(caught.exception.retry_after, 30)
        self.assertEqual(len(server.seen), 1)

    def test_an_attempt_that_times_out_is_retried(self):
        api, server = self.serve(lambda n: "hang" if n == 1 else OK, timeout=0.3)
        self.assertEqual(api.projects.retrieve("prj_1"), PROJECT)
        self.assertEqual(len(server.seen), 2)
        self.assertEqual(self.retries[0].error.code, "timeout")

    def test_no_answer_at_all(self):
        api, server = self.serve(lambda n: "drop")
        with self.assertRaises(ApiConnectionError) as caught:
            api.projects.retrieve("prj_1")
        self.assertEqual((caught.exception.status, caught.exception.code), (0, "connection_error"))
        self.assertEqual(len(server.seen), 3)


class Requests(Case):
    def test_credential_paths_and_queries(self):
        api, server = self.serve(lambda n: OK)
        api.members.remove("prj_1", "usr_2")
        api.keys.list(project_id="prj_1", limit=5)
        api.members.update("prj_1", "usr_2", role="admin")
        first, second, third = server.seen
        self.assertEqual((first.method, first.path), ("DELETE", "/v1/projects/prj_1/members/usr_2"))
        self.assertEqual(first.headers["authorization"], "Bearer sk_test")
        self.assertNotIn("idempotency-key", first.headers)
        self.assertEqual(second.path, "/v1/keys?limit=5&project_id=prj_1")
        self.assertEqual((third.method, third.path), ("PATCH", "/v1/projects/prj_1/members/usr_2"))
        self.assertEqual(json.loads(third.body), {"role": "admin"})
        self.assertNotIn("idempotency-key", third.headers)
        with self.assertRaises(TypeError):
            api.projects.retrieve("")

    def test_auto_paging_iter_walks_every_page(self):
        pages = {1: page(["prj_a", "prj_b"], True), 2: page(["prj_c"], True), 3: page([], False)}
        api, server = self.serve(lambda n: pages[n])
        first = api.projects.list(limit=2)
        self.assertEqual([p["id"] for p in first.data], ["prj_a", "prj_b"])
        self.assertTrue(first.has_more)
        self.assertEqual([p["id"] for p in first.auto_paging_iter()], ["prj_a", "prj_b", "prj_c"])
        self.assertEqual(
            [s.path for s in server.seen],
            [
                "/v1/projects?limit=2",
                "/v1/projects?limit=2&starting_after=prj_b",
                "/v1/projects?limit=2&starting_after=prj_c",
            ],
        )

    def test_context_manager_closes(self):
        api, _ = self.serve(lambda n: OK)
        with api as inside:
            inside.projects.retrieve("prj_1")
        with self.assertRaises(RuntimeError):
            api.projects.retrieve("prj_1")


class Python39(unittest.TestCase):
    def test_every_module_is_python_3_9_syntax(self):
        import ast
        import os

        import cloud_api

        package = os.path.dirname(cloud_api.__file__)
        for name in sorted(os.listdir(package)):
            if name.endswith(".py"):
                with open(os.path.join(package, name), encoding="utf-8") as f:
                    ast.parse(f.read(), name, feature_version=(3, 9))


class Headers(unittest.TestCase):
    def test_prefers_x_ratelimit(self):
        state = parse_rate_limit(
            {
                "x-ratelimit-limit": "600",
                "x-ratelimit-remaining": "599",
                "x-ratelimit-reset": "1790000042",
                "ratelimit-policy": '"default";q=500;w=60',
                "ratelimit": '"default";r=1;t=9',
            },
            now=1790000000,
        )
        self.assertEqual(tuple(state), (600, 599, 1790000042, 60))

    def test_draft_10_structured_fields(self):
        state = parse_rate_limit(
            {"ratelimit-policy": '"default";q=600;w=60', "ratelimit": '"default";r=599;t=42'},
            now=1790000000,
        )
        self.assertEqual(tuple(state), (600, 599, 1790000042, 60))

    def test_older_draft_fields(self):
        state = parse_rate_limit(
            {
                "ratelimit-limit": "600",
                "ratelimit-remaining": "7",
                "ratelimit-reset": "12",
                "ratelimit-policy": "600;w=60",
            },
            now=1790000000,
        )
        self.assertEqual(tuple(state), (600, 7, 1790000012, 60))
        self.assertIsNone(parse_rate_limit({}))

    def test_retry_after(self):
        self.assertEqual(parse_retry_after("3"), 3)
        self.assertEqual(parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=1767225600), 10)
        self.assertIsNone(parse_retry_after("soon"))


if __name__ == "__main__":
    unittest.main()
