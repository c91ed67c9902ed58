"""A real Cognito flow against a moto *server*: pool, client, group, user, tokens from
``initiate_auth``, verified through the JWT authorizer with keys fetched over HTTP on loopback
(gatehouse.testing's ``gatehouse_cognito_server``).

moto's tokens carry the real Cognito issuer URL (``https://cognito-idp.<region>...``), so the
configuration points only the *JWKS URI* at the local server (local mode); the issuer check is
not weakened.
"""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.testing import (
    NETWORK,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    build_event,
)

pytestmark = pytest.mark.enable_socket  # loopback only: the moto server binds 127.0.0.1


@pytest.fixture
def pool(gatehouse_cognito_server):
    gatehouse_cognito_server.web = gatehouse_cognito_server.app_client("web")
    gatehouse_cognito_server.user("alice", groups=["admins"])
    return gatehouse_cognito_server


def gate(pool, **issuer: Any):
    return authorizer(
        "jwt",
        jwt_issuers=[pool.settings(client_ids=[pool.web], **issuer)],
        jwt_allow_loopback_http=True,
        jwt_context_claims="sub,username,groups,token_use",
        http=NETWORK,  # the JWKS is fetched for real, over a socket, from the moto server
    )


def event(token: str) -> dict[str, Any]:
    return build_event("rest_token", "GET /pets/42", authorization=f"Bearer {token}")


def test_cognito_access_token_from_initiate_auth_is_allowed(pool):
    answer = gate(pool)(event(pool.access_token("alice", pool.web)))
    assert_allows(answer)
    assert answer.response["context"]["username"] == "alice"
    assert answer.response["context"]["groups"] == "admins"
    assert answer.response["context"]["token_use"] == "access"


def test_id_token_presented_as_access_token_is_401(pool):
    # Row 19: token-type confusion.
    assert_unauthorized(gate(pool)(event(pool.id_token("alice", pool.web))), reason="InvalidClaims")


def test_id_tokens_verify_when_configured_for_them(pool):
    assert_allows(gate(pool, token_use="id")(event(pool.id_token("alice", pool.web))))


def test_another_app_client_is_401(pool):
    # Row 18: audience replay across app clients.
    other = authorizer(
        "jwt",
        jwt_issuers=[pool.settings(client_ids=["some-other-client"])],
        jwt_allow_loopback_http=True,
        http=NETWORK,
    )
    assert_unauthorized(other(event(pool.access_token("alice", pool.web))))


def test_group_requirement_is_enforced_as_deny(pool):
    answer = gate(pool, required_groups=["auditors"])(event(pool.access_token("alice", pool.web)))
    assert_denies(answer, reason="NotInGroup")
