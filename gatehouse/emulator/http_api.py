"""The local API Gateway for an HTTP API (API Gateway v2): routes, Lambda authorizers, caching,
throttling and integrations, as a WSGI application.

For each request (AWS: "Working with routes for HTTP APIs", "Working with AWS Lambda
authorizers for HTTP APIs", "Working with AWS Lambda proxy integrations for HTTP APIs";
docs/local.md, "HTTP APIs"):

1. select the route: a method and path match beats ``ANY``, a literal segment beats
   ``{param}``, which beats a greedy ``{proxy+}``; ``$default`` catches the rest; nothing:
   404 ``Not Found``;
2. the route's throttle, else the stage's default (rate + burst, every caller): 429;
3. the authorizer's identity sources: any missing or empty is 401 without invoking it (on an
   HTTP API this holds whether or not caching is on);
4. the result cache, keyed on the identity-source values; a miss invokes the function
   (payload 1.0 or 2.0): an ``Unauthorized`` error is 401, any other error, a timeout or a
   malformed response 500;
5. simple responses: ``isAuthorized`` true passes, false is 403; IAM responses: the policy is
   evaluated against *this* request's ``routeArn`` (so a cached policy scoped to one route
   refuses the others, as on REST);
6. the integration: a Lambda function (payload 2.0 or 1.0, its context under
   ``requestContext.authorizer.lambda``), or an HTTP / VPC-link proxy, which local mode answers
   with a stub echoing what it would forward after the route's parameter mapping.

HTTP APIs have no gateway-response customization: every refusal is ``{"message": ...}`` with
the status's own text. Like the REST emulator, answers that involved an authorizer carry
``x-gatehouse-authorizer: <name>; cache=hit|miss|skipped``, and the log holds method, path,
status and authorizer, never a header.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from authorizers.core.clock import Clock, MonotonicClock
from authorizers.core.iam_match import PolicyOutcome, evaluate_policy
from gatehouse.emulator.cache import ResultCache
from gatehouse.emulator.config import MAX_TTL_SECONDS, compile_template, precedence
from gatehouse.emulator.events import (
    IncomingRequest,
    http_proxy_event,
    http_v1_event,
    http_v2_event,
    proxy_event,
    request_context,
)
from gatehouse.emulator.functions import Function
from gatehouse.emulator.gateway import AUTHORIZER_HEADER, WsgiGateway
from gatehouse.emulator.responses import HttpAnswer
from gatehouse.emulator.usage import Meter, Verdict
from gatehouse.emulator.validate import (
    InvalidResponse,
    stringify_context,
    validate_response,
    validate_simple_response,
)

if TYPE_CHECKING:
    pass

#: How long API Gateway waits for a Lambda authorizer of an HTTP API before answering 500.
AUTHORIZER_TIMEOUT_SECONDS: Final = 10.0
#: HTTP APIs' maximum integration timeout (a function's own timeout ends it sooner).
INTEGRATION_TIMEOUT_SECONDS: Final = 30.0
DEFAULT_ROUTE: Final = "$default"
#: What the integration stub shows for a mapped value taken from the caller's request.
REDACTED: Final = "<from the request>"

PayloadVersion = Literal["1.0", "2.0"]

_SOURCE: Final = re.compile(
    r"\$(?P<kind>request\.header|request\.querystring|context|stageVariables)"
    r"\.(?P<name>[A-Za-z0-9._$-]+)"
)
_MAPPING_KEY: Final = re.compile(
    r"(?P<op>append|overwrite|remove):(?:(?P<where>header|querystring)\.(?P<name>[A-Za-z0-9_.-]+)|"
    r"(?P<path>path))"
)
_MAPPING_VALUE: Final = re.compile(
    r"\$(?:request\.(?P<request>header|querystring|path)(?:\.(?P<rname>[A-Za-z0-9_.-]+))?|"
    r"context\.(?P<context>[A-Za-z0-9_.]+)|stageVariables\.(?P<stage>[A-Za-z0-9_]+))"
)

#: The ``$context`` variables an identity source may name here.
CONTEXT_SOURCES: Final = frozenset(
    {
        "requestId",
        "identity.sourceIp",
        "httpMethod",
        "path",
        "routeKey",
        "stage",
        "apiId",
        "domainName",
    }
)

log = logging.getLogger("gatehouse.emulator")


def parse_identity_source(text: str) -> tuple[str, str]:
    """``$request.header.Authorization`` -> ``("request.header", "Authorization")``.

    Raises
    ------
    ValueError
        For anything but a header, query string, context or stage variable source.
    """
    found = _SOURCE.fullmatch(text)
    if found is None:
        raise ValueError(f"not an HTTP API identity source: {text!r}")
    if found["kind"] == "context" and found["name"] not in CONTEXT_SOURCES:
        raise ValueError(
            f"identity source {text!r}: local mode knows $context."
            f"{', $context.'.join(sorted(CONTEXT_SOURCES))}"
        )
    return found["kind"], found["name"]


@dataclass(frozen=True, slots=True)
class HttpAuthorizerSpec:
    """A Lambda (``REQUEST``) authorizer of an HTTP API, as API Gateway is configured."""

    name: str
    payload_version: PayloadVersion = "2.0"
    simple_responses: bool = False
    identity_sources: tuple[str, ...] = ("$request.header.Authorization",)
    cache_ttl_seconds: int = 300
    #: ``identity_sources`` parsed once: ``(kind, name)`` each (:func:`parse_identity_source`).
    sources: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sources", tuple(parse_identity_source(s) for s in self.identity_sources)
        )
        if self.payload_version not in ("1.0", "2.0"):
            raise ValueError(f"{self.name}: payload format version must be 1.0 or 2.0")
        if self.simple_responses and self.payload_version != "2.0":
            raise ValueError(f"{self.name}: simple responses need payload format version 2.0")
        if not 0 <= self.cache_ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"{self.name}: cache TTL must be 0..{MAX_TTL_SECONDS} seconds")
        if self.cache_ttl_seconds > 0 and not self.identity_sources:
            raise ValueError(
                f"{self.name}: a cached authorizer needs at least one identity source (the "
                "cache key); add one or set the cache TTL to 0"
            )
        if self.cache_ttl_seconds > 0 and {kind for kind, _ in self.sources} == {"stageVariables"}:
            # Stage variables are the same for every caller: one cached answer for all.
            raise ValueError(
                f"{self.name}: a cached authorizer keyed on stage variables alone would share "
                "one answer between every caller; add a request source or set the TTL to 0"
            )


@dataclass(frozen=True, slots=True)
class Integration:
    """Where a route goes: ``lambda`` (``function``: the name of a backend :class:`Function`,
    with its payload version) or ``http`` (an HTTP or VPC-link proxy, answered by a stub;
    ``uri`` only describes it)."""

    kind: Literal["lambda", "http"]
    function: str | None = None
    payload_version: PayloadVersion = "2.0"
    uri: str = ""
    request_parameters: Mapping[str, str] = field(default_factory=dict)
    #: ``request_parameters`` parsed once: (operation, ``header``/``querystring``/``path``,
    #: name, value template) each.
    mappings: tuple[tuple[str, str, str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "lambda" and not self.function:
            raise ValueError("a Lambda integration needs its function")
        mappings = []
        for key, template in self.request_parameters.items():
            found = _MAPPING_KEY.fullmatch(key)
            if found is None or (found["path"] and found["op"] != "overwrite"):
                raise ValueError(f"not a parameter mapping local mode knows: {key!r}")
            where = "path" if found["path"] else found["where"]
            mappings.append((found["op"], where, found["name"] or "", template))
        object.__setattr__(self, "mappings", tuple(mappings))


@dataclass(frozen=True, slots=True)
class HttpRoute:
    """One route: ``GET /stock/{sku}``, ``ANY /{proxy+}`` or ``$default``."""

    key: str
    integration: Integration
    authorizer: str | None = None
    #: This route's own throttle (rate per second, burst); ``None``: the stage's default.
    throttle: tuple[float, int] | None = None
    method: str = field(init=False, repr=False, compare=False)
    path: str = field(init=False, repr=False, compare=False)
    pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    rank: tuple[int, ...] = field(init=False, repr=False, compare=False)

    @property
    def resource(self) -> str:
        """The ``resource`` of payload 1.0 events (``$default`` has no path: ``/{proxy+}``)."""
        return self.path or "/{proxy+}"

    def __post_init__(self) -> None:
        rank: tuple[int, ...]
        if self.key == DEFAULT_ROUTE:
            method, path, pattern, rank = "ANY", "", None, (9,)
        else:
            method, _, path = self.key.partition(" ")
            if not method or not path.startswith("/"):
                raise ValueError(f"route key must look like 'GET /orders/{{id}}': {self.key!r}")
            pattern, rank = compile_template(path), precedence(method, path)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "rank", rank)


@dataclass(frozen=True, slots=True)
class HttpApiConfig:
    """One HTTP API stage as the emulator serves it."""

    api_id: str
    stage: str
    region: str
    account: str
    routes: tuple[HttpRoute, ...]
    authorizers: Mapping[str, HttpAuthorizerSpec]
    partition: str = "aws"
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    #: The stage's default route throttle (rate per second, burst), per route, all callers.
    throttle: tuple[float, int] | None = None
    authorizer_timeout_seconds: float = AUTHORIZER_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        keys = [route.key for route in self.routes]
        for route in self.routes:
            if route.authorizer is not None and route.authorizer not in self.authorizers:
                raise ValueError(f"{route.key}: no authorizer {route.authorizer}")
            if keys.count(route.key) > 1:
                raise ValueError(f"route {route.key} is defined twice")

    def route_arn(self, method: str, path: str) -> str:
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}/{method}{path}"
        )


@dataclass(frozen=True, slots=True)
class _Authorized:
    principal_id: str | None
    context: Mapping[str, Any]
    latency_ms: int


class _Refused(Exception):
    def __init__(self, status: int, cache: str | None = None) -> None:
        super().__init__(status)
        self.answer = refusal(status)
        self.cache = cache


_MESSAGES: Final = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def refusal(status: int) -> HttpAnswer:
    """An HTTP API's own answer: ``{"message": "<status text>"}``."""
    body = json.dumps({"message": _MESSAGES[status]}).encode("utf-8")
    return HttpAnswer(status, (("Content-Type", "application/json"),), body)


class HttpGateway(WsgiGateway):
    """One HTTP API stage: routes, Lambda authorizers, integrations."""

    def __init__(
        self,
        config: HttpApiConfig,
        functions: Mapping[str, Function],
        backends: Mapping[str, Function],
        *,
        clock: Clock | None = None,
        cache: ResultCache | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.config = config
        self.functions = functions
        self.backends = backends
        clock = clock or MonotonicClock()
        self.cache = cache or ResultCache(clock)
        self.meter = meter or Meter(clock)

    def handle(self, request: IncomingRequest) -> HttpAnswer:
        tag: str | None = None
        try:
            route, parameters = self._route(request)
            self._throttle(route)
            authorized: _Authorized | None = None
            if route.authorizer is not None:
                spec = self.config.authorizers[route.authorizer]
                try:
                    authorized, hit = self._authorize(spec, route, request, parameters)
                except _Refused as refused:
                    tag = f"{spec.name}; cache={refused.cache or 'miss'}"
                    raise
                tag = f"{spec.name}; cache={'hit' if hit else 'miss'}"
            answer = self._integrate(route, request, parameters, authorized)
        except _Refused as refused:
            answer = refused.answer
        if tag is not None:
            answer = replace(answer, headers=(*answer.headers, (AUTHORIZER_HEADER, tag)))
        log.info(
            "%s %s -> %d%s", request.method, request.path, answer.status, f" ({tag})" if tag else ""
        )
        return answer

    # -- 1, 2: route and throttle ----------------------------------------------------------------

    def _route(self, request: IncomingRequest) -> tuple[HttpRoute, dict[str, str]]:
        best: tuple[HttpRoute, dict[str, str]] | None = None
        for route in self.config.routes:
            if route.pattern is None:
                found: dict[str, str] | None = {}
            else:
                match = route.pattern.fullmatch(request.path)
                found = None if match is None else dict(match.groupdict())
            if found is None or route.method not in ("ANY", request.method):
                continue
            if best is None or route.rank < best[0].rank:
                best = (route, found)
        if best is None:
            raise _Refused(404)
        return best

    def _throttle(self, route: HttpRoute) -> None:
        limits = route.throttle or self.config.throttle
        if limits is not None and self.meter.take_method(route.key, *limits) is not Verdict.OK:
            raise _Refused(429)

    # -- 3 to 5: the authorizer ----------------------------------------------------------------

    def _authorize(
        self,
        spec: HttpAuthorizerSpec,
        route: HttpRoute,
        request: IncomingRequest,
        parameters: Mapping[str, str],
    ) -> tuple[_Authorized, bool]:
        values = [self._identity_value(kind, name, request, route) for kind, name in spec.sources]
        if not all(values):
            raise _Refused(401, "skipped")
        arn = self.config.route_arn(request.method, request.path)
        key = (
            f"{self.config.api_id}/{spec.name}",
            self.config.stage,
            tuple(v or "" for v in values),
        )
        response = self.cache.get(key) if spec.cache_ttl_seconds > 0 else None
        hit = response is not None
        started = time.monotonic()
        if response is None:
            event = self._authorizer_event(spec, route, request, parameters, arn, values)
            response = self._invoke(spec, event, arn)
            self.cache.put(key, response, spec.cache_ttl_seconds)
        latency_ms = 0 if hit else int((time.monotonic() - started) * 1000)
        cache = "hit" if hit else "miss"
        context = response.get("context")
        context = context if isinstance(context, Mapping) else {}
        if spec.simple_responses:
            if response["isAuthorized"] is not True:
                raise _Refused(403, cache)
            return _Authorized(None, context, latency_ms), hit
        if evaluate_policy(response["policyDocument"], arn) is not PolicyOutcome.ALLOW:
            raise _Refused(403, cache)
        return _Authorized(str(response["principalId"]), context, latency_ms), hit

    def _identity_value(
        self, kind: str, name: str, request: IncomingRequest, route: HttpRoute
    ) -> str | None:
        # Repeated headers and query parameters are joined with commas, as payload 2.0 hands
        # them to the authorizer: the cache key must be the value the authorizer judged, or
        # "good" + "other" would cache an Allow under "other" alone.
        if kind == "request.header":
            values = [v for k, v in request.headers if k.lower() == name.lower()]
            return ",".join(values) or None
        if kind == "request.querystring":
            return ",".join(v for k, v in request.query if k == name) or None
        if kind == "stageVariables":
            return self.config.stage_variables.get(name)
        return self._context_value(name, request, route, None)

    def _context_value(
        self,
        name: str,
        request: IncomingRequest,
        route: HttpRoute,
        authorized: _Authorized | None,
    ) -> str | None:
        if name.startswith("authorizer."):
            if authorized is None:
                return None
            field_name = name.removeprefix("authorizer.")
            if field_name == "principalId":
                return authorized.principal_id
            value = authorized.context.get(field_name)
            return None if value is None else stringify_context({"v": value})["v"]
        values = {
            "requestId": request.request_id,
            "identity.sourceIp": request.source_ip,
            "httpMethod": request.method,
            "path": request.path,
            "routeKey": route.key,
            "stage": self.config.stage,
            "apiId": self.config.api_id,
            "domainName": request.host,
        }
        return values.get(name)

    def _authorizer_event(  # noqa: PLR0917 - one private call site
        self,
        spec: HttpAuthorizerSpec,
        route: HttpRoute,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        arn: str,
        values: list[str | None],
    ) -> dict[str, Any]:
        sources = [value or "" for value in values]
        if spec.payload_version == "2.0":
            return self._v2_event(route, request, parameters, arn, sources)
        return http_v1_event(
            request,
            method_arn=arn,
            resource=route.resource,
            path_parameters=parameters,
            stage_variables=self.config.stage_variables,
            context=self._v1_context(route, request),
            identity_source=sources,
        )

    def _v2_event(
        self,
        route: HttpRoute,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        arn: str,
        sources: list[str],
    ) -> dict[str, Any]:
        return http_v2_event(
            request,
            route_key=route.key,
            route_arn=arn,
            stage=self.config.stage,
            account=self.config.account,
            api_id=self.config.api_id,
            path_parameters=parameters,
            stage_variables=self.config.stage_variables,
            identity_source=sources,
        )

    def _v1_context(self, route: HttpRoute, request: IncomingRequest) -> dict[str, Any]:
        return request_context(
            request,
            resource=route.resource,
            stage=self.config.stage,
            account=self.config.account,
            api_id=self.config.api_id,
        )

    def _invoke(
        self, spec: HttpAuthorizerSpec, event: dict[str, Any], arn: str
    ) -> Mapping[str, Any]:
        function = self.functions.get(spec.name)
        if function is None:
            log.error("authorizer %s: no function", spec.name)
            raise _Refused(500)
        invocation = function.invoke(event, self.config.authorizer_timeout_seconds)
        if invocation.timed_out:
            log.warning("authorizer %s timed out", spec.name)
            raise _Refused(500)
        if invocation.error_type is not None:
            if invocation.error_message == "Unauthorized":
                raise _Refused(401)
            log.warning("authorizer %s failed: %s", spec.name, invocation.error_type)
            raise _Refused(500)
        try:
            if spec.simple_responses:
                return validate_simple_response(invocation.payload)
            return validate_response(invocation.payload, arn)
        except InvalidResponse as error:
            log.warning("authorizer %s: invalid response: %s", spec.name, error)
            raise _Refused(500) from None

    # -- 6: the integration --------------------------------------------------------------------

    def _integrate(
        self,
        route: HttpRoute,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        authorized: _Authorized | None,
    ) -> HttpAnswer:
        integration = route.integration
        if integration.kind == "http":
            return self._stub(route, request, parameters, authorized)
        function = self.backends.get(integration.function or "")
        if function is None:
            log.error("route %s: no function %s", route.key, integration.function)
            raise _Refused(500)
        event = self._proxy_event(route, request, parameters, authorized)
        invocation = function.invoke(event, INTEGRATION_TIMEOUT_SECONDS)
        if invocation.failed:
            log.warning("route %s: the integration failed", route.key)
            raise _Refused(500)
        return _lambda_answer(invocation.payload, integration.payload_version)

    def _proxy_event(
        self,
        route: HttpRoute,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        authorized: _Authorized | None,
    ) -> dict[str, Any]:
        arn = self.config.route_arn(request.method, request.path)
        if route.integration.payload_version == "2.0":
            event = http_proxy_event(
                self._v2_event(route, request, parameters, arn, []), request.body
            )
            if authorized is not None:
                lambda_context: dict[str, Any] = {"lambda": dict(authorized.context)}
                if authorized.principal_id is not None:
                    lambda_context["principalId"] = authorized.principal_id
                event["requestContext"]["authorizer"] = lambda_context
            return event
        context = self._v1_context(route, request)
        if authorized is not None:
            context["authorizer"] = {
                **({"principalId": authorized.principal_id} if authorized.principal_id else {}),
                **stringify_context(authorized.context),
                "integrationLatency": authorized.latency_ms,
            }
        event = proxy_event(
            request,
            resource=route.resource,
            path_parameters=parameters,
            stage_variables=self.config.stage_variables,
            context=context,
        )
        event["version"] = "1.0"
        return event

    def _stub(
        self,
        route: HttpRoute,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        authorized: _Authorized | None,
    ) -> HttpAnswer:
        """What an HTTP or VPC-link proxy would forward, after the route's parameter mapping.

        Header *values* the caller sent are never echoed (they hold credentials), only their
        names, and so is a mapped value drawn from the request (``$request.header.*``,
        ``$request.querystring.*``); values from the context (``$context.authorizer.*``...)
        are shown. ``append`` keeps what the caller sent: a header a backend trusts must be
        set with ``overwrite``.
        """
        forwarded = sorted({name.lower() for name, _ in request.headers})
        mapped: dict[str, str] = {}
        query = sorted({name for name, _ in request.query})
        path = request.path
        for op, where, name, template in route.integration.mappings:
            value = self._mapping_value(template, request, route, parameters, authorized)
            if where == "path":
                path = value
            elif where == "header":
                header = name.lower()
                if op != "append":
                    forwarded = [h for h in forwarded if h != header]
                if op == "remove":
                    mapped.pop(header, None)
                else:
                    mapped[header] = value
            elif op == "remove":
                query = [q for q in query if q != name]
            elif name not in query:
                query.append(name)
        body = {
            "stub": "local mode answers HTTP and VPC-link integrations with this echo",
            "integration": route.integration.uri,
            "route": route.key,
            "method": request.method,
            "path": path,
            "queryParameters": sorted(query),
            "mappedHeaders": mapped,
            "forwardedHeaders": forwarded,
        }
        text = json.dumps(body, sort_keys=True).encode("utf-8")
        return HttpAnswer(200, (("Content-Type", "application/json"),), text)

    def _mapping_value(
        self,
        template: str,
        request: IncomingRequest,
        route: HttpRoute,
        parameters: Mapping[str, str],
        authorized: _Authorized | None,
    ) -> str:
        def value(found: re.Match[str]) -> str:
            if found["context"]:
                return self._context_value(found["context"], request, route, authorized) or ""
            if found["stage"]:
                return self.config.stage_variables.get(found["stage"], "")
            name = found["rname"]
            if found["request"] == "path":
                return parameters.get(name, "") if name else request.path
            return REDACTED  # a header or query value the caller sent: maybe a credential

        return _MAPPING_VALUE.sub(value, template)


def _lambda_answer(payload: object, version: PayloadVersion) -> HttpAnswer:
    """A Lambda integration's result as the client sees it. Payload 2.0 without a
    ``statusCode`` is a 200 with the result as JSON (AWS's format inference)."""
    if not isinstance(payload, Mapping) or (version == "2.0" and "statusCode" not in payload):
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return HttpAnswer(200, (("Content-Type", "application/json"),), text.encode("utf-8"))
    try:
        status = int(payload.get("statusCode", 200))
        headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
        headers += [("Set-Cookie", str(c)) for c in payload.get("cookies") or ()]
        body = payload.get("body") or ""
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode()
        if payload.get("isBase64Encoded") and isinstance(body, str):
            data = base64.b64decode(body)
    except (TypeError, ValueError, AttributeError):
        log.warning("a Lambda integration returned a malformed response")
        return refusal(500)
    return HttpAnswer(status, tuple(headers), data)
