"""What the emulator needs to know about one REST API stage: routes, authorizers, responses.

Built from :class:`gatehouse.api_model.ApiModel` (:meth:`GatewayConfig.from_model`), the same
model the CDK stack renders, so local mode guards every route exactly as a deployed stage does.
Only what API Gateway itself does lives here; each authorizer's *function* settings (its
environment) stay in the model and go to the worker that runs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from gatehouse.api_model import ApiModel
    from gatehouse.emulator.responses import CustomResponse

#: REST API result cache bounds (API Gateway refuses a TTL above an hour).
MAX_TTL_SECONDS: Final = 3600
#: How long an authorizer may run before API Gateway gives up (500); not documented for REST.
DEFAULT_TIMEOUT_SECONDS: Final = 10.0

_SOURCE = re.compile(
    r"(?P<kind>method\.request\.header|method\.request\.querystring|stageVariables|context)"
    r"\.(?P<name>[A-Za-z0-9._$-]+)"
)
_TEMPLATE_PART = re.compile(r"\{(?P<name>[A-Za-z0-9_]+)(?P<greedy>\+)?\}")


@dataclass(frozen=True, slots=True)
class IdentitySource:
    """One ``identitySource`` entry, e.g. ``method.request.header.Authorization``."""

    kind: Literal["header", "querystring", "stage", "context"]
    name: str

    @classmethod
    def parse(cls, text: str) -> IdentitySource:
        match = _SOURCE.fullmatch(text)
        if match is None:
            raise ValueError(f"not an identity source API Gateway knows: {text!r}")
        kinds: Mapping[str, Literal["header", "querystring", "stage", "context"]] = {
            "method.request.header": "header",
            "method.request.querystring": "querystring",
            "stageVariables": "stage",
            "context": "context",
        }
        return cls(kind=kinds[match["kind"]], name=match["name"])

    @property
    def text(self) -> str:
        """As API Gateway writes it: the inverse of :meth:`parse`."""
        prefix = {
            "header": "method.request.header",
            "querystring": "method.request.querystring",
            "stage": "stageVariables",
            "context": "context",
        }[self.kind]
        return f"{prefix}.{self.name}"


@dataclass(frozen=True, slots=True)
class AuthorizerSpec:
    """A Lambda authorizer as API Gateway is configured with it (not its function settings)."""

    name: str
    type: Literal["TOKEN", "REQUEST"]
    identity_sources: tuple[IdentitySource, ...]
    cache_ttl_seconds: int = 300
    validation_regex: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.cache_ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"{self.name}: cache TTL must be 0..{MAX_TTL_SECONDS} seconds")
        if self.type == "TOKEN":
            if len(self.identity_sources) != 1 or self.identity_sources[0].kind != "header":
                raise ValueError(f"{self.name}: a TOKEN authorizer needs exactly one header")
        elif self.validation_regex is not None:
            raise ValueError(f"{self.name}: a validation regex applies to TOKEN authorizers only")
        elif self.cache_ttl_seconds > 0 and not self.identity_sources:
            # API Gateway keys the result cache on the identity-source values: with none, every
            # caller would share one cached policy. API Gateway and CDK refuse this setup.
            raise ValueError(
                f"{self.name}: a cached REQUEST authorizer needs at least one identity source "
                "(the cache key); add one or set the cache TTL to 0"
            )
        if self.validation_regex is not None:
            re.compile(self.validation_regex)


@dataclass(frozen=True, slots=True)
class Route:
    """One method of the API. ``path`` is the resource template (``/pets/{id}``).

    Paths are matched as the client sent them (still percent-encoded, API Gateway routes on
    the raw path), so ``%2F`` never separates segments and path parameters stay encoded.
    """

    method: str
    path: str
    authorizer: str | None
    api_key_required: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    #: Lower is more specific; see :func:`precedence`.
    rank: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", compile_template(self.path))
        object.__setattr__(self, "rank", precedence(self.method, self.path))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when ``method path`` is this route, else ``None``."""
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else dict(found.groupdict())


def precedence(method: str, template: str) -> tuple[int, ...]:
    """API Gateway's route precedence as a sort key (lower wins) for templates matching one path.

    Segment by segment, left to right: a literal beats ``{param}``, which beats a greedy
    ``{proxy+}``; then the template with more segments (all else equal); then a specific
    method beats ``ANY``. So ``GET /admin/reports`` wins over ``ANY /{proxy+}`` whatever the
    declaration order, and ``/pets/{id}`` over ``/pets/{proxy+}``.
    """
    parts = [] if template == "/" else template.strip("/").split("/")
    kinds = [
        (2 if part.endswith("+}") else 1) if _TEMPLATE_PART.search(part) else 0 for part in parts
    ]
    return (*kinds, 3, -len(parts), 1 if method == "ANY" else 0)


def compile_template(template: str) -> re.Pattern[str]:
    """The regex of a route template: ``{name}`` is one raw segment, ``{name+}`` the rest."""
    parts: list[str] = []
    position = 0
    for part in _TEMPLATE_PART.finditer(template):
        parts.append(re.escape(template[position : part.start()]))
        parts.append(f"(?P<{part['name']}>{'.+' if part['greedy'] else '[^/]+'})")
        position = part.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """One REST API stage as the emulator serves it.

    ``regex_fullmatch``: API Gateway's TOKEN validation regex is applied with ``re.search``
    (our patterns are anchored ``^...$``, so both agree); ``True`` uses ``re.fullmatch``.
    ``access_denied_template``: an ACCESS_DENIED gateway response body in which
    ``$context.authorizer.<key>`` is replaced from the Deny's context; ``None`` keeps AWS's.
    ``login_url``: where every UNAUTHORIZED answer redirects (302, API-wide as API Gateway's
    gateway responses are); ``None`` answers 401 with ``challenge`` as its
    ``WWW-Authenticate`` (none when ``None``: a template's own gateway responses say).
    """

    api_id: str
    stage: str
    region: str
    account: str
    routes: tuple[Route, ...]
    authorizers: Mapping[str, AuthorizerSpec]
    partition: str = "aws"
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    cors_allow_origins: tuple[str, ...] = ()
    login_url: str | None = None
    challenge: str | None = None
    access_denied_template: str | None = None
    resource_policy: Mapping[str, object] | None = None
    regex_fullmatch: bool = False
    authorizer_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    #: The stage's default method throttle (rate per second, burst), per method, all callers.
    method_throttle: tuple[float, int] | None = None
    #: Per-method throttles that replace the default: ``"POST /orders/{id}"`` -> (rate, burst).
    method_throttles: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    #: The API's gateway response customizations, by ResponseType (``DEFAULT_4XX``...).
    gateway_responses: Mapping[str, CustomResponse] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for route in self.routes:
            if route.authorizer is not None and route.authorizer not in self.authorizers:
                raise ValueError(f"{route.method} {route.path}: no authorizer {route.authorizer}")

    @property
    def arn_prefix(self) -> str:
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}"
        )

    def method_arn(self, method: str, path: str) -> str:
        """The concrete request path, without its leading ``/`` (root: ``.../GET/``)."""
        return f"{self.arn_prefix}/{method}/{path.removeprefix('/')}"

    @classmethod
    def from_model(
        cls,
        model: ApiModel,
        *,
        api_id: str,
        stage: str,
        region: str,
        account: str,
        login_url: str | None = None,
    ) -> GatewayConfig:
        """The API Gateway side of ``model`` (routes, authorizers, gateway responses)."""
        authorizers: dict[str, AuthorizerSpec] = {
            name: AuthorizerSpec(
                name=name,
                type=spec.type,
                identity_sources=tuple(IdentitySource.parse(s) for s in spec.identity_sources),
                cache_ttl_seconds=spec.cache_ttl_seconds,
                validation_regex=spec.validation_regex,
            )
            for name, spec in model.authorizers.items()
        }
        routes = tuple(
            Route(
                method=r.method,
                path=r.path,
                authorizer=r.authorizer,
                api_key_required=r.api_key_required,
            )
            for r in model.routes
        )
        settings = model.settings
        rate = getattr(settings, "throttling_rate_limit", None)
        burst = getattr(settings, "throttling_burst_limit", None)
        return cls(
            api_id=api_id,
            stage=stage,
            region=region,
            account=account,
            routes=routes,
            authorizers=authorizers,
            cors_allow_origins=tuple(settings.cors_allow_origins),
            login_url=login_url if settings.login_redirect else None,
            challenge=model.challenge,
            method_throttle=(float(rate), int(burst)) if rate is not None and burst else None,
            method_throttles={
                t.route: (float(t.rate_limit), int(t.burst_limit))
                for t in getattr(settings, "method_throttles", ())
            },
        )
