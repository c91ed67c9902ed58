"""gatehouse.challenge: the WWW-Authenticate of an API's 401s."""

from __future__ import annotations

import json

import pytest

from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS
from gatehouse.challenge import api_challenge, www_authenticate


def _jwt(**issuer: object) -> tuple[str, dict[str, str]]:
    entry = {"issuer": "https://id.example.com", "audience": ["api"], **issuer}
    return "jwt", {"GATEHOUSE_JWT_ISSUERS": json.dumps([entry])}


def test_bearer_alone_for_bearer_issuers_and_other_authorizers() -> None:
    assert api_challenge([_jwt(), ("apikey", {}), ("mtls", {})]) == "Bearer"


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_dpop_is_offered_with_the_algorithms_proofs_may_use(mode: str) -> None:
    challenge = api_challenge([("apikey", {}), _jwt(dpop=mode)])
    bearer, dpop = challenge.split(", ", 1)
    assert bearer == "Bearer"
    assert dpop.startswith('DPoP algs="') and dpop.endswith('"')
    # RFC 9449 section 7.1: the algorithms the server accepts for proofs, asymmetric only.
    algs = set(dpop.removeprefix('DPoP algs="').removesuffix('"').split(" "))
    assert algs == set(ASYMMETRIC_ALGORITHMS)
    assert not {"HS256", "HS384", "HS512", "none"} & algs


def test_a_policy_function_with_the_jwt_authenticator_counts() -> None:
    _, environment = _jwt(dpop="optional")
    policy = {**environment, "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer"}
    assert "DPoP" in api_challenge([("policy", policy)])
    assert api_challenge([("policy", {**policy, "GATEHOUSE_POLICY_AUTHENTICATOR": "api_key"})]) == (
        "Bearer"
    )


def test_the_realm_is_named_in_every_challenge() -> None:
    assert www_authenticate(realm="orders", dpop=True).startswith(
        'Bearer realm="orders", DPoP realm="orders", algs="'
    )


@pytest.mark.parametrize("realm", ["", 'a"b', "a\\b", "it's", "a\r\nSet-Cookie: x=y", "x" * 129])
def test_a_realm_that_would_need_escaping_or_split_the_header_is_refused(realm: str) -> None:
    # Attack: a quote or CR LF in the realm would end the quoted-string or split the response.
    with pytest.raises(ValueError, match=r"^realm: "):
        www_authenticate(realm=realm)
