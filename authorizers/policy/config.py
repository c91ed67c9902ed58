"""Policy authorizer settings: ``GATEHOUSE_POLICY_*`` -> a frozen, validated ``PolicyConfig``.

The policy authorizer reads its own settings, then builds the configured authenticator
through that authorizer's own settings reader (``GATEHOUSE_JWT_*``, ``GATEHOUSE_APIKEY_*`` or
``GATEHOUSE_MTLS_*``), which also rejects every other unknown ``GATEHOUSE_*`` variable. The
authenticator's route-rule settings are refused here: Cedar decides the routes.
docs/configuration.md documents every setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from authorizers.core.config import PREFIX, Settings, json_list
from authorizers.core.exceptions import ConfigurationError
from authorizers.core.settings_file import read_settings
from authorizers.policy.authenticate import ROUTE_SETTINGS, AuthenticatorKind
from authorizers.policy.engine import AUTHORIZER_CACHE_SETTING
from authorizers.policy.model import CREDENTIAL_HEADERS, HEADER_NAME
from authorizers.policy.routes import RouteTable, RouteTableError
from authorizers.policy.source import PolicySource, SourceError, parse_source

POLICY_PREFIX: Final = "GATEHOUSE_POLICY_"
AUTHENTICATOR_VAR: Final = "GATEHOUSE_POLICY_AUTHENTICATOR"
SOURCE_VAR: Final = "GATEHOUSE_POLICY_SOURCE"
ROUTES_VAR: Final = "GATEHOUSE_POLICY_ROUTES"
MODE_VAR: Final = "GATEHOUSE_POLICY_MODE"
REFRESH_VAR: Final = "GATEHOUSE_POLICY_REFRESH_SECONDS"
HEADERS_VAR: Final = "GATEHOUSE_POLICY_CONTEXT_HEADERS"
AUTHORIZER_CACHE_VAR: Final = AUTHORIZER_CACHE_SETTING
HTTP_FORMAT_VAR: Final = "GATEHOUSE_HTTP_RESPONSE_FORMAT"
MAX_CONTEXT_HEADERS: Final = 16


class Mode(StrEnum):
    """``enforce``: deny what the policy set denies. ``shadow``: evaluate and log/count what
    would be denied, but allow every authenticated request."""

    ENFORCE = "enforce"
    SHADOW = "shadow"


class AuthorizerCache(StrEnum):
    """Is API Gateway's authorizer cache on for this authorizer (result TTL > 0)?

    ``on`` (the default, as API Gateway's and CDK's): every answer must stay right when it is
    replayed for the TTL, so a bundle whose policies read request-varying context (headers,
    source IP, time) is refused at load. ``off``: the operator confirms the TTL is 0; such
    policies are accepted and every answer names its request only.
    """

    ON = "on"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    authenticator: AuthenticatorKind
    source: PolicySource
    table: RouteTable
    mode: Mode = Mode.ENFORCE
    refresh_s: int = 60
    headers: tuple[str, ...] = ()
    authorizer_cache: AuthorizerCache = AuthorizerCache.ON

    @property
    def cached(self) -> bool:
        """Answers may be replayed by API Gateway's authorizer cache."""
        return self.authorizer_cache is AuthorizerCache.ON

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PolicyConfig:
        """The settings from ``environ`` and the settings file it names, if any
        (``GATEHOUSE_CONFIG_FILE``, :mod:`authorizers.core.settings_file`)."""
        return read_settings(environ, cls._read)

    @classmethod
    def _read(cls, environ: Mapping[str, str]) -> PolicyConfig:
        """Read the ``GATEHOUSE_POLICY_*`` settings; raises ConfigurationError naming the first
        problem. Other ``GATEHOUSE_*`` variables are left to the authenticator's reader."""
        settings = Settings(environ)
        kind = AuthenticatorKind(
            settings.choice(AUTHENTICATOR_VAR, AuthenticatorKind, default=None)
        )
        source_text = settings.text(
            SOURCE_VAR, hint="an absolute file path, s3://bucket/key or ssm:/parameter/name"
        )
        try:
            source = parse_source(source_text)
        except SourceError as error:
            raise ConfigurationError(SOURCE_VAR, str(error)) from None
        routes = json_list(
            ROUTES_VAR,
            settings.text(ROUTES_VAR, hint='a JSON list of routes, e.g. ["GET /orders/{id}"]'),
        )
        try:
            table = RouteTable.parse(routes)
        except RouteTableError as error:
            raise ConfigurationError(ROUTES_VAR, str(error)) from None
        mode = Mode(settings.choice(MODE_VAR, Mode, default=Mode.ENFORCE))
        authorizer_cache = AuthorizerCache(
            settings.choice(AUTHORIZER_CACHE_VAR, AuthorizerCache, default=AuthorizerCache.ON)
        )
        if (
            authorizer_cache is AuthorizerCache.ON
            and kind == "jwt_bearer"
            and (environ.get("GATEHOUSE_JWT_SESSION_COOKIE") or "").strip()
        ):
            # A session's CSRF proof is checked per request: no answer may be replayed.
            raise ConfigurationError(
                AUTHORIZER_CACHE_VAR,
                "a browser session cookie (GATEHOUSE_JWT_SESSION_COOKIE) needs every answer "
                "checked per request: set it to off, with an authorizer result TTL of 0 "
                "(docs/login.md)",
            )
        refresh_s = settings.integer(
            REFRESH_VAR,
            default=60,
            minimum=5,
            maximum=3600,
            hint="seconds between checks of the policy source",
        )
        headers = tuple(
            h.lower()
            for h in settings.items(HEADERS_VAR, hint="header names, e.g. x-request-id", default=())
        )
        for header in headers:
            if not HEADER_NAME.fullmatch(header):
                raise ConfigurationError(HEADERS_VAR, "each item is a header name")
            if header in CREDENTIAL_HEADERS:
                raise ConfigurationError(
                    HEADERS_VAR, f"{header} carries credentials and is never given to policies"
                )
        if len(headers) > MAX_CONTEXT_HEADERS:
            raise ConfigurationError(HEADERS_VAR, f"at most {MAX_CONTEXT_HEADERS} headers")
        for name in ROUTE_SETTINGS[kind]:
            if environ.get(name, "").strip():
                raise ConfigurationError(
                    name,
                    "route rules are refused with the policy authorizer: the Cedar policy "
                    f"set decides every route (list routes in {ROUTES_VAR}); remove it",
                )
        # Only our own prefix is checked here; the authenticator checks everything else.
        settings.finish(
            also_known=[
                n for n in environ if n.startswith(PREFIX) and not n.startswith(POLICY_PREFIX)
            ]
        )
        return cls(
            authenticator=kind,
            source=source,
            table=table,
            mode=mode,
            refresh_s=refresh_s,
            headers=headers,
            authorizer_cache=authorizer_cache,
        )


def authenticator_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """What the authenticator's reader sees: everything but our own settings."""
    return {k: v for k, v in environ.items() if not k.startswith(POLICY_PREFIX)}
