"""DPoP proofs (RFC 9449): a token bound to a key, used only with a fresh proof signed by it.

Pure (the clock and the replay check are the caller's). A request sends
``Authorization: DPoP <token>`` and one ``DPoP: <proof>`` header; the proof is a JWT that is
checked as section 4.3 of the RFC lists, refusing anything it does not recognise:

- strictly parsed as any token here (``token.py``); ``typ`` exactly ``dpop+jwt``;
- ``alg`` asymmetric and allowed for the issuer; ``jwk`` a public key (no private members, no
  symmetric ``oct``; RSA of at least 2048 bits) whose signature over the proof verifies;
- ``htm`` the request method; ``htu`` the request URL without query and fragment (scheme and
  host compared case-insensitively, the path exactly);
- ``iat`` within ``max_age_s`` in the past and the leeway in the future; ``jti`` a string;
- ``ath`` the base64url SHA-256 of the access token (section 4.2);
- and the token's ``cnf.jkt`` equals the proof key's RFC 7638 thumbprint (section 6.1).

Each proof's ``jti`` is then used once (``replay.py``): the caller records it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, MutableMapping
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason
from authorizers.jwt_bearer.keys import VerificationKey, parse_jwk
from authorizers.jwt_bearer.token import ParsedToken, b64url, parse_token
from authorizers.jwt_bearer.verifier import signature_ok

__all__ = ["MAX_PROOF_BYTES", "ProvenKey", "ath_of", "jwk_thumbprint", "verify_proof"]

#: A proof is small: a header with one public key, five claims.
MAX_PROOF_BYTES: Final = 4096
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
_MAX_JTI: Final = 256


class ProvenKey(NamedTuple):
    """What a valid proof establishes: the key's thumbprint, and the proof's id and time."""

    thumbprint: str
    jti: str
    iat: float


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace; base64url.

    Raises ValueError for a key type without a thumbprint here or a missing member.
    """
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise ValueError("no RFC 7638 thumbprint for this key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def ath_of(access_token: str) -> str:
    """The ``ath`` claim for ``access_token``: base64url SHA-256 of its ASCII."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def _same_url(htu: str, url: str) -> bool:
    if htu == url:
        return True  # as clients send it: no need to take it apart
    claimed, actual = urlsplit(htu), urlsplit(url)
    return (
        claimed.scheme.lower() == actual.scheme.lower()
        and claimed.netloc.lower() == actual.netloc.lower()
        and claimed.path == actual.path
    )


#: Proof header segment (its exact base64url text) -> the key it carries and its thumbprint.
KeyCache = MutableMapping[bytes, tuple[VerificationKey, str]]


def _proof_key(parsed: ParsedToken) -> tuple[VerificationKey, str]:
    header = parsed.header
    jwk = header.get("jwk")
    if header.get("typ") != "dpop+jwt" or not isinstance(jwk, dict):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    # parse_jwk refuses private members, symmetric keys and weak RSA; it needs a kid.
    key = parse_jwk({**jwk, "kid": "dpop"})
    if key is None:
        raise AuthenticationError(Reason.INVALID_SIGNATURE)
    try:
        return key, jwk_thumbprint(jwk)
    except ValueError:
        raise AuthenticationError(Reason.INVALID_SIGNATURE) from None


def _signed_by(parsed: ParsedToken, algorithms: frozenset[str], keys: KeyCache | None) -> str:
    """The thumbprint of the proof's public key, once its signature over the proof verifies.

    ``keys`` remembers what a header segment parses to: a client sends the same header (typ,
    alg, jwk) with every proof, and the entry is exactly what parsing that text gives, so no
    request can put another key under it. The signature is verified every time.
    """
    segment = parsed.signing_input.split(b".", 1)[0]
    found = keys.get(segment) if keys is not None else None
    if found is None:
        found = _proof_key(parsed)
        if keys is not None:
            keys[segment] = found
    key, thumbprint = found
    alg = parsed.alg
    if alg not in algorithms or alg not in key.algorithms:
        raise AuthenticationError(Reason.INVALID_SIGNATURE)
    if not signature_ok(alg, key, parsed.signing_input, parsed.signature):
        raise AuthenticationError(Reason.INVALID_SIGNATURE)
    return thumbprint


def verify_proof(
    proof: str,
    *,
    method: str,
    url: str,
    access_token: str,
    algorithms: frozenset[str],
    now: float,
    max_age_s: float,
    leeway_s: float,
    keys: KeyCache | None = None,
    headers: MutableMapping[str, dict[str, Any]] | None = None,
) -> ProvenKey:
    """Check ``proof`` for this request and token; raises the core's 401 errors.

    ``MalformedCredentials`` for a proof that is not one; ``InvalidSignature`` for a key or a
    signature that does not verify; ``BindingMismatch`` for a proof of another request, another
    token, or a time outside the window.
    """
    parsed = parse_token(proof, max_bytes=MAX_PROOF_BYTES, headers=headers)
    thumbprint = _signed_by(parsed, algorithms, keys)
    claims = parsed.payload
    jti, htm, htu, iat, ath = (claims.get(n) for n in ("jti", "htm", "htu", "iat", "ath"))
    if not (isinstance(jti, str) and 0 < len(jti) <= _MAX_JTI):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    if not isinstance(htm, str) or not isinstance(htu, str) or not isinstance(ath, str):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    if htm != method or not _same_url(htu, url):
        raise AuthenticationError(Reason.BINDING_MISMATCH)
    if not hmac.compare_digest(ath, ath_of(access_token)):
        raise AuthenticationError(Reason.BINDING_MISMATCH)
    if iat > now + leeway_s or iat < now - max_age_s - leeway_s:
        raise AuthenticationError(Reason.BINDING_MISMATCH)
    return ProvenKey(thumbprint=thumbprint, jti=jti, iat=float(iat))
