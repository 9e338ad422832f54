"""The resources of the API, each method naming the operation (operationId) it sends."""

from typing import Any, Dict, Optional

from ._http import OPTION_NAMES, HttpClient
from ._operations import OPERATIONS
from ._pagination import Page
from ._pending import PENDING_OPERATIONS

ALL_OPERATIONS = dict(PENDING_OPERATIONS)
ALL_OPERATIONS.update(OPERATIONS)

# Resource -> method -> operationId of GET /v1/openapi.json. The drift test checks that this
# table and the document name the same operations: a new route is a line here and a method.
RESOURCE_METHODS: Dict[str, Dict[str, str]] = {
    "projects": {
        "list": "getProjects",
        "create": "postProjects",
        "retrieve": "getProjectsId",
        "update": "patchProjectsId",
        "delete": "deleteProjectsId",
    },
    "members": {
        "list": "getProjectsIdMembers",
        "add": "postProjectsIdMembers",
        "update": "patchProjectsIdMembersUserId",
        "remove": "deleteProjectsIdMembersUserId",
    },
    "invitations": {
        "list": "getInvitations",
        "accept": "postInvitationsIdAccept",
        "list_for_project": "getProjectsIdInvitations",
        "revoke": "deleteProjectsIdInvitationsInvitationId",
    },
    "keys": {
        "create": "postKeys",
        "list": "getKeys",
        "revoke": "postKeysIdRevoke",
        "rotate": "postKeysIdRotate",
    },
    "usage": {"retrieve": "getUsage"},
    "user": {"retrieve": "getUser"},
    "regions": {"list": "getRegions"},
    "support_tickets": {
        "list": "getSupportTickets",
        "create": "postSupportTickets",
        "retrieve": "getSupportTicketsId",
    },
    "oauth_clients": {"list": "getOauthClients", "create": "postOauthClients"},
    "openapi": {"retrieve": "getOpenapi.json"},
}

JsonObject = Dict[str, Any]


def _split(params: Dict[str, Any]) -> "tuple[Dict[str, Any], Dict[str, Any]]":
    """The API's fields (``None`` left out) and the per-call options (``idempotency_key``…)."""
    fields = {k: v for k, v in params.items() if k not in OPTION_NAMES and v is not None}
    options = {k: v for k, v in params.items() if k in OPTION_NAMES}
    return fields, options


class _Resource:
    _name = ""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def _call(
        self,
        method_name: str,
        path: Optional[Dict[str, Any]] = None,
        query: Optional[Dict[str, Any]] = None,
        body: Any = None,
        options: Optional[Dict[str, Any]] = None,
    ) -> Any:
        method, template = ALL_OPERATIONS[RESOURCE_METHODS[self._name][method_name]]
        return self._http.request(method, template, path, query, body, options)

    def _page(
        self, method_name: str, path: Optional[Dict[str, Any]], params: Dict[str, Any]
    ) -> Page:
        query, options = _split(params)

        def fetch(starting_after: Optional[str]) -> Page:
            q = dict(query)
            if starting_after is not None:
                q["starting_after"] = starting_after
            return Page(self._call(method_name, path, q, None, options), fetch)

        return fetch(query.pop("starting_after", None))

    def _send(
        self, method_name: str, path: Optional[Dict[str, Any]], params: Dict[str, Any]
    ) -> Any:
        fields, options = _split(params)
        method = ALL_OPERATIONS[RESOURCE_METHODS[self._name][method_name]][0]
        if method in ("GET", "DELETE"):
            return self._call(method_name, path, fields, None, options)
        return self._call(method_name, path, None, fields if fields else None, options)


class Projects(_Resource):
    _name = "projects"

    def list(self, **params: Any) -> Page:
        """Projects visible to the caller, newest first (``limit``, ``starting_after``)."""
        return self._page("list", None, params)

    def create(self, *, name: str, region: str, **params: Any) -> JsonObject:
        return self._send("create", None, dict(params, name=name, region=region))

    def retrieve(self, project_id: str, **params: Any) -> JsonObject:
        return self._send("retrieve", {"id": project_id}, params)

    def update(self, project_id: str, **params: Any) -> JsonObject:
        """Rename: ``update(project_id, name=...)``."""
        return self._send("update", {"id": project_id}, params)

    def delete(self, project_id: str, **params: Any) -> JsonObject:
        """Deletes the project and revokes its keys."""
        return self._send("delete", {"id": project_id}, params)


class Members(_Resource):
    _name = "members"

    def list(self, project_id: str, **params: Any) -> Page:
        return self._page("list", {"id": project_id}, params)

    def add(self, project_id: str, *, email: str, role: str, **params: Any) -> JsonObject:
        """Invites ``email`` with ``role``: the result is the pending invitation."""
        return self._send("add", {"id": project_id}, dict(params, email=email, role=role))

    def update(self, project_id: str, user_id: str, *, role: str, **params: Any) -> JsonObject:
        """Changes a member's role: the result is the member."""
        return self._send("update", {"id": project_id, "user_id": user_id}, dict(params, role=role))

    def remove(self, project_id: str, user_id: str, **params: Any) -> JsonObject:
        return self._send("remove", {"id": project_id, "user_id": user_id}, params)


class Invitations(_Resource):
    _name = "invitations"

    def list(self, **params: Any) -> Page:
        """Invitations waiting for the caller."""
        return self._page("list", None, params)

    def accept(self, invitation_id: str, **params: Any) -> JsonObject:
        """Accepts an invitation waiting for the caller: the caller joins its project."""
        return self._send("accept", {"id": invitation_id}, params)

    def list_for_project(self, project_id: str, **params: Any) -> Page:
        """A project's pending invitations (the ones ``members.add`` sent)."""
        return self._page("list_for_project", {"id": project_id}, params)

    def revoke(self, project_id: str, invitation_id: str, **params: Any) -> JsonObject:
        """Revokes a project's pending invitation."""
        return self._send("revoke", {"id": project_id, "invitation_id": invitation_id}, params)


class Keys(_Resource):
    _name = "keys"

    def create(self, *, project_id: str, name: str, **params: Any) -> JsonObject:
        """Issues a key (``scopes``, ``expires_at``, ``rate_limit``, ``project_access``).

        Its ``secret`` is in this result only, also when the call was retried.
        """
        return self._send("create", None, dict(params, project_id=project_id, name=name))

    def list(self, *, project_id: str, **params: Any) -> Page:
        return self._page("list", None, dict(params, project_id=project_id))

    def revoke(self, key_id: str, **params: Any) -> JsonObject:
        return self._send("revoke", {"id": key_id}, params)

    def rotate(self, key_id: str, **params: Any) -> JsonObject:
        """A new secret; the old one works for ``grace_period_seconds`` (default 24 h)."""
        fields, options = _split(params)
        return self._call("rotate", {"id": key_id}, None, fields, options)


class Usage(_Resource):
    _name = "usage"

    def retrieve(self, *, project_id: str, start: str, end: str, **params: Any) -> JsonObject:
        """Usage buckets (``granularity``: minute|hour|day; ``group_by``: key|endpoint|status)."""
        return self._send(
            "retrieve", None, dict(params, project_id=project_id, start=start, end=end)
        )


class User(_Resource):
    _name = "user"

    def retrieve(self, **params: Any) -> JsonObject:
        """The user behind the credential."""
        return self._send("retrieve", None, params)


class Regions(_Resource):
    _name = "regions"

    def list(self, **params: Any) -> Page:
        return self._page("list", None, params)


class SupportTickets(_Resource):
    _name = "support_tickets"

    def list(self, **params: Any) -> Page:
        return self._page("list", None, params)

    def create(self, *, subject: str, body: str, **params: Any) -> JsonObject:
        """A ticket, with ``request_ids`` of the requests it is about."""
        return self._send("create", None, dict(params, subject=subject, body=body))

    def retrieve(self, ticket_id: str, **params: Any) -> JsonObject:
        return self._send("retrieve", {"id": ticket_id}, params)


class OAuthClients(_Resource):
    _name = "oauth_clients"

    def list(self, **params: Any) -> Page:
        return self._page("list", None, params)

    def create(self, *, name: str, redirect_uris: "list[str]", **params: Any) -> JsonObject:
        """Registers an app; a confidential client's ``client_secret`` is shown once."""
        return self._send("create", None, dict(params, name=name, redirect_uris=redirect_uris))


class OpenApi(_Resource):
    _name = "openapi"

    def retrieve(self, **params: Any) -> JsonObject:
        """The OpenAPI 3.1 document (public)."""
        return self._send("retrieve", None, params)
