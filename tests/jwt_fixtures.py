"""JWT fixtures, registered for the whole suite by tests/conftest.py: session keys, JWKS
documents, a token builder that can also forge, and a verifier wired to a static key set
(no IO)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.jwt_bearer.issuers import IssuerKind, IssuerProfile, TokenUse
from authorizers.jwt_bearer.keys import VerificationKey, parse_jwks
from authorizers.jwt_bearer.verifier import JwtVerifier

NOW = 1_750_000_000
ISSUER = "https://idp.example.com"
AUDIENCE = "api://orders"
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool123"
COGNITO_CLIENT = "client-abc"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Keys:
    rsa: rsa.RSAPrivateKey
    rsa_other: rsa.RSAPrivateKey
    rsa_weak: rsa.RSAPrivateKey
    ec256: ec.EllipticCurvePrivateKey
    ed: ed25519.Ed25519PrivateKey

    def jwks(self) -> dict[str, Any]:
        def jwk(text: str, kid: str, **extra: Any) -> dict[str, Any]:
            return {**json.loads(text), "kid": kid, **extra}

        return {
            "keys": [
                jwk(RSAAlgorithm.to_jwk(self.rsa.public_key()), "rsa-1", use="sig"),
                jwk(ECAlgorithm.to_jwk(self.ec256.public_key()), "ec-1"),
                jwk(OKPAlgorithm.to_jwk(self.ed.public_key()), "ed-1"),
                jwk(RSAAlgorithm.to_jwk(self.rsa_weak.public_key()), "weak-1"),
            ]
        }


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa_other=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa_weak=rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505 - row 28
        ec256=ec.generate_private_key(ec.SECP256R1()),
        ed=ed25519.Ed25519PrivateKey.generate(),
    )


def sign_raw(alg: str, key: Any, signing_input: bytes) -> bytes:
    """A real signature over ``signing_input`` (raw r||s for ECDSA, as JWS wants)."""
    if alg.startswith("RS"):
        digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}
        return key.sign(signing_input, padding.PKCS1v15(), digest[alg])
    if alg.startswith("PS"):
        digest = {"PS256": hashes.SHA256(), "PS384": hashes.SHA384(), "PS512": hashes.SHA512()}[alg]
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return key.sign(signing_input, pss, digest)
    if alg.startswith("ES"):
        digest = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest[alg])))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return key.sign(signing_input)
    raise ValueError(alg)


def default_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "jti": "jti-1",
        "scope": "orders:read orders:write",
        "groups": ["staff"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def make_token(keys: Keys) -> Callable[..., str]:
    """make_token(claims=None, *, alg="RS256", kid="rsa-1", key=None, header=None,
    payload_text=None) -> a compact JWS, really signed (unless a test tampers with it)."""

    def build(
        claims: dict[str, Any] | None = None,
        *,
        alg: str = "RS256",
        kid: str | None = "rsa-1",
        key: Any = None,
        header: dict[str, Any] | None = None,
        payload_text: str | None = None,
    ) -> str:
        head: dict[str, Any] = {"alg": alg, "typ": "JWT"}
        if kid is not None:
            head["kid"] = kid
        head.update(header or {})
        payload = (
            payload_text
            if payload_text is not None
            else json.dumps(
                claims if claims is not None else default_claims(), separators=(",", ":")
            )
        )
        signing_input = f"{b64json(head)}.{b64(payload.encode())}".encode()
        if key is None:
            key = {"RS": keys.rsa, "PS": keys.rsa, "ES": keys.ec256, "Ed": keys.ed}[alg[:2]]
        return signing_input.decode() + "." + b64(sign_raw(alg, key, signing_input))

    return build


def oidc_profile(**overrides: Any) -> IssuerProfile:
    values: dict[str, Any] = {
        "kind": IssuerKind.OIDC,
        "issuer": ISSUER,
        "jwks_uri": "https://idp.example.com/jwks",
        "algorithms": frozenset({"RS256", "PS256", "ES256", "EdDSA"}),
        "audiences": frozenset({AUDIENCE}),
        "groups_claim": "groups",
    }
    values.update(overrides)
    return IssuerProfile(**values)


def cognito_profile(**overrides: Any) -> IssuerProfile:
    values: dict[str, Any] = {
        "kind": IssuerKind.COGNITO,
        "issuer": COGNITO_ISSUER,
        "jwks_uri": f"{COGNITO_ISSUER}/.well-known/jwks.json",
        "algorithms": frozenset({"RS256"}),
        "audiences": frozenset({COGNITO_CLIENT}),
        "token_use": TokenUse.ACCESS,
    }
    values.update(overrides)
    return IssuerProfile(**values)


@pytest.fixture
def static_lookup(keys: Keys) -> Callable[[IssuerProfile, str], VerificationKey]:
    keyset = parse_jwks(keys.jwks())

    def lookup(_profile: IssuerProfile, kid: str, _deadline: Deadline | None) -> VerificationKey:
        key = keyset.keys.get(kid)
        if key is None:
            raise AuthenticationError(Reason.UNKNOWN_KEY)
        return key

    return lookup


@pytest.fixture
def verifier(static_lookup) -> JwtVerifier:
    return JwtVerifier(
        [oidc_profile(), cognito_profile()],
        key_lookup=static_lookup,
        clock=ManualClock(start=NOW),
        leeway_s=30,
    )
