"""Rate-limit and Retry-After headers."""

import email.utils
import time
from typing import Dict, Mapping, NamedTuple, Optional, Tuple


class RateLimitState(NamedTuple):
    """The rate-limit state a response reported.

    ``reset`` is a Unix time (seconds) at which a request is freed; ``window`` the policy's
    window in seconds when it names one.
    """

    limit: Optional[int]
    remaining: Optional[int]
    reset: Optional[int]
    window: Optional[int]


def _num(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _int(value: Optional[str]) -> Optional[int]:
    n = _num(value)
    return None if n is None else int(n)


def _field(header: str) -> Tuple[str, Dict[str, str]]:
    """The head and parameters of a Structured Field's first item: ``"default";r=599;t=42``."""
    first = header.split(",")[0]
    parts = [p.strip() for p in first.split(";")]
    params = {}
    for part in parts[1:]:
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip()
    return parts[0], params


def parse_rate_limit(
    headers: Mapping[str, str], now: Optional[float] = None
) -> Optional[RateLimitState]:
    """Prefers ``X-RateLimit-*`` (reset a Unix time); else the IETF draft's fields.

    ``headers`` must be looked up case-insensitively (``http.client.HTTPMessage`` is).
    """
    now = time.time() if now is None else now
    limit = _int(headers.get("x-ratelimit-limit"))
    remaining = _int(headers.get("x-ratelimit-remaining"))
    reset = _int(headers.get("x-ratelimit-reset"))
    window = None
    policy = headers.get("ratelimit-policy")
    if policy:
        head, params = _field(policy)
        window = _int(params.get("w"))
        if limit is None:
            limit = _int(params.get("q"))
        if limit is None and not head.startswith('"'):
            limit = _int(head)
    combined = headers.get("ratelimit")
    if combined:
        _, params = _field(combined)
        if remaining is None:
            remaining = _int(params.get("r"))
        t = _num(params.get("t"))
        if reset is None and t is not None:
            reset = int(-(-(now + t) // 1))
    if limit is None:
        limit = _int(headers.get("ratelimit-limit"))
    if remaining is None:
        remaining = _int(headers.get("ratelimit-remaining"))
    delta = _num(headers.get("ratelimit-reset"))
    if reset is None and delta is not None:
        reset = int(-(-(now + delta) // 1))
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimitState(limit, remaining, reset, window)


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds from ``Retry-After`` (delta seconds or an HTTP date)."""
    if not value:
        return None
    seconds = _num(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        at = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, at.timestamp() - now)
