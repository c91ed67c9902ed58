"""JWKS documents -> typed verification keys, one member at a time.

PyJWT parses each JWK (``PyJWK``) into a ``cryptography`` public key; we decide which
algorithms each key may verify, from its type and curve, never from the token:

- RSA (``kty: RSA``) of at least 2048 bits: RS256/384/512 and PS256/384/512;
- EC: P-256 -> ES256, P-384 -> ES384, P-521 -> ES512 (the curve binds the algorithm);
- OKP: Ed25519 / Ed448 -> EdDSA.

When the JWK names an ``alg``, the key verifies that algorithm only. Members that are not
signature keys (``use`` other than ``sig``, ``key_ops`` without ``verify``), symmetric keys
(``oct``: an HMAC secret has no place in a public JWKS), weak RSA keys, malformed members and
duplicate ``kid`` values are skipped one by one (a single bad member must not take the whole
set down: PyJWT CVE-2026-102274), and counted so the caller can log how many were dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt import PyJWK
from jwt.exceptions import PyJWTError

MIN_RSA_BITS: Final = 2048
MAX_KEYS: Final = 100
RSA_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
ASYMMETRIC_ALGORITHMS: Final = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS.values()) | {"EdDSA"}
#: A kid is an opaque identifier: printable ASCII, bounded. Never a path, query or command.
KID_PATTERN: Final = re.compile(r"[\x21-\x7e]{1,256}")


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key from a trusted JWKS, with the algorithms it may verify."""

    kid: str
    kty: str
    algorithms: frozenset[str]
    public_key: Any = field(repr=False)
    #: RSA modulus size in bytes, EC coordinate size in bytes: the exact signature geometry.
    size_bytes: int = 0


@dataclass(frozen=True, slots=True)
class KeySet:
    keys: Mapping[str, VerificationKey]
    skipped: int = 0


def parse_jwks(document: object, *, max_keys: int = MAX_KEYS) -> KeySet:
    """Parse a JWKS document (``{"keys": [...]}``) into the verification keys it holds.

    Raises
    ------
    ValueError
        When the document is not a JWKS at all (not an object, ``keys`` not a list). Bad
        members are skipped, not raised.
    """
    if not isinstance(document, Mapping):
        raise ValueError("a JWKS is a JSON object")
    members = document.get("keys")
    if not isinstance(members, list):
        raise ValueError("a JWKS has a 'keys' list")
    keys: dict[str, VerificationKey] = {}
    duplicates: set[str] = set()
    skipped = max(0, len(members) - max_keys)
    for member in members[:max_keys]:
        key = parse_jwk(member)
        if key is None:
            skipped += 1
        elif key.kid in keys or key.kid in duplicates:
            # Two keys under one kid: which one signs is ambiguous, so neither is trusted.
            duplicates.add(key.kid)
            keys.pop(key.kid, None)
            skipped += 1
        else:
            keys[key.kid] = key
    return KeySet(keys=keys, skipped=skipped + len(duplicates))


def parse_jwk(member: object) -> VerificationKey | None:
    """One JWK -> a VerificationKey, or None when it is not a usable signature key."""
    if not isinstance(member, Mapping) or not all(isinstance(k, str) for k in member):
        return None
    kid, kty, alg = member.get("kid"), member.get("kty"), member.get("alg")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        return None
    if kty not in ("RSA", "EC", "OKP") or (alg is not None and alg not in ASYMMETRIC_ALGORITHMS):
        return None
    if not _for_signatures(member):
        return None
    if any(name in member for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        return None  # private material in a public JWKS: a misconfigured issuer; refuse it
    try:
        public_key = PyJWK(dict(member), algorithm=_pyjwt_algorithm(member)).key
    except (PyJWTError, ValueError, TypeError, KeyError):
        return None
    algorithms, size = _algorithms_for(public_key)
    if alg is not None:
        algorithms &= {alg}
    if not algorithms:
        return None
    return VerificationKey(
        kid=kid, kty=kty, algorithms=frozenset(algorithms), public_key=public_key, size_bytes=size
    )


def _for_signatures(member: Mapping[str, object]) -> bool:
    use, key_ops = member.get("use"), member.get("key_ops")
    if use is not None and use != "sig":
        return False
    return key_ops is None or (isinstance(key_ops, list) and "verify" in key_ops)


def _pyjwt_algorithm(member: Mapping[str, object]) -> str:
    """The PyJWT algorithm family used only to *load* the key; never what verifies."""
    kty = member.get("kty")
    if kty == "RSA":
        return "RS256"
    if kty == "EC":
        return EC_ALGORITHMS.get(str(member.get("crv")), "ES256")
    return "EdDSA"


def _algorithms_for(public_key: object) -> tuple[set[str], int]:
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            return set(), 0
        return set(RSA_ALGORITHMS), (public_key.key_size + 7) // 8
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        name = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        curve = name.get(public_key.curve.name)
        if curve is None:
            return set(), 0
        return {EC_ALGORITHMS[curve]}, (public_key.curve.key_size + 7) // 8
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return {"EdDSA"}, 0
    return set(), 0
