"""The login transaction: pure, no IO; the clock and the random source are passed in.

``/auth/login`` starts an OpenID Connect authorization-code flow (OpenID Connect Core 1.0
section 3.1; OAuth 2.0 Security Best Current Practice, RFC 9700) with:

- ``state``: 256 random bits, returned by the provider and compared with the transaction's
  (a forged or swapped callback is refused: CSRF on the redirect URI, RFC 6749 section 10.12);
- PKCE (RFC 7636) with ``S256``: the code is worth nothing without the verifier, which never
  leaves the transaction (a code leaked from the URL, a log or a referrer cannot be redeemed,
  and a code injected from another login fails the provider's check);
- ``nonce``: the ID token must carry it (OpenID Connect Core section 3.1.3.7), binding the
  tokens to this transaction;
- a return URL checked before the flow starts (:func:`check_return_url`): a path on the API's
  own host, or a URL of an allowed origin. Anything else is refused: no open redirect.

The transaction lives in the browser, in a cookie sealed with AES-256-GCM under the function's
key (:func:`seal`, :func:`unseal`): the browser can neither read nor change it, so no table is
needed to hold it. It expires after ``max_age_s``, and each ``state`` is used once (the caller's
replay guard), so a callback URL replayed with its cookie is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlencode, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authorizers.core.exceptions import AuthorizerError, Reason
from authorizers.jwt_bearer.token import b64url

#: Bytes of randomness in ``state``, ``nonce`` and the PKCE verifier (RFC 7636 section 7.1
#: asks for at least 256 bits of entropy in the verifier).
RANDOM_BYTES: Final = 32
MAX_RETURN_URL: Final = 2048
MAX_CODE: Final = 2048
_AAD: Final = b"gatehouse login transaction v1"
_IV_BYTES: Final = 12

Random = Callable[[int], bytes]


class LoginFailure(StrEnum):
    """Why a login step was refused: fixed names, safe to log and to count."""

    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    MALFORMED_REQUEST = "MalformedRequest"
    RETURN_URL_REFUSED = "ReturnUrlRefused"
    NO_LOGIN_IN_PROGRESS = "NoLoginInProgress"
    LOGIN_EXPIRED = "LoginExpired"
    STATE_MISMATCH = "StateMismatch"
    REPLAYED_LOGIN = "ReplayedLogin"
    PROVIDER_ERROR = "ProviderError"
    MISSING_CODE = "MissingCode"
    EXCHANGE_FAILED = "ExchangeFailed"
    SESSION_TOO_LARGE = "SessionTooLarge"
    INVALID_TOKENS = "InvalidTokens"
    NONCE_MISMATCH = "NonceMismatch"
    UNAVAILABLE = "Unavailable"


class LoginError(AuthorizerError):
    """A refused login step. ``failure`` is the fixed name the response and the log carry."""

    def __init__(self, failure: LoginFailure) -> None:
        super().__init__(Reason.MALFORMED_CREDENTIALS)
        self.failure = failure
        self.args = (failure.value,)


class ReturnUrlError(ValueError):
    """A return URL that is neither a local path nor a URL of an allowed origin."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One started login. ``repr`` hides the secrets."""

    state: str
    nonce: str
    verifier: str
    return_to: str
    started_at: float

    def __repr__(self) -> str:
        return f"Transaction(return_to={self.return_to!r}, <secrets hidden>)"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sealing_key(secret: str) -> bytes:
    """The AES-256 key derived from the configured secret (HKDF-SHA256, RFC 5869), so the
    secret's own format does not matter as long as it has enough entropy."""
    if len(secret) < 32:
        raise ValueError("the sealing secret must be at least 32 characters")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"gatehouse login sealing key"
    ).derive(secret.encode("utf-8"))


def start(return_to: str, *, now: float, random: Random) -> Transaction:
    """A new transaction with fresh ``state``, ``nonce`` and PKCE verifier."""
    return Transaction(
        state=b64url(random(RANDOM_BYTES)),
        nonce=b64url(random(RANDOM_BYTES)),
        verifier=b64url(random(RANDOM_BYTES)),  # 43 characters: RFC 7636's minimum length
        return_to=return_to,
        started_at=now,
    )


def code_challenge(verifier: str) -> str:
    """``S256``: unpadded base64url of the SHA-256 of the verifier (RFC 7636 section 4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def authorize_url(
    endpoint: str,
    transaction: Transaction,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
) -> str:
    """Where ``/auth/login`` sends the browser: the provider's authorization endpoint."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": transaction.state,
            "nonce": transaction.nonce,
            "code_challenge": code_challenge(transaction.verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def seal(key: bytes, transaction: Transaction, *, random: Random) -> str:
    """The transaction as a cookie value: base64url(IV || AES-GCM ciphertext and tag)."""
    plain = json.dumps(
        [
            transaction.state,
            transaction.nonce,
            transaction.verifier,
            transaction.return_to,
            transaction.started_at,
        ],
        separators=(",", ":"),
    ).encode("utf-8")
    iv = random(_IV_BYTES)
    return b64url(iv + AESGCM(key).encrypt(iv, plain, _AAD))


def unseal(key: bytes, value: str | None, *, now: float, max_age_s: float) -> Transaction:
    """The transaction sealed in ``value``; raises :class:`LoginError` when there is none, it
    was not sealed with ``key`` (forged or altered), or it is older than ``max_age_s``."""
    if not value:
        raise LoginError(LoginFailure.NO_LOGIN_IN_PROGRESS)
    try:
        raw = _unb64(value)
        plain = AESGCM(key).decrypt(raw[:_IV_BYTES], raw[_IV_BYTES:], _AAD)
        state, nonce, verifier, return_to, started_at = json.loads(plain)
    except (InvalidTag, ValueError, TypeError, binascii.Error):
        raise LoginError(LoginFailure.NO_LOGIN_IN_PROGRESS) from None
    if not 0 <= now - float(started_at) <= max_age_s:
        raise LoginError(LoginFailure.LOGIN_EXPIRED)
    return Transaction(str(state), str(nonce), str(verifier), str(return_to), float(started_at))


def check_return_url(value: str, allowed_origins: Collection[str]) -> str:
    """``value`` if a browser may be sent there after the login, else :class:`ReturnUrlError`.

    Allowed: a path on the API's own host (``/orders?page=2``), or an absolute URL whose
    origin is in ``allowed_origins``. Refused, whatever the origins: protocol-relative
    ``//evil.example``, any backslash (browsers read ``/\\evil.example`` as ``//``), user
    info (``https://good@evil``), whitespace and control characters, non-ASCII, and more than
    2,048 characters.
    """
    if (
        not value
        or len(value) > MAX_RETURN_URL
        or not value.isascii()
        or any(c <= " " or c in {"\x7f", "\\"} for c in value)
    ):
        raise ReturnUrlError(value)
    if value.startswith("/"):
        if value.startswith("//"):
            raise ReturnUrlError(value)
        return value
    parts = urlsplit(value)
    if "@" in parts.netloc or not parts.hostname:
        raise ReturnUrlError(value)
    try:
        origin = origin_of(value)
    except ValueError:
        raise ReturnUrlError(value) from None
    if origin not in allowed_origins:
        raise ReturnUrlError(value)
    return value


_DEFAULT_PORTS: Final = {"https": 443, "http": 80}


def origin_of(url: str) -> str:
    """The origin of ``url`` as ``scheme://host[:port]``, the host lower-cased and a default
    port left out (RFC 6454 section 4), so one origin has one spelling. Raises ``ValueError``
    for a URL with no host or a malformed port."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    if not host:
        raise ValueError(url)
    if ":" in host:
        host = f"[{host}]"
    suffix = "" if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f":{port}"
    return f"{parts.scheme}://{host}{suffix}"


def check_callback(query: Mapping[str, str], transaction: Transaction) -> str:
    """The authorization code of a callback for ``transaction``; raises :class:`LoginError`.

    The ``state`` must be the transaction's (compared in constant time) before anything else
    of the callback is read, so a forged callback learns nothing, not even whether the
    provider reported an error.
    """
    state = query.get("state")
    if (
        state is None
        or not state.isascii()
        or not hmac.compare_digest(state.encode(), transaction.state.encode())
    ):
        raise LoginError(LoginFailure.STATE_MISMATCH)
    if "error" in query:
        raise LoginError(LoginFailure.PROVIDER_ERROR)
    code = query.get("code")
    if not code or len(code) > MAX_CODE:
        raise LoginError(LoginFailure.MISSING_CODE)
    return code


def check_nonce(claims: Mapping[str, object], transaction: Transaction) -> None:
    """The ID token's ``nonce`` must be the transaction's."""
    nonce = claims.get("nonce")
    if (
        not isinstance(nonce, str)
        or not nonce.isascii()
        or not hmac.compare_digest(nonce.encode(), transaction.nonce.encode())
    ):
        raise LoginError(LoginFailure.NONCE_MISMATCH)
