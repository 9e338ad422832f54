"""The Cloud API client."""

from types import TracebackType
from typing import Callable, Mapping, Optional, Type

from ._http import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    HttpClient,
    ResponseInfo,
    RetryEvent,
)
from ._rate_limit import RateLimitState
from ._resources import (
    Invitations,
    Keys,
    Members,
    OAuthClients,
    OpenApi,
    Projects,
    Regions,
    SupportTickets,
    Usage,
    User,
)


class CloudApi:
    """``CloudApi(api_key=...)`` or ``CloudApi(access_token=...)``; a context manager too.

    Every POST carries an ``Idempotency-Key`` reused across its retries. ``timeout`` is the
    time allowed for one attempt, ``total_timeout`` for a call with its retries (seconds).
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        access_token: Optional[str] = None,
        base_url: str = DEFAULT_BASE_URL,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        headers: Optional[Mapping[str, str]] = None,
        on_retry: Optional[Callable[[RetryEvent], None]] = None,
    ) -> None:
        if api_key and access_token:
            raise TypeError("Pass api_key or access_token, not both.")
        self._http = HttpClient(
            api_key or access_token,
            base_url,
            max_retries,
            timeout,
            total_timeout,
            headers,
            on_retry,
        )
        self.projects = Projects(self._http)
        self.members = Members(self._http)
        self.invitations = Invitations(self._http)
        self.keys = Keys(self._http)
        self.usage = Usage(self._http)
        self.user = User(self._http)
        self.regions = Regions(self._http)
        self.support_tickets = SupportTickets(self._http)
        self.oauth_clients = OAuthClients(self._http)
        self.openapi = OpenApi(self._http)

    @property
    def last_response(self) -> Optional[ResponseInfo]:
        """The last response: status, request id, headers, rate limit, attempts, replayed."""
        return self._http.last_response

    @property
    def rate_limit(self) -> Optional[RateLimitState]:
        """The rate-limit state of the last response (limit, remaining, reset Unix time)."""
        response = self._http.last_response
        return response.rate_limit if response else None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "CloudApi":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
