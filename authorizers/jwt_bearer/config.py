"""JWT authorizer settings: environment variables -> a frozen, validated ``JwtConfig``.

Issuers and route rules are JSON documents in one variable each (``GATEHOUSE_JWT_ISSUERS``,
``GATEHOUSE_JWT_ROUTES``); inside them, as for the variables themselves, an unknown key is an
error that names the key and suggests the closest known one. Issuer, audiences (Cognito: app
client ids) and algorithms have no defaults. docs/configuration.md documents every setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from authorizers.core.config import (
    CoreConfig,
    HttpResponseFormat,
    Settings,
    check_keys,
    json_list,
)
from authorizers.core.context import ContextError, validate_context
from authorizers.core.exceptions import ConfigurationError
from authorizers.core.routes import Match, RouteTemplate, RouteTemplateError
from authorizers.core.settings_file import read_settings
from authorizers.jwt_bearer.binding import CertificateBinding
from authorizers.jwt_bearer.fetch import FetchError, check_url
from authorizers.jwt_bearer.issuers import (
    IssuerKind,
    IssuerProfile,
    TokenUse,
    cognito_issuers,
)
from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS
from authorizers.jwt_bearer.routes import RouteRule, context_key
from authorizers.jwt_bearer.session import COOKIE_NAME

ISSUERS_VAR: Final = "GATEHOUSE_JWT_ISSUERS"
ROUTES_VAR: Final = "GATEHOUSE_JWT_ROUTES"

_COMMON_KEYS: Final = frozenset(
    {
        "type",
        "algorithms",
        "jwks_uri",
        "jwks",
        "typ",
        "required_scopes",
        "required_groups",
        "groups_claim",
        "max_lifetime_seconds",
        "certificate_binding",
        "dpop",
    }
)
_OIDC_KEYS: Final = _COMMON_KEYS | {"issuer", "audiences"}
_COGNITO_KEYS: Final = _COMMON_KEYS | {"user_pool_id", "client_ids", "token_use", "issuer_formats"}
_RULE_KEYS: Final = frozenset(
    {"route", "scopes", "scopes_match", "groups", "groups_match", "sender_constrained"}
)


class UnmatchedRoutes(StrEnum):
    """What happens on a route no rule names, when rules exist."""

    DENY = "deny"
    ALLOW = "allow"


@dataclass(frozen=True, slots=True)
class JwksSettings:
    max_age_s: float = 3600
    cooldown_s: float = 60
    stale_if_error_s: float = 1800
    timeout_s: float = 2.5
    max_bytes: int = 65536
    allow_loopback_http: bool = False


@dataclass(frozen=True, slots=True)
class JwtConfig:
    core: CoreConfig
    issuers: tuple[IssuerProfile, ...]
    header: str = "authorization"
    principal_claim: str = "sub"
    context_claims: tuple[str, ...] = ("sub", "iss", "scope", "groups", "client_id", "token_use")
    leeway_s: float = 30
    max_token_bytes: int = 8192
    rules: tuple[RouteRule, ...] = ()
    unmatched: UnmatchedRoutes = UnmatchedRoutes.DENY
    jwks: JwksSettings = JwksSettings()
    revocation_table: str | None = None
    revocation_cache_s: float = 30
    #: DPoP proofs: how old one may be, and the table that makes each id single-use fleet-wide.
    dpop_max_age_s: float = 60
    dpop_replay_table: str | None = None
    #: Browser routes: the cookie the login function sets (authorizers.jwt_bearer.session).
    session_cookie: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, in_lambda: bool) -> JwtConfig:
        """The settings from ``environ`` and the settings file it names, if any
        (``GATEHOUSE_CONFIG_FILE``, :mod:`authorizers.core.settings_file`)."""
        return read_settings(environ, lambda resolved: cls._read(resolved, in_lambda=in_lambda))

    @classmethod
    def _read(cls, environ: Mapping[str, str], *, in_lambda: bool) -> JwtConfig:
        """Read and validate every setting; raises ConfigurationError naming the first problem.

        ``in_lambda``: running in a deployed function, where local-mode settings are refused.
        """
        settings = Settings(environ)
        core = CoreConfig.read(settings)
        jwks = JwksSettings(
            max_age_s=settings.number(
                "GATEHOUSE_JWT_JWKS_MAX_AGE_SECONDS", default=3600, minimum=60, maximum=86400
            ),
            cooldown_s=settings.number(
                "GATEHOUSE_JWT_JWKS_COOLDOWN_SECONDS", default=60, minimum=1, maximum=3600
            ),
            stale_if_error_s=settings.number(
                "GATEHOUSE_JWT_JWKS_STALE_SECONDS", default=1800, minimum=0, maximum=86400
            ),
            timeout_s=settings.number(
                "GATEHOUSE_JWT_JWKS_TIMEOUT_SECONDS", default=2.5, minimum=0.1, maximum=10
            ),
            max_bytes=settings.integer(
                "GATEHOUSE_JWT_JWKS_MAX_BYTES", default=65536, minimum=1024, maximum=1048576
            ),
            allow_loopback_http=settings.boolean(
                "GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP", default=False
            ),
        )
        if jwks.allow_loopback_http and in_lambda:
            raise ConfigurationError(
                "GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP",
                "is for local mode only and refused in a deployed function; remove it",
            )
        issuers = parse_issuers(
            settings.text(ISSUERS_VAR, hint="a JSON list of issuers (docs/configuration.md)"),
            allow_loopback_http=jwks.allow_loopback_http,
        )
        routes_text = settings.optional_text(ROUTES_VAR)
        rules = parse_rules(routes_text) if routes_text else ()
        _check_sender_constrained(rules, issuers)
        unmatched = UnmatchedRoutes(
            settings.choice(
                "GATEHOUSE_JWT_UNMATCHED_ROUTES", UnmatchedRoutes, default=UnmatchedRoutes.DENY
            )
        )
        config = cls(
            core=core,
            issuers=issuers,
            header=settings.text(
                "GATEHOUSE_JWT_HEADER", hint="a header name", default="authorization"
            ),
            principal_claim=settings.text(
                "GATEHOUSE_JWT_PRINCIPAL_CLAIM", hint="a claim name", default="sub"
            ),
            context_claims=settings.items(
                "GATEHOUSE_JWT_CONTEXT_CLAIMS",
                hint="claim names, e.g. sub,scope,groups",
                default=("sub", "iss", "scope", "groups", "client_id", "token_use"),
            ),
            leeway_s=settings.number(
                "GATEHOUSE_JWT_LEEWAY_SECONDS", default=30, minimum=0, maximum=300
            ),
            max_token_bytes=settings.integer(
                "GATEHOUSE_JWT_MAX_TOKEN_BYTES", default=8192, minimum=512, maximum=16384
            ),
            rules=rules,
            unmatched=unmatched,
            jwks=jwks,
            revocation_table=settings.optional_text("GATEHOUSE_JWT_REVOCATION_TABLE"),
            revocation_cache_s=settings.number(
                "GATEHOUSE_JWT_REVOCATION_CACHE_SECONDS", default=30, minimum=1, maximum=300
            ),
            dpop_max_age_s=settings.number(
                "GATEHOUSE_DPOP_MAX_AGE_SECONDS", default=60, minimum=5, maximum=300
            ),
            dpop_replay_table=settings.optional_text("GATEHOUSE_DPOP_REPLAY_TABLE"),
            session_cookie=settings.optional_text("GATEHOUSE_JWT_SESSION_COOKIE"),
        )
        settings.finish()
        if config.rules and core.http_response_format is HttpResponseFormat.SIMPLE:
            raise ConfigurationError(
                ROUTES_VAR,
                "route rules need IAM responses: a simple response ({isAuthorized}) is cached "
                "for every route; set GATEHOUSE_HTTP_RESPONSE_FORMAT=iam",
            )
        if config.session_cookie and core.http_response_format is HttpResponseFormat.SIMPLE:
            raise ConfigurationError(
                "GATEHOUSE_JWT_SESSION_COOKIE",
                "a session's answer must name its own request (its CSRF proof is checked per "
                "method), and a simple response ({isAuthorized}) names none: set "
                "GATEHOUSE_HTTP_RESPONSE_FORMAT=iam",
            )
        if config.session_cookie is not None and not COOKIE_NAME.fullmatch(config.session_cookie):
            raise ConfigurationError(
                "GATEHOUSE_JWT_SESSION_COOKIE",
                "a cookie name starting with __Host- (only the API's own host can set such a "
                "cookie), then up to 64 letters, digits, '_' or '-', e.g. __Host-gatehouse-session",
            )
        for name in config.context_claims:
            try:
                validate_context({context_key(name): ""})
            except ContextError:
                raise ConfigurationError(
                    "GATEHOUSE_JWT_CONTEXT_CLAIMS",
                    f"claim {name!r} cannot be a context key (letters, digits, '_', ':' or '-'; "
                    "not 'claims' or 'principalId')",
                ) from None
        return config


def _fail(var: str, where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(var, f"{where}: {problem}")


def _str_list(
    var: str, where: str, item: Mapping[str, Any], key: str, *, required: bool
) -> frozenset[str]:
    value = item.get(key)
    if value is None:
        if required:
            raise _fail(var, where, f"{key!r} is required (a non-empty list of strings)")
        return frozenset()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _fail(var, where, f"{key!r} must be a non-empty list of strings")
    return frozenset(value)


def _https_url(var: str, where: str, value: object, key: str, *, loopback_http: bool) -> str:
    """The fetcher's own URL rule (``fetch.check_url``), checked at cold start."""
    if not isinstance(value, str):
        raise _fail(var, where, f"{key!r} must be a URL string")
    try:
        check_url(value, allow_loopback_http=loopback_http)
    except FetchError:
        raise _fail(var, where, f"{key!r} must be an https:// URL") from None
    # Exactly as configured: issuers compare byte for byte, and some (Auth0) end in "/".
    return value


def parse_issuers(text: str, *, allow_loopback_http: bool) -> tuple[IssuerProfile, ...]:
    """``GATEHOUSE_JWT_ISSUERS`` -> issuer profiles (a Cognito pool may yield two)."""
    profiles: list[IssuerProfile] = []
    for index, item in enumerate(json_list(ISSUERS_VAR, text), start=1):
        where = f"issuer {index}"
        if not isinstance(item, dict):
            raise _fail(ISSUERS_VAR, where, "must be a JSON object")
        kind_text = item.get("type")
        if kind_text not in ("cognito", "oidc"):
            raise _fail(ISSUERS_VAR, where, "'type' must be 'cognito' or 'oidc'")
        kind = IssuerKind(kind_text)
        where = f"issuer {index} ({kind.value})"
        check_keys(
            ISSUERS_VAR, where, item, _COGNITO_KEYS if kind is IssuerKind.COGNITO else _OIDC_KEYS
        )
        common = _common(item, where, allow_loopback_http=allow_loopback_http)
        if kind is IssuerKind.COGNITO:
            profiles.extend(_cognito(item, where, common, allow_loopback_http=allow_loopback_http))
        else:
            issuer = _https_url(
                ISSUERS_VAR, where, item.get("issuer"), "issuer", loopback_http=allow_loopback_http
            )
            profiles.append(
                IssuerProfile(
                    kind=kind,
                    issuer=issuer,
                    audiences=_str_list(ISSUERS_VAR, where, item, "audiences", required=True),
                    groups_claim=common.pop("groups_claim", "groups"),
                    **common,
                )
            )
    issuers = [p.issuer for p in profiles]
    duplicates = sorted({i for i in issuers if issuers.count(i) > 1})
    if duplicates:
        raise ConfigurationError(ISSUERS_VAR, f"issuer {duplicates[0]} is configured twice")
    return tuple(profiles)


def _common(item: Mapping[str, Any], where: str, *, allow_loopback_http: bool) -> dict[str, Any]:
    algorithms = _str_list(ISSUERS_VAR, where, item, "algorithms", required=True)
    unsupported = sorted(algorithms - ASYMMETRIC_ALGORITHMS)
    if unsupported:
        raise _fail(
            ISSUERS_VAR,
            where,
            f"algorithm {unsupported[0]!r} is not allowed; use asymmetric ones "
            "(RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)",
        )
    common: dict[str, Any] = {"algorithms": algorithms}
    if "jwks_uri" in item:
        common["jwks_uri"] = _https_url(
            ISSUERS_VAR, where, item["jwks_uri"], "jwks_uri", loopback_http=allow_loopback_http
        )
    else:
        common["jwks_uri"] = None
    jwks = item.get("jwks")
    if jwks is not None and (not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list)):
        raise _fail(ISSUERS_VAR, where, "'jwks' must be a JWKS object with a 'keys' list")
    common["preloaded_jwks"] = jwks
    typ = _str_list(ISSUERS_VAR, where, item, "typ", required=False)
    common["typ"] = frozenset(t.lower().removeprefix("application/") for t in typ) or None
    common["required_scopes"] = _str_list(
        ISSUERS_VAR, where, item, "required_scopes", required=False
    )
    common["required_groups"] = _str_list(
        ISSUERS_VAR, where, item, "required_groups", required=False
    )
    if "groups_claim" in item:
        if not isinstance(item["groups_claim"], str) or not item["groups_claim"]:
            raise _fail(ISSUERS_VAR, where, "'groups_claim' must be a claim name")
        common["groups_claim"] = item["groups_claim"]
    lifetime = item.get("max_lifetime_seconds")
    if lifetime is not None and (
        isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 60 <= lifetime <= 604800
    ):
        raise _fail(ISSUERS_VAR, where, "'max_lifetime_seconds' must be a whole number 60..604800")
    common["max_lifetime_s"] = lifetime
    binding = item.get("certificate_binding", "off")
    if binding not in tuple(CertificateBinding):
        raise _fail(
            ISSUERS_VAR, where, "'certificate_binding' must be 'off', 'optional' or 'required'"
        )
    common["certificate_binding"] = CertificateBinding(binding)
    dpop = item.get("dpop", "off")
    if dpop not in tuple(CertificateBinding):
        raise _fail(ISSUERS_VAR, where, "'dpop' must be 'off', 'optional' or 'required'")
    common["dpop"] = CertificateBinding(dpop)
    return common


def _cognito(
    item: Mapping[str, Any], where: str, common: dict[str, Any], *, allow_loopback_http: bool
) -> list[IssuerProfile]:
    pool = item.get("user_pool_id")
    formats = item.get("issuer_formats", ["regional"])
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) for f in formats):
        raise _fail(ISSUERS_VAR, where, "'issuer_formats' is a list of 'regional', 'multi-region'")
    try:
        pairs = cognito_issuers(pool if isinstance(pool, str) else "", tuple(formats))
    except ValueError as error:
        raise _fail(ISSUERS_VAR, where, str(error)) from None
    token_use = item.get("token_use")
    if token_use not in ("access", "id"):
        raise _fail(ISSUERS_VAR, where, "'token_use' must be 'access' or 'id'")
    clients = _str_list(ISSUERS_VAR, where, item, "client_ids", required=True)
    override = common.pop("jwks_uri")
    return [
        IssuerProfile(
            kind=IssuerKind.COGNITO,
            issuer=issuer,
            audiences=clients,
            token_use=TokenUse(token_use),
            jwks_uri=override or jwks_uri,
            groups_claim=common.get("groups_claim", "cognito:groups"),
            **{k: v for k, v in common.items() if k != "groups_claim"},
        )
        for issuer, jwks_uri in pairs
    ]


def parse_rules(text: str) -> tuple[RouteRule, ...]:
    """``GATEHOUSE_JWT_ROUTES`` -> route rules."""
    rules: list[RouteRule] = []
    for index, item in enumerate(json_list(ROUTES_VAR, text), start=1):
        where = f"rule {index}"
        if not isinstance(item, dict):
            raise _fail(ROUTES_VAR, where, "must be a JSON object")
        check_keys(ROUTES_VAR, where, item, _RULE_KEYS)
        try:
            route = RouteTemplate.parse(str(item.get("route", "")))
        except RouteTemplateError:
            raise _fail(
                ROUTES_VAR, where, "'route' must look like 'GET /orders/{id}' (method or ANY)"
            ) from None
        matches = {}
        for key, default in (("scopes_match", Match.ALL), ("groups_match", Match.ANY)):
            value = item.get(key, default.value)
            if value not in ("all", "any"):
                raise _fail(ROUTES_VAR, where, f"{key!r} must be 'all' or 'any'")
            matches[key] = Match(value)
        rules.append(
            RouteRule(
                route=route,
                scopes=_str_list(ROUTES_VAR, where, item, "scopes", required=False),
                scopes_match=matches["scopes_match"],
                groups=_str_list(ROUTES_VAR, where, item, "groups", required=False),
                groups_match=matches["groups_match"],
                sender_constrained=_flag(item, where, "sender_constrained"),
            )
        )
    routes = [r.route for r in rules]
    if len(set(routes)) != len(routes):
        raise ConfigurationError(ROUTES_VAR, "a route is listed twice; merge its rules")
    return tuple(rules)


def _flag(item: Mapping[str, Any], where: str, key: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise _fail(ROUTES_VAR, where, f"{key!r} must be true or false")
    return value


def _check_sender_constrained(
    rules: tuple[RouteRule, ...], issuers: tuple[IssuerProfile, ...]
) -> None:
    """A sender-constrained route no issuer's token could ever call is a mistake, not a
    locked door: refused at cold start."""
    constrained = [f"{r.route.method} {r.route.path}" for r in rules if r.sender_constrained]
    binds = any(
        CertificateBinding.OFF is not p.certificate_binding or CertificateBinding.OFF is not p.dpop
        for p in issuers
    )
    if constrained and not binds:
        raise ConfigurationError(
            ROUTES_VAR,
            f"{', '.join(constrained)}: 'sender_constrained' needs an issuer whose tokens can "
            f"be bound: set its 'certificate_binding' or 'dpop' to 'optional' or 'required' "
            f"({ISSUERS_VAR})",
        )
