"""The official Python SDK of the Cloud API Platform (standard library only).

>>> from cloud_api import CloudApi
>>> with CloudApi(api_key="sk_live_...") as api:
...     project = api.projects.create(name="edge-ingest", region="us-east")
"""

from ._client import CloudApi
from ._error_codes import ERROR_CODES, HTTP_STATUS_OF_CODE
from ._errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ConflictError,
    IdempotencyError,
    InvalidRequestError,
    NotFoundError,
    PermissionError,
    RateLimitError,
    ServerError,
)
from ._http import VERSION, ResponseInfo, RetryEvent, is_retryable, retry_delay
from ._oauth import AuthorizationRequest, OAuth, OAuthError, pkce_challenge
from ._pagination import Page
from ._rate_limit import RateLimitState, parse_rate_limit, parse_retry_after
from ._resources import RESOURCE_METHODS

__version__ = VERSION

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "AuthorizationRequest",
    "CloudApi",
    "ConflictError",
    "ERROR_CODES",
    "HTTP_STATUS_OF_CODE",
    "IdempotencyError",
    "InvalidRequestError",
    "NotFoundError",
    "OAuth",
    "OAuthError",
    "Page",
    "PermissionError",
    "RESOURCE_METHODS",
    "RateLimitError",
    "RateLimitState",
    "ResponseInfo",
    "RetryEvent",
    "ServerError",
    "VERSION",
    "is_retryable",
    "parse_rate_limit",
    "parse_retry_after",
    "pkce_challenge",
    "retry_delay",
]
