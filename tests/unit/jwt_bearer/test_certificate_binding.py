"""Certificate-bound access tokens (RFC 8705, section 3): each attack they stop, by name.

Driven through the testing kit as a user would: a JWT authorizer whose issuer sets
``certificate_binding``, tokens carrying ``cnf.x5t#S256`` of a kit certificate, REST REQUEST
and HTTP API events with the client certificate API Gateway passes.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from authorizers.core.exceptions import AuthenticationError, ConfigurationError
from authorizers.jwt_bearer.binding import (
    CertificateBinding,
    certificate_thumbprint,
    check_certificate_binding,
)
from gatehouse.cache_key import CacheKeyError, check_cache_key, token_binding
from gatehouse.testing import (
    OidcIssuer,
    Pki,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    build_event,
)

AUDIENCE = "orders-api"


@pytest.fixture
def issuer() -> OidcIssuer:
    return OidcIssuer("https://login.example.test/")


@pytest.fixture
def pki() -> Pki:
    return Pki()


def gate(issuer: OidcIssuer, binding: str) -> Any:
    settings = issuer.settings(audiences=[AUDIENCE], certificate_binding=binding)
    return authorizer("jwt", jwt_issuers=[settings], http=issuer)


def event(token: str, pem: str | None, kind: str = "rest_request") -> dict[str, Any]:
    return build_event(kind, "GET /orders/7", authorization=f"Bearer {token}", client_cert_pem=pem)


def test_the_thumbprint_is_base64url_sha256_of_the_der(pki):
    device = pki.client("till-1")
    der = device.certificate.public_bytes(serialization.Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert device.thumbprint == certificate_thumbprint(device.pem) == expected
    assert len(expected) == 43


@pytest.mark.parametrize("kind", ["rest_request", "http_v2", "http_v1"])
def test_a_bound_token_is_allowed_with_its_own_certificate(issuer, pki, kind):
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": device.thumbprint})
    assert_allows(gate(issuer, "required")(event(token, device.pem, kind)))


@pytest.mark.parametrize("binding", ["optional", "required"])
def test_a_stolen_bound_token_with_another_certificate_is_refused(issuer, pki, binding):
    # The attack: a token copied from till-1, replayed by till-2 (also trusted by the domain).
    owner, thief = pki.client("till-1"), pki.client("till-2")
    token = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": owner.thumbprint})
    answer = gate(issuer, binding)(event(token, thief.pem))
    assert_unauthorized(answer, reason="BindingMismatch")


def test_a_stolen_bound_token_sent_without_any_certificate_is_refused(issuer, pki):
    # The attack: the same token over a connection without mTLS (another domain, or the
    # default execute-api endpoint left enabled).
    owner = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": owner.thumbprint})
    assert_unauthorized(gate(issuer, "optional")(event(token, None)), reason="BindingMismatch")


def test_required_refuses_a_plain_bearer_token(issuer, pki):
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE)  # no cnf: whoever holds it could use it
    assert_unauthorized(gate(issuer, "required")(event(token, device.pem)), reason="UnboundToken")
    assert_allows(gate(issuer, "optional")(event(token, device.pem)))


def test_a_dpop_bound_token_sent_as_bearer_is_refused(issuer, pki):
    # The attack: a token bound to a DPoP key (RFC 9449) used without its proof.
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
    assert_unauthorized(gate(issuer, "optional")(event(token, device.pem)), reason="UnboundToken")


@pytest.mark.parametrize(
    "cnf",
    [
        "x5t",  # not an object
        {"x5t#S256": 42},
        {"x5t#S256": "too-short"},
        {"x5t#S256": "A" * 42 + "="},  # padded
    ],
)
def test_a_malformed_confirmation_is_invalid_claims(issuer, pki, cnf):
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE, cnf=cnf)
    assert_unauthorized(gate(issuer, "optional")(event(token, device.pem)), reason="InvalidClaims")


def test_off_refuses_a_bound_token_it_cannot_check(issuer, pki):
    # RFC 8705 section 3: a bound token is never downgraded to a bearer token.
    owner, other = pki.client("till-1"), pki.client("till-2")
    token = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": owner.thumbprint})
    assert_unauthorized(gate(issuer, "off")(event(token, other.pem)), reason="UnboundToken")
    assert_allows(gate(issuer, "off")(event(issuer.token(aud=AUDIENCE), other.pem)))


@pytest.mark.parametrize(
    ("cnf", "reason"),
    [
        ({"jwk": {"kty": "EC"}}, "UnboundToken"),  # RFC 7800: a key this authorizer never checks
        ({"x5t": "abc"}, "UnboundToken"),  # SHA-1 thumbprint: not RFC 8705's
        ({}, "InvalidClaims"),
    ],
)
def test_optional_never_skips_another_confirmation_method(issuer, pki, cnf, reason):
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE, cnf=cnf)
    assert_unauthorized(gate(issuer, "optional")(event(token, device.pem)), reason=reason)


def test_a_null_confirmation_is_invalid_not_absent():
    # As for every claim (docs/jwt.md): "cnf": null must not read as an unbound token.
    with pytest.raises(AuthenticationError, match="InvalidClaims"):
        check_certificate_binding({"cnf": None}, CertificateBinding.OPTIONAL, None)


def test_the_policy_authorizers_jwt_authenticator_checks_the_binding(issuer, pki, tmp_path):
    # What it stops: the same stolen token let in through the policy authorizer instead.
    bundle = tmp_path / "policies.yaml"
    bundle.write_text(
        'version: 1\nrules:\n  - id: all\n    effect: allow\n    routes: ["GET /orders/{id}"]\n',
        encoding="utf-8",
    )
    owner, thief = pki.client("till-1"), pki.client("till-2")
    settings = issuer.settings(audiences=[AUDIENCE], certificate_binding="required")
    policy = authorizer(
        "policy",
        jwt_issuers=[settings],
        http=issuer,
        policy_authenticator="jwt_bearer",
        policy_source=str(bundle),
        policy_routes=["GET /orders/{id}"],
    )
    token = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": owner.thumbprint})

    def request(pem: str) -> dict[str, Any]:
        return build_event(
            "rest_request",
            "GET /orders/7",
            resource="/orders/{id}",
            authorization=f"Bearer {token}",
            client_cert_pem=pem,
        )

    assert_allows(policy(request(owner.pem)))
    assert_unauthorized(policy(request(thief.pem)), reason="BindingMismatch")


@pytest.mark.parametrize(
    "environment",
    [
        None,  # Lambda did not show the environment (a customer-managed KMS key)
        {"GATEHOUSE_CONFIG_FILE": "gatehouse.json"},  # the issuers are in the settings file
        {"GATEHOUSE_JWT_ISSUERS": "${Token[SSM.1]}"},  # a deploy-time value
    ],
)
def test_a_cache_for_issuers_that_cannot_be_seen_is_warned_about(environment):
    warning = check_cache_key(
        kind="jwt",
        function="jwt",
        token=False,
        identity_sources=("method.request.header.Authorization",),
        ttl=300,
        environment=environment,
    )
    assert warning is not None and "not visible here" in warning


def test_the_policy_authenticator_is_read_case_insensitively_as_the_runtime_does():
    policy = {**BOUND, "GATEHOUSE_POLICY_AUTHENTICATOR": " JWT_BEARER "}
    assert token_binding("policy", policy) == "the client certificate"


def test_an_unparsable_certificate_never_matches():
    claims = {"cnf": {"x5t#S256": "A" * 43}}
    with pytest.raises(AuthenticationError, match="BindingMismatch"):
        check_certificate_binding(claims, CertificateBinding.REQUIRED, "not a pem")


def test_an_unknown_binding_mode_is_refused_at_cold_start(issuer):
    settings = issuer.settings(audiences=[AUDIENCE], certificate_binding="maybe")
    with pytest.raises(ConfigurationError, match="'certificate_binding' must be"):
        authorizer("jwt", jwt_issuers=[settings], http=issuer)


# --- per route: sender_constrained ------------------------------------------------------------

ROUTES = [
    {"route": "POST /payments", "sender_constrained": True},
    {"route": "GET /orders/{id}"},
]


def routed(issuer: OidcIssuer, binding: str = "optional", **extra: Any) -> Any:
    settings = issuer.settings(audiences=[AUDIENCE], certificate_binding=binding)
    return authorizer("jwt", jwt_issuers=[settings], http=issuer, jwt_routes=ROUTES, **extra)


def test_a_sender_constrained_route_refuses_a_bearer_token_the_issuer_allows_elsewhere(issuer, pki):
    # The attack: a stolen plain bearer token (no cnf) used on the one route that must only
    # be called by the client a token was bound to, under an issuer whose mode is optional.
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE)
    gate_ = routed(issuer)
    answer = gate_(build_event("rest_request", "POST /payments", authorization=f"Bearer {token}",
                               client_cert_pem=device.pem))  # fmt: skip
    assert_denies(answer, reason="UnboundToken")
    other = build_event("rest_request", "GET /orders/7", resource="/orders/{id}",
                        authorization=f"Bearer {token}", client_cert_pem=device.pem)  # fmt: skip
    assert_allows(gate_(other))  # GET /orders/{id} takes bearer tokens


def test_a_sender_constrained_route_allows_a_token_bound_to_this_certificate(issuer, pki):
    device = pki.client("till-1")
    token = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": device.thumbprint})
    answer = routed(issuer)(build_event("rest_request", "POST /payments",
                                        authorization=f"Bearer {token}",
                                        client_cert_pem=device.pem))  # fmt: skip
    assert_allows(answer)


@pytest.mark.parametrize("kind", ["http_v2", "http_v1"])
def test_a_sender_constrained_route_of_an_http_api_refuses_a_bearer_token(issuer, pki, kind):
    device = pki.client("till-1")
    plain = issuer.token(aud=AUDIENCE)
    bound = issuer.token(aud=AUDIENCE, cnf={"x5t#S256": device.thumbprint})
    gate_ = routed(issuer)
    for token, status in ((plain, 403), (bound, 200)):
        event_ = build_event(
            kind,
            "POST /payments",
            resource="/payments",
            authorization=f"Bearer {token}",
            client_cert_pem=device.pem,
        )
        answer = gate_(event_)
        assert answer.status == status


def test_a_bearer_issuer_beside_a_binding_one_cannot_call_a_sender_constrained_route(pki):
    # The attack: a second, bearer-only issuer's token (stolen or not) on the route that
    # demands a bound token; the binding issuer's presence must not open it.
    binding, bearer = (
        OidcIssuer("https://bound.example.test/"),
        OidcIssuer("https://idp.example.test/"),
    )
    gate_ = authorizer(
        "jwt",
        jwt_issuers=[
            binding.settings(audiences=[AUDIENCE], certificate_binding="optional"),
            bearer.settings(audiences=[AUDIENCE]),
        ],
        http=[binding, bearer],
        jwt_routes=ROUTES,
    )
    device = pki.client("till-1")
    token = bearer.token(aud=AUDIENCE)
    answer = gate_(build_event("rest_request", "POST /payments", authorization=f"Bearer {token}",
                               client_cert_pem=device.pem))  # fmt: skip
    assert_denies(answer, reason="UnboundToken")


def test_a_sender_constrained_route_no_issuer_can_serve_is_refused_at_cold_start(issuer):
    with pytest.raises(ConfigurationError, match=r"POST /payments: 'sender_constrained' needs"):
        routed(issuer, binding="off")


def test_sender_constrained_must_be_a_boolean(issuer):
    settings = issuer.settings(audiences=[AUDIENCE], certificate_binding="optional")
    routes = [{"route": "POST /payments", "sender_constrained": "yes"}]
    with pytest.raises(ConfigurationError, match="'sender_constrained' must be true or false"):
        authorizer("jwt", jwt_issuers=[settings], http=issuer, jwt_routes=routes)


# --- caching stays safe -----------------------------------------------------------------------

BOUND = {
    "GATEHOUSE_JWT_ISSUERS": '[{"type": "oidc", "issuer": "https://login.example.test/", '
    '"audiences": ["a"], "algorithms": ["RS256"], "certificate_binding": "required"}]'
}


def test_binding_is_read_from_the_jwt_and_policy_functions_settings():
    assert token_binding("jwt", BOUND) == "the client certificate"
    policy = {**BOUND, "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer"}
    assert token_binding("policy", policy) == "the client certificate"
    assert not token_binding("policy", {**BOUND, "GATEHOUSE_POLICY_AUTHENTICATOR": "mtls"})
    assert not token_binding("jwt", {"GATEHOUSE_JWT_ISSUERS": "[]"})


def test_a_cached_authorizer_for_bound_tokens_is_refused():
    # The attack: API Gateway replays the cached Allow of the owner's request to a thief
    # sending the same token with no certificate (the cache key is the token alone).
    with pytest.raises(CacheKeyError, match="cannot key its cache on"):
        check_cache_key(
            kind="jwt",
            function="jwt",
            token=False,
            identity_sources=("method.request.header.Authorization",),
            ttl=300,
            environment=BOUND,
        )


def test_a_token_authorizer_for_bound_tokens_is_refused():
    # A TOKEN authorizer's event carries no client certificate: every bound token would fail,
    # or, with binding off by mistake, pass as a bearer token.
    with pytest.raises(CacheKeyError, match="TOKEN authorizer is not given it"):
        check_cache_key(
            kind="jwt",
            function="jwt",
            token=True,
            identity_sources=("method.request.header.Authorization",),
            ttl=0,
            environment=BOUND,
        )
