"""A small OpenID Connect provider on 127.0.0.1: the authorization-code flow with PKCE.

For testing a browser login (``authorizers.login``, docs/login.md) end to end without an
account: the login function redirects to this provider, which "signs in" a fixed user at once,
and redeems the code for real signed tokens at its token endpoint. It enforces what a real
provider does, so tests see the same refusals: a registered redirect URI, ``S256`` PKCE only,
a code used once, by its own client and redirect URI, with the right verifier, within a minute.

>>> with LocalOidcProvider(redirect_uris=["https://api.example.test/auth/callback"]) as idp:
...     idp.issuer.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from gatehouse.testing.identity import OidcIssuer

__all__ = ["LocalOidcProvider"]

_CODE_LIFETIME_S = 60


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    issued_at: float
    used: bool = False


class LocalOidcProvider:
    """An OpenID Connect provider on ``127.0.0.1`` (a free port), in a background thread.

    Parameters
    ----------
    redirect_uris:
        The callback URLs registered for ``client_id``; any other is refused.
    client_id:
        The one public app client (no secret: PKCE protects its codes).
    audience:
        The access token's ``aud``: the API the JWT authorizer guards.
    subject, scope:
        The signed-in user's ``sub``, and the access token's ``scope``.
    """

    def __init__(
        self,
        *,
        redirect_uris: Sequence[str],
        client_id: str = "web-app",
        audience: str = "orders-api",
        subject: str = "user-1",
        scope: str = "openid orders:read",
    ) -> None:
        self.client_id = client_id
        self.audience = audience
        self.subject = subject
        self.scope = scope
        self._redirect_uris = frozenset(redirect_uris)
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.issuer = f"http://127.0.0.1:{port}"
        self.tokens = OidcIssuer(self.issuer)
        self.authorize_url = f"{self.issuer}/authorize"
        self.token_url = f"{self.issuer}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def settings(self, **extra: Any) -> dict[str, Any]:
        """This provider's entry for ``GATEHOUSE_JWT_ISSUERS`` (set
        ``GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP=true``: its URLs are ``http://127.0.0.1``)."""
        return self.tokens.settings(audiences=[self.audience], algorithms=["RS256"], **extra)

    def sign_in(self, authorize_url: str) -> str:
        """Follow the login function's redirect to this provider, as the browser would; the
        user signs in at once. Returns the callback URL (with ``code`` and ``state``), or
        raises :class:`LookupError` with the provider's refusal, or for a URL that is not this
        provider's (a test that forgot to point the login here must not reach another host)."""
        if not authorize_url.startswith(f"{self.authorize_url}?"):
            raise LookupError(f"not this provider's authorization URL: {authorize_url[:80]}")
        parts = urlsplit(authorize_url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            response = connection.getresponse()
            body = response.read().decode()
            location = response.getheader("Location")
        finally:
            connection.close()
        if response.status != 302 or location is None:
            raise LookupError(body.strip())
        return location

    # The endpoints, called from the server thread.

    def _authorize(self, query: Mapping[str, str]) -> tuple[int, dict[str, str], str]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect_uri not in self._redirect_uris:
            return 400, {}, "unknown client or redirect_uri"
        if query.get("response_type") != "code":
            return 400, {}, "unsupported_response_type"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, "invalid_request: PKCE with S256 is required"
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                challenge=query["code_challenge"],
                nonce=query.get("nonce"),
                issued_at=time.time(),
            )
        answer = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        joiner = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": f"{redirect_uri}{joiner}{urlencode(answer)}"}, ""

    def _token(self, form: Mapping[str, str]) -> tuple[int, dict[str, str], str]:
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type")
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return _oauth_error("invalid_grant")
            grant.used = True  # single use, even when this attempt fails (RFC 6749 4.1.2)
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            form.get("client_id") != grant.client_id
            or form.get("redirect_uri") != grant.redirect_uri
            or not verifier
            or not secrets.compare_digest(challenge, grant.challenge)
            or time.time() - grant.issued_at > _CODE_LIFETIME_S
        ):
            return _oauth_error("invalid_grant")
        tokens = {
            "id_token": self.tokens.token(sub=self.subject, aud=self.client_id, nonce=grant.nonce),
            "access_token": self.tokens.token(
                sub=self.subject, aud=self.audience, scope=self.scope, client_id=self.client_id
            ),
            "token_type": "Bearer",
            "expires_in": 600,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(tokens)

    def _get(self, path: str, query: Mapping[str, str]) -> tuple[int, dict[str, str], str]:
        if path == "/authorize":
            return self._authorize(query)
        document = self.tokens(self.issuer + path) if path.startswith("/.well-known/") else None
        if document is None:
            return 404, {}, "not found"
        return 200, {"Content-Type": "application/json"}, json.dumps(document)


def _oauth_error(code: str) -> tuple[int, dict[str, str], str]:
    return 400, {"Content-Type": "application/json"}, json.dumps({"error": code})


def _flat(raw: str) -> dict[str, str]:
    """Parameters, each once; a repeated one is refused as a real provider refuses it."""
    parsed = parse_qs(raw, keep_blank_values=True)
    if any(len(values) > 1 for values in parsed.values()):
        raise ValueError("a parameter is repeated")
    return {name: values[0] for name, values in parsed.items()}


def _handler_for(provider: LocalOidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            try:
                self._send(*provider._get(parts.path, _flat(parts.query)))
            except LookupError:
                self._send(404, {}, "not found")
            except ValueError:
                self._send(400, {}, "invalid_request: a parameter is repeated")

        def do_POST(self) -> None:
            length = self.headers.get("Content-Length") or "0"
            if not length.isdigit() or int(length) > 65536:
                self._send(400, {}, "bad request")
                return
            if urlsplit(self.path).path != "/token":
                self._send(404, {}, "not found")
                return
            try:
                form = _flat(self.rfile.read(int(length)).decode("utf-8", "replace"))
            except ValueError:
                self._send(*_oauth_error("invalid_request"))
                return
            self._send(*provider._token(form))

        def _send(self, status: int, headers: Mapping[str, str], body: str) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args  # quiet: a test's output is its own

    return Handler
