"""A claim present with JSON ``null`` is a claim of the wrong type, never an absent one.

Read as absent, ``"scope": null`` hands the scopes to ``scp``, ``"jti": null`` skips the
revocation lookup and ``"nbf": null`` drops the not-before check: a signed token would then
mean something other than what its issuer wrote. Each test is named after what it stops.
"""

from __future__ import annotations

from typing import Any

import pytest

from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason
from authorizers.jwt_bearer.token import parse_token
from authorizers.jwt_bearer.verifier import JwtVerifier
from tests.unit.jwt_bearer.conftest import (
    COGNITO_CLIENT,
    COGNITO_ISSUER,
    NOW,
    b64json,
    default_claims,
    oidc_profile,
)


def with_null(claims: dict[str, Any], name: str) -> dict[str, Any]:
    """``claims`` with ``name`` present and ``null`` (default_claims drops None values)."""
    return {**claims, name: None}


def invalid_claims(verifier: Any, token: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        verifier.verify(token)
    assert caught.value.reason is Reason.INVALID_CLAIMS


@pytest.mark.parametrize(
    "name", ["nbf", "iat", "exp", "jti", "origin_jti", "sub", "username", "scope", "aud"]
)
def test_null_claim_is_not_read_as_an_absent_claim(verifier, make_token, name):
    invalid_claims(verifier, make_token(with_null(default_claims(), name)))


def test_null_groups_claim_is_not_read_as_no_groups(verifier, make_token):
    invalid_claims(verifier, make_token(with_null(default_claims(), "groups")))


def test_null_scp_is_not_read_as_no_scopes_when_scp_is_the_scope_claim(verifier, make_token):
    # scp is consumed only when scope is absent; then it is a list of strings or refused.
    claims = {k: v for k, v in default_claims().items() if k != "scope"}
    invalid_claims(verifier, make_token(with_null(claims, "scp")))


def test_null_scope_does_not_hand_the_scopes_to_scp(verifier, make_token):
    # GIVEN a token whose scp would grant more than its (null) scope
    claims = with_null(default_claims(scp=["orders:admin"]), "scope")
    # THEN it is refused, rather than verified with scp's scopes
    invalid_claims(verifier, make_token(claims))
    # AND without any scope member, scp is what the token grants (unchanged behaviour)
    plain = {k: v for k, v in default_claims(scp=["orders:admin"]).items() if k != "scope"}
    assert verifier.verify(make_token(plain)).scopes == {"orders:admin"}


def test_null_nbf_does_not_drop_the_not_before_check(verifier, make_token):
    invalid_claims(verifier, make_token(with_null(default_claims(), "nbf")))
    # an absent nbf is still fine: it is optional
    assert verifier.verify(make_token(default_claims())).principal == "user-1"


def test_null_iat_does_not_drop_the_maximum_lifetime_check(static_lookup, make_token):
    bounded = JwtVerifier(
        [oidc_profile(max_lifetime_s=3600)],
        key_lookup=static_lookup,
        clock=ManualClock(start=NOW),
    )
    invalid_claims(bounded, make_token(with_null(default_claims(), "iat")))


@pytest.mark.parametrize("name", ["client_id", "username", "origin_jti"])
def test_null_cognito_identity_claim_is_refused(verifier, make_token, name):
    claims = default_claims(
        iss=COGNITO_ISSUER,
        aud=None,
        client_id=COGNITO_CLIENT,
        token_use="access",
        username="alice",
        origin_jti="origin-1",
        groups=None,
    )
    assert verifier.verify(make_token(claims)).principal == "user-1"
    invalid_claims(verifier, make_token(with_null(claims, name)))


@pytest.mark.parametrize("name", ["typ", "kid"])
def test_null_header_typ_or_kid_is_malformed_not_absent(verifier, make_token, name):
    # With no typ allow-list (the default profile), "typ": null used to pass as untyped.
    token = make_token(header={name: None})
    with pytest.raises(InvalidRequestError) as caught:
        verifier.verify(token)
    assert caught.value.reason is Reason.MALFORMED_CREDENTIALS
    # The same for the parser alone: refused before any key is looked up.
    with pytest.raises(InvalidRequestError):
        parse_token(token)


def test_absent_typ_and_kid_still_parse():
    head = b64json({"alg": "RS256"})
    parsed = parse_token(f"{head}.{b64json(default_claims())}.AAAA")
    assert parsed.kid is None and "typ" not in parsed.header
