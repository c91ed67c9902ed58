"""The emulator's view of the demo API comes from the one model (gatehouse.api_model)."""

from __future__ import annotations

import pytest

from gatehouse.api_model import TOKEN_VALIDATION_REGEX, ApiSettings, Resources, demo_api
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
    assert _config(ApiSettings(login_redirect=True)).login_url == "https://login.example.com/login"


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
