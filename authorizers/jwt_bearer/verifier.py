"""Verify a bearer token: strict parse, trusted issuer, bound algorithm, signature, claims.

Order matters: nothing from the payload is trusted before the signature checks out. The only
unverified value read earlier is ``iss``, and only to choose among *configured* issuers
(an unknown one is refused with no lookup, no fetch, and no cache entry: unlike
aws-jwt-verify's key cache, which grows with forged ``iss`` values: docs/jwt-attacks.md,
"aws-jwt-verify, probed", K4). Row numbers below are that catalogue's.

Algorithm binding (rows 1, 2, 29): the header ``alg`` must be allowed for the issuer *and* be
one the key itself may verify (from its kty/curve and its JWK ``alg``; see ``keys``). HS*, and
``none`` in any casing, can never pass: no key ever allows them. Signature lengths are exact
for the algorithm (RSA: modulus bytes; ECDSA: 2 x coordinate bytes, raw r||s), so an empty or
truncated signature fails before any cryptography (row 9). The signature itself is checked by
PyJWT's algorithm objects on ``cryptography`` (OpenSSL), which reject r=0/s=0 (row 11).

ECDSA high-S twins (row 12) are accepted: OpenSSL signers emit high-S half of the time, so
refusing them would refuse valid tokens. The defence that matters is never keying anything on
the raw token text: revocation uses (iss, jti).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from cachetools import LRUCache
from jwt.algorithms import Algorithm, get_default_algorithms

from authorizers.core.clock import Clock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason
from authorizers.jwt_bearer.claims import VerifiedToken, check_claims
from authorizers.jwt_bearer.issuers import IssuerProfile
from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS, KID_PATTERN, VerificationKey
from authorizers.jwt_bearer.token import MAX_TOKEN_BYTES, parse_token

#: Looks a key up for an issuer; raises AuthenticationError (unknown key, JWKS unavailable).
#: ``(profile, kid, deadline) -> key``: a fetch it makes ends by the invocation's deadline.
KeyLookup = Callable[[IssuerProfile, str, Deadline | None], VerificationKey]

_ALGORITHMS: Final[Mapping[str, Algorithm]] = {
    name: algorithm
    for name, algorithm in get_default_algorithms().items()
    if name in ASYMMETRIC_ALGORITHMS
}


class JwtVerifier:
    """Verifies tokens for a fixed set of issuers.

    Parameters
    ----------
    issuers:
        The trusted issuer profiles; ``iss`` values must be unique.
    key_lookup:
        Where keys come from (the JWKS cache); injected so tests and benchmarks need no IO.
    clock:
        Wall-clock time for ``exp``/``nbf``/``iat``.
    """

    def __init__(
        self,
        issuers: Sequence[IssuerProfile],
        *,
        key_lookup: KeyLookup,
        clock: Clock,
        leeway_s: float = 30.0,
        max_token_bytes: int = MAX_TOKEN_BYTES,
        principal_claim: str = "sub",
    ) -> None:
        by_issuer = {profile.issuer: profile for profile in issuers}
        if len(by_issuer) != len(issuers):
            raise ValueError("two issuer profiles share one iss")
        self._issuers = by_issuer
        self._key_lookup = key_lookup
        self._clock = clock
        self._leeway = leeway_s
        self._max_token_bytes = max_token_bytes
        self._principal_claim = principal_claim
        # An issuer's tokens share a few headers (alg, kid, typ): each is parsed and checked
        # once per text (token.parse_token); bounded, so a flood of headers only evicts.
        self._headers: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=256)

    def verify(self, token: str, deadline: Deadline | None = None) -> VerifiedToken:
        """Raises InvalidRequestError (malformed) or AuthenticationError (not valid); a key
        fetch ends by ``deadline``."""
        parsed = parse_token(token, max_bytes=self._max_token_bytes, headers=self._headers)
        iss = parsed.payload.get("iss")
        profile = self._issuers.get(iss) if isinstance(iss, str) else None
        if profile is None:
            raise AuthenticationError(Reason.UNTRUSTED_ISSUER)
        alg = parsed.alg
        if alg not in profile.algorithms:
            raise AuthenticationError(Reason.INVALID_SIGNATURE)
        kid = parsed.kid
        if kid is None or not KID_PATTERN.fullmatch(kid):
            raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
        key = self._key_lookup(profile, kid, deadline)
        if alg not in key.algorithms:
            raise AuthenticationError(Reason.INVALID_SIGNATURE)
        if not signature_ok(alg, key, parsed.signing_input, parsed.signature):
            raise AuthenticationError(Reason.INVALID_SIGNATURE)
        return check_claims(
            parsed.header,
            parsed.payload,
            profile,
            now=self._clock.now(),
            leeway=self._leeway,
            principal_claim=self._principal_claim,
        )


def signature_ok(alg: str, key: VerificationKey, message: bytes, signature: bytes) -> bool:
    if alg.startswith(("RS", "PS")):
        expected = key.size_bytes
    elif alg.startswith("ES"):
        expected = 2 * key.size_bytes
    else:  # EdDSA: Ed25519 64 bytes, Ed448 114 bytes; the library checks
        expected = len(signature) if signature else -1
    if len(signature) != expected:
        return False
    algorithm: Any = _ALGORITHMS[alg]
    try:
        return bool(algorithm.verify(message, key.public_key, signature))
    except (ValueError, TypeError):
        return False
