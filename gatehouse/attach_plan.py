"""The pure half of ``gatehouse attach``: route patterns, the authorizer each kind needs, the plan.

Nothing here talks to AWS: :mod:`gatehouse.attach` reads the API, builds a :class:`Plan` with
these functions, prints it and (unless ``--dry-run``) applies it. The authorizer settings of
each kind come from :mod:`gatehouse.api_model`, the same data the CDK stack and local mode use,
so an attached authorizer is configured exactly like the demo stage's.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from gatehouse.cache_key import CLI_WORDS, CacheKeyWords, mtls_ttl_hint
from gatehouse.cache_key import check_cache_key as _check_cache_key

if TYPE_CHECKING:
    from gatehouse.api_model import AuthorizerModel, AuthorizerName
    from gatehouse.attach_record import AttachRecord

# The names of gatehouse.api_model.AuthorizerName (a test keeps them in step).
KINDS: Final[tuple[AuthorizerName, ...]] = ("jwt", "apikey", "mtls", "policy")
HTTP_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
PRINCIPAL: Final = "apigateway.amazonaws.com"
#: An HTTP API's catch-all route key (and the ``--route`` that names it).
DEFAULT_ROUTE: Final = "$default"
MAX_TTL: Final = 3600  # API Gateway's hard limit for REST authorizer caching

_HEADER_NAME: Final = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_TOKEN_SOURCE: Final = re.compile(rf"method\.request\.header\.{_HEADER_NAME}")
_REQUEST_SOURCE: Final = re.compile(
    rf"method\.request\.(?:header\.{_HEADER_NAME}|querystring\.[^\s,]+)"
    r"|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+"
)
_LITERAL: Final = re.compile(r"[A-Za-z0-9._~!$&'()+,;=:@%-]+")
_PARAM: Final = re.compile(r"\{[A-Za-z0-9._-]+\}")
_GREEDY: Final = re.compile(r"\{[A-Za-z0-9._-]+\+\}")
_FUNCTION_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[A-Za-z0-9_$-]{1,128}))?"
)


def kind_defaults(kind: AuthorizerName) -> AuthorizerModel:
    """The demo stage's authorizer of ``kind``: type, identity sources, regex, default TTL."""
    from gatehouse.api_model import Resources, demo_api  # noqa: PLC0415 - only attach needs it

    # demo_api() wants to know where the authorizers' state lives; attach reads only the API
    # Gateway side of each authorizer, which never depends on these values.
    nowhere = Resources(
        region="-",
        user_pool_id="-",
        client_ids=(),
        api_keys_table="-",
        trust_anchors="-",
        crls={},
        policy_source="-",
    )
    return demo_api(nowhere).authorizers[kind]


# --- the function ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionArn:
    arn: str
    partition: str
    region: str
    account: str
    name: str

    @classmethod
    def parse(cls, text: str) -> FunctionArn:
        """Raises :class:`ValueError` unless ``text`` is a Lambda function ARN."""
        match = _FUNCTION_ARN.fullmatch(text)
        if match is None:
            raise ValueError(
                f"expected arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS], got {text!r}"
            )
        return cls(
            arn=text,
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
            name=match["name"],
        )

    @property
    def invocation_uri(self) -> str:
        """What API Gateway calls: the ``authorizerUri`` of an authorizer using this function."""
        return (
            f"arn:{self.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{self.arn}/invocations"
        )


# --- route patterns ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoutePattern:
    """``METHOD /path`` as given to ``--route`` (see docs/attach.md, "What matches")."""

    text: str
    method: str  # an HTTP method, ANY (API Gateway's catch-all method only) or * (every method)
    segments: tuple[str, ...]  # without the trailing glob
    glob: bool  # trailing /*: every resource strictly below the prefix, at any depth

    @classmethod
    def parse(cls, text: str) -> RoutePattern:
        """Raises :class:`ValueError` with a one-line reason."""
        if text.strip() == DEFAULT_ROUTE:
            return cls(text=DEFAULT_ROUTE, method=DEFAULT_ROUTE, segments=(), glob=False)
        parts = text.split()
        if len(parts) != 2:
            raise ValueError(f"{text!r}: expected 'METHOD /path', e.g. 'GET /pets/{{id}}'")
        method, path = parts[0].upper(), parts[1]
        if method == "OPTIONS":
            raise ValueError(
                f"{text!r}: OPTIONS methods are never switched (CORS preflight must stay open)"
            )
        if method not in HTTP_METHODS | {"ANY", "*"}:
            raise ValueError(f"{text!r}: unknown method {parts[0]!r}; use GET, POST, ..., ANY or *")
        if not path.startswith("/"):
            raise ValueError(f"{text!r}: the path starts with /")
        segments = [s for s in path.split("/") if s]
        if "" in path[1:].rstrip("/").split("/") and path != "/":
            raise ValueError(f"{text!r}: empty path segment")
        glob = bool(segments) and segments[-1] == "*"
        if glob:
            segments.pop()
        _check_segments(text, segments, glob=glob)
        return cls(text=text, method=method, segments=tuple(segments), glob=glob)

    def matches_path(self, path: str) -> bool:
        resource = tuple(s for s in path.split("/") if s)
        if self.glob:
            if len(resource) <= len(self.segments):
                return False
            resource = resource[: len(self.segments)]
        elif len(resource) != len(self.segments):
            return False
        return all(_segment_matches(p, r) for p, r in zip(self.segments, resource, strict=True))

    def matches(self, method: str, path: str) -> bool:
        if DEFAULT_ROUTE in (method, self.method):
            # An HTTP API's catch-all route: matched by its own name only, never by a glob.
            return method == self.method
        return (self.method in ("*", method)) and self.matches_path(path)


def _check_segments(text: str, segments: Sequence[str], *, glob: bool) -> None:
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1 and not glob
        if _PARAM.fullmatch(segment) or _LITERAL.fullmatch(segment):
            continue
        if _GREEDY.fullmatch(segment):
            if last:
                continue
            raise ValueError(f"{text!r}: a greedy {segment} segment must come last")
        if segment == "*":
            raise ValueError(f"{text!r}: * is allowed only as the last segment (/prefix/*)")
        raise ValueError(f"{text!r}: bad path segment {segment!r}")


def _segment_matches(pattern: str, resource: str) -> bool:
    if _GREEDY.fullmatch(pattern):
        return _GREEDY.fullmatch(resource) is not None
    if _PARAM.fullmatch(pattern):
        return _PARAM.fullmatch(resource) is not None
    return pattern == resource


# --- identity sources -------------------------------------------------------------------------


def parse_identity_source(text: str, *, token: bool) -> tuple[str, ...]:
    """Split and check ``--identity-source``; raises :class:`ValueError`."""
    sources = tuple(s.strip() for s in text.split(",") if s.strip())
    if token:
        if len(sources) != 1 or not _TOKEN_SOURCE.fullmatch(sources[0]):
            raise ValueError(
                f"{text!r}: a TOKEN authorizer reads one header, "
                "e.g. method.request.header.Authorization"
            )
        return sources
    bad = [s for s in sources if not _REQUEST_SOURCE.fullmatch(s)]
    if bad or not sources:
        raise ValueError(
            f"{(bad or [text])[0]!r}: expected method.request.header.X, "
            "method.request.querystring.X, stageVariables.X or context.X (comma-separated)"
        )
    return sources


_HTTP_SOURCE: Final = re.compile(
    rf"\$request\.(?:header\.{_HEADER_NAME}|querystring\.[^\s,]+)"
    r"|\$stageVariables\.[A-Za-z0-9_]+|\$context\.[A-Za-z0-9_.]+"
)
_REST_TO_HTTP: Final = (
    ("method.request.", "$request."),
    ("stageVariables.", "$stageVariables."),
    ("context.", "$context."),
)


def parse_http_identity_source(text: str) -> tuple[str, ...]:
    """Split and check an HTTP API ``--identity-source``; raises :class:`ValueError`."""
    sources = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in sources if not _HTTP_SOURCE.fullmatch(s)]
    if bad or not sources:
        raise ValueError(
            f"{(bad or [text])[0]!r}: expected $request.header.X, $request.querystring.X, "
            "$stageVariables.X or $context.X (comma-separated)"
        )
    return sources


def http_identity_sources(rest: Sequence[str]) -> tuple[str, ...]:
    """The HTTP API spelling of REST identity sources (``method.request.header.X`` ->
    ``$request.header.X``)."""
    spelled = []
    for source in rest:
        for old, new in _REST_TO_HTTP:
            if source.startswith(old):
                spelled.append(new + source[len(old) :])
                break
        else:
            raise ValueError(f"{source!r} has no HTTP API spelling")
    return tuple(spelled)


def _sources(value: object) -> tuple[str, ...]:
    if not isinstance(value, str):
        return ()
    return tuple(sorted(s.strip() for s in value.split(",") if s.strip()))


# --- the authorizer -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizerSpec:
    """The authorizer attach wants on the API."""

    name: str
    kind: AuthorizerName
    type: Literal["TOKEN", "REQUEST"]
    function: FunctionArn
    identity_sources: tuple[str, ...]
    validation_regex: str | None
    ttl: int

    @property
    def identity_source(self) -> str | None:
        return ",".join(self.identity_sources) or None

    def summary(self) -> str:
        """The plan's description of the authorizer to create."""
        details = [self.type, f"identity {self.identity_source or 'none'}"]
        if self.validation_regex:
            details.append(f"regex {self.validation_regex}")
        details += [f"ttl {self.ttl}s", f"function {self.function.arn}"]
        return ", ".join(details)

    def create_request(self) -> dict[str, Any]:
        """Keyword arguments of ``apigateway.create_authorizer`` (without ``restApiId``)."""
        request: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "authorizerUri": self.function.invocation_uri,
            "authorizerResultTtlInSeconds": self.ttl,
        }
        if self.identity_source:
            request["identitySource"] = self.identity_source
        if self.validation_regex:
            request["identityValidationExpression"] = self.validation_regex
        return request

    def differences(self, existing: Mapping[str, Any]) -> list[str]:
        """How an existing authorizer of the same name differs, one ``field: has X, wants Y``."""
        wanted: dict[str, object] = {
            "type": self.type,
            "function": self.function.invocation_uri,
            "identitySource": ",".join(sorted(self.identity_sources)) or None,
            "identityValidationExpression": self.validation_regex,
            "authorizerResultTtlInSeconds": self.ttl,
            "authorizerCredentials": None,
        }
        has: dict[str, object] = {
            "type": existing.get("type"),
            "function": existing.get("authorizerUri"),
            "identitySource": ",".join(_sources(existing.get("identitySource"))) or None,
            "identityValidationExpression": existing.get("identityValidationExpression") or None,
            "authorizerResultTtlInSeconds": existing.get("authorizerResultTtlInSeconds", 300),
            "authorizerCredentials": existing.get("authorizerCredentials") or None,
        }
        return [
            f"{key}: has {has[key]}, wants {wanted[key]}"
            for key in wanted
            if has[key] != wanted[key]
        ]


@dataclass(frozen=True, slots=True)
class HttpAuthorizerSpec:
    """The Lambda authorizer attach wants on an HTTP API (API Gateway v2): payload format 2.0,
    IAM policy responses unless the function answers simple ones (as the
    ``gatehouse.cdk`` constructs configure it)."""

    name: str
    kind: AuthorizerName
    function: FunctionArn
    identity_sources: tuple[str, ...]
    ttl: int
    simple_responses: bool = False

    @property
    def identity_source(self) -> str | None:
        return ",".join(self.identity_sources) or None

    def summary(self) -> str:
        """The plan's description of the authorizer to create."""
        responses = "simple" if self.simple_responses else "IAM policy"
        return (
            f"REQUEST (payload 2.0, {responses} responses), identity "
            f"{self.identity_source or 'none'}, ttl {self.ttl}s, function {self.function.arn}"
        )

    def create_request(self) -> dict[str, Any]:
        """Keyword arguments of ``apigatewayv2.create_authorizer`` (without ``ApiId``)."""
        request: dict[str, Any] = {
            "Name": self.name,
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": self.function.invocation_uri,
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": self.simple_responses,
            "AuthorizerResultTtlInSeconds": self.ttl,
        }
        if self.identity_sources:
            request["IdentitySource"] = list(self.identity_sources)
        return request

    def differences(self, existing: Mapping[str, Any]) -> list[str]:
        """How an existing authorizer of the same name differs, one ``field: has X, wants Y``."""
        sources = existing.get("IdentitySource")
        wanted: dict[str, object] = {
            "type": "REQUEST",
            "function": self.function.invocation_uri,
            "identitySource": ",".join(sorted(self.identity_sources)) or None,
            "payloadFormatVersion": "2.0",
            "enableSimpleResponses": self.simple_responses,
            "authorizerResultTtlInSeconds": self.ttl,
            "authorizerCredentialsArn": None,
        }
        has: dict[str, object] = {
            "type": existing.get("AuthorizerType"),
            "function": existing.get("AuthorizerUri"),
            "identitySource": ",".join(sorted(str(s) for s in sources or ())) or None,
            "payloadFormatVersion": existing.get("AuthorizerPayloadFormatVersion"),
            "enableSimpleResponses": bool(existing.get("EnableSimpleResponses")),
            "authorizerResultTtlInSeconds": existing.get("AuthorizerResultTtlInSeconds", 0),
            "authorizerCredentialsArn": existing.get("AuthorizerCredentialsArn") or None,
        }
        return [
            f"{key}: has {has[key]}, wants {wanted[key]}"
            for key in wanted
            if has[key] != wanted[key]
        ]


AnySpec = AuthorizerSpec | HttpAuthorizerSpec


# --- what the result cache is keyed on -------------------------------------------------------

MTLS_TTL_HINT: Final = mtls_ttl_hint(CLI_WORDS)
HTTP_CLI_WORDS: Final = CacheKeyWords(
    ttl="--ttl", identity_source="--identity-source", header_prefix="$request.header."
)
"""``gatehouse attach``'s options, for an HTTP API."""


def check_cache_key(spec: AnySpec, environment: Mapping[str, str] | None) -> str | None:
    """:func:`gatehouse.cache_key.check_cache_key` for the authorizer attach wants (the
    ``environment`` of its function, ``None`` when Lambda did not show it)."""
    http = isinstance(spec, HttpAuthorizerSpec)
    return _check_cache_key(
        kind=spec.kind,
        function=spec.function.name,
        token=isinstance(spec, AuthorizerSpec) and spec.type == "TOKEN",
        identity_sources=spec.identity_sources,
        ttl=spec.ttl,
        environment=environment,
        words=HTTP_CLI_WORDS if http else CLI_WORDS,
    )


# --- the invoke permission ----------------------------------------------------------------------


def statement_id(api_id: str) -> str:
    return f"gatehouse-attach-{api_id}"


def authorizers_arn(*, partition: str, region: str, account: str, api_id: str) -> str:
    """The SourceArn of the permission: every authorizer of this API, nothing else."""
    return f"arn:{partition}:execute-api:{region}:{account}:{api_id}/authorizers/*"


def _arn_like(pattern: str, arn: str) -> bool:
    """IAM ``ArnLike``: ``*``/``?`` wildcards, checked per colon-separated component."""
    patterns, parts = pattern.split(":", 5), arn.split(":", 5)
    if len(patterns) != len(parts):
        return False
    return all(
        fnmatch.fnmatchcase(part, glob.replace("[", "[[]"))
        for glob, part in zip(patterns, parts, strict=True)
    )


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


def statement_covers(statement: Mapping[str, Any], source_arn: str) -> bool:
    """Whether ``statement`` lets API Gateway invoke the function from ``source_arn``'s scope.

    A statement covers it when it allows ``lambda:InvokeFunction`` to the API Gateway service
    and its SourceArn condition (if any) matches every authorizer of the API, i.e. it matches
    ``source_arn`` itself or an authorizer ARN under it.
    """
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    services = principal.get("Service") if isinstance(principal, Mapping) else principal
    if PRINCIPAL not in _as_list(services):
        return False
    if not {"lambda:InvokeFunction", "lambda:*", "*"} & {
        str(a) for a in _as_list(statement.get("Action"))
    }:
        return False
    conditions = statement.get("Condition") or {}
    probe = source_arn.replace("/authorizers/*", "/authorizers/a0b1c2")
    for operator, values in conditions.items():
        for key, expected in (values or {}).items():
            if key.lower() != "aws:sourcearn":
                return False  # SourceAccount and others: not ours to judge, add our own
            patterns = [str(e) for e in _as_list(expected)]
            if operator in ("ArnEquals", "StringEquals"):
                if source_arn not in patterns:
                    return False
            elif operator in ("ArnLike", "StringLike"):
                if not any(p == source_arn or _arn_like(p, probe) for p in patterns):
                    return False
            else:
                return False
    return True


# --- methods and the plan ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiMethod:
    """One method of a REST API as read with ``get_resources(embed=['methods'])``, or one
    route of an HTTP API (``resource_id`` is then the route's id)."""

    resource_id: str
    path: str
    method: str
    authorization_type: str
    authorizer_id: str | None
    api_key_required: bool
    #: An HTTP API route's authorization scopes (JWT authorizers only).
    scopes: tuple[str, ...] = ()

    def uses(self, authorizer_id: str | None) -> bool:
        """Whether this method is on the (Lambda) authorizer ``authorizer_id``."""
        return (
            authorizer_id is not None
            and self.authorization_type == "CUSTOM"
            and self.authorizer_id == authorizer_id
        )

    @property
    def route(self) -> str:
        if self.method == DEFAULT_ROUTE:
            return DEFAULT_ROUTE
        return f"{self.method} {self.path}"

    @classmethod
    def from_routes(cls, routes: Iterable[Mapping[str, Any]]) -> list[ApiMethod]:
        """The routes of an HTTP API as ``apigatewayv2.get_routes`` returns them."""
        methods = []
        for route in routes:
            key = str(route.get("RouteKey", ""))
            verb, _, path = key.partition(" ")
            methods.append(
                cls(
                    resource_id=str(route["RouteId"]),
                    path=path if key != DEFAULT_ROUTE else "",
                    method=verb,
                    authorization_type=str(route.get("AuthorizationType") or "NONE"),
                    authorizer_id=route.get("AuthorizerId") or None,
                    api_key_required=False,  # HTTP APIs have no API keys
                    scopes=tuple(str(s) for s in route.get("AuthorizationScopes") or ()),
                )
            )
        return sorted(methods, key=lambda m: (m.method == DEFAULT_ROUTE, m.path, m.method))

    @classmethod
    def from_resources(cls, resources: Iterable[Mapping[str, Any]]) -> list[ApiMethod]:
        methods = [
            cls(
                resource_id=str(resource["id"]),
                path=str(resource.get("path", "/")),
                method=str(verb),
                authorization_type=str(body.get("authorizationType") or "NONE"),
                authorizer_id=body.get("authorizerId") or None,
                api_key_required=bool(body.get("apiKeyRequired")),
            )
            for resource in resources
            for verb, body in (resource.get("resourceMethods") or {}).items()
        ]
        return sorted(methods, key=lambda m: (m.path, m.method))


Action = Literal["create", "change", "keep", "skip", "delete"]
_MARK: Final[Mapping[Action, str]] = {
    "create": "+",
    "change": "~",
    "keep": "=",
    "skip": "-",
    "delete": "x",  # detach only
}


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the plan."""

    action: Action
    text: str

    def __str__(self) -> str:
        return f"{_MARK[self.action]} {self.text}"


@dataclass(frozen=True, slots=True)
class MethodSwitch:
    """A method to patch: to CUSTOM + our authorizer, and/or apiKeyRequired."""

    method: ApiMethod
    set_authorizer: bool
    require_api_key: bool

    def patch_operations(self, authorizer_id: str) -> list[dict[str, str]]:
        operations = []
        if self.set_authorizer:
            operations += [
                {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
                {"op": "replace", "path": "/authorizerId", "value": authorizer_id},
            ]
        if self.require_api_key:
            operations.append({"op": "replace", "path": "/apiKeyRequired", "value": "true"})
        return operations


@dataclass(frozen=True, slots=True)
class Plan:
    spec: AnySpec
    authorizer_id: str | None  # None: to be created
    source_arn: str
    add_permission: bool
    switches: tuple[MethodSwitch, ...]
    #: A deployment to make: methods switched, or switched by a run that stopped before it.
    deploy: bool
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = field(default=())
    #: The authorizer's attach record (gatehouse.attach_record); None: not attach's.
    record: AttachRecord | None = None
    update_record: bool = False  # an existing authorizer's record changes

    @property
    def changes(self) -> int:
        return sum(step.action in ("create", "change") for step in self.steps)


def describe_owner(method: ApiMethod, names: Mapping[str, str]) -> str:
    if method.authorization_type in ("CUSTOM", "JWT"):
        name = names.get(method.authorizer_id or "", "?")
        return f"{method.authorization_type} {name} ({method.authorizer_id})"
    return method.authorization_type


def match_methods(
    methods: Sequence[ApiMethod], patterns: Sequence[RoutePattern]
) -> tuple[list[ApiMethod], list[ApiMethod], list[RoutePattern]]:
    """(methods to guard, OPTIONS methods matched, patterns that matched nothing)."""
    guarded: list[ApiMethod] = []
    preflight: list[ApiMethod] = []
    unmatched: list[RoutePattern] = []
    for pattern in patterns:
        hits = [m for m in methods if pattern.matches(m.method, m.path)]
        if not hits:
            unmatched.append(pattern)
        for hit in hits:
            bucket = preflight if hit.method == "OPTIONS" else guarded
            if hit not in bucket:
                bucket.append(hit)
    return guarded, preflight, unmatched
