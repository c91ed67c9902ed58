"""Property tests for the token parser, the verifier and the Authorization-header parser.

(a) Anything at all raises only InvalidRequestError or AuthenticationError; (b) no one-step
mutation of a genuine token verifies; (c) ``bearer_token`` returns a whitespace-free token or
raises InvalidRequestError.
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import AuthenticationError, InvalidRequestError
from authorizers.jwt_bearer.issuers import IssuerProfile
from authorizers.jwt_bearer.keys import VerificationKey, parse_jwks
from authorizers.jwt_bearer.token import bearer_token, parse_token
from authorizers.jwt_bearer.verifier import JwtVerifier
from tests.unit.jwt_bearer.conftest import (
    NOW,
    Keys,
    b64,
    cognito_profile,
    default_claims,
    oidc_profile,
    sign_raw,
)

EXPECTED = (InvalidRequestError, AuthenticationError)
FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ALGORITHMS = [("RS256", "rsa-1"), ("PS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1")]


@pytest.fixture(scope="module")
def world(keys: Keys) -> tuple[JwtVerifier, dict[str, str]]:
    """One verifier and one genuine token per algorithm (module-scoped: Hypothesis reruns the
    test body many times within one fixture instance)."""
    keyset = parse_jwks(keys.jwks())

    def lookup(_profile: IssuerProfile, kid: str, _deadline: Deadline | None) -> VerificationKey:
        key = keyset.keys.get(kid)
        if key is None:
            raise AuthenticationError
        return key

    verifier = JwtVerifier(
        [oidc_profile(), cognito_profile()], key_lookup=lookup, clock=ManualClock(start=NOW)
    )
    private = {"RS": keys.rsa, "PS": keys.rsa, "ES": keys.ec256, "Ed": keys.ed}
    tokens = {}
    for alg, kid in ALGORITHMS:
        head = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        body = b64(json.dumps(default_claims()).encode())
        signing_input = f"{head}.{body}"
        signature = sign_raw(alg, private[alg[:2]], signing_input.encode())
        tokens[alg] = f"{signing_input}.{b64(signature)}"
        assert verifier.verify(tokens[alg]).principal == "user-1"
    return verifier, tokens


def _only_expected_errors(verifier: JwtVerifier, token: str) -> None:
    for call in (parse_token, verifier.verify):
        with contextlib.suppress(*EXPECTED):
            call(token)


# --- (a): anything in, only InvalidRequestError or AuthenticationError out

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_header = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "ES256", "EdDSA", "PS256", "HS256", "none", "ES512"])
        | _json,
        "kid": st.sampled_from(["rsa-1", "ec-1", "ed-1", "weak-1", ""]) | _json,
        "typ": st.sampled_from(["JWT", "at+jwt"]) | _json,
        "crit": _json,
    },
)
_payload = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([oidc_profile().issuer, cognito_profile().issuer]) | _json,
        "exp": st.integers() | _json,
        "aud": _json,
        "sub": _json,
    },
)


def _segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_authorizer_errors(world, text):
    verifier, _ = world
    _only_expected_errors(verifier, text)


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_text_raise_only_authorizer_errors(world, raw):
    verifier, _ = world
    _only_expected_errors(verifier, raw.decode("latin-1"))
    _only_expected_errors(verifier, raw.decode("utf-8", errors="surrogateescape"))


@FAST
@given(st.lists(st.binary(max_size=120), min_size=1, max_size=6), st.booleans())
def test_base64url_segments_of_arbitrary_bytes_raise_only_authorizer_errors(
    world, segments, padded
):
    verifier, _ = world
    encode = base64.urlsafe_b64encode if padded else lambda b: b64(b).encode()
    _only_expected_errors(verifier, ".".join(encode(s).decode() for s in segments))


@FAST
@given(_header, _payload, st.binary(max_size=300))
def test_structured_forgeries_never_verify(world, header, payload, signature):
    verifier, _ = world
    token = f"{_segment(header)}.{_segment(payload)}.{b64(signature)}"
    with pytest.raises(EXPECTED):
        verifier.verify(token)


# --- (b): one mutation of a genuine token never verifies


def _mutate(token: str, kind: str, index: int, char: str) -> str:
    position = index % (len(token) + (kind == "insert"))
    if kind == "flip":
        return token[:position] + char + token[position + 1 :]
    if kind == "insert":
        return token[:position] + char + token[position:]
    if kind == "delete":
        return token[:position] + token[position + 1 :]
    if kind == "truncate":
        return token[:position]
    head, body, sig = token.split(".")
    swaps = {
        "swap-hb": (body, head, sig),
        "swap-hs": (sig, body, head),
        "swap-bs": (head, sig, body),
        "rotate": (body, sig, head),
    }
    return ".".join(swaps[kind])


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    alg=st.sampled_from([alg for alg, _ in ALGORITHMS]),
    kind=st.sampled_from(
        ["flip", "flip", "insert", "delete", "truncate", "swap-hb", "swap-hs", "swap-bs", "rotate"]
    ),
    index=st.integers(min_value=0, max_value=10_000),
    char=st.sampled_from(ALPHABET + ".=+/ ") | st.characters(),
)
def test_a_mutated_token_never_verifies(world, alg, kind, index, char):
    verifier, tokens = world
    token = tokens[alg]
    mutated = _mutate(token, kind, index, char)
    if mutated == token:
        assert verifier.verify(mutated).principal == "user-1"
        return
    with pytest.raises(EXPECTED):
        verifier.verify(mutated)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    alg=st.sampled_from([alg for alg, _ in ALGORITHMS]),
    part=st.integers(min_value=0, max_value=2),
    bit=st.integers(min_value=0, max_value=8 * 300),
)
def test_a_flipped_bit_in_any_decoded_segment_never_verifies(world, alg, part, bit):
    """Flip one bit of the *decoded* header, payload or signature and re-encode canonically:
    only the signature check can catch this one."""
    verifier, tokens = world
    segments = tokens[alg].split(".")
    raw = bytearray(base64.urlsafe_b64decode(segments[part] + "=" * (-len(segments[part]) % 4)))
    assume(raw)
    raw[(bit // 8) % len(raw)] ^= 1 << (bit % 8)
    segments[part] = b64(bytes(raw))
    with pytest.raises(EXPECTED):
        verifier.verify(".".join(segments))


# --- (c): the Authorization header


def _check_bearer(value: str) -> None:
    try:
        token = bearer_token(value)
    except InvalidRequestError:
        return
    assert token
    assert not any(c.isspace() for c in token)
    assert value == value[:7] + token
    assert value[:7].lower() == "bearer "


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_bearer_token_on_arbitrary_text(value):
    _check_bearer(value)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["Bearer", "bearer", "BEARER", "Bearer:", "Basic", ""]),
    st.text(alphabet=" \t\r\n\u00a0\u3000", max_size=2),
    st.text(max_size=40) | st.text(alphabet=ALPHABET + ".= \t,", max_size=40),
)
def test_bearer_token_on_header_like_text(scheme, gap, rest):
    _check_bearer(scheme + gap + rest)
