"""The OAuth 2.0 authorization-code flow with PKCE (S256), refresh and revocation."""

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, NamedTuple, Optional, Sequence, Union


class OAuthError(Exception):
    """An OAuth error answer (``{"error", "error_description"}``, RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, error_description: Optional[str] = None) -> None:
        super().__init__("%s: %s" % (error, error_description) if error_description else error)
        self.status = status
        self.error = error
        self.error_description = error_description


class AuthorizationRequest(NamedTuple):
    """Where to send the user; keep ``state`` and ``code_verifier`` until the callback."""

    url: str
    state: str
    code_verifier: str


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class OAuth:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        redirect_uri: str,
        client_secret: Optional[str] = None,
        timeout: float = 30.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.timeout = timeout

    def authorization_url(
        self,
        scope: Union[str, Sequence[str]] = "openid",
        state: Optional[str] = None,
        **extra: str
    ) -> AuthorizationRequest:
        state = state or secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(32)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope if isinstance(scope, str) else " ".join(scope),
            "state": state,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        params.update(extra)
        url = "%s/oauth/authorize?%s" % (self.issuer, urllib.parse.urlencode(params))
        return AuthorizationRequest(url, state, verifier)

    def code_from_callback(self, callback_url: str, expected_state: str) -> str:
        """The ``code`` of a callback URL whose ``state`` is the one sent."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback_url).query))
        if "error" in query:
            raise OAuthError(400, query["error"], query.get("error_description"))
        if query.get("state") != expected_state:
            raise OAuthError(400, "invalid_state", "The callback state is not the one sent.")
        if not query.get("code"):
            raise OAuthError(400, "invalid_request", "The callback has no code.")
        return query["code"]

    def exchange_code(self, code: str, code_verifier: str) -> Dict[str, Any]:
        return self._post(
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": code_verifier,
            },
        )

    def refresh(self, refresh_token: str, scope: Optional[str] = None) -> Dict[str, Any]:
        """New tokens (the refresh token is rotated: keep the new one)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            form["scope"] = scope
        return self._post("/oauth/token", form)

    def revoke(self, token: str, token_type_hint: Optional[str] = None) -> None:
        """Revokes an access or refresh token (RFC 7009)."""
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        self._post("/oauth/revoke", form)

    def _post(self, path: str, form: Dict[str, str]) -> Dict[str, Any]:
        form = dict(form, client_id=self.client_id)
        if self.client_secret:
            form["client_secret"] = self.client_secret
        req = urllib.request.Request(
            self.issuer + path,
            data=urllib.parse.urlencode(form).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                raw = res.read()
        except urllib.error.HTTPError as error:
            body = _json(error.read())
            raise OAuthError(
                error.code,
                str(body.get("error") or "http_%d" % error.code),
                body.get("error_description"),
            ) from None
        return _json(raw)


def _json(raw: bytes) -> Dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
