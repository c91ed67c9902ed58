"""Login settings: required, checked at cold start, with a message that says what to fix."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import boto3
import pytest
from moto import mock_aws

from authorizers.core.exceptions import ConfigurationError
from authorizers.jwt_bearer.config import JwtConfig
from authorizers.login.app import LoginApp
from gatehouse.cache_key import CacheKeyError, check_cache_key
from gatehouse.testing import OidcIssuer

ISSUER = OidcIssuer()
BASE = {
    "GATEHOUSE_JWT_ISSUERS": json.dumps([ISSUER.settings(audiences=["portal"])]),
    "GATEHOUSE_JWT_SESSION_COOKIE": "__Host-gatehouse-session",
    "GATEHOUSE_LOGIN_AUTHORIZE_URL": "https://idp.example.test/authorize",
    "GATEHOUSE_LOGIN_TOKEN_URL": "https://idp.example.test/token",
    "GATEHOUSE_LOGIN_CLIENT_ID": "portal-web",
    "GATEHOUSE_LOGIN_REDIRECT_URI": "https://portal.example.test/auth/callback",
    "GATEHOUSE_LOGIN_KEY_SECRET": "login-key",
}


def build(**changes: Any) -> LoginApp:
    environ = {**BASE, **changes}
    environ = {k: v for k, v in environ.items() if v is not None}
    return LoginApp.from_environ(environ, in_lambda=True, fetch=ISSUER, secret=lambda: "k" * 40)


def test_the_base_settings_build():
    app = build()
    assert app.config.scopes == ("openid",)
    assert app.config.default_return == "/"


@pytest.mark.parametrize(
    "name",
    [
        "GATEHOUSE_LOGIN_AUTHORIZE_URL",
        "GATEHOUSE_LOGIN_TOKEN_URL",
        "GATEHOUSE_LOGIN_CLIENT_ID",
        "GATEHOUSE_LOGIN_REDIRECT_URI",
        "GATEHOUSE_LOGIN_KEY_SECRET",
    ],
)
def test_each_required_setting_is_named_when_missing(name):
    with pytest.raises(ConfigurationError) as caught:
        build(**{name: None})
    assert caught.value.setting == name


def test_a_session_cookie_is_required_and_must_be_host_prefixed():
    with pytest.raises(ConfigurationError, match="__Host-") as caught:
        build(GATEHOUSE_JWT_SESSION_COOKIE=None)
    assert caught.value.setting == "GATEHOUSE_JWT_SESSION_COOKIE"
    with pytest.raises(ConfigurationError, match="__Host-"):
        build(GATEHOUSE_JWT_SESSION_COOKIE="session")


def test_an_unknown_login_setting_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigurationError, match="did you mean GATEHOUSE_LOGIN_CLIENT_ID"):
        build(GATEHOUSE_LOGIN_CLIENT_IDS="x")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEHOUSE_LOGIN_AUTHORIZE_URL", "http://idp.example.test/authorize"),
        ("GATEHOUSE_LOGIN_TOKEN_URL", "http://127.0.0.1:9/token"),  # loopback: local mode only
        ("GATEHOUSE_LOGIN_REDIRECT_URI", "https://user:pw@portal.example.test/cb"),
        ("GATEHOUSE_LOGIN_LOGOUT_URL", "javascript:alert(1)"),
        ("GATEHOUSE_LOGIN_SCOPES", "email,profile"),
        ("GATEHOUSE_LOGIN_ALLOWED_ORIGINS", "https://app.example.test/path"),
        ("GATEHOUSE_LOGIN_ALLOWED_ORIGINS", "http://app.example.test"),
        ("GATEHOUSE_LOGIN_DEFAULT_RETURN", "https://evil.example/"),
        ("GATEHOUSE_LOGIN_DEFAULT_RETURN", "//evil.example/"),
        ("GATEHOUSE_LOGIN_TRANSACTION_SECONDS", "5"),
    ],
)
def test_unsafe_values_are_refused(name, value):
    with pytest.raises(ConfigurationError) as caught:
        build(**{name: value})
    assert caught.value.setting == name


def test_loopback_endpoints_in_a_deployed_function_are_refused():
    with pytest.raises(ConfigurationError) as caught:
        build(GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP="true")
    assert caught.value.setting == "GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP"


def test_the_handler_fails_closed_with_a_503_when_unconfigured(monkeypatch, capsys):
    for name in BASE:
        monkeypatch.delenv(name, raising=False)
    sys.modules.pop("authorizers.login.handler", None)
    handler = importlib.import_module("authorizers.login.handler")
    response = handler.lambda_handler({"httpMethod": "GET", "path": "/auth/login"}, None)
    assert response["statusCode"] == 503
    assert response["body"] == "login refused: Unavailable\n"
    assert "GATEHOUSE_JWT_ISSUERS" in capsys.readouterr().out  # the log names what to fix
    v2 = handler.lambda_handler({"version": "2.0"}, None)
    assert v2["statusCode"] == 503
    sys.modules.pop("authorizers.login.handler", None)


def test_the_handler_serves_a_login_when_configured(monkeypatch):
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("authorizers.login.handler", None)
    handler = importlib.import_module("authorizers.login.handler")
    with mock_aws():  # the key is read on the first request, not at import
        boto3.client("secretsmanager").create_secret(Name="login-key", SecretString="k" * 40)
        response = handler.lambda_handler({"httpMethod": "GET", "path": "/auth/login"}, None)
    assert response["statusCode"] == 302
    assert response["headers"]["Location"].startswith(BASE["GATEHOUSE_LOGIN_AUTHORIZE_URL"])
    sys.modules.pop("authorizers.login.handler", None)


@pytest.mark.parametrize(
    "extra",
    [{"dpop": "required"}, {"certificate_binding": "required"}],
)
def test_an_issuer_demanding_bound_tokens_is_refused(extra):
    """A browser holds no proof key: every session would be refused (a login loop)."""
    issuers = json.dumps([ISSUER.settings(audiences=["portal"], **extra)])
    with pytest.raises(ConfigurationError, match="bound tokens") as caught:
        build(GATEHOUSE_JWT_ISSUERS=issuers)
    assert caught.value.setting == "GATEHOUSE_JWT_ISSUERS"


def test_a_cognito_issuer_taking_id_tokens_is_refused():
    issuers = json.dumps(
        [
            {
                "type": "cognito",
                "user_pool_id": "eu-west-1_Example",
                "client_ids": ["portal-web"],
                "token_use": "id",
                "algorithms": ["RS256"],
            }
        ]
    )
    with pytest.raises(ConfigurationError, match="access") as caught:
        build(GATEHOUSE_JWT_ISSUERS=issuers)
    assert caught.value.setting == "GATEHOUSE_JWT_ISSUERS"


def test_an_issuer_scope_the_login_never_asks_for_is_refused():
    """Every session would be a 403 InsufficientScope: a login that can never work."""
    issuers = json.dumps([ISSUER.settings(audiences=["portal"], required_scopes=["orders:read"])])
    with pytest.raises(ConfigurationError, match="orders:read") as caught:
        build(GATEHOUSE_JWT_ISSUERS=issuers)
    assert caught.value.setting == "GATEHOUSE_LOGIN_SCOPES"
    assert build(GATEHOUSE_JWT_ISSUERS=issuers, GATEHOUSE_LOGIN_SCOPES="openid,orders:read")


def test_a_session_cookie_with_simple_responses_is_refused():
    """A simple answer ({isAuthorized}) names no request: a GET's would answer a POST."""
    with pytest.raises(ConfigurationError, match="simple") as caught:
        JwtConfig.from_environ(
            {
                "GATEHOUSE_JWT_ISSUERS": BASE["GATEHOUSE_JWT_ISSUERS"],
                "GATEHOUSE_JWT_SESSION_COOKIE": "__Host-s",
                "GATEHOUSE_HTTP_RESPONSE_FORMAT": "simple",
            },
            in_lambda=True,
        )
    assert caught.value.setting == "GATEHOUSE_JWT_SESSION_COOKIE"


SESSION_ENV = {"GATEHOUSE_JWT_ISSUERS": "[]", "GATEHOUSE_JWT_SESSION_COOKIE": "__Host-s"}


@pytest.mark.parametrize(
    ("token", "sources", "ttl", "match"),
    [
        (False, ("method.request.header.Cookie",), 300, "CSRF"),
        (True, ("method.request.header.Authorization",), 0, "TOKEN"),
        (False, ("method.request.header.Authorization",), 0, "401"),
        (False, ("method.request.header.Cookie",), 0, "401"),
    ],
)
def test_a_session_authorizer_that_cannot_work_safely_is_refused(token, sources, ttl, match):
    """Attacks and loops: a cached Allow replayed to a forged POST (CSRF); a TOKEN event or
    an identity source that keeps the cookie, or the bearer header, from the function."""
    with pytest.raises(CacheKeyError, match=match):
        check_cache_key(
            kind="jwt",
            function="portal",
            token=token,
            identity_sources=sources,
            ttl=ttl,
            environment=SESSION_ENV,
        )
    assert (
        check_cache_key(
            kind="jwt",
            function="portal",
            token=False,
            identity_sources=(),
            ttl=0,
            environment=SESSION_ENV,
        )
        is None
    )
