"""Requests with authentication, idempotency keys and retries (standard library only)."""

import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional

from ._errors import ApiConnectionError, ApiError
from ._rate_limit import RateLimitState, parse_rate_limit, parse_retry_after

VERSION = "0.1.0"

DEFAULT_BASE_URL = "https://api.cloudplatform.example"
DEFAULT_MAX_RETRIES = 2
DEFAULT_TIMEOUT = 30.0
DEFAULT_TOTAL_TIMEOUT = 120.0
# Backoff: 0.5 s, 1 s, 2 s, ... capped at 8 s, each with jitter (a random 50-100 %).
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
# A Retry-After longer than this is not waited for: the error is raised.
MAX_RETRY_AFTER = 60.0

_RETRYABLE_STATUSES = frozenset((429, 500, 502, 503, 504))

# Per-call options every method accepts as keyword arguments, next to the API's own fields.
OPTION_NAMES = ("idempotency_key", "max_retries", "timeout", "total_timeout", "headers")


class ResponseInfo(NamedTuple):
    """The last response received."""

    status: int
    request_id: Optional[str]
    headers: Mapping[str, str]
    rate_limit: Optional[RateLimitState]
    attempts: int
    replayed: bool


class RetryEvent(NamedTuple):
    """What ``on_retry`` is told before each retry's wait."""

    method: str
    url: str
    attempt: int  # the attempt that failed, 1 for the first
    error: ApiError
    delay: float  # seconds: Retry-After when the platform sent one


def is_retryable(error: ApiError) -> bool:
    """No answer, 429, ``idempotency_key_in_use`` and 5xx are retried; no other 4xx."""
    if isinstance(error, ApiConnectionError):
        return True
    if error.status == 409:
        return error.code == "idempotency_key_in_use"
    return error.status in _RETRYABLE_STATUSES or error.status >= 500


def retry_delay(retry: int, error: ApiError) -> float:
    """Seconds to wait before retry number ``retry`` (0-based): Retry-After, or backoff."""
    if error.retry_after is not None:
        return error.retry_after
    base = min(INITIAL_DELAY * (2 ** retry), MAX_DELAY)
    return base * (0.5 + random.random() * 0.5)


def expand_path(template: str, params: Mapping[str, Any]) -> str:
    out = template
    for name in [p[1:-1] for p in _placeholders(template)]:
        value = params.get(name)
        if not isinstance(value, str) or not value:
            raise TypeError("%s is required (a non-empty string) for %s" % (name, template))
        out = out.replace("{%s}" % name, urllib.parse.quote(value, safe=""))
    return out


def _placeholders(template: str) -> list:
    found = []
    start = template.find("{")
    while start != -1:
        end = template.index("}", start)
        found.append(template[start : end + 1])
        start = template.find("{", end)
    return found


class HttpClient:
    def __init__(
        self,
        token: Optional[str],
        base_url: str,
        max_retries: int,
        timeout: float,
        total_timeout: float,
        headers: Optional[Mapping[str, str]] = None,
        on_retry: Optional[Callable[[RetryEvent], None]] = None,
    ) -> None:
        base = base_url.rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        self.base_url = base
        self.token = token
        self.max_retries = max_retries
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.headers = dict(headers or {})
        self.on_retry = on_retry
        self.last_response: Optional[ResponseInfo] = None
        # urllib opens a connection per request; nothing else is held open.
        self._opener = urllib.request.build_opener()
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def url(self, path: str, path_params: Mapping[str, Any], query: Mapping[str, Any]) -> str:
        url = self.base_url + expand_path(path, path_params)
        pairs = [(k, _query_value(v)) for k, v in query.items() if v is not None]
        return url + ("?" + urllib.parse.urlencode(pairs) if pairs else "")

    def request(
        self,
        method: str,
        path: str,
        path_params: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        options: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        if self.closed:
            raise RuntimeError("This CloudApi client is closed.")
        options = options or {}
        url = self.url(path, path_params or {}, query or {})
        max_retries = options.get("max_retries")
        max_retries = self.max_retries if max_retries is None else max_retries
        timeout = options.get("timeout") or self.timeout
        deadline = time.monotonic() + (options.get("total_timeout") or self.total_timeout)
        headers = {"Accept": "application/json", "User-Agent": "cloud-api-python/" + VERSION}
        headers.update(self.headers)
        headers.update(options.get("headers") or {})
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        if method == "POST":
            # One key for the call, so every retry of it is the same request to the platform.
            headers["Idempotency-Key"] = options.get("idempotency_key") or str(uuid.uuid4())

        attempt = 0
        while True:
            attempt += 1
            left = deadline - time.monotonic()
            outcome = self._attempt(method, url, headers, data, max(0.001, min(timeout, left)), attempt)
            if not isinstance(outcome, ApiError):
                return outcome
            if attempt > max_retries or not is_retryable(outcome):
                raise outcome
            wait = retry_delay(attempt - 1, outcome)
            if wait > MAX_RETRY_AFTER or time.monotonic() + wait >= deadline:
                raise outcome
            if self.on_retry is not None:
                self.on_retry(RetryEvent(method, url, attempt, outcome, wait))
            time.sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Dict[str, str],
        data: Optional[bytes],
        timeout: float,
        attempt: int,
    ) -> Any:
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            try:
                res = self._opener.open(req, timeout=timeout)
            except urllib.error.HTTPError as http_error:
                res = http_error
            with res:
                status = res.status if hasattr(res, "status") else res.code
                raw = res.read()
                res_headers = res.headers
        except (urllib.error.URLError, http.client.HTTPException, OSError) as cause:
            reason = getattr(cause, "reason", cause)
            timed_out = isinstance(reason, socket.timeout) or isinstance(cause, socket.timeout)
            message = (
                "No response from %s %s within %s s." % (method, url, timeout)
                if timed_out
                else "The connection for %s %s failed: %s" % (method, url, reason)
            )
            return ApiConnectionError(
                message, status=0, code="timeout" if timed_out else "connection_error"
            )
        rate_limit = parse_rate_limit(res_headers)
        previous = self.last_response.rate_limit if self.last_response else None
        self.last_response = ResponseInfo(
            status=status,
            request_id=res_headers.get("request-id"),
            headers=res_headers,
            rate_limit=rate_limit or previous,
            attempts=attempt,
            replayed=res_headers.get("idempotent-replayed") == "true",
        )
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw.decode("utf-8"))
            except ValueError:
                parsed = None
        if 200 <= status < 300:
            if parsed is None and raw:
                return ApiError(
                    "%s %s answered %d with a body that is not JSON." % (method, url, status),
                    status=status,
                    code="invalid_response",
                    request_id=res_headers.get("request-id"),
                    headers=res_headers,
                )
            return parsed
        return ApiError.from_response(
            status,
            parsed,
            res_headers,
            retry_after=parse_retry_after(res_headers.get("retry-after")),
            rate_limit=rate_limit,
        )


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
