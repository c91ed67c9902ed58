"""Policy authorizer settings: required ones, bounds, refusals, and the authenticator's own."""

from __future__ import annotations

import json

import pytest

from authorizers.core.exceptions import ConfigurationError
from authorizers.policy.authenticate import AuthenticatorKind
from authorizers.policy.authorizer import PolicyAuthorizer
from authorizers.policy.config import AuthorizerCache, Mode, PolicyConfig, authenticator_environ
from tests.jwt_fixtures import AUDIENCE, ISSUER
from tests.unit.policy.helpers import DEMO, DEMO_ROUTES


def environ(**overrides: str) -> dict[str, str]:
    values = {
        "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer",
        "GATEHOUSE_POLICY_SOURCE": str(DEMO),
        "GATEHOUSE_POLICY_ROUTES": json.dumps(list(DEMO_ROUTES)),
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v != "<unset>"}


def jwt_environ(keys, **overrides: str) -> dict[str, str]:
    issuer = {
        "type": "oidc",
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256"],
        "jwks": keys.jwks(),
        "groups_claim": "groups",
    }
    return environ(GATEHOUSE_JWT_ISSUERS=json.dumps([issuer]), **overrides)


def test_defaults():
    config = PolicyConfig.from_environ(environ())
    assert config.authenticator is AuthenticatorKind.JWT
    assert config.mode is Mode.ENFORCE and config.refresh_s == 60 and config.headers == ()
    assert len(config.table) == 4
    assert config.authorizer_cache is AuthorizerCache.ON and config.cached


def test_the_authorizer_cache_can_be_declared_off():
    config = PolicyConfig.from_environ(environ(GATEHOUSE_POLICY_AUTHORIZER_CACHE="off"))
    assert config.authorizer_cache is AuthorizerCache.OFF and not config.cached


@pytest.mark.parametrize(
    ("overrides", "setting", "problem"),
    [
        ({"GATEHOUSE_POLICY_AUTHENTICATOR": "<unset>"}, "AUTHENTICATOR", "required"),
        ({"GATEHOUSE_POLICY_AUTHENTICATOR": "oauth"}, "AUTHENTICATOR", "one of"),
        ({"GATEHOUSE_POLICY_SOURCE": "<unset>"}, "SOURCE", "required"),
        ({"GATEHOUSE_POLICY_SOURCE": "policies/demo.yaml"}, "SOURCE", "absolute"),
        ({"GATEHOUSE_POLICY_ROUTES": "<unset>"}, "ROUTES", "required"),
        ({"GATEHOUSE_POLICY_ROUTES": "[]"}, "ROUTES", "non-empty"),
        ({"GATEHOUSE_POLICY_ROUTES": '["GET /a", "GET /a"]'}, "ROUTES", "twice"),
        ({"GATEHOUSE_POLICY_MODE": "audit"}, "MODE", "enforce, shadow"),
        ({"GATEHOUSE_POLICY_AUTHORIZER_CACHE": "0"}, "AUTHORIZER_CACHE", "on, off"),
        ({"GATEHOUSE_POLICY_REFRESH_SECONDS": "1"}, "REFRESH", "range"),
        ({"GATEHOUSE_POLICY_REFRESH_SECONDS": "86400"}, "REFRESH", "range"),
        ({"GATEHOUSE_POLICY_CONTEXT_HEADERS": "Authorization"}, "HEADERS", "credentials"),
        ({"GATEHOUSE_POLICY_CONTEXT_HEADERS": "x-api-key"}, "HEADERS", "credentials"),
        ({"GATEHOUSE_POLICY_CONTEXT_HEADERS": "bad header"}, "HEADERS", "header name"),
        (
            {"GATEHOUSE_POLICY_CONTEXT_HEADERS": ",".join(f"x-{i}" for i in range(17))},
            "HEADERS",
            "at most",
        ),
        ({"GATEHOUSE_POLICY_SOURSE": "x"}, "SOURSE", "did you mean GATEHOUSE_POLICY_SOURCE"),
        ({"GATEHOUSE_JWT_ROUTES": "[]"}, "GATEHOUSE_JWT_ROUTES", "Cedar policy set decides"),
        ({"GATEHOUSE_JWT_UNMATCHED_ROUTES": "allow"}, "UNMATCHED", "refused"),
    ],
)
def test_bad_settings_are_refused_by_name(overrides, setting, problem):
    with pytest.raises(ConfigurationError, match=problem) as raised:
        PolicyConfig.from_environ(environ(**overrides))
    assert setting in raised.value.setting


def test_api_key_route_rules_are_refused():
    with pytest.raises(ConfigurationError, match="Cedar") as raised:
        PolicyConfig.from_environ(
            environ(GATEHOUSE_POLICY_AUTHENTICATOR="api_key", GATEHOUSE_APIKEY_ROUTES="[]")
        )
    assert raised.value.setting == "GATEHOUSE_APIKEY_ROUTES"


def test_headers_are_lower_cased():
    config = PolicyConfig.from_environ(environ(GATEHOUSE_POLICY_CONTEXT_HEADERS="X-Channel"))
    assert config.headers == ("x-channel",)


def test_the_authenticator_reads_its_own_settings_and_refuses_others(keys):
    # GIVEN the JWT authenticator WHEN an API key setting is present THEN it is unknown.
    with pytest.raises(ConfigurationError, match="unknown setting") as raised:
        PolicyAuthorizer.from_environ(
            jwt_environ(keys, GATEHOUSE_APIKEY_TABLE="t"), in_lambda=False, load=False
        )
    assert raised.value.setting == "GATEHOUSE_APIKEY_TABLE"
    # and its own settings are required.
    with pytest.raises(ConfigurationError) as missing:
        PolicyAuthorizer.from_environ(environ(), in_lambda=False, load=False)
    assert missing.value.setting == "GATEHOUSE_JWT_ISSUERS"


def test_simple_http_responses_are_refused(keys):
    with pytest.raises(ConfigurationError, match="IAM"):
        PolicyAuthorizer.from_environ(
            jwt_environ(keys, GATEHOUSE_HTTP_RESPONSE_FORMAT="simple"), in_lambda=False
        )


def test_authenticator_environ_drops_only_policy_settings():
    assert authenticator_environ(
        {"GATEHOUSE_POLICY_MODE": "x", "GATEHOUSE_JWT_ISSUERS": "y", "HOME": "/"}
    ) == {"GATEHOUSE_JWT_ISSUERS": "y", "HOME": "/"}


@pytest.mark.parametrize("header", ["authorization", "Cookie", "x-api-key", "proxy-authorization"])
def test_credential_headers_never_reach_policies(header):
    """Attack: a credential copied into the Cedar context, where a policy, an error message or
    an explain report could expose it; and a decision keyed on a secret."""
    with pytest.raises(ConfigurationError, match="credentials"):
        PolicyConfig.from_environ(environ(GATEHOUSE_POLICY_CONTEXT_HEADERS=f"x-ok,{header}"))
