"""The JWT attack catalogue (docs/jwt-attacks.md), one negative test per row that applies to a
JWKS / asymmetric authorizer. Every test builds the real malicious token and asserts the exact
exception class and ``Reason``.

Not here: rows 6, 27, 30, 31, 32 (JWKS cache and fetch: test_jwks.py, test_fetch.py), row 33
(revocation), row 37 (ALB: not applicable to this authorizer).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import json
import timeit
import traceback
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    AuthorizerError,
    InvalidRequestError,
    Reason,
)
from authorizers.core.request import normalize
from authorizers.jwt_bearer.claims import VerifiedToken
from authorizers.jwt_bearer.decide import build_context, decide
from authorizers.jwt_bearer.issuers import IssuerKind, IssuerProfile, TokenUse
from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS, VerificationKey, parse_jwks
from authorizers.jwt_bearer.token import MAX_TOKEN_BYTES, bearer_token
from authorizers.jwt_bearer.verifier import JwtVerifier, KeyLookup
from tests.conftest import load_event
from tests.unit.jwt_bearer.conftest import (
    AUDIENCE,
    COGNITO_CLIENT,
    COGNITO_ISSUER,
    ISSUER,
    NOW,
    Keys,
    b64,
    cognito_profile,
    default_claims,
    oidc_profile,
    sign_raw,
)

Lookup = KeyLookup

#: Order of the P-256 group.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ATTACKER_JWKS = "https://attacker.example/.well-known/jwks.json"
MALFORMED = Reason.MALFORMED_CREDENTIALS


# --------------------------------------------------------------------------- helpers


class RecordingLookup:
    """A key lookup that records every (profile, kid) it is asked for."""

    def __init__(self, inner: Lookup) -> None:
        self.inner = inner
        self.calls: list[tuple[IssuerProfile, str]] = []

    def __call__(
        self, profile: IssuerProfile, kid: str, deadline: Deadline | None = None
    ) -> VerificationKey:
        self.calls.append((profile, kid))
        return self.inner(profile, kid, deadline)


def make_verifier(lookup: Lookup, *profiles: IssuerProfile, **options: Any) -> JwtVerifier:
    return JwtVerifier(
        list(profiles) or [oidc_profile(), cognito_profile()],
        key_lookup=lookup,
        clock=ManualClock(start=NOW),
        leeway_s=30,
        **options,
    )


def lookup_for(jwks: dict[str, Any]) -> Lookup:
    keyset = parse_jwks(jwks)

    def lookup(_profile: IssuerProfile, kid: str, _deadline: Deadline | None) -> VerificationKey:
        key = keyset.keys.get(kid)
        if key is None:
            raise AuthenticationError(Reason.UNKNOWN_KEY)
        return key

    return lookup


def text_of(value: dict[str, Any] | str) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def forge(header: dict[str, Any] | str, payload: dict[str, Any] | str, signature: str) -> str:
    """A token with a signature segment chosen by the attacker (base64url text, verbatim)."""
    return f"{b64(text_of(header).encode())}.{b64(text_of(payload).encode())}.{signature}"


def signed(header: dict[str, Any] | str, payload: dict[str, Any] | str, key: Any) -> str:
    """A token really signed by ``key`` for the header's ``alg`` (header given as text allowed)."""
    alg = json.loads(text_of(header))["alg"]  # with duplicate members: the last one
    signing_input = f"{b64(text_of(header).encode())}.{b64(text_of(payload).encode())}"
    return f"{signing_input}.{b64(sign_raw(alg, key, signing_input.encode()))}"


def hmac_token(alg: str, secret: bytes, claims: dict[str, Any], kid: str = "rsa-1") -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64(text_of({'alg': alg, 'typ': 'JWT', 'kid': kid}).encode())}"
    signing_input += f".{b64(text_of(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(mac)}"


def refused(
    verifier: JwtVerifier, token: str, error: type[AuthorizerError], reason: Reason
) -> AuthorizerError:
    with pytest.raises(AuthorizerError) as caught:
        verifier.verify(token)
    assert type(caught.value) is error, (type(caught.value), caught.value.reason)
    assert caught.value.reason is reason
    return caught.value


def resign(token: str, signature: bytes) -> str:
    return token.rsplit(".", 1)[0] + "." + b64(signature)


def signature_of(token: str) -> bytes:
    segment = token.rsplit(".", 1)[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture
def lookup(static_lookup: Lookup) -> RecordingLookup:
    return RecordingLookup(static_lookup)


@pytest.fixture
def checked(lookup: RecordingLookup) -> JwtVerifier:
    """The default verifier (OIDC + Cognito profiles) over a recording lookup."""
    return make_verifier(lookup)


def attacker_jwk(keys: Keys, kid: str = "attacker-1") -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(keys.rsa_other.public_key(), as_dict=True), "kid": kid}


def attacker_certificate(keys: Keys) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(keys.rsa_other.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(keys.rsa_other, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


# --------------------------------------------------------------------------- rows 1, 2, 3, 4, 5


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_row01_alg_none_in_every_casing(checked, lookup, static_lookup, alg):
    """Row 1: ``alg: none`` in any casing, empty or junk signature (CVE-2015-2951; jwt_tool
    ``-X a``; OWASP "Unsecured JWTs")."""
    header = {"alg": alg, "typ": "JWT", "kid": "rsa-1"}
    claims = default_claims()
    # The classic unsecured JWT: an empty signature segment is not a token at all.
    refused(checked, forge(header, claims, ""), InvalidRequestError, MALFORMED)
    # jwt_tool's variant with a junk signature: "none" is not an algorithm of the issuer.
    refused(checked, forge(header, claims, "AA"), AuthenticationError, Reason.INVALID_SIGNATURE)
    refused(
        checked, forge({"alg": alg}, claims, "AA"), AuthenticationError, Reason.INVALID_SIGNATURE
    )
    assert lookup.calls == []
    # Even an issuer misconfigured to list "none" cannot pass: no key ever allows it.
    permissive = make_verifier(static_lookup, oidc_profile(algorithms=frozenset({alg})))
    refused(permissive, forge(header, claims, "AA"), AuthenticationError, Reason.INVALID_SIGNATURE)


def _public_key_as_secret(keys: Keys) -> dict[str, bytes]:
    public = keys.rsa.public_key()
    return {
        "spki-pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pkcs1-pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk-json": RSAAlgorithm.to_jwk(public).encode(),
    }


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_row02_hs256_signed_with_the_rsa_public_key(keys, lookup, checked, alg):
    """Row 2: RS/HS key confusion, an HMAC keyed with the issuer's *public* key (CVE-2016-10555;
    PyJWT CVE-2017-11424, CVE-2022-29217, CVE-2026-48526, CVE-2026-102268; fast-jwt
    CVE-2023-48223)."""
    mixed = make_verifier(lookup, oidc_profile(algorithms=frozenset({"RS256", alg})))
    for secret in _public_key_as_secret(keys).values():
        token = hmac_token(alg, secret, default_claims())
        refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
        # An issuer that (wrongly) mixes HS and RS: the RSA key itself never allows HMAC.
        refused(mixed, token, AuthenticationError, Reason.INVALID_SIGNATURE)
    assert {kid for _, kid in lookup.calls} == {"rsa-1"}
    assert len(lookup.calls) == len(_public_key_as_secret(keys))  # only the mixed profile


def test_rows07_08_hmac_is_impossible(keys, static_lookup):
    """Rows 7 and 8: blank or weak HMAC secrets (CVE-2019-20933, CVE-2020-28637; PyJWT
    CVE-2026-102266; jwt_tool ``-X b`` / ``-C``). A JWKS authorizer has no HMAC at all: even a
    profile constructed with HS* algorithms cannot verify, because no key allows them and an
    ``oct`` JWK never becomes a key."""
    hs_profile = IssuerProfile(
        kind=IssuerKind.OIDC,
        issuer=ISSUER,
        jwks_uri="https://idp.example.com/jwks",
        algorithms=frozenset({"HS256", "HS384", "HS512"}),
        audiences=frozenset({AUDIENCE}),
        groups_claim="groups",
    )
    jwks = keys.jwks()
    jwks["keys"].append({"kty": "oct", "kid": "hmac-1", "k": ""})
    jwks["keys"].append({"kty": "oct", "kid": "hmac-2", "k": b64(b"secret"), "alg": "HS256"})
    lookup = RecordingLookup(lookup_for(jwks))
    verifier = make_verifier(lookup, hs_profile)
    for alg in ("HS256", "HS384", "HS512"):
        for secret in (b"", b"secret", b"\x00" * 64):
            token = hmac_token(alg, secret, default_claims())
            refused(verifier, token, AuthenticationError, Reason.INVALID_SIGNATURE)
            for kid in ("hmac-1", "hmac-2"):
                token = hmac_token(alg, secret, default_claims(), kid=kid)
                refused(verifier, token, AuthenticationError, Reason.UNKNOWN_KEY)
    assert parse_jwks(jwks).keys.keys() == {"rsa-1", "ec-1", "ed-1"}


def test_row03_embedded_jwk_header_is_never_used(keys, lookup, checked):
    """Row 3: a ``jwk`` (or ``x5c``) header carrying the attacker's own key (CVE-2018-0114;
    jwt_tool ``-X i``; PortSwigger; Authlib CVE-2026-27962)."""
    claims = default_claims(scope="admin")
    jwk = attacker_jwk(keys)
    x5c = [attacker_certificate(keys)]
    # Under the issuer's kid: verified against the issuer's key, so the signature fails.
    for extra in ({"jwk": jwk}, {"x5c": x5c}, {"jwk": jwk, "x5c": x5c}):
        token = signed({"alg": "RS256", "kid": "rsa-1", **extra}, claims, keys.rsa_other)
        refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
    # Under the attacker's kid: that kid is not in the issuer's JWKS.
    token = signed({"alg": "RS256", "kid": "attacker-1", "jwk": jwk}, claims, keys.rsa_other)
    refused(checked, token, AuthenticationError, Reason.UNKNOWN_KEY)
    # With no kid at all, the embedded key cannot stand in for one.
    token = signed({"alg": "RS256", "jwk": jwk}, claims, keys.rsa_other)
    refused(checked, token, InvalidRequestError, MALFORMED)
    assert [kid for _, kid in lookup.calls] == ["rsa-1"] * 3 + ["attacker-1"]


def test_row04_jku_and_x5u_are_never_fetched(keys, lookup, checked, make_token):
    """Row 4: ``jku`` / ``x5u`` pointing at an attacker-hosted JWKS or certificate (jwt_tool
    ``-X s``; PortSwigger; OWASP). Keys come only through ``key_lookup`` for the configured
    profile and the kid; the socket is blocked in tests, so any fetch would also blow up."""
    configured = oidc_profile()
    pointers = {
        "jku": ATTACKER_JWKS,
        "x5u": "https://attacker.example/cert.pem",
        "x5c": [attacker_certificate(keys)],
        "jwk": attacker_jwk(keys, "rsa-1"),
    }
    for name, value in pointers.items():
        lookup.calls.clear()
        token = signed(
            {"alg": "RS256", "kid": "rsa-1", name: value}, default_claims(), keys.rsa_other
        )
        refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
        assert lookup.calls == [(configured, "rsa-1")]
        assert lookup.calls[0][0].jwks_uri == "https://idp.example.com/jwks"
    # A genuine token that merely carries the headers is judged on its real signature only.
    lookup.calls.clear()
    token = make_token(header={"jku": ATTACKER_JWKS, "x5u": ATTACKER_JWKS})
    assert checked.verify(token).principal == "user-1"
    assert lookup.calls == [(configured, "rsa-1")]


@pytest.mark.parametrize(
    "kid",
    [
        "",  # blank (jwt_tool: kid "" with an empty key)
        " ",
        "' UNION SELECT 'key' --",  # SQL injection
        "x' OR '1'='1",
        "|sleep 10",  # shell
        "; sleep 10",
        "$(sleep 10)\n",
        "../../../../dev/null\x00",  # path traversal with a NUL terminator
        "../../../../dev/null\n",
        "/dev/null ",
        "k" * 1024,  # 1 KB
        "k" * 257,
        "rsa-1\r\n",
        "\u043a\u043b\u044e\u0447",  # non-ASCII
    ],
)
def test_row05_kid_injection(make_token, lookup, checked, kid):
    """Row 5: ``kid`` injection: SQL, shell, path traversal, blank, oversized (jwt_tool
    playbook; PortSwigger). A kid outside the opaque-identifier charset (printable ASCII, 1-256
    characters) is refused before any key lookup."""
    refused(checked, make_token(kid=kid), InvalidRequestError, MALFORMED)
    assert lookup.calls == []


@pytest.mark.parametrize(
    "kid",
    ["../../../../dev/null", "/dev/null", "x'OR'1'='1", ";id", "$(id)", "`id`", "RSA-1", "k" * 256],
)
def test_row05_kid_in_the_charset_is_only_an_exact_map_key(make_token, lookup, checked, kid):
    """Row 5, second half: a printable kid (real ones contain ``/``, ``+``, ``=``, ``.``) is an
    opaque, case-sensitive, exact-match key of an in-memory map: never a path, query or
    command. It reaches the lookup verbatim and is unknown there."""
    refused(checked, make_token(kid=kid), AuthenticationError, Reason.UNKNOWN_KEY)
    assert lookup.calls == [(oidc_profile(), kid)]


# --------------------------------------------------------------------------- rows 9 to 12


def test_row09_null_and_truncated_signatures(keys, make_token, lookup, checked):
    """Row 9: null signature ``header.payload.`` (CVE-2020-28042; jwt_tool ``-X n``) and
    signatures of the wrong length for the algorithm."""
    rs256 = make_token()
    es256 = make_token(alg="ES256", kid="ec-1")
    eddsa = make_token(alg="EdDSA", kid="ed-1")
    for token in (rs256, es256, eddsa):
        refused(checked, token.rsplit(".", 1)[0] + ".", InvalidRequestError, MALFORMED)
        # Cutting one base64 character (342 -> 341, 86 -> 85) leaves an impossible length.
        refused(checked, token[:-1], InvalidRequestError, MALFORMED)
    assert lookup.calls == []
    rs_sig, es_sig, ed_sig = (signature_of(t) for t in (rs256, es256, eddsa))
    r, s = int.from_bytes(es_sig[:32], "big"), int.from_bytes(es_sig[32:], "big")
    wrong_lengths = [
        (rs256, b"\x00"),
        (rs256, rs_sig[:-1]),
        (rs256, rs_sig[:128]),
        (rs256, rs_sig + b"\x00"),
        (rs256, b"\x00" + rs_sig),
        (es256, es_sig[:-1]),
        (es256, es_sig[:32]),
        (es256, es_sig + b"\x00"),
        (es256, encode_dss_signature(r, s)),  # DER, not the JWS raw r||s
        (eddsa, ed_sig[:-1]),
        (eddsa, ed_sig + b"\x00"),
        (eddsa, b"\x00"),
    ]
    for token, signature in wrong_lengths:
        refused(checked, resign(token, signature), AuthenticationError, Reason.INVALID_SIGNATURE)


def test_row10_claims_are_not_trusted_before_the_signature(make_token, lookup, checked):
    """Row 10: "decode is not verify" (jwt_tool "Broken signature"; PortSwigger lab 1): a payload
    tampered after signing keeps the original signature. Whatever the new claims say (expired,
    wrong audience, mistyped, escalated), the answer is the signature, never a claim error."""
    header_b64, _, signature_b64 = make_token().split(".")
    tampered = [
        default_claims(scope="orders:read orders:write admin", sub="admin"),
        default_claims(exp=NOW - 10_000),
        default_claims(nbf=NOW + 10_000),
        default_claims(aud="api://other"),
        default_claims(exp="never"),
        default_claims(exp=None),
        default_claims(sub=None),
        default_claims(groups="staff"),
    ]
    for claims in tampered:
        token = f"{header_b64}.{b64(text_of(claims).encode())}.{signature_b64}"
        refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
    assert len(lookup.calls) == len(tampered)


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 0), (0, 1), (1, 0), (P256_N, P256_N), (P256_N, 1), (1, P256_N), (0, P256_N)],
)
def test_row11_psychic_signature_r_s_zero(make_token, checked, r, s):
    """Row 11: psychic signatures, r = s = 0 (CVE-2022-21449), and r, s >= n."""
    token = make_token(alg="ES256", kid="ec-1")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    refused(checked, resign(token, signature), AuthenticationError, Reason.INVALID_SIGNATURE)
    if (r, s) == (0, 0):
        assert signature == bytes(64)


def _with_unused_bits_flipped(segment: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(segment) % 4 in (2, 3), "the last character must carry unused bits"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) ^ 1]


def test_row12_non_canonical_base64_and_padding(keys, make_token, lookup, checked):
    """Row 12: one token, many spellings (OWASP "JWT malleability"; PyJWT CVE-2026-102269):
    unused low bits flipped in the last character, ``=`` padding, the ``+/`` alphabet, junk
    after the signature. Each would decode to the very same bytes in a lenient decoder."""
    for alg, kid in (("RS256", "rsa-1"), ("ES256", "ec-1")):
        token = make_token(alg=alg, kid=kid)
        head, body, sig = token.split(".")
        twin = f"{head}.{body}.{_with_unused_bits_flipped(sig)}"
        assert signature_of(twin) == signature_of(token)  # a lenient decoder sees no change
        spellings = [twin, token + "=", token + "==", token + "\n", token + " ", token + "!"]
        spellings += [f"{head}=.{body}.{sig}", f"{head}.{body}=.{sig}"]
        for segment_index, segment in enumerate((head, body)):
            if len(segment) % 4:
                parts = [head, body, sig]
                parts[segment_index] = _with_unused_bits_flipped(segment)
                spellings.append(".".join(parts))
        for spelling in spellings:
            refused(checked, spelling, InvalidRequestError, MALFORMED)
    # The standard alphabet (+/) is a different encoding of the same bytes.
    token = next(
        t for t in (make_token(alg="ES256", kid="ec-1") for _ in range(50)) if "-" in t or "_" in t
    )
    refused(
        checked,
        token.replace("-", "+").replace("_", "/"),
        InvalidRequestError,
        MALFORMED,
    )
    assert lookup.calls == []

    # ECDSA high-S twin (r, n - s): ACCEPTED BY DESIGN. OpenSSL signers emit high-S half of the
    # time, so refusing it would refuse genuine tokens; see the verifier.py module docstring.
    # What matters is that nothing keys on the raw token text: revocation uses (iss, jti).
    token = make_token(alg="ES256", kid="ec-1")
    sig = signature_of(token)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    high_s_twin = resign(token, r.to_bytes(32, "big") + (P256_N - s).to_bytes(32, "big"))
    assert high_s_twin != token
    original, twin_verified = checked.verify(token), checked.verify(high_s_twin)
    # Two token strings, one (iss, jti): the revocation key is the same for both.
    key_of = (original.claims["iss"], original.claims["jti"])
    assert (twin_verified.claims["iss"], twin_verified.claims["jti"]) == key_of == (ISSUER, "jti-1")


# --------------------------------------------------------------------------- rows 13 to 16


def test_row13_missing_exp(make_token, checked):
    """Row 13: a token that never expires (jwt_tool "wait for expiry"; OWASP; aws-jwt-verify
    accepts it, facts §1.3 C1/G3). ``exp`` is required, also for Cognito tokens."""
    refused(
        checked, make_token(default_claims(exp=None)), AuthenticationError, Reason.INVALID_CLAIMS
    )
    with_null = {**default_claims(), "exp": None}
    refused(checked, make_token(with_null), AuthenticationError, Reason.INVALID_CLAIMS)
    cognito = default_claims(
        iss=COGNITO_ISSUER, aud=None, exp=None, client_id=COGNITO_CLIENT, token_use="access"
    )
    refused(checked, make_token(cognito), AuthenticationError, Reason.INVALID_CLAIMS)
    expired = default_claims(iat=NOW - 7200, exp=NOW - 3600)
    refused(checked, make_token(expired), AuthenticationError, Reason.EXPIRED)


def test_row14_future_nbf(make_token, checked):
    """Row 14: ``nbf`` in the future, beyond the 30 s leeway."""
    for nbf in (NOW + 31, NOW + 3600, NOW + 10 * 365 * 86400):
        token = make_token(default_claims(nbf=nbf))
        refused(checked, token, AuthenticationError, Reason.NOT_YET_VALID)


def test_row15_future_iat(make_token, static_lookup, checked):
    """Row 15: ``iat`` in the future (aws-jwt-verify accepts one a year ahead, facts §1.3 C5)
    and, with ``max_lifetime_s``, tokens living too long or not saying when they were issued
    (C6: ``exp`` 100 years ahead)."""
    for iat in (NOW + 31, NOW + 365 * 86400):
        token = make_token(default_claims(iat=iat, exp=iat + 3600))
        refused(checked, token, AuthenticationError, Reason.NOT_YET_VALID)
    bounded = make_verifier(static_lookup, oidc_profile(max_lifetime_s=3600))
    assert bounded.verify(make_token(default_claims(iat=NOW - 60, exp=NOW + 3540))).principal
    for claims in (
        default_claims(iat=NOW - 60, exp=NOW + 3541),
        default_claims(iat=NOW, exp=NOW + 100 * 365 * 86400),
        default_claims(iat=None),
    ):
        refused(bounded, make_token(claims), AuthenticationError, Reason.INVALID_CLAIMS)


_CLAIM_CONFUSION = [
    {"exp": str(NOW + 3600)},
    {"exp": True},
    {"exp": [NOW + 3600]},
    {"exp": {"$gt": 0}},
    {"nbf": "0"},
    {"nbf": False},
    {"iat": str(NOW)},
    {"sub": 12345},
    {"sub": ["user-1"]},
    {"sub": ""},
    {"jti": 1},
    {"aud": 7},
    {"aud": [[AUDIENCE]]},
    {"aud": [AUDIENCE, 7]},
    {"aud": {"0": AUDIENCE}},
    {"scope": ["orders:read"]},
    {"scope": 1},
    {"groups": "staff"},
    {"groups": [["staff"]]},
]


@pytest.mark.parametrize(
    "overrides", _CLAIM_CONFUSION, ids=[json.dumps(o) for o in _CLAIM_CONFUSION]
)
def test_row16_claim_type_confusion(make_token, checked, overrides):
    """Row 16: claim type confusion (jwt_tool ``-M er`` injects None/True/False/0/strings;
    PyJWT accepts a numeric-string ``exp``). Every consumed claim has its JSON type checked."""
    refused(
        checked, make_token(default_claims(**overrides)), AuthenticationError, Reason.INVALID_CLAIMS
    )


@pytest.mark.parametrize(
    "literal", ["1e400", "-1e400", "1E+999"], ids=["inf", "-inf", "inf-exponent"]
)
def test_row16_overflowing_float_times_are_not_times(make_token, checked, literal):
    """Row 16: ``1e400`` parses as an IEEE infinity: not a time."""
    body = text_of(default_claims())[:-1] + f',"nbf":{literal}}}'
    refused(checked, make_token(payload_text=body), AuthenticationError, Reason.INVALID_CLAIMS)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_row16_non_json_number_literals_are_malformed(make_token, checked, literal):
    """Row 16: Python's JSON extensions (NaN, Infinity) are not JSON."""
    body = text_of(default_claims(exp=None))[:-1] + f',"exp":{literal}}}'
    refused(checked, make_token(payload_text=body), InvalidRequestError, MALFORMED)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_row16_huge_integer_times_are_invalid_claims(make_token, checked, name):
    """Row 16: a JSON integer too large for a float (the issuer signed it) is not a time; the
    verifier's contract is to raise only InvalidRequestError or AuthenticationError."""
    body = text_of(default_claims(**{name: None}))[:-1] + f',"{name}":{10**309}}}'
    refused(checked, make_token(payload_text=body), AuthenticationError, Reason.INVALID_CLAIMS)


# --------------------------------------------------------------------------- rows 17 to 20


@pytest.mark.parametrize(
    "iss",
    [
        ISSUER + ".evil.example",  # superstring
        ISSUER + "/evil",
        ISSUER + "/",  # trailing slash
        ISSUER[:-1],  # prefix (PyJWT CVE-2024-53861: "in" on a str)
        "https://idp.example",
        "https:",
        "https://IDP.example.com",  # case
        "HTTPS://idp.example.com",
        "http://idp.example.com",
        " " + ISSUER,
        ISSUER + "\u0000",
        ISSUER.replace("e", "\u0435"),  # Cyrillic lookalike
        COGNITO_ISSUER.replace("Pool123", "Evil123"),  # the attacker's own user pool
        [ISSUER],
        {"iss": ISSUER},
        None,
    ],
)
def test_row17_issuer_confusion(make_token, lookup, checked, iss):
    """Row 17: issuer confusion, partial matches (PyJWT CVE-2024-53861) and the attacker's own
    pool or IdP (aws-jwt-verify #36): exact equality with a configured issuer, refused before
    any key lookup."""
    claims = {**default_claims(), "iss": iss}
    if iss is None:
        del claims["iss"]
    refused(checked, make_token(claims), AuthenticationError, Reason.UNTRUSTED_ISSUER)
    assert lookup.calls == []


def test_row17_issuer_of_another_profile_does_not_borrow_its_keys(keys, make_token):
    """Row 17: keys are looked up per configured issuer. A token claiming issuer B, signed with
    a key of issuer A, fails: B's JWKS does not know A's kid, and B's kid does not verify A's
    signature."""
    oidc_jwks = {"keys": [k for k in keys.jwks()["keys"] if k["kid"] == "rsa-1"]}
    pool_jwks = {
        "keys": [{**RSAAlgorithm.to_jwk(keys.rsa_other.public_key(), as_dict=True), "kid": "cog-1"}]
    }
    per_issuer = {ISSUER: lookup_for(oidc_jwks), COGNITO_ISSUER: lookup_for(pool_jwks)}
    lookup = RecordingLookup(
        lambda profile, kid, deadline: per_issuer[profile.issuer](profile, kid, deadline)
    )
    verifier = make_verifier(lookup)
    cognito = default_claims(
        iss=COGNITO_ISSUER, aud=None, client_id=COGNITO_CLIENT, token_use="access"
    )
    assert verifier.verify(make_token(cognito, kid="cog-1", key=keys.rsa_other)).principal
    # Cognito claims signed with the OIDC issuer's key and kid: the pool has no such kid.
    refused(verifier, make_token(cognito, kid="rsa-1"), AuthenticationError, Reason.UNKNOWN_KEY)
    # ... or with the pool's kid: the pool's key does not verify the OIDC key's signature.
    refused(
        verifier, make_token(cognito, kid="cog-1"), AuthenticationError, Reason.INVALID_SIGNATURE
    )
    # And the other way round.
    refused(
        verifier,
        make_token(kid="cog-1", key=keys.rsa_other),
        AuthenticationError,
        Reason.UNKNOWN_KEY,
    )
    issuers = [profile.issuer for profile, _ in lookup.calls]
    assert issuers == [COGNITO_ISSUER, COGNITO_ISSUER, COGNITO_ISSUER, ISSUER]


def test_row18_audience_replay(make_token, checked):
    """Row 18: a token for another service replayed here (RFC 8725 §3.9)."""
    for aud in ("api://other", ["api://other", "api://billing"], [], "", None, "API://ORDERS"):
        claims = {**default_claims(), "aud": aud}
        if aud is None:
            del claims["aud"]
        refused(checked, make_token(claims), AuthenticationError, Reason.INVALID_CLAIMS)
    assert checked.verify(make_token(default_claims(aud=["api://other", AUDIENCE]))).principal
    # Cognito access tokens: the app client is client_id (another client, or only in aud).
    for overrides in (
        {"client_id": "client-other"},
        {"client_id": None, "aud": COGNITO_CLIENT},
        {"client_id": [COGNITO_CLIENT]},
    ):
        claims = default_claims(
            iss=COGNITO_ISSUER, aud=None, client_id=COGNITO_CLIENT, token_use="access"
        )
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        refused(checked, make_token(claims), AuthenticationError, Reason.INVALID_CLAIMS)


def test_row19_token_type_confusion(keys, make_token, static_lookup, checked):
    """Row 19: token-type confusion (RFC 8725 §3.11; RFC 9068 ``typ: at+jwt``): a Cognito ID
    token presented as an access token, and explicit typing per profile."""
    id_token = default_claims(
        iss=COGNITO_ISSUER, aud=COGNITO_CLIENT, token_use="id", email="a@example.com"
    )
    refused(checked, make_token(id_token), AuthenticationError, Reason.INVALID_CLAIMS)
    no_use = default_claims(iss=COGNITO_ISSUER, aud=None, client_id=COGNITO_CLIENT)
    refused(checked, make_token(no_use), AuthenticationError, Reason.INVALID_CLAIMS)
    # An ID-token profile refuses access tokens in turn.
    id_only = make_verifier(static_lookup, cognito_profile(token_use=TokenUse.ID))
    access = default_claims(
        iss=COGNITO_ISSUER, aud=None, client_id=COGNITO_CLIENT, token_use="access"
    )
    refused(id_only, make_token(access), AuthenticationError, Reason.INVALID_CLAIMS)
    assert id_only.verify(make_token(id_token)).principal == "user-1"

    typed = make_verifier(static_lookup, oidc_profile(typ=frozenset({"at+jwt"})))
    for typ in ("JWT", "jwt", "id+jwt", "application/jwt", "at+jwt ", "at+jwt; q=1"):
        refused(typed, make_token(header={"typ": typ}), AuthenticationError, Reason.INVALID_CLAIMS)
    untyped = signed({"alg": "RS256", "kid": "rsa-1"}, default_claims(), keys.rsa)
    refused(typed, untyped, AuthenticationError, Reason.INVALID_CLAIMS)
    for typ in ("at+jwt", "application/at+jwt", "AT+JWT"):
        assert typed.verify(make_token(header={"typ": typ})).principal == "user-1"


def test_row20_scope_escalation_is_exact(make_token, static_lookup):
    """Row 20: scope and group escalation by near-misses: case, prefixes, suffixes. Scopes are
    an exact, case-sensitive set after splitting on spaces."""
    profile = oidc_profile(
        required_scopes=frozenset({"orders:read"}), required_groups=frozenset({"staff"})
    )
    verifier = make_verifier(static_lookup, profile)
    near = "Orders:read orders:rea orders:read:all orders:readx ORDERS:READ orders:*"
    verified = verifier.verify(make_token(default_claims(scope=near)))
    assert verified.scopes == frozenset(near.split(" "))
    assert "orders:read" not in verified.scopes
    assert not profile.required_scopes <= verified.scopes
    request = normalize(load_event("rest_request"))
    for token, reason in (
        (verified, Reason.INSUFFICIENT_SCOPE),
        (
            verifier.verify(make_token(default_claims(groups=["Staff", "staf", "staff-admins"]))),
            Reason.NOT_IN_GROUP,
        ),
    ):
        with pytest.raises(AuthorizerError) as caught:
            decide(token, request, rules=(), unmatched_allowed=False, context_claims=())
        assert type(caught.value) is AccessDeniedError
        assert caught.value.reason is reason
    exact = verifier.verify(make_token(default_claims(scope="orders:read")))
    assert exact.scopes == {"orders:read"}
    assert decide(exact, request, rules=(), unmatched_allowed=False, context_claims=()).principal_id


# --------------------------------------------------------------------------- rows 21 to 26


def test_row21_duplicate_json_members(keys, make_token, lookup, checked):
    """Row 21: duplicate JSON members, a parser differential (RFC 7515 §5.2, RFC 7519 §4;
    aws-jwt-verify and PyJWT take the last one, facts §1.3 C11). Refused, in header and payload,
    at any depth and however the name is spelled."""
    good = text_of(default_claims())[1:]  # members, without the opening brace
    payloads = [
        '{"iss":"https://evil.example",' + good,
        '{"sub":"admin",' + good,
        '{"exp":9999999999,' + good,
        '{"i\\u0073s":"https://evil.example",' + good,  # the same name, escaped
        '{"extra":{"a":1,"a":2},' + good,
    ]
    for payload in payloads:
        refused(checked, make_token(payload_text=payload), InvalidRequestError, MALFORMED)
    for header in (
        '{"alg":"none","alg":"RS256","kid":"rsa-1"}',
        '{"alg":"RS256","kid":"attacker","kid":"rsa-1"}',
        '{"alg":"RS256","kid":"rsa-1","typ":"JWT","typ":"at+jwt"}',
    ):
        refused(checked, signed(header, default_claims(), keys.rsa), InvalidRequestError, MALFORMED)
    assert lookup.calls == []


def test_row22_proto_keys_are_plain_data(keys, make_token, checked):
    """Row 22: prototype pollution / mass assignment: ``__proto__`` and friends are just claim
    names; nothing is splatted into objects, and only allow-listed claims reach the context."""
    claims = default_claims(
        __proto__={"isAdmin": True, "scope": "admin"},
        constructor={"prototype": {"isAdmin": True}},
        __class__="AdminToken",
        __dict__={"principal": "admin"},
    )
    verified = checked.verify(make_token(claims))
    assert verified.claims["__proto__"] == {"isAdmin": True, "scope": "admin"}
    assert verified.principal == "user-1"
    assert verified.scopes == {"orders:read", "orders:write"}
    assert type(verified) is VerifiedToken
    assert not hasattr(verified, "isAdmin")
    context = build_context(verified, ["__proto__", "constructor", "__class__", "sub"])
    assert context == {"__class__": "AdminToken", "sub": "user-1"}
    header = {"alg": "RS256", "kid": "rsa-1", "__proto__": {"alg": "none", "kid": "x"}}
    assert checked.verify(signed(header, default_claims(), keys.rsa)).principal == "user-1"
    # and a forged one with such a header is still judged on its signature
    forged = signed(header, default_claims(), keys.rsa_other)
    refused(checked, forged, AuthenticationError, Reason.INVALID_SIGNATURE)


@pytest.mark.parametrize("crit", [["exp-ext"], ["b64"], [], "exp", ["alg"]])
def test_row23_crit_header(make_token, lookup, checked, crit):
    """Row 23: ``crit`` naming extensions we do not implement (RFC 7515 §4.1.11 MUST; PyJWT
    CVE-2026-32597; Authlib CVE-2025-59420; aws-jwt-verify accepts it, facts §1.3 C12)."""
    header = {"crit": crit, "exp-ext": 1} if crit == ["exp-ext"] else {"crit": crit}
    refused(checked, make_token(header=header), InvalidRequestError, MALFORMED)
    assert lookup.calls == []


def test_row24_b64_false(keys, make_token, lookup, checked):
    """Row 24: ``b64: false`` (RFC 7797 unencoded, detached payloads) (PyJWT CVE-2026-48525)."""
    for header in ({"b64": False, "crit": ["b64"]}, {"b64": False}, {"b64": True}):
        refused(checked, make_token(header=header), InvalidRequestError, MALFORMED)
    # The detached form: an empty payload segment.
    head, _, sig = make_token(header={"b64": False, "crit": ["b64"]}).split(".")
    refused(checked, f"{head}..{sig}", InvalidRequestError, MALFORMED)
    # An unencoded payload in the middle segment is not base64url.
    raw = text_of(default_claims())
    unencoded = f"{head}.{raw}.{sig}"
    refused(checked, unencoded, InvalidRequestError, MALFORMED)
    assert lookup.calls == []


def test_row25_nested_jwt_cty_and_jwe_five_segments(keys, make_token, lookup, checked):
    """Row 25: nested JWTs (``cty: JWT``) and JWE/JWS confusion (five segments, ``enc``,
    ``zip``); aws-jwt-verify and PyJWT accept ``cty``, facts §1.3 C14."""
    inner = make_token()
    for header in ({"cty": "JWT"}, {"cty": "jwt"}, {"cty": "application/json"}):
        refused(checked, make_token(header=header), InvalidRequestError, MALFORMED)
    nested = signed({"alg": "RS256", "kid": "rsa-1", "cty": "JWT"}, inner, keys.rsa)
    refused(checked, nested, InvalidRequestError, MALFORMED)
    nested_untyped = signed({"alg": "RS256", "kid": "rsa-1"}, inner, keys.rsa)
    refused(checked, nested_untyped, InvalidRequestError, MALFORMED)  # payload is not JSON
    for header in ({"enc": "A256GCM"}, {"zip": "DEF"}):
        refused(checked, make_token(header=header), InvalidRequestError, MALFORMED)
    jwe_header = b64(text_of({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "rsa-1"}).encode())
    jwe = f"{jwe_header}.{b64(b'k' * 256)}.{b64(b'i' * 12)}.{b64(b'c' * 40)}.{b64(b't' * 16)}"
    refused(checked, jwe, InvalidRequestError, MALFORMED)
    head, body, sig = inner.split(".")
    for shape in (
        f"{head}.{body}",
        f"{head}.{body}.{sig}.{sig}",
        f"{inner}..",
        f"{head}.{body}.{sig}.{sig}.{sig}",
    ):
        refused(checked, shape, InvalidRequestError, MALFORMED)
    assert lookup.calls == []


def test_row26_oversized_token_and_deep_json(make_token, lookup, checked, static_lookup):
    """Row 26: oversized tokens and deep JSON (OWASP DoS; python-jose CVE-2024-33664;
    aws-jwt-verify accepts 1.3 MB, facts §1.3 S1)."""
    huge = make_token(default_claims(padding="x" * 1_000_000))  # genuinely signed
    assert len(huge) > 1_000_000
    refused(checked, huge, InvalidRequestError, MALFORMED)

    def attempt() -> None:
        with contextlib.suppress(InvalidRequestError):
            checked.verify(huge)

    # Refused on its length, before any decoding: tens of microseconds, where merely parsing
    # it would take ~15 ms. The best of five runs keeps a loaded machine from flaking this.
    assert min(timeit.repeat(attempt, number=1, repeat=5)) < 0.003
    refused(
        checked,
        make_token(default_claims(padding="x" * MAX_TOKEN_BYTES)),
        InvalidRequestError,
        MALFORMED,
    )
    # The cap is the only reason: with a larger cap the same token verifies.
    roomy = make_verifier(static_lookup, max_token_bytes=2_000_000)
    assert roomy.verify(huge).principal == "user-1"

    depth = 5000
    deep_payload = text_of(default_claims())[:-1] + ',"x":' + "[" * depth + "]" * depth + "}"
    deep = make_token(payload_text=deep_payload)  # genuinely signed
    refused(checked, deep, InvalidRequestError, MALFORMED)  # by size already
    refused(roomy, deep, InvalidRequestError, MALFORMED)  # and by depth
    deep_object = (
        text_of(default_claims())[:-1] + ',"x":' + '{"a":' * depth + "1" + "}" * depth + "}"
    )
    refused(roomy, make_token(payload_text=deep_object), InvalidRequestError, MALFORMED)
    deep_header = '{"alg":"RS256","kid":"rsa-1","x":' + "[" * depth + "]" * depth + "}"
    refused(roomy, forge(deep_header, default_claims(), "AA"), InvalidRequestError, MALFORMED)
    shallow = text_of(default_claims())[:-1] + ',"x":' + "[" * 20 + "]" * 20 + "}"
    assert roomy.verify(make_token(payload_text=shallow)).principal == "user-1"
    assert lookup.calls == []


# --------------------------------------------------------------------------- rows 28, 29


def test_row28_weak_rsa_key_in_the_jwks_is_never_used(keys, make_token, lookup, checked):
    """Row 28: weak keys in the JWKS (RSA < 2048; aws-jwt-verify accepts RSA-1024, facts §1.3
    W1). The fixture JWKS serves ``weak-1`` (RSA-1024); it never becomes a key."""
    keyset = parse_jwks(keys.jwks())
    assert "weak-1" not in keyset.keys
    assert keyset.skipped == 1
    for alg in ("RS256", "PS256", "RS512"):
        token = make_token(alg=alg, kid="weak-1", key=keys.rsa_weak)
        profile_allows = alg in oidc_profile().algorithms
        if profile_allows:
            refused(checked, token, AuthenticationError, Reason.UNKNOWN_KEY)
        else:
            refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
    # Signed by the weak key under the strong key's kid: wrong length, no cryptography.
    token = make_token(kid="rsa-1", key=keys.rsa_weak)
    refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
    assert [kid for _, kid in lookup.calls] == ["weak-1", "weak-1", "rsa-1"]


def test_row29_alg_must_match_the_key_type_and_curve(
    keys, make_token, static_lookup, lookup, checked
):
    """Row 29: the header ``alg`` must match the key's kty/curve and JWK ``alg`` (PyJWT
    CVE-2026-48523; aws-jwt-verify accepts RS256 on an EC key and ES512 on P-256, facts §1.3
    A6/A6b). An everything-allowed profile isolates the key binding from the profile's list."""
    anything = make_verifier(static_lookup, oidc_profile(algorithms=ASYMMETRIC_ALGORITHMS))

    def ecdsa_under(alg: str, kid: str) -> str:
        header = {"alg": alg, "kid": kid}
        body = f"{b64(text_of(header).encode())}.{b64(text_of(default_claims()).encode())}"
        return f"{body}.{b64(sign_raw('ES256', keys.ec256, body.encode()))}"

    forgeries = [
        ecdsa_under("RS256", "ec-1"),  # A6: RS256 header, EC key, ECDSA signature
        ecdsa_under("PS256", "ec-1"),
        ecdsa_under("EdDSA", "ec-1"),
        make_token(alg="ES512", kid="ec-1", key=keys.ec256),  # A6b: ES512 on P-256
        make_token(alg="ES384", kid="ec-1", key=keys.ec256),
        make_token(alg="ES256", kid="rsa-1", key=keys.ec256),
        make_token(alg="EdDSA", kid="rsa-1", key=keys.ed),
        make_token(alg="RS256", kid="ed-1", key=keys.rsa),
    ]
    for token in forgeries:
        refused(anything, token, AuthenticationError, Reason.INVALID_SIGNATURE)
        refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)

    # A JWK that names its alg verifies that alg only (CVE-2026-48523).
    jwks = keys.jwks()
    jwks["keys"][0] = {**jwks["keys"][0], "alg": "RS256"}
    bound = make_verifier(lookup_for(jwks), oidc_profile(algorithms=ASYMMETRIC_ALGORITHMS))
    assert bound.verify(make_token(alg="RS256")).principal == "user-1"
    for alg in ("PS256", "RS512"):
        refused(bound, make_token(alg=alg), AuthenticationError, Reason.INVALID_SIGNATURE)

    # Allowed by the key, not by the issuer profile: refused before any key lookup.
    lookup.calls.clear()
    for alg in ("RS384", "RS512", "PS384", "PS512"):
        token = make_token(alg=alg)
        refused(checked, token, AuthenticationError, Reason.INVALID_SIGNATURE)
        assert anything.verify(token).principal == "user-1"
    assert lookup.calls == []


# --------------------------------------------------------------------------- rows 34 to 36


def test_row34_failures_never_carry_the_token(keys, make_token, checked):
    """Row 34: token leakage through errors (OWASP logging): a failure's message, repr and
    formatted traceback are built from its Reason only, never from the credential."""
    good = make_token()
    head, body, sig = good.split(".")
    failing = [
        resign(good, b"\x01" * 256),  # bad signature
        make_token(default_claims(exp=NOW - 3600)),  # expired
        make_token(default_claims(iss=ISSUER + "/")),  # untrusted issuer
        make_token(default_claims(aud="api://other")),  # claims
        make_token(kid="unknown-kid"),  # unknown key
        make_token(kid="' OR 1=1 --"),  # kid injection
        forge({"alg": "none", "kid": "rsa-1"}, default_claims(), ""),  # alg none
        f"{head}.{body}.{sig}=",  # non-canonical
        f"{head}.{body[:-3]}.{sig}",  # payload not JSON
        good + "." + sig,  # four segments
    ]
    for token in failing:
        with pytest.raises(AuthorizerError) as caught:
            checked.verify(token)
        error = caught.value
        assert isinstance(error, InvalidRequestError | AuthenticationError)
        rendered = [str(error), repr(error), *map(str, error.args)]
        rendered.append("".join(traceback.format_exception(error)))
        segments = [s for s in token.split(".") if len(s) >= 8]
        assert segments
        for text in rendered:
            assert token not in text
            for segment in segments:
                assert segment not in text
        assert str(error) == error.reason.value
        assert error.__cause__ is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, Reason.MISSING_CREDENTIALS),
        ("", Reason.MISSING_CREDENTIALS),
        ("   ", Reason.MISSING_CREDENTIALS),
        ("\t\r\n", Reason.MISSING_CREDENTIALS),
        ("Bearer", Reason.MALFORMED_CREDENTIALS),
        ("Bearer ", Reason.MALFORMED_CREDENTIALS),
        ("Bearer  a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c ", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c\n", Reason.MALFORMED_CREDENTIALS),
        ("Bearer\ta.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer\na.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer\u00a0a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer\u3000a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c, Bearer d.e.f", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c,Bearer d.e.f", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c d.e.f", Reason.MALFORMED_CREDENTIALS),
        ("Bearer: a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer=a.b.c", Reason.MALFORMED_CREDENTIALS),
        ('Bearer "a.b.c"', Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c=", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a+b/c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer a.b.c\x00", Reason.MALFORMED_CREDENTIALS),
        ("B\u0435arer a.b.c", Reason.MALFORMED_CREDENTIALS),  # Cyrillic e
        ("BearerX a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Token a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("JWT a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Basic dXNlcjpwYXNz", Reason.MALFORMED_CREDENTIALS),
        ("a.b.c", Reason.MALFORMED_CREDENTIALS),
        ("Bearer Bearer a.b.c", Reason.MALFORMED_CREDENTIALS),
    ],
)
def test_row35_authorization_header_parsing(value, reason):
    """Row 35: Authorization-header parsing: exactly ``Bearer <token>`` (scheme
    case-insensitive, RFC 7235), one space, one token of the base64url/dot alphabet."""
    with pytest.raises(AuthorizerError) as caught:
        bearer_token(value)
    assert type(caught.value) is InvalidRequestError
    assert caught.value.reason is reason


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_row35_the_one_accepted_form(make_token, checked, scheme):
    """Row 35: the accepted form hands the verifier the token unchanged."""
    token = make_token()
    assert bearer_token(f"{scheme} {token}") == token
    assert checked.verify(bearer_token(f"{scheme} {token}")).principal == "user-1"


def test_row36_urls_in_claims_are_never_dereferenced(keys, make_token, lookup, checked):
    """Row 36: external-interaction injection (jwt_tool ``-M cc``): URLs in claims are data.
    The token verifies normally; the only key lookup is for the configured profile and kid
    (and sockets are blocked in the test run)."""
    claims = default_claims(
        jku=ATTACKER_JWKS,
        x5u="https://attacker.example/cert.pem",
        jwks_uri=ATTACKER_JWKS,
        profile="http://169.254.169.254/latest/meta-data/",
        picture="file:///etc/passwd",
        website="gopher://attacker.example:70/_",
        ref="//attacker.example/x",
    )
    verified = checked.verify(make_token(claims))
    assert verified.principal == "user-1"
    assert verified.claims["jku"] == ATTACKER_JWKS
    assert lookup.calls == [(oidc_profile(), "rsa-1")]
    assert lookup.calls[0][0].jwks_uri == "https://idp.example.com/jwks"
