"""The Gatehouse demo API as data: routes, the authorizer of each, every authorizer's settings.

One source of truth with two renderers:

- the CDK API stack turns it into API Gateway resources, methods, authorizers and Lambda
  environment variables (a deployed stage);
- the local emulator (``gatehouse local``) serves it on 127.0.0.1, invoking the same handlers
  with the same environment.

So local mode guards every route exactly as a deployed stage does. What differs between the
two is only *where* the authorizers' state lives (user pool, table, bucket, CA, policy source):
that comes in as :class:`Resources`. Under CDK those values are tokens; tokens survive string
formatting and ``json.dumps`` (CDK resolves them with ``Fn::Join``), so the same code builds
both environments.

Pure Python: no ``aws_cdk`` import, so the CLI can load it without loading CDK.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from gatehouse.challenge import api_challenge

__all__ = [
    "AUTHORIZER_HANDLERS",
    "TOKEN_VALIDATION_REGEX",
    "ApiModel",
    "ApiSettings",
    "AuthorizerModel",
    "AuthorizerName",
    "MethodThrottle",
    "Resources",
    "RouteModel",
    "UsagePlanModel",
    "attached_api",
    "demo_api",
    "demo_route_keys",
]

AuthorizerName = Literal["jwt", "apikey", "mtls", "policy"]
AuthorizerType = Literal["TOKEN", "REQUEST"]

AUTHORIZER_HANDLERS: Final[Mapping[AuthorizerName, str]] = {
    "jwt": "authorizers.jwt_bearer.handler.lambda_handler",
    "apikey": "authorizers.api_key.handler.lambda_handler",
    "mtls": "authorizers.mtls.handler.lambda_handler",
    "policy": "authorizers.policy.handler.lambda_handler",
}
"""Logical authorizer name -> handler entry point (the layer puts ``authorizers`` on the path)."""

TOKEN_VALIDATION_REGEX: Final = r"^Bearer [-0-9A-Za-z._~+/]+=*$"  # noqa: S105 (a pattern)
"""API Gateway's pre-check on the TOKEN source: a malformed header is a 401 without an invoke."""

AUTHORIZATION_HEADER: Final = "method.request.header.Authorization"
API_KEY_HEADER: Final = "method.request.header.x-api-key"


@dataclass(frozen=True, slots=True)
class UsagePlanModel:
    """One usage-plan tier for the API-key routes (API Gateway enforces it, not the authorizer)."""

    name: str
    rate_limit: float  # steady-state requests per second
    burst_limit: int
    quota_limit: int
    quota_period: Literal["DAY", "WEEK", "MONTH"] = "DAY"


@dataclass(frozen=True, slots=True)
class MethodThrottle:
    """A throttle of one method (``route``, ``POST /tenants/{tenant}/orders``) below the
    stage's default: API Gateway answers 429 past it, for all callers together."""

    route: str
    rate_limit: float  # steady-state requests per second
    burst_limit: int


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Per-stage knobs of the demo API (``cdk.json`` -> ``StageConfig.api``); defaults are dev's."""

    authorizer_cache_seconds: int = 300
    usage_plans: tuple[UsagePlanModel, ...] = (
        UsagePlanModel("basic", rate_limit=5, burst_limit=10, quota_limit=1_000),
        UsagePlanModel("premium", rate_limit=50, burst_limit=100, quota_limit=100_000),
    )
    cors_allow_origins: tuple[str, ...] = ()
    login_redirect: bool = False  # UNAUTHORIZED -> 302 to the login; browser-only APIs
    policy_mode: Literal["enforce", "shadow"] = "enforce"
    policy_refresh_seconds: int = 60
    throttling_rate_limit: float = 100  # stage default, requests per second
    throttling_burst_limit: int = 200
    method_throttles: tuple[MethodThrottle, ...] = ()  # per method, below the stage's
    private_vpc_endpoint_ids: tuple[str, ...] = ()  # non-empty: a PRIVATE endpoint for these


@dataclass(frozen=True, slots=True)
class Resources:
    """Where the authorizers' state lives: CDK tokens when deployed, moto's values locally.

    The JWT and policy authorizers trust one issuer. By default it is the Cognito pool
    ``user_pool_id`` with its app clients ``client_ids`` (access tokens, RS256). ``jwt_issuer``
    replaces that entry with any ``GATEHOUSE_JWT_ISSUERS`` entry of docs/configuration.md (an
    existing pool, an OIDC issuer), given to the runtime as it is; ``user_pool_id`` and
    ``client_ids`` are then not used, and ``cognito_jwks_uri`` may not be set.
    """

    region: str
    user_pool_id: str
    client_ids: tuple[str, ...]  # app clients whose access tokens the API accepts
    api_keys_table: str
    trust_anchors: str  # PEM text, or an absolute path to a PEM file
    crls: Mapping[str, str]  # CA key id (hex) -> s3://bucket/key of its CRL
    policy_source: str  # s3://bucket/key, ssm:/name or an absolute file path
    cognito_jwks_uri: str | None = None  # local mode only: moto's loopback JWKS URL
    jwt_issuer: Mapping[str, object] | None = None  # instead of the user_pool_id entry


@dataclass(frozen=True, slots=True)
class AuthorizerModel:
    """One Lambda authorizer as API Gateway sees it, plus its function's environment."""

    name: AuthorizerName
    type: AuthorizerType
    identity_sources: tuple[str, ...]  # API Gateway syntax: method.request.header.X, ...
    cache_ttl_seconds: int
    environment: Mapping[str, str]
    validation_regex: str | None = None  # TOKEN authorizers only

    @property
    def handler(self) -> str:
        return AUTHORIZER_HANDLERS[self.name]


@dataclass(frozen=True, slots=True)
class RouteModel:
    """One method of the demo API. ``authorizer=None``: open (health check, CORS preflight)."""

    method: str  # GET, POST, ..., or ANY
    path: str  # /tenants/{tenant}/orders/{id}
    authorizer: AuthorizerName | None
    api_key_required: bool = False
    browser: bool = False  # only browsers call it (the login 302 needs every route so)
    mtls_only: bool = False  # served only on the mTLS custom domain when deployed

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class ApiModel:
    """The whole demo API: what both renderers build.

    Raises ValueError when ``settings.login_redirect`` is on and a guarded route is not a
    browser route: API Gateway's UNAUTHORIZED response is one per API, so the 302 would send
    API-key, mTLS and machine clients to a login page instead of a 401.
    """

    name: str
    authorizers: Mapping[AuthorizerName, AuthorizerModel]
    routes: tuple[RouteModel, ...]
    settings: ApiSettings = field(default_factory=ApiSettings)

    def __post_init__(self) -> None:
        keys = {r.route_key for r in self.routes}
        unknown = [t.route for t in self.settings.method_throttles if t.route not in keys]
        if unknown:
            raise ValueError(f"method_throttles: {', '.join(unknown)} are not routes of the API")
        if self.settings.login_redirect:
            machine = [r.route_key for r in self.routes if r.authorizer and not r.browser]
            if machine:
                raise ValueError(
                    f"login_redirect: the 302 is API-wide and {', '.join(machine)} are not "
                    "browser routes (their clients need a 401)"
                )

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` of this API's 401s (:mod:`gatehouse.challenge`)."""
        return api_challenge((name, spec.environment) for name, spec in self.authorizers.items())

    def routes_of(self, authorizer: AuthorizerName) -> tuple[RouteModel, ...]:
        return tuple(route for route in self.routes if route.authorizer == authorizer)


# The routes each authorizer guards, with what they need. The JSON route-rule tables given to
# the authorizers are generated from these lists, so an authorizer always knows every route it
# guards (see docs/configuration.md, "List every route the authorizer guards").
_RouteNeeds = tuple[tuple[str, str, dict[str, list[str]]], ...]
_JWT_ROUTES: Final[_RouteNeeds] = (
    ("GET", "/profile", {}),
    ("GET", "/admin/reports", {"groups": ["admins"]}),
)
_APIKEY_ROUTES: Final[_RouteNeeds] = (
    ("GET", "/reports", {"scopes": ["reports:read"]}),
    ("POST", "/reports", {"scopes": ["reports:write"]}),
)
_MTLS_ROUTES: Final[tuple[tuple[str, str], ...]] = (("GET", "/devices/{device}/telemetry"),)
_POLICY_ROUTES: Final[tuple[tuple[str, str], ...]] = (
    ("GET", "/tenants/{tenant}/orders"),
    ("POST", "/tenants/{tenant}/orders"),
    ("GET", "/tenants/{tenant}/orders/{id}"),
    ("DELETE", "/tenants/{tenant}/orders/{id}"),
)

MTLS_SAN_URI: Final = "spiffe://gatehouse.local/tenant/{tenant}/device/{device}"
"""The SAN URI shape of demo client certificates; the mTLS rule maps it to principal/tenant."""


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _jwt_environment(resources: Resources) -> dict[str, str]:
    """``GATEHOUSE_JWT_ISSUERS`` (one issuer: ``resources.jwt_issuer`` or the Cognito pool).

    Raises
    ------
    ValueError
        If ``jwt_issuer`` and ``cognito_jwks_uri`` are both set (moto's JWKS is the local
        pool's, not another issuer's).
    """
    environment: dict[str, str] = {}
    if resources.jwt_issuer is not None:
        if resources.cognito_jwks_uri is not None:
            raise ValueError("Resources.cognito_jwks_uri is for the Cognito pool, not jwt_issuer")
        environment["GATEHOUSE_JWT_ISSUERS"] = _json([dict(resources.jwt_issuer)])
        return environment
    issuer: dict[str, object] = {
        "type": "cognito",
        "user_pool_id": resources.user_pool_id,
        "client_ids": list(resources.client_ids),
        "token_use": "access",
        "algorithms": ["RS256"],
    }
    if resources.cognito_jwks_uri is not None:
        issuer["jwks_uri"] = resources.cognito_jwks_uri
        environment["GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP"] = "true"
    environment["GATEHOUSE_JWT_ISSUERS"] = _json([issuer])
    return environment


def _authorizers(
    resources: Resources,
    settings: ApiSettings,
    *,
    jwt_rules: list[dict[str, object]],
    apikey_rules: list[dict[str, object]],
    policy_routes: list[str],
) -> dict[AuthorizerName, AuthorizerModel]:
    """The four authorizers, each told the route rules of the routes it guards."""
    ttl = settings.authorizer_cache_seconds
    jwt_env = _jwt_environment(resources)

    jwt = AuthorizerModel(
        name="jwt",
        type="TOKEN",
        identity_sources=(AUTHORIZATION_HEADER,),
        validation_regex=TOKEN_VALIDATION_REGEX,
        cache_ttl_seconds=ttl,
        environment={**jwt_env, "GATEHOUSE_JWT_ROUTES": _json(jwt_rules)},
    )
    apikey = AuthorizerModel(
        name="apikey",
        type="REQUEST",
        identity_sources=(API_KEY_HEADER,),
        cache_ttl_seconds=ttl,
        environment={
            "GATEHOUSE_APIKEY_TABLE": resources.api_keys_table,
            "GATEHOUSE_APIKEY_ROUTES": _json(apikey_rules),
        },
    )
    # The client certificate is not an identity source API Gateway can key a cache on, so
    # the mTLS authorizer is never cached: every request is inspected.
    mtls = AuthorizerModel(
        name="mtls",
        type="REQUEST",
        identity_sources=(),
        cache_ttl_seconds=0,
        environment={
            "GATEHOUSE_MTLS_TRUST_ANCHORS": resources.trust_anchors,
            "GATEHOUSE_MTLS_RULES": _json(
                [{"san_uri": MTLS_SAN_URI, "principal": "{device}", "tenant": "{tenant}"}]
            ),
            "GATEHOUSE_MTLS_CRLS": _json(dict(resources.crls)),
        },
    )
    policy = AuthorizerModel(
        name="policy",
        type="REQUEST",
        identity_sources=(AUTHORIZATION_HEADER,),
        cache_ttl_seconds=ttl,
        environment={
            **jwt_env,
            "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer",
            "GATEHOUSE_POLICY_SOURCE": resources.policy_source,
            "GATEHOUSE_POLICY_ROUTES": _json(policy_routes),
            "GATEHOUSE_POLICY_MODE": settings.policy_mode,
            "GATEHOUSE_POLICY_REFRESH_SECONDS": str(settings.policy_refresh_seconds),
        },
    )
    return {a.name: a for a in (jwt, apikey, mtls, policy)}


def demo_api(resources: Resources, settings: ApiSettings | None = None) -> ApiModel:
    """The demo API of one stage (or of local mode), wired to ``resources``."""
    settings = settings or ApiSettings()
    authorizers = _authorizers(
        resources,
        settings,
        jwt_rules=[{"route": f"{m} {p}", **needs} for m, p, needs in _JWT_ROUTES],
        apikey_rules=[{"route": f"{m} {p}", **needs} for m, p, needs in _APIKEY_ROUTES],
        policy_routes=[f"{m} {p}" for m, p in _POLICY_ROUTES],
    )
    return ApiModel(
        name="gatehouse-demo",
        authorizers=authorizers,
        routes=_demo_routes(),
        settings=settings,
    )


def _demo_routes() -> tuple[RouteModel, ...]:
    return (
        RouteModel("GET", "/health", None),
        *(RouteModel(m, p, "jwt", browser=True) for m, p, _ in _JWT_ROUTES),
        *(RouteModel(m, p, "apikey", api_key_required=True) for m, p, _ in _APIKEY_ROUTES),
        *(RouteModel(m, p, "mtls", mtls_only=True) for m, p in _MTLS_ROUTES),
        *(RouteModel(m, p, "policy") for m, p in _POLICY_ROUTES),
    )


def demo_route_keys() -> tuple[str, ...]:
    """The demo API's routes (``GET /health``...), in order: what a stage setting may name."""
    return tuple(route.route_key for route in _demo_routes())


def attached_api(
    resources: Resources,
    settings: ApiSettings,
    routes: Sequence[tuple[str, str, AuthorizerName]],
) -> ApiModel:
    """The authorizers and routes added to an existing API (``gatehouse.stages.X.attach``).

    Each route is ``(method, path, authorizer)``. An authorizer's rules list exactly its
    attached routes (a valid credential is enough; no scopes or groups), and only the
    authorizers some route uses are included (API Gateway refuses an unattached authorizer).
    The stage's ``method_throttles`` name the demo API's routes; the existing API's stage is
    not Gatehouse's to throttle, so they are left out.
    """
    used = {authorizer for _, _, authorizer in routes}

    def rules(name: AuthorizerName) -> list[dict[str, object]]:
        return [{"route": f"{m} {p}"} for m, p, a in routes if a == name]

    authorizers = _authorizers(
        resources,
        settings,
        jwt_rules=rules("jwt"),
        apikey_rules=rules("apikey"),
        policy_routes=[f"{m} {p}" for m, p, a in routes if a == "policy"],
    )
    return ApiModel(
        name="gatehouse-attached",
        authorizers={n: a for n, a in authorizers.items() if n in used},
        routes=tuple(RouteModel(m, p, a, api_key_required=a == "apikey") for m, p, a in routes),
        settings=dataclasses.replace(settings, method_throttles=()),
    )
