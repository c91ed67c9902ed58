"""JWT settings: issuers and rules from JSON, secure by default, clear errors."""

from __future__ import annotations

import json

import pytest

from authorizers.core.exceptions import ConfigurationError
from authorizers.core.routes import Match
from authorizers.jwt_bearer.config import JwtConfig, UnmatchedRoutes
from authorizers.jwt_bearer.issuers import IssuerKind, TokenUse

COGNITO = {
    "type": "cognito",
    "user_pool_id": "eu-west-1_AbC123",
    "client_ids": ["client-1"],
    "token_use": "access",
    "algorithms": ["RS256"],
}
OIDC = {
    "type": "oidc",
    "issuer": "https://login.example.com/",
    "audiences": ["api://orders"],
    "algorithms": ["RS256", "ES256"],
    "typ": ["application/at+jwt"],
}


def env(**extra: str) -> dict[str, str]:
    base = {"GATEHOUSE_JWT_ISSUERS": json.dumps([COGNITO, OIDC]), "GATEHOUSE_TRACING": "false"}
    base.update(extra)
    return base


def test_cognito_and_oidc_issuers_with_defaults():
    config = JwtConfig.from_environ(env(), in_lambda=True)
    cognito, oidc = config.issuers
    assert cognito.kind is IssuerKind.COGNITO
    assert cognito.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    assert cognito.jwks_uri == cognito.issuer + "/.well-known/jwks.json"
    assert cognito.token_use is TokenUse.ACCESS and cognito.groups_claim == "cognito:groups"
    assert oidc.issuer == "https://login.example.com/"  # exactly as configured (Auth0 style)
    assert oidc.jwks_uri is None  # discovered
    assert oidc.typ == {"at+jwt"}
    assert oidc.groups_claim == "groups"
    assert config.header == "authorization" and config.leeway_s == 30
    assert config.rules == () and config.unmatched is UnmatchedRoutes.DENY


def test_cognito_multi_region_format_adds_a_second_issuer():
    pool = dict(COGNITO, issuer_formats=["regional", "multi-region"])
    config = JwtConfig.from_environ(env(GATEHOUSE_JWT_ISSUERS=json.dumps([pool])), in_lambda=True)
    assert [p.issuer for p in config.issuers] == [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
        "https://issuer.cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
    ]


def test_route_rules_parse():
    rules = [
        {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
        {"route": "ANY /admin/{proxy+}", "groups": ["admins"], "groups_match": "all"},
    ]
    config = JwtConfig.from_environ(
        env(GATEHOUSE_JWT_ROUTES=json.dumps(rules), GATEHOUSE_JWT_UNMATCHED_ROUTES="allow"),
        in_lambda=True,
    )
    assert str(config.rules[0].route) == "GET /orders/{id}"
    assert config.rules[0].scopes_match is Match.ALL
    assert config.rules[1].groups_match is Match.ALL
    assert config.unmatched is UnmatchedRoutes.ALLOW


@pytest.mark.parametrize(
    ("issuer", "fragment"),
    [
        ({k: v for k, v in OIDC.items() if k != "algorithms"}, "'algorithms' is required"),
        ({k: v for k, v in OIDC.items() if k != "audiences"}, "'audiences' is required"),
        (dict(OIDC, algorithms=["HS256"]), "'HS256' is not allowed"),
        (dict(OIDC, algorithms=["none"]), "'none' is not allowed"),
        (dict(OIDC, issuer="http://login.example.com"), "must be an https:// URL"),
        (dict(OIDC, jwks_uri="file:///etc/passwd"), "must be an https:// URL"),
        (dict(OIDC, audiance=["x"]), "unknown key 'audiance'; did you mean 'audiences'?"),
        (dict(COGNITO, user_pool_id="nope"), "user_pool_id looks like"),
        (dict(COGNITO, token_use="refresh"), "'token_use' must be 'access' or 'id'"),
        ({k: v for k, v in COGNITO.items() if k != "client_ids"}, "'client_ids' is required"),
        (dict(COGNITO, issuer_formats=["global"]), "issuer_formats"),
        (dict(OIDC, type="saml"), "'type' must be"),
        (dict(OIDC, max_lifetime_seconds=True), "max_lifetime_seconds"),
        (dict(OIDC, jwks={"nokeys": 1}), "'jwks' must be a JWKS"),
    ],
)
def test_issuer_errors_say_what_to_fix(issuer, fragment):
    with pytest.raises(ConfigurationError) as caught:
        JwtConfig.from_environ(env(GATEHOUSE_JWT_ISSUERS=json.dumps([issuer])), in_lambda=True)
    assert caught.value.setting == "GATEHOUSE_JWT_ISSUERS"
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("variables", "setting"),
    [
        ({"GATEHOUSE_JWT_ISSUERS": ""}, "GATEHOUSE_JWT_ISSUERS"),
        ({"GATEHOUSE_JWT_ISSUERS": "{not json"}, "GATEHOUSE_JWT_ISSUERS"),
        ({"GATEHOUSE_JWT_ISSUERS": "[]"}, "GATEHOUSE_JWT_ISSUERS"),
        ({"GATEHOUSE_JWT_ISSUERS": json.dumps([OIDC, OIDC])}, "GATEHOUSE_JWT_ISSUERS"),
        ({"GATEHOUSE_JWT_ROUTES": '[{"route": "GET orders"}]'}, "GATEHOUSE_JWT_ROUTES"),
        ({"GATEHOUSE_JWT_ROUTES": '[{"route": "GET /a", "scope": ["x"]}]'}, "GATEHOUSE_JWT_ROUTES"),
        (
            {"GATEHOUSE_JWT_ROUTES": '[{"route": "GET /a"}, {"route": "get /a"}]'},
            "GATEHOUSE_JWT_ROUTES",
        ),
        ({"GATEHOUSE_JWT_LEEWAY_SECONDS": "3600"}, "GATEHOUSE_JWT_LEEWAY_SECONDS"),
        ({"GATEHOUSE_JWT_ISSUER": "x"}, "GATEHOUSE_JWT_ISSUER"),
        ({"GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP": "true"}, "GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP"),
        ({"GATEHOUSE_JWT_CONTEXT_CLAIMS": "sub,email.verified"}, "GATEHOUSE_JWT_CONTEXT_CLAIMS"),
        ({"GATEHOUSE_JWT_CONTEXT_CLAIMS": "claims"}, "GATEHOUSE_JWT_CONTEXT_CLAIMS"),
        (
            {
                "GATEHOUSE_JWT_ROUTES": '[{"route": "GET /a", "scopes": ["x"]}]',
                "GATEHOUSE_HTTP_RESPONSE_FORMAT": "simple",
            },
            "GATEHOUSE_JWT_ROUTES",
        ),
    ],
    ids=[
        "missing",
        "bad-json",
        "empty-list",
        "duplicate-issuer",
        "bad-route",
        "unknown-rule-key",
        "duplicate-route",
        "leeway-too-big",
        "unknown-setting",
        "loopback-in-lambda",
        "context-key-with-dot",
        "reserved-context-key",
        "rules-with-simple-responses",
    ],
)
def test_setting_errors_name_the_variable(variables, setting):
    environ = env()
    environ.update(variables)
    if not environ["GATEHOUSE_JWT_ISSUERS"]:
        del environ["GATEHOUSE_JWT_ISSUERS"]
    with pytest.raises(ConfigurationError) as caught:
        JwtConfig.from_environ(environ, in_lambda=True)
    assert caught.value.setting == setting


def test_loopback_http_jwks_is_for_local_mode_only():
    local = dict(COGNITO, jwks_uri="http://127.0.0.1:5000/eu-west-1_AbC123/.well-known/jwks.json")
    variables = env(
        GATEHOUSE_JWT_ISSUERS=json.dumps([local]), GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP="true"
    )
    config = JwtConfig.from_environ(variables, in_lambda=False)
    assert config.issuers[0].jwks_uri.startswith("http://127.0.0.1:5000/")
    # moto's iss is the real Cognito URL: only the key source moves, no check is weakened.
    assert config.issuers[0].issuer.startswith("https://cognito-idp.")
    with pytest.raises(ConfigurationError):
        JwtConfig.from_environ(env(GATEHOUSE_JWT_ISSUERS=json.dumps([local])), in_lambda=False)
