"""GATEHOUSE_APIKEY_* settings: required table, defaults, bounds, unknown names, route rules."""

from __future__ import annotations

import json

import pytest

from authorizers.api_key.config import ApiKeyConfig, UnmatchedRoutes, parse_rules
from authorizers.api_key.keys import Environment
from authorizers.core.exceptions import ConfigurationError
from authorizers.core.routes import Match

BASE = {"GATEHOUSE_APIKEY_TABLE": "gatehouse-api-keys"}


def config(**extra: str) -> ApiKeyConfig:
    return ApiKeyConfig.from_environ({**BASE, **extra})


def fails(environ: dict[str, str], setting: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        ApiKeyConfig.from_environ(environ)
    assert caught.value.setting == setting


def test_defaults():
    cfg = config()
    assert cfg.table == "gatehouse-api-keys"
    assert cfg.header == "x-api-key"
    assert cfg.environments == frozenset({Environment.LIVE})
    assert (cfg.cache_s, cfg.negative_cache_s, cfg.cache_size) == (60, 5, 10_000)
    assert cfg.rules == () and cfg.unmatched is UnmatchedRoutes.DENY


def test_the_table_is_required():
    fails({}, "GATEHOUSE_APIKEY_TABLE", "required and not set")


def test_a_bad_table_name_is_refused_without_echoing_it():
    with pytest.raises(ConfigurationError) as caught:
        config(GATEHOUSE_APIKEY_TABLE="no spaces/allowed")
    assert "no spaces" not in str(caught.value)


def test_unknown_settings_are_errors_with_a_suggestion():
    fails(
        {**BASE, "GATEHOUSE_APIKEY_CACHE_SECOND": "10"},
        "GATEHOUSE_APIKEY_CACHE_SECOND",
        "did you mean GATEHOUSE_APIKEY_CACHE_SECONDS",
    )


def test_header_and_environments():
    cfg = config(GATEHOUSE_APIKEY_HEADER="X-Client-Key", GATEHOUSE_APIKEY_ENVIRONMENTS="live,test")
    assert cfg.header == "x-client-key"
    assert cfg.environments == frozenset(Environment)
    fails({**BASE, "GATEHOUSE_APIKEY_HEADER": "x api key"}, "GATEHOUSE_APIKEY_HEADER", "header")
    fails(
        {**BASE, "GATEHOUSE_APIKEY_ENVIRONMENTS": "live,prod"},
        "GATEHOUSE_APIKEY_ENVIRONMENTS",
        "'live' or 'test'",
    )


def test_cache_ttls_are_bounded_and_the_negative_one_is_not_longer():
    assert config(GATEHOUSE_APIKEY_CACHE_SECONDS="30").cache_s == 30
    fails(
        {**BASE, "GATEHOUSE_APIKEY_CACHE_SECONDS": "301"},
        "GATEHOUSE_APIKEY_CACHE_SECONDS",
        "between 1 and 300",
    )
    fails(
        {
            **BASE,
            "GATEHOUSE_APIKEY_CACHE_SECONDS": "10",
            "GATEHOUSE_APIKEY_NEGATIVE_CACHE_SECONDS": "20",
        },
        "GATEHOUSE_APIKEY_NEGATIVE_CACHE_SECONDS",
        "not be longer",
    )


def test_route_rules_are_parsed():
    rules = json.dumps(
        [
            {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
            {"route": "POST /orders", "scopes": ["a", "b"], "scopes_match": "any"},
            {"route": "ANY /health"},
        ]
    )
    cfg = config(GATEHOUSE_APIKEY_ROUTES=rules, GATEHOUSE_APIKEY_UNMATCHED_ROUTES="allow")
    assert [str(r.route) for r in cfg.rules] == ["GET /orders/{id}", "POST /orders", "ANY /health"]
    assert cfg.rules[1].match is Match.ANY and cfg.rules[2].scopes == frozenset()
    assert cfg.unmatched is UnmatchedRoutes.ALLOW


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "not valid JSON"),
        ("[]", "non-empty JSON list"),
        ('["GET /x"]', "rule 1: must be a JSON object"),
        ('[{"route": "GET /x", "scope": ["a"]}]', "unknown key 'scope'; did you mean 'scopes'"),
        ('[{"route": "/x"}]', "'route' must look like"),
        ('[{"route": "GET /x", "scopes": "a"}]', "'scopes' must be a list"),
        ('[{"route": "GET /x", "scopes_match": "some"}]', "'scopes_match' must be"),
        ('[{"route": "GET /x"}, {"route": "get /x"}]', "listed twice"),
    ],
)
def test_bad_route_rules_name_the_problem(text, match):
    with pytest.raises(ConfigurationError, match=match):
        parse_rules(text)


def test_route_rules_need_iam_responses():
    fails(
        {
            **BASE,
            "GATEHOUSE_APIKEY_ROUTES": '[{"route": "GET /x"}]',
            "GATEHOUSE_HTTP_RESPONSE_FORMAT": "simple",
        },
        "GATEHOUSE_APIKEY_ROUTES",
        "IAM responses",
    )
