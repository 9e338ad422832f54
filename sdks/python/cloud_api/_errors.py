"""One ApiError class, with a subclass per family, built from the platform's error object."""

from typing import Any, Dict, Mapping, Optional, Type

from ._rate_limit import RateLimitState


class ApiError(Exception):
    """An error the platform answered (its error object), or a request with no answer.

    ``status`` is 0 for an :class:`ApiConnectionError`. ``code`` is one of ``ERROR_CODES``
    (a newer platform may send a code not yet listed).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        request_id: Optional[str] = None,
        param: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        retry_after: Optional[float] = None,
        rate_limit: Optional[RateLimitState] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.param = param
        self.headers = headers
        self.retry_after = retry_after
        self.rate_limit = rate_limit
        self.body = body

    def __str__(self) -> str:
        where = " (request %s)" % self.request_id if self.request_id else ""
        return "%s [%s %s]%s" % (self.message, self.status, self.code, where)

    def __repr__(self) -> str:
        return "%s(status=%r, code=%r, message=%r, request_id=%r, param=%r)" % (
            type(self).__name__,
            self.status,
            self.code,
            self.message,
            self.request_id,
            self.param,
        )

    @classmethod
    def from_response(
        cls,
        status: int,
        body: Any,
        headers: Mapping[str, str],
        retry_after: Optional[float] = None,
        rate_limit: Optional[RateLimitState] = None,
    ) -> "ApiError":
        error: Dict[str, Any] = {}
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
        code = error.get("code") if isinstance(error.get("code"), str) else "http_%d" % status
        klass = _class_of(status, code)
        return klass(
            error.get("message") or "The platform answered HTTP %d." % status,
            status=status,
            code=code,
            request_id=error.get("request_id") or headers.get("request-id"),
            param=error.get("param"),
            headers=headers,
            retry_after=retry_after,
            rate_limit=rate_limit,
            body=body,
        )


class InvalidRequestError(ApiError):
    """400, 413, 415, 422 (other than idempotency): the request itself is wrong."""


class AuthenticationError(ApiError):
    """401: no credential, or one unknown, revoked, expired or malformed."""


class PermissionError(ApiError):  # noqa: A001 - the family's name, as in the JS SDK
    """403: a visible resource, and a role or scope that does not allow the action."""


class NotFoundError(ApiError):
    """404: absent, or not visible to this credential."""


class ConflictError(ApiError):
    """409: the request conflicts with the resource's state."""


class IdempotencyError(ApiError):
    """``idempotency_key_in_use`` (409, retried) or ``idempotency_key_reused`` (422)."""


class RateLimitError(ApiError):
    """429 ``rate_limited``: ``retry_after`` says when to try again."""


class ServerError(ApiError):
    """5xx."""


class ApiConnectionError(ApiError):
    """No response: the connection failed or dropped, or the attempt timed out."""


def _class_of(status: int, code: str) -> Type[ApiError]:
    if code in ("idempotency_key_in_use", "idempotency_key_reused"):
        return IdempotencyError
    by_status = {
        401: AuthenticationError,
        403: PermissionError,
        404: NotFoundError,
        409: ConflictError,
        429: RateLimitError,
    }
    if status in by_status:
        return by_status[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return InvalidRequestError
    return ApiError
