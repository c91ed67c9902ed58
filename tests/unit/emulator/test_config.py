"""The emulator's view of the demo API comes from the one model (gatehouse.api_model)."""

from __future__ import annotations

import dataclasses

import pytest

from gatehouse.api_model import (
    TOKEN_VALIDATION_REGEX,
    ApiModel,
    ApiSettings,
    Resources,
    RouteModel,
    demo_api,
)
from gatehouse.emulator.config import AuthorizerSpec, GatewayConfig, IdentitySource, Route

RESOURCES = Resources(
    region="eu-west-1",
    user_pool_id="eu-west-1_abc",
    client_ids=("client",),
    api_keys_table="keys",
    trust_anchors="/tmp/ca.pem",  # noqa: S108 - a value, never opened
    crls={"ab": "s3://b/k"},
    policy_source="s3://b/demo.yaml",
)


def _config(settings: ApiSettings | None = None) -> GatewayConfig:
    return GatewayConfig.from_model(
        demo_api(RESOURCES, settings),
        api_id="api1234567",
        stage="dev",
        region="eu-west-1",
        account="123456789012",
        login_url="https://login.example.com/login",
    )


def test_authorizers_are_configured_as_the_model_says():
    config = _config()
    jwt = config.authorizers["jwt"]
    assert (jwt.type, jwt.validation_regex) == ("TOKEN", TOKEN_VALIDATION_REGEX)
    assert jwt.identity_sources == (IdentitySource("header", "Authorization"),)
    assert config.authorizers["mtls"].cache_ttl_seconds == 0
    assert config.authorizers["apikey"].identity_sources == (IdentitySource("header", "x-api-key"),)


def test_routes_keep_their_authorizer_and_api_key_requirement():
    routes = {(r.method, r.path): r for r in _config().routes}
    assert routes[("GET", "/reports")].api_key_required
    assert routes[("GET", "/reports")].authorizer == "apikey"
    assert routes[("GET", "/health")].authorizer is None
    assert routes[("GET", "/tenants/{tenant}/orders/{id}")].match(
        "GET", "/tenants/acme/orders/7"
    ) == {"tenant": "acme", "id": "7"}


def test_login_redirect_only_when_the_stage_enables_it():
    assert _config().login_url is None
    demo = demo_api(RESOURCES)
    browser_only = ApiModel(
        name="web",
        authorizers={"jwt": demo.authorizers["jwt"]},
        routes=(RouteModel("GET", "/profile", "jwt", browser=True),),
        settings=ApiSettings(login_redirect=True),
    )
    config = GatewayConfig.from_model(
        browser_only,
        api_id="a",
        stage="dev",
        region="eu-west-1",
        account="1",
        login_url="https://l/",
    )
    assert config.login_url == "https://l/"


def test_a_login_redirect_on_an_api_machines_call_is_refused():
    # Attack: the API-wide 302 answers an API-key or mTLS client with a login page (a client
    # that follows redirects sees a 200) instead of a 401.
    with pytest.raises(ValueError, match=r"API-wide.*GET /reports.*not browser routes"):
        demo_api(RESOURCES, ApiSettings(login_redirect=True))


def test_the_401_challenge_names_dpop_only_when_an_issuer_accepts_it():
    assert _config().challenge == "Bearer"
    issuer = {"issuer": "https://id.example.com", "audience": ["api"], "dpop": "optional"}
    model = demo_api(dataclasses.replace(RESOURCES, jwt_issuer=issuer))
    challenge = GatewayConfig.from_model(
        model, api_id="a", stage="dev", region="eu-west-1", account="1"
    ).challenge
    assert challenge is not None
    assert challenge.startswith('Bearer, DPoP algs="ES256 ')


def test_cache_ttl_and_settings_of_the_stage_are_used():
    config = _config(ApiSettings(authorizer_cache_seconds=0, cors_allow_origins=("https://a",)))
    assert config.authorizers["jwt"].cache_ttl_seconds == 0
    assert config.cors_allow_origins == ("https://a",)


@pytest.mark.parametrize(
    "build",
    [
        lambda: IdentitySource.parse("header.Authorization"),
        lambda: AuthorizerSpec("a", "TOKEN", (IdentitySource("header", "A"),), 3601),
        lambda: AuthorizerSpec("a", "TOKEN", (), 0),
        lambda: AuthorizerSpec("a", "REQUEST", (), 0, "^x$"),
        lambda: AuthorizerSpec("a", "REQUEST", (), 300),
    ],
    ids=[
        "bad source",
        "ttl over an hour",
        "token without header",
        "regex on request",
        "cached request without identity source",
    ],
)
def test_configurations_api_gateway_refuses_are_refused(build):
    with pytest.raises(ValueError):
        build()


def test_route_without_a_known_authorizer_is_refused():
    with pytest.raises(ValueError, match="no authorizer"):
        GatewayConfig(
            api_id="a",
            stage="s",
            region="r",
            account="1",
            routes=(Route("GET", "/", "x"),),
            authorizers={},
        )


def test_stage_method_throttle_comes_from_the_stage_settings():
    settings = ApiSettings()
    config = _config(settings)
    rate = getattr(settings, "throttling_rate_limit", None)
    if rate is None:
        assert config.method_throttle is None
    else:
        assert config.method_throttle == (float(rate), settings.throttling_burst_limit)


def test_a_cached_request_authorizer_needs_an_identity_source():
    # One cache key for every caller would replay one caller's Allow to all (CDK refuses too).
    with pytest.raises(ValueError, match="needs at least one identity source"):
        AuthorizerSpec("mtls", "REQUEST", (), 300)
    assert AuthorizerSpec("mtls", "REQUEST", (), 0).cache_ttl_seconds == 0


def test_method_throttles_come_from_the_stage_settings_and_name_real_routes():
    from gatehouse.api_model import MethodThrottle

    throttle = MethodThrottle("POST /tenants/{tenant}/orders", rate_limit=2, burst_limit=4)
    config = _config(ApiSettings(method_throttles=(throttle,)))
    assert config.method_throttles == {"POST /tenants/{tenant}/orders": (2.0, 4)}
    with pytest.raises(ValueError, match=r"POST /tenant/orders are not routes of the API"):
        demo_api(
            RESOURCES, ApiSettings(method_throttles=(MethodThrottle("POST /tenant/orders", 1, 1),))
        )
