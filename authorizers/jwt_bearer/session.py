"""The browser session: the access token in an HttpOnly cookie, and its CSRF proof.

Gatehouse's login function (``authorizers.login``) ends a login by setting two cookies:

- ``<name>`` (``GATEHOUSE_JWT_SESSION_COOKIE``, e.g. ``__Host-gatehouse-session``): the access
  token, ``HttpOnly; Secure; SameSite=Lax; Path=/``. Script cannot read it, so an XSS cannot
  carry the token away; the browser sends it with every request to the API's host.
- ``<name>-csrf``: :func:`csrf_proof` of that token, readable by the page's script
  (not HttpOnly) and ``SameSite=Strict``.

A cookie rides along with a cross-site request the attacker's page makes (CSRF). So on a
request that can change something (any method but ``GET``, ``HEAD`` and ``OPTIONS``), the
authorizer takes the cookie's token only together with an ``X-CSRF-Token`` header equal to the
token's proof. Another site's page can neither read the proof (same-origin policy) nor send a
custom header cross-origin without a CORS preflight the API does not grant. The proof is derived
from the token, so it cannot be reused with another session ("signed double-submit cookie",
OWASP CSRF Prevention Cheat Sheet).

The names must start with ``__Host-`` (RFC 6265bis section 4.1.3.2): such a cookie is set only
by the host itself over HTTPS with ``Path=/`` and no ``Domain``, so a sibling subdomain cannot
plant a session (cookie tossing, a login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from authorizers.core.exceptions import AccessDeniedError, InvalidRequestError, Reason
from authorizers.jwt_bearer.token import b64url

#: The prefix every session cookie name must carry (see the module docstring).
HOST_PREFIX: Final = "__Host-"
#: The header that carries the CSRF proof on unsafe methods.
CSRF_HEADER: Final = "x-csrf-token"
#: Methods that must not change anything (RFC 9110 section 9.2.1): no CSRF proof needed.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_NAME: Final = re.compile(r"__Host-[A-Za-z0-9_-]{1,64}")
_PROOF_LABEL: Final = b"gatehouse csrf proof v1\x00"


def csrf_cookie_name(session_cookie: str) -> str:
    """The name of the CSRF cookie that goes with ``session_cookie``."""
    return f"{session_cookie}-csrf"


def csrf_proof(token: str) -> str:
    """The CSRF proof of a session token: unpadded base64url of a SHA-256 over a fixed label
    and the token. One-way, so the proof (readable by script) does not give the token away."""
    digest = hashlib.sha256(_PROOF_LABEL + token.encode("ascii")).digest()
    return b64url(digest)


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (RFC 6265 section 5.4), or ``None``.

    Raises ``InvalidRequestError(AMBIGUOUS_CREDENTIALS)`` when ``name`` is there twice with
    different values: which one the browser meant is not ours to guess.
    """
    if not header:
        return None
    found: str | None = None
    for pair in header.split(";"):
        # Only the first "=" splits: a value may contain "=" (base64 padding).
        key, sep, value = pair.strip().partition("=")
        if not sep or key != name:
            continue
        value = value.strip()
        if found is not None and value != found:
            raise InvalidRequestError(Reason.AMBIGUOUS_CREDENTIALS)
        found = value
    return found


def check_csrf(method: str | None, proof: str | None, token: str, *, principal: str) -> None:
    """Refuse an unsafe ``method`` whose ``proof`` header is not ``token``'s CSRF proof.

    Raises ``AccessDeniedError(CSRF_CHECK_FAILED)``: the token is valid, the request is not
    one its owner is known to have made. ``method`` ``None`` (a WebSocket ``$connect``) is a
    cross-site-capable handshake and needs the proof too; a browser cannot send a header on
    it, so a session cookie cannot open a WebSocket.
    """
    if method in SAFE_METHODS:
        return
    if (
        proof is None
        or not proof.isascii()
        or not hmac.compare_digest(proof.encode(), csrf_proof(token).encode())
    ):
        raise AccessDeniedError(Reason.CSRF_CHECK_FAILED, principal_id=principal)
