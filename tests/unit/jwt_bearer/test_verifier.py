"""Happy paths and the basic rules of the verifier (the attack catalogue is in test_attacks)."""

from __future__ import annotations

import pytest

from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason
from authorizers.jwt_bearer.token import bearer_token
from tests.unit.jwt_bearer.conftest import (
    COGNITO_CLIENT,
    COGNITO_ISSUER,
    NOW,
    default_claims,
)


@pytest.mark.parametrize(
    ("alg", "kid"), [("RS256", "rsa-1"), ("PS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1")]
)
def test_valid_tokens_verify_for_every_key_type(verifier, make_token, alg, kid):
    verified = verifier.verify(make_token(alg=alg, kid=kid))
    assert verified.principal == "user-1"
    assert verified.scopes == {"orders:read", "orders:write"}
    assert verified.groups == {"staff"}


def test_cognito_access_token_uses_client_id_and_token_use(verifier, make_token):
    claims = default_claims(
        iss=COGNITO_ISSUER,
        aud=None,
        client_id=COGNITO_CLIENT,
        token_use="access",
        groups=None,
        **{"cognito:groups": ["admins"]},
    )
    verified = verifier.verify(make_token(claims))
    assert verified.groups == {"admins"}
    assert verified.profile.issuer == COGNITO_ISSUER


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": NOW - 31}, Reason.EXPIRED),
        ({"nbf": NOW + 31}, Reason.NOT_YET_VALID),
        ({"aud": "api://other"}, Reason.INVALID_CLAIMS),
        ({"iss": "https://evil.example.com"}, Reason.UNTRUSTED_ISSUER),
        ({"sub": None}, Reason.INVALID_CLAIMS),
    ],
)
def test_claim_rules(verifier, make_token, overrides, reason):
    with pytest.raises(AuthenticationError) as caught:
        verifier.verify(make_token(default_claims(**overrides)))
    assert caught.value.reason is reason


def test_leeway_is_honoured_at_the_edges(verifier, make_token):
    assert verifier.verify(make_token(default_claims(exp=NOW - 29))).principal == "user-1"
    assert verifier.verify(make_token(default_claims(nbf=NOW + 29))).principal == "user-1"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, Reason.MISSING_CREDENTIALS),
        ("", Reason.MISSING_CREDENTIALS),
        ("Basic abc", Reason.MALFORMED_CREDENTIALS),
        ("Bearer  abc", Reason.MALFORMED_CREDENTIALS),
        ("Bearer abc def", Reason.MALFORMED_CREDENTIALS),
        ("Bearer\tabc", Reason.MALFORMED_CREDENTIALS),
        (" Bearer abc", Reason.MALFORMED_CREDENTIALS),
        ("abc.def.ghi", Reason.MALFORMED_CREDENTIALS),
    ],
)
def test_bearer_header_parsing_is_strict(value, reason):
    # Row 35: exactly "Bearer <token>"; anything else is refused, not guessed at.
    with pytest.raises(InvalidRequestError) as caught:
        bearer_token(value)
    assert caught.value.reason is reason


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer a.b.c") == "a.b.c"
