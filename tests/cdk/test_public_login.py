"""gatehouse.cdk.BrowserLogin and the session-cookie JWT authorizer on a team's own API.

The refusals stop: a login whose cookie no authorizer reads (every login would loop), a
result cache that would replay a GET's Allow to a forged POST (CSRF), and settings the login
function would refuse at cold start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template

from gatehouse.cdk import (
    LOGIN_ROUTES,
    BrowserLogin,
    FunctionOptions,
    GatehouseLayer,
    JwtAuthorizer,
    Rollout,
    SettingsError,
    UnsafeAuthorizerError,
    oidc_issuer,
)

LAYER_DIR = Path(__file__).resolve().parents[2] / "layers" / "build" / "arm64"
SESSION = {"GATEHOUSE_JWT_SESSION_COOKIE": "__Host-gatehouse-session"}
IDP = "https://idp.example.com"


def _stack(**jwt_settings: str) -> tuple[cdk.Stack, GatehouseLayer, JwtAuthorizer]:
    stack = cdk.Stack(cdk.App(), "Portal", env=cdk.Environment(region="eu-west-1"))
    layer = GatehouseLayer(stack, "Gatehouse", directory=LAYER_DIR)
    jwt = JwtAuthorizer(
        stack,
        "Jwt",
        layer=layer,
        issuers=[oidc_issuer(f"{IDP}/", ["portal"])],
        routes=[{"route": "GET /orders"}],
        settings=jwt_settings,
    )
    return stack, layer, jwt


def _login(stack: cdk.Stack, layer: GatehouseLayer, jwt: JwtAuthorizer, api: Any, **extra: Any):
    return BrowserLogin(
        stack,
        "Login",
        layer=layer,
        api=api,
        authorizer=jwt,
        authorize_url=f"{IDP}/oauth2/authorize",
        token_url=f"{IDP}/oauth2/token",
        client_id="portal-web",
        redirect_uri="https://portal.example.com/auth/callback",
        allowed_origins=["https://portal.example.com"],
        **extra,
    )


def test_login_routes_on_a_rest_api_open_get_only_to_the_login_function():
    stack, layer, jwt = _stack(**SESSION)
    api = apigw.RestApi(stack, "Api")
    api.root.add_resource("orders").add_method(
        "GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer()
    )
    login = _login(stack, layer, jwt, api)
    template = Template.from_stack(stack)
    paths = {
        r["Properties"]["PathPart"]
        for r in template.find_resources("AWS::ApiGateway::Resource").values()
    }
    assert {"auth", "login", "callback", "logout"} <= paths
    methods = [
        m["Properties"]
        for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
    ]
    assert len(methods) == len(LOGIN_ROUTES) == 3
    assert {m["HttpMethod"] for m in methods} == {"GET"}
    assert {m["AuthorizationType"] for m in methods} == {"NONE"}
    environment = login.environment
    assert environment["GATEHOUSE_JWT_ISSUERS"] == jwt.environment["GATEHOUSE_JWT_ISSUERS"]
    assert environment["GATEHOUSE_JWT_SESSION_COOKIE"] == "__Host-gatehouse-session"
    assert "GATEHOUSE_JWT_ROUTES" not in environment
    # The sealing key: generated, and readable by the login function alone.
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"PasswordLength": 64})},
    )
    policies = template.find_resources("AWS::IAM::Policy")
    readers = [
        name
        for name, policy in policies.items()
        if "secretsmanager:GetSecretValue" in str(policy["Properties"]["PolicyDocument"])
    ]
    assert len(readers) == 1 and readers[0].startswith("LoginRole")


def test_login_routes_on_an_http_api():
    stack, layer, jwt = _stack(**SESSION)
    api = apigwv2.HttpApi(stack, "Api")
    _login(stack, layer, jwt, api)
    routes = Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Route")
    assert sorted(r["Properties"]["RouteKey"] for r in routes.values()) == sorted(
        f"GET {route}" for route in LOGIN_ROUTES
    )


def test_a_login_for_an_authorizer_that_ignores_the_cookie_is_refused():
    stack, layer, jwt = _stack()
    with pytest.raises(UnsafeAuthorizerError, match="GATEHOUSE_JWT_SESSION_COOKIE"):
        _login(stack, layer, jwt, apigw.RestApi(stack, "Api"))


def test_login_settings_are_checked_by_the_runtime_at_synth():
    stack, layer, jwt = _stack(**SESSION)
    with pytest.raises(SettingsError, match="openid"):
        _login(stack, layer, jwt, apigw.RestApi(stack, "Api"), scopes=["email"])
    with pytest.raises(UnsafeAuthorizerError, match="GATEHOUSE_JWT_ISSUERS"):
        _login(
            stack,
            layer,
            jwt,
            apigw.RestApi(stack, "Api2"),
            settings={"GATEHOUSE_JWT_ISSUERS": "[]"},
        )


def test_an_open_redirect_default_is_refused_at_synth():
    stack, layer, jwt = _stack(**SESSION)
    with pytest.raises(SettingsError, match="DEFAULT_RETURN"):
        _login(
            stack, layer, jwt, apigw.RestApi(stack, "Api"), default_return="https://evil.example/"
        )


def test_a_session_cookie_authorizer_is_an_uncached_request_authorizer():
    stack, _, jwt = _stack(**SESSION)
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer())
    authorizer = next(
        iter(Template.from_stack(stack).find_resources("AWS::ApiGateway::Authorizer").values())
    )["Properties"]
    assert authorizer["Type"] == "REQUEST"
    assert authorizer["AuthorizerResultTtlInSeconds"] == 0
    # No identity source: one would turn a cookie-only (or header-only) request away.
    assert "IdentitySource" not in authorizer


def test_csrf_attack_through_the_cache_is_refused():
    """Attack: a cached Allow for the session's GET replayed to a cross-site POST that lacks
    the CSRF proof (API Gateway keys its cache on the identity sources, not the method)."""
    stack, _, jwt = _stack(**SESSION)
    with pytest.raises(UnsafeAuthorizerError, match="CSRF"):
        jwt.rest_authorizer(
            type="REQUEST",
            identity_sources=["method.request.header.Cookie"],
            cache_ttl=cdk.Duration.minutes(5),
        )
    with pytest.raises(UnsafeAuthorizerError, match="TOKEN"):
        jwt.rest_authorizer(type="TOKEN")
    api = apigwv2.HttpApi(stack, "Api")
    with pytest.raises(UnsafeAuthorizerError, match="CSRF"):
        jwt.http_authorizer(
            api, identity_sources=["$request.header.cookie"], cache_ttl=cdk.Duration.minutes(5)
        )
    jwt.http_authorizer(api)  # the default: no identity source, no cache
    authorizer = next(
        iter(Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Authorizer").values())
    )["Properties"]
    assert authorizer.get("AuthorizerResultTtlInSeconds", 0) == 0
    assert not authorizer.get("IdentitySource")


def test_the_login_routes_stay_open_on_an_api_with_defaults():
    """A default authorizer (HTTP API) or API-key requirement (REST) would lock the login
    behind what it grants: the routes say NONE explicitly."""
    stack, layer, jwt = _stack(**SESSION)
    bootstrap = apigwv2.HttpApi(stack, "Bootstrap")
    http = apigwv2.HttpApi(
        stack, "Http", default_authorizer=jwt.http_authorizer(bootstrap, "Default")
    )
    _login(stack, layer, jwt, http)
    routes = Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Route")
    assert routes and all(
        r["Properties"].get("AuthorizationType", "NONE") == "NONE" for r in routes.values()
    )
    stack, layer, jwt = _stack(**SESSION)
    rest = apigw.RestApi(
        stack, "Rest", default_method_options=apigw.MethodOptions(api_key_required=True)
    )
    rest.root.add_method("GET", apigw.MockIntegration())
    _login(stack, layer, jwt, rest)
    methods = Template.from_stack(stack).find_resources("AWS::ApiGateway::Method")
    login = [
        m["Properties"]
        for m in methods.values()
        if "Integration" in m["Properties"]
        and m["Properties"]["Integration"].get("Type") == "AWS_PROXY"
    ]
    assert len(login) == 3 and not any(m.get("ApiKeyRequired") for m in login)


def test_a_redirect_uri_the_construct_does_not_serve_is_refused():
    stack, layer, jwt = _stack(**SESSION)
    with pytest.raises(UnsafeAuthorizerError, match="/auth/callback"):
        BrowserLogin(
            stack,
            "Login",
            layer=layer,
            api=apigw.RestApi(stack, "Api"),
            authorizer=jwt,
            authorize_url=f"{IDP}/oauth2/authorize",
            token_url=f"{IDP}/oauth2/token",
            client_id="portal-web",
            redirect_uri="https://portal.example.com/wrong/path",
        )


def test_a_replay_table_is_granted_its_one_write():
    stack, layer, jwt = _stack(**SESSION)
    table = dynamodb.TableV2(
        stack,
        "Replay",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    )
    login = _login(stack, layer, jwt, apigw.RestApi(stack, "Api"), replay_table=table)
    assert login.environment["GATEHOUSE_LOGIN_REPLAY_TABLE"] == table.table_name
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    statements = [
        s
        for name, p in policies.items()
        if name.startswith("LoginRole")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(s["Action"] == "dynamodb:PutItem" for s in statements)
    stack, layer, jwt = _stack(**SESSION)
    with pytest.raises(UnsafeAuthorizerError, match="REPLAY_TABLE"):
        _login(
            stack,
            layer,
            jwt,
            apigw.RestApi(stack, "Api"),
            settings={"GATEHOUSE_LOGIN_REPLAY_TABLE": "by-name"},
        )


def test_a_rollout_the_login_would_ignore_is_refused():
    stack, layer, jwt = _stack(**SESSION)
    with pytest.raises(ValueError, match="rollout"):
        _login(
            stack,
            layer,
            jwt,
            apigw.RestApi(stack, "Api"),
            function=FunctionOptions(rollout=Rollout("canary", percent=10, minutes=5)),
        )
