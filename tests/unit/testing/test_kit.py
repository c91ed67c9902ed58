"""gatehouse.testing end to end: each authorizer built by the kit, identity in-process, answers
checked and replayed as API Gateway's cache would."""

from __future__ import annotations

import os

import pytest

from authorizers.core.exceptions import ConfigurationError
from gatehouse.testing import (
    OidcIssuer,
    Pki,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    build_event,
    replay,
)

ROUTES = [
    {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
    {"route": "DELETE /orders/{id}", "scopes": ["orders:write"]},
]


def bearer(token: str, request: str = "GET /orders/7", kind: str = "rest_token") -> dict:
    return build_event(kind, request, resource=None, authorization=f"Bearer {token}")


@pytest.fixture
def jwt_gate(gatehouse_oidc_issuer):
    issuer = gatehouse_oidc_issuer
    return authorizer(
        "jwt",
        jwt_issuers=[issuer.settings(audiences=["orders-api"])],
        jwt_routes=ROUTES,
        http=issuer,
    )


# --- JWT with an in-process OIDC issuer ---------------------------------------------------------


def test_a_reader_reads_and_a_cached_read_never_opens_delete(jwt_gate, gatehouse_oidc_issuer):
    answer = jwt_gate(bearer(gatehouse_oidc_issuer.token(aud="orders-api", scope="orders:read")))
    assert_allows(answer)
    assert_allows(answer, "GET /orders/8")  # the same identity, another order: cache-safe
    assert replay(answer, "DELETE /orders/7") == 403
    with pytest.raises(AssertionError, match="expected 200 for DELETE /orders/7"):
        assert_allows(answer, "DELETE /orders/7")


def test_a_missing_scope_is_403_with_its_reason(jwt_gate, gatehouse_oidc_issuer):
    token = gatehouse_oidc_issuer.token(aud="orders-api", scope="profile")
    assert_denies(jwt_gate(bearer(token)), reason="InsufficientScope")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "orders-api", "expires_in": -120}, "Expired"),
        ({"aud": "another-api"}, "InvalidClaims"),
    ],
)
def test_tokens_not_for_this_api_are_401_with_the_reason(
    jwt_gate, gatehouse_oidc_issuer, claims, reason
):
    answer = jwt_gate(bearer(gatehouse_oidc_issuer.token(scope="orders:read", **claims)))
    assert_unauthorized(answer, reason=reason)
    with pytest.raises(ValueError, match="a 401 is not cached"):
        replay(answer, "GET /orders/7")


def test_a_token_from_another_issuer_with_the_same_kid_is_401(jwt_gate):
    # Stops: trusting a token because its kid matches a key of the configured issuer.
    stranger = OidcIssuer("https://evil.example.test/")
    assert_unauthorized(jwt_gate(bearer(stranger.token(aud="orders-api", scope="orders:read"))))


def test_key_rotation_through_discovery(gatehouse_oidc_issuer, gatehouse_clock):
    issuer = gatehouse_oidc_issuer
    gate = authorizer(
        "jwt",
        jwt_issuers=[issuer.settings(audiences=["a"], discover=True)],
        http=issuer,
        clock=gatehouse_clock,
    )
    assert_allows(gate(bearer(issuer.token(aud="a"))))
    issuer.rotate(keep_old=False)
    # A new kid right after a fetch waits out the refresh cooldown (bounded fetching) ...
    assert_unauthorized(gate(bearer(issuer.token(aud="a"))), reason="UnknownKey")
    gatehouse_clock.advance(61)
    # ... and is then picked up: one refresh, both key types served.
    assert_allows(gate(bearer(issuer.token(aud="a"))))
    assert_allows(gate(bearer(issuer.token(aud="a", alg="ES256"))))


def test_an_issuer_nobody_serves_is_unreachable(gatehouse_oidc_issuer):
    gate = authorizer("jwt", jwt_issuers=[gatehouse_oidc_issuer.settings(audiences=["a"])])
    token = gatehouse_oidc_issuer.token(aud="a")
    assert_unauthorized(gate(bearer(token)), reason="UpstreamUnavailable")


def test_time_travel_expires_a_token(gatehouse_oidc_issuer, gatehouse_clock):
    issuer = gatehouse_oidc_issuer
    gate = authorizer(
        "jwt", jwt_issuers=[issuer.settings(audiences=["a"])], http=issuer, clock=gatehouse_clock
    )
    token = issuer.token(aud="a", expires_in=600)
    assert_allows(gate(bearer(token)))
    gatehouse_clock.advance(600 + 31)  # past exp and the 30 s leeway
    assert_unauthorized(gate(bearer(token)), reason="Expired")


def test_simple_responses_replay_for_every_route(gatehouse_oidc_issuer):
    issuer = gatehouse_oidc_issuer
    gate = authorizer(
        "jwt",
        jwt_issuers=[issuer.settings(audiences=["a"])],
        http_response_format="simple",
        http=issuer,
    )
    answer = gate(bearer(issuer.token(aud="a"), kind="http_v2"))
    assert answer.response == {"isAuthorized": True, "context": answer.response["context"]}
    assert replay(answer, "DELETE /anything") == 200


# --- Cognito in moto ------------------------------------------------------------------------------


def test_cognito_pool_and_three_route_rules(gatehouse_cognito):
    pool = gatehouse_cognito
    web, other = pool.app_client("web"), pool.app_client("partner")
    pool.user("alice", groups=["admins"])
    pool.user("bob", groups=["readers"])
    gate = authorizer(
        "jwt",
        jwt_issuers=[pool.settings(client_ids=[web])],
        jwt_routes=[
            {"route": "GET /orders/{id}", "groups": ["readers", "admins"]},
            {"route": "POST /orders", "groups": ["admins"]},
            {"route": "DELETE /orders/{id}", "groups": ["admins"]},
        ],
        http=pool,
    )
    bob = gate(bearer(pool.access_token("bob", web)))
    assert_allows(bob)
    assert replay(bob, "DELETE /orders/7") == 403
    assert_denies(gate(bearer(pool.access_token("bob", web), "POST /orders")), reason="NotInGroup")
    assert_allows(gate(bearer(pool.access_token("alice", web), "DELETE /orders/7")))
    assert_unauthorized(gate(bearer(pool.access_token("alice", other))), reason="InvalidClaims")
    assert_unauthorized(gate(bearer(pool.id_token("alice", web))), reason="InvalidClaims")


# --- API keys in moto -----------------------------------------------------------------------------


def test_api_keys_issue_revoke_rotate_through_the_cli(gatehouse_api_keys):
    keys = gatehouse_api_keys
    settings = keys.settings(apikey_routes=[{"route": "GET /orders/{id}", "scopes": ["read"]}])

    def call(secret: str) -> object:
        # A fresh build per call: no positive cache between the steps.
        return authorizer("apikey", **settings)(
            build_event("rest_token", "GET /orders/7", authorization=secret)
        )

    key = keys.issue("acme", scopes=["read"])
    answer = call(key.secret)
    assert_allows(answer)
    assert answer.response["usageIdentifierKey"] == keys.record(key).usage_identifier_key
    assert_denies(call(keys.issue("globex").secret), reason="InsufficientScope")
    new = keys.rotate(key, grace_hours=0)
    assert_unauthorized(call(key.secret), reason="Expired")
    assert_allows(call(new.secret))
    keys.revoke(new)
    assert_unauthorized(call(new.secret), reason="Revoked")


# --- mTLS with a test CA --------------------------------------------------------------------------

RULES = [{"san_uri": "spiffe://example.test/device/{device}", "principal": "device:{device}"}]


def mtls_event(pem: str) -> dict:
    return build_event("rest_request", "GET /telemetry", client_cert_pem=pem)


def test_certificates_and_a_crl_in_moto_s3(gatehouse_pki, gatehouse_aws):
    pki = gatehouse_pki
    good = pki.client("d1", san_uri="spiffe://example.test/device/d1")
    revoked = pki.client("d2", san_uri="spiffe://example.test/device/d2")
    crl = pki.put_crl(gatehouse_aws.client("s3"), revoked=[revoked])
    gate = authorizer("mtls", **pki.settings(rules=RULES, crl_uri=crl))
    assert_allows(gate(mtls_event(good.pem)))
    assert_unauthorized(gate(mtls_event(revoked.pem)), reason="Revoked")
    expired = pki.client("d3", san_uri="spiffe://example.test/device/d3", valid_days=-1)
    assert_unauthorized(gate(mtls_event(expired.pem)), reason="Expired")
    server = pki.client("d4", san_uri="spiffe://example.test/device/d4", usage="server")
    assert_unauthorized(gate(mtls_event(server.pem)))
    stranger = Pki("Another CA").client("d1", san_uri="spiffe://example.test/device/d1")
    assert_unauthorized(gate(mtls_event(stranger.pem)), reason="UntrustedCertificate")


# --- policy -----------------------------------------------------------------------------------

BUNDLE = """version: 1
rules:
  - id: staff-read
    effect: allow
    routes: ["GET /orders/{id}"]
    groups: [staff]
"""


def test_a_policy_bundle_with_the_jwt_authenticator(gatehouse_policy_bundle, gatehouse_oidc_issuer):
    issuer = gatehouse_oidc_issuer
    gate = authorizer(
        "policy",
        policy_authenticator="jwt_bearer",
        policy_source=str(gatehouse_policy_bundle(BUNDLE)),
        policy_routes=["GET /orders/{id}", "DELETE /orders/{id}"],
        jwt_issuers=[issuer.settings(audiences=["a"], groups_claim="groups")],
        http=issuer,
    )
    staff = gate(bearer(issuer.token(aud="a", groups=["staff"])))
    assert_allows(staff)
    assert replay(staff, "DELETE /orders/7") == 403
    assert_denies(gate(bearer(issuer.token(aud="a", groups=["guest"]))))


# --- bad input and isolation ----------------------------------------------------------------------


def test_bad_input_to_the_kit_names_it(gatehouse_oidc_issuer):
    with pytest.raises(ValueError, match="unknown authorizer kind 'oauth'; use one of jwt"):
        authorizer("oauth")
    with pytest.raises(ConfigurationError, match="GATEHOUSE_JWT_LEEWAY: unknown setting"):
        authorizer(
            "jwt",
            jwt_issuers=[gatehouse_oidc_issuer.settings(audiences=["a"])],
            jwt_leeway=5,
        )
    with pytest.raises(ValueError, match="GATEHOUSE_JWT_ISSUERS is given both"):
        authorizer("jwt", jwt_issuers=[], environ={"GATEHOUSE_JWT_ISSUERS": "[]"})


def test_builds_leave_the_environment_alone(gatehouse_oidc_issuer, tmp_path):
    before = dict(os.environ)
    settings = tmp_path / "gatehouse.json"
    settings.write_text(
        '{"GATEHOUSE_JWT_ISSUERS": [{"type": "oidc", "issuer": "https://i.test/", '
        '"audiences": ["a"], "algorithms": ["RS256"], "jwks_uri": "https://i.test/jwks"}]}'
    )
    authorizer("jwt", settings_file=settings)
    authorizer("jwt", jwt_issuers=[gatehouse_oidc_issuer.settings(audiences=["a"])])
    assert dict(os.environ) == before
