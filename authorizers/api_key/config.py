"""API key authorizer settings: ``GATEHOUSE_APIKEY_*`` -> a frozen, validated ``ApiKeyConfig``.

The table name has no default. Route rules are a JSON list in ``GATEHOUSE_APIKEY_ROUTES``;
inside it, as for the variables themselves, an unknown key is an error that names the key and
suggests the closest known one. docs/api-keys.md documents every setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from authorizers.api_key.decide import ScopeRule
from authorizers.api_key.keys import Environment
from authorizers.core.config import (
    CoreConfig,
    HttpResponseFormat,
    Settings,
    check_keys,
    json_list,
)
from authorizers.core.exceptions import ConfigurationError
from authorizers.core.routes import Match, RouteTemplate, RouteTemplateError
from authorizers.core.settings_file import read_settings

TABLE_VAR: Final = "GATEHOUSE_APIKEY_TABLE"
HEADER_VAR: Final = "GATEHOUSE_APIKEY_HEADER"
ENVIRONMENTS_VAR: Final = "GATEHOUSE_APIKEY_ENVIRONMENTS"
CACHE_VAR: Final = "GATEHOUSE_APIKEY_CACHE_SECONDS"
NEGATIVE_CACHE_VAR: Final = "GATEHOUSE_APIKEY_NEGATIVE_CACHE_SECONDS"
CACHE_SIZE_VAR: Final = "GATEHOUSE_APIKEY_CACHE_SIZE"
ROUTES_VAR: Final = "GATEHOUSE_APIKEY_ROUTES"
UNMATCHED_VAR: Final = "GATEHOUSE_APIKEY_UNMATCHED_ROUTES"
#: The positive cache TTL: how long a change to a key's record (revoked, expiry moved by
#: ``gatehouse keys rotate``) may go unseen by a warm function. The CLI states this bound.
CACHE_DEFAULT_S: Final = 60
CACHE_MAX_S: Final = 300

_RULE_KEYS: Final = frozenset({"route", "scopes", "scopes_match"})
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", re.ASCII)
# DynamoDB table names: 3-255 characters of [a-zA-Z0-9_.-].
_TABLE_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{3,255}", re.ASCII)


class UnmatchedRoutes(StrEnum):
    """What happens on a route no rule names, when rules exist."""

    DENY = "deny"
    ALLOW = "allow"


@dataclass(frozen=True, slots=True)
class ApiKeyConfig:
    core: CoreConfig
    table: str
    header: str = "x-api-key"
    environments: frozenset[Environment] = frozenset({Environment.LIVE})
    cache_s: float = 60
    negative_cache_s: float = 5
    cache_size: int = 10_000
    rules: tuple[ScopeRule, ...] = ()
    unmatched: UnmatchedRoutes = UnmatchedRoutes.DENY

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ApiKeyConfig:
        """The settings from ``environ`` and the settings file it names, if any
        (``GATEHOUSE_CONFIG_FILE``, :mod:`authorizers.core.settings_file`)."""
        return read_settings(environ, cls._read)

    @classmethod
    def _read(cls, environ: Mapping[str, str]) -> ApiKeyConfig:
        """Read and validate every setting; raises ConfigurationError naming the first problem."""
        settings = Settings(environ)
        core = CoreConfig.read(settings)
        table = settings.text(TABLE_VAR, hint="the DynamoDB table holding the key hashes")
        if not _TABLE_NAME.fullmatch(table):
            raise ConfigurationError(TABLE_VAR, "must be a DynamoDB table name ([A-Za-z0-9_.-])")
        header = settings.text(HEADER_VAR, hint="a header name", default="x-api-key")
        if not _HEADER_NAME.fullmatch(header):
            raise ConfigurationError(HEADER_VAR, "must be a header name (letters, digits, '-')")
        environments = _environments(
            settings.items(ENVIRONMENTS_VAR, hint="live and/or test", default=("live",))
        )
        cache_s = settings.number(
            CACHE_VAR, default=CACHE_DEFAULT_S, minimum=1, maximum=CACHE_MAX_S
        )
        negative_cache_s = settings.number(NEGATIVE_CACHE_VAR, default=5, minimum=1, maximum=60)
        if negative_cache_s > cache_s:
            raise ConfigurationError(NEGATIVE_CACHE_VAR, f"must not be longer than {CACHE_VAR}")
        routes_text = settings.optional_text(ROUTES_VAR)
        config = cls(
            core=core,
            table=table,
            header=header.lower(),
            environments=environments,
            cache_s=cache_s,
            negative_cache_s=negative_cache_s,
            cache_size=settings.integer(
                CACHE_SIZE_VAR, default=10_000, minimum=100, maximum=1_000_000
            ),
            rules=parse_rules(routes_text) if routes_text else (),
            unmatched=UnmatchedRoutes(
                settings.choice(UNMATCHED_VAR, UnmatchedRoutes, default=UnmatchedRoutes.DENY)
            ),
        )
        settings.finish()
        if config.rules and core.http_response_format is HttpResponseFormat.SIMPLE:
            raise ConfigurationError(
                ROUTES_VAR,
                "route rules need IAM responses: a simple response ({isAuthorized}) is cached "
                "for every route; set GATEHOUSE_HTTP_RESPONSE_FORMAT=iam",
            )
        return config


def _environments(names: tuple[str, ...]) -> frozenset[Environment]:
    known = {e.value: e for e in Environment}
    chosen = set()
    for name in names:
        environment = known.get(name.lower())
        if environment is None:
            raise ConfigurationError(ENVIRONMENTS_VAR, "each item must be 'live' or 'test'")
        chosen.add(environment)
    return frozenset(chosen)


def _fail(where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(ROUTES_VAR, f"{where}: {problem}")


def parse_rules(text: str) -> tuple[ScopeRule, ...]:
    """``GATEHOUSE_APIKEY_ROUTES`` -> scope rules, e.g.
    ``[{"route": "GET /orders/{id}", "scopes": ["orders:read"]}]``."""
    items = json_list(ROUTES_VAR, text)
    rules: list[ScopeRule] = []
    for index, item in enumerate(items, start=1):
        where = f"rule {index}"
        if not isinstance(item, dict):
            raise _fail(where, "must be a JSON object")
        check_keys(ROUTES_VAR, where, item, _RULE_KEYS)
        try:
            route = RouteTemplate.parse(str(item.get("route", "")))
        except RouteTemplateError:
            raise _fail(
                where, "'route' must look like 'GET /orders/{id}' (method or ANY)"
            ) from None
        scopes = item.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
            raise _fail(where, "'scopes' must be a list of non-empty strings")
        match = item.get("scopes_match", Match.ALL.value)
        if match not in ("all", "any"):
            raise _fail(where, "'scopes_match' must be 'all' or 'any'")
        rules.append(ScopeRule(route=route, scopes=frozenset(scopes), match=Match(match)))
    routes = [rule.route for rule in rules]
    if len(set(routes)) != len(routes):
        raise ConfigurationError(ROUTES_VAR, "a route is listed twice; merge its rules")
    return tuple(rules)
