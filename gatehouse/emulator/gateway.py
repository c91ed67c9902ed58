"""The local API Gateway: one REST API stage in front of a backend, as a WSGI application.

For each request (docs/local.md, "Emulator semantics", which names the AWS pages each step
follows; one step per method below):

1. match the route on the raw, still percent-encoded path, by API Gateway's precedence
   (literal > ``{param}`` > ``{proxy+}``, a method > ``ANY``; none: 403 ``Missing
   Authentication Token``); build the ``methodArn`` from the concrete raw path (over 1600
   bytes: 414); a resource-policy explicit deny: 403, no invoke;
2. identity-source pre-checks: TOKEN header missing, empty or failing the validation regex,
   or (REQUEST with caching on) any identity source missing or empty: 401, no invoke;
3. the result cache (:mod:`gatehouse.emulator.cache`): a hit replays the stored response;
4. on a miss, invoke the authorizer function: an error whose message is exactly
   ``Unauthorized``: 401; any other error or a timeout: 500 ``{"message": null}``;
5. validate the response (:mod:`gatehouse.emulator.validate`): malformed is 500, not cached;
6. cache it (Allow and Deny alike) for the authorizer's TTL;
7. evaluate its policy against *this* request's methodArn with the core IAM matcher: explicit
   Deny 403, no matching Allow 403;
   the stage's method throttle (rate + burst per method, every caller): 429;
8. ``apiKeyRequired`` with ``apiKeySource = AUTHORIZER``: ``usageIdentifierKey`` must be an
   enabled key of a usage plan on this stage (else 403 ``Forbidden``); then the plan's throttle
   and quota (429);
9. call the backend with ``requestContext.authorizer = {principalId, <context as strings>,
   integrationLatency}``;
10. gateway responses carry ``x-amzn-ErrorType`` and the stage's customizations (CORS, 302 login
    redirect, ACCESS_DENIED template).

Local-only addition: every answer that involved an authorizer carries
``x-gatehouse-authorizer: <name>; cache=hit|miss`` so the cache can be watched from curl.
The emulator logs method, path (never the query), status and authorizer; never a header.
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

from authorizers.core.clock import Clock, MonotonicClock
from authorizers.core.iam_match import PolicyDocumentError, PolicyOutcome, evaluate_policy
from gatehouse.emulator.cache import ResultCache
from gatehouse.emulator.config import AuthorizerSpec, GatewayConfig, Route
from gatehouse.emulator.events import (
    IncomingRequest,
    proxy_event,
    request_context,
    request_event,
    token_event,
)
from gatehouse.emulator.functions import Function
from gatehouse.emulator.responses import (
    GatewayResponse,
    HttpAnswer,
    ResponseValues,
    cors_headers,
    customize,
    gateway_response,
    login_redirect,
    preflight,
)
from gatehouse.emulator.usage import Meter, PlanDirectory, PlanKey, Verdict
from gatehouse.emulator.validate import InvalidResponse, stringify_context, validate_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAX_ARN_BYTES: Final = 1600
AUTHORIZER_HEADER: Final = "x-gatehouse-authorizer"

Backend = Callable[[dict[str, Any]], Mapping[str, Any]]
"""A Lambda-proxy integration: event in, ``{statusCode, headers, body}`` out."""

log = logging.getLogger("gatehouse.emulator")


@dataclass(frozen=True, slots=True)
class _Authorized:
    response: Mapping[str, Any]
    latency_ms: int


class _Refused(Exception):
    """A gateway response ends the request. ``cache``: how the authorizer was consulted
    (``hit``, ``miss`` = invoked, ``skipped`` = refused by a pre-check), when one was."""

    def __init__(self, answer: HttpAnswer, cache: str | None = None) -> None:
        super().__init__(answer.status)
        self.answer = answer
        self.cache = cache


class WsgiGateway(ABC):
    """A gateway served over WSGI: each request through :meth:`handle`."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.handle(incoming_request(environ))
        start_response(status_line(answer.status), list(answer.headers))
        return [answer.body]

    @abstractmethod
    def handle(self, request: IncomingRequest) -> HttpAnswer:
        """The answer to one request."""


class Gateway(WsgiGateway):
    """One REST API stage: routes, authorizers, usage plans, a backend."""

    def __init__(
        self,
        config: GatewayConfig,
        functions: Mapping[str, Function],
        backend: Backend,
        *,
        plans: PlanDirectory | None = None,
        clock: Clock | None = None,
        cache: ResultCache | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.config = config
        self.functions = functions
        self.backend = backend
        self.plans = plans
        clock = clock or MonotonicClock()
        self.cache = cache or ResultCache(clock)
        self.meter = meter or Meter(clock)

    # -- one request ------------------------------------------------------------------------

    def handle(self, request: IncomingRequest) -> HttpAnswer:
        try:
            answer = self._handle(request)
        except _Refused as refused:
            answer = refused.answer
        tag = next((v for k, v in answer.headers if k == AUTHORIZER_HEADER), None)
        log.info(
            "%s %s -> %d%s", request.method, request.path, answer.status, f" ({tag})" if tag else ""
        )
        return answer

    def _handle(self, request: IncomingRequest) -> HttpAnswer:
        route, parameters = self._route(request)
        key = f"{route.method} {route.path}"
        throttle = self.config.method_throttles.get(key, self.config.method_throttle)
        if throttle is not None:
            verdict = self.meter.take_method(key, *throttle)
            if verdict is not Verdict.OK:
                raise _Refused(self._gateway(GatewayResponse.THROTTLED, request))
        arn = self.config.method_arn(request.method, request.path)
        if len(arn.encode("utf-8")) > MAX_ARN_BYTES:
            raise _Refused(self._gateway(GatewayResponse.REQUEST_TOO_LARGE, request))
        self._resource_policy(request, arn)
        authorized: _Authorized | None = None
        tag: str | None = None
        if route.authorizer is not None:
            spec = self.config.authorizers[route.authorizer]
            try:
                authorized, hit = self._authorize(spec, route, request, parameters, arn)
            except _Refused as refused:
                tag = f"{spec.name}; cache={refused.cache or 'miss'}"
                raise _Refused(_with(refused.answer, tag)) from None
            tag = f"{spec.name}; cache={'hit' if hit else 'miss'}"
        try:
            plan_key = self._usage_plan(route, request, authorized)
        except _Refused as refused:
            raise _Refused(_with(refused.answer, tag)) from None
        answer = self._integrate(route, request, parameters, authorized, plan_key)
        return _with(answer, tag)

    def _route(self, request: IncomingRequest) -> tuple[Route, dict[str, str]]:
        """The most specific route for the request (API Gateway's precedence, never the
        declaration order), on the raw path; one trailing ``/`` is ignored as REST APIs do."""
        path = request.path
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        path_known = False
        best: tuple[Route, dict[str, str]] | None = None
        for route in self.config.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            path_known = True
            if route.method not in ("ANY", request.method):
                continue
            if best is None or route.rank < best[0].rank:
                best = (route, dict(found.groupdict()))
        if best is not None:
            return best
        if request.method == "OPTIONS" and path_known and self.config.cors_allow_origins:
            raise _Refused(preflight(request.header("Origin"), self.config.cors_allow_origins))
        raise _Refused(self._gateway(GatewayResponse.MISSING_AUTHENTICATION_TOKEN, request))

    def _resource_policy(self, request: IncomingRequest, arn: str) -> None:
        policy = self.config.resource_policy
        if policy is None:
            return
        try:
            outcome = evaluate_policy(policy, arn)
        except PolicyDocumentError:
            outcome = PolicyOutcome.EXPLICIT_DENY  # a broken resource policy fails closed
        if outcome is PolicyOutcome.EXPLICIT_DENY:
            raise _Refused(
                self._gateway(GatewayResponse.RESOURCE_POLICY_DENY, request, resource_arn=arn)
            )

    # -- steps 2 to 7: the authorizer ---------------------------------------------------------

    def _authorize(
        self,
        spec: AuthorizerSpec,
        route: Route,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        arn: str,
    ) -> tuple[_Authorized, bool]:
        values = [
            self._identity_value(source.kind, source.name, request)
            for source in spec.identity_sources
        ]
        unauthorized = self._gateway(GatewayResponse.UNAUTHORIZED, request)
        if spec.type == "TOKEN":
            token = values[0]
            if not token or not self._token_matches(spec, token):
                raise _Refused(unauthorized, "skipped")
        elif spec.cache_ttl_seconds > 0 and not all(values):
            raise _Refused(unauthorized, "skipped")
        key = (spec.name, self.config.stage, tuple(v or "" for v in values))
        response = self.cache.get(key) if spec.cache_ttl_seconds > 0 else None
        hit = response is not None
        started = time.monotonic()
        if response is None:
            response = self._invoke(
                spec,
                route=route,
                request=request,
                parameters=parameters,
                arn=arn,
                token=values[0] if values else None,
            )
            self.cache.put(key, response, spec.cache_ttl_seconds)
        latency_ms = 0 if hit else int((time.monotonic() - started) * 1000)
        outcome = evaluate_policy(response["policyDocument"], arn)
        if outcome is not PolicyOutcome.ALLOW:
            kind = (
                GatewayResponse.ACCESS_DENIED_EXPLICIT
                if outcome is PolicyOutcome.EXPLICIT_DENY
                else GatewayResponse.ACCESS_DENIED
            )
            context = response.get("context")
            answer = self._gateway(
                kind, request, context=context if isinstance(context, Mapping) else None
            )
            raise _Refused(answer, "hit" if hit else "miss")
        return _Authorized(response, latency_ms), hit

    def _token_matches(self, spec: AuthorizerSpec, token: str) -> bool:
        if spec.validation_regex is None:
            return True
        pattern = re.compile(spec.validation_regex)
        found = pattern.fullmatch(token) if self.config.regex_fullmatch else pattern.search(token)
        return found is not None

    def _identity_value(self, kind: str, name: str, request: IncomingRequest) -> str | None:
        if kind == "header":
            return request.header(name)
        if kind == "querystring":
            return request.query_value(name)
        if kind == "stage":
            return self.config.stage_variables.get(name)
        context = {
            "requestId": request.request_id,
            "identity.sourceIp": request.source_ip,
            "httpMethod": request.method,
            "stage": self.config.stage,
            "path": request.path,
        }
        return context.get(name)

    def _invoke(
        self,
        spec: AuthorizerSpec,
        *,
        route: Route,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        arn: str,
        token: str | None,
    ) -> Mapping[str, Any]:
        if spec.type == "TOKEN":
            assert token is not None  # noqa: S101 - checked by the pre-check
            event = token_event(token, arn)
        else:
            event = request_event(
                request,
                method_arn=arn,
                resource=route.path,
                path_parameters=parameters,
                stage_variables=self.config.stage_variables,
                context=self._context(route, request),
            )
        function = self.functions.get(spec.name)
        failure = self._gateway(GatewayResponse.AUTHORIZER_CONFIGURATION_ERROR, request)
        if function is None:
            log.error("authorizer %s: no function", spec.name)
            raise _Refused(failure)
        invocation = function.invoke(event, self.config.authorizer_timeout_seconds)
        if invocation.timed_out:
            log.warning("authorizer %s timed out", spec.name)
            raise _Refused(failure)
        if invocation.error_type is not None:
            if invocation.error_message == "Unauthorized":
                raise _Refused(self._gateway(GatewayResponse.UNAUTHORIZED, request))
            log.warning("authorizer %s failed: %s", spec.name, invocation.error_type)
            raise _Refused(failure)
        try:
            return validate_response(invocation.payload, arn)
        except InvalidResponse as error:
            log.warning("authorizer %s: invalid response: %s", spec.name, error)
            raise _Refused(failure) from None

    # -- step 8: API keys and usage plans --------------------------------------------------

    def _usage_plan(
        self, route: Route, request: IncomingRequest, authorized: _Authorized | None
    ) -> PlanKey | None:
        if not route.api_key_required:
            return None
        value = authorized.response.get("usageIdentifierKey") if authorized else None
        plan_key = self.plans.find(value) if self.plans is not None and value else None
        if plan_key is None or not plan_key.enabled:
            raise _Refused(self._gateway(GatewayResponse.INVALID_API_KEY, request))
        verdict = self.meter.take(plan_key)
        if verdict is Verdict.THROTTLED:
            raise _Refused(self._gateway(GatewayResponse.THROTTLED, request))
        if verdict is Verdict.QUOTA_EXCEEDED:
            raise _Refused(self._gateway(GatewayResponse.QUOTA_EXCEEDED, request))
        return plan_key

    # -- step 9: the integration -------------------------------------------------------------

    def _context(
        self,
        route: Route,
        request: IncomingRequest,
        *,
        api_key: str | None = None,
        api_key_id: str | None = None,
    ) -> dict[str, Any]:
        return request_context(
            request,
            resource=route.path,
            stage=self.config.stage,
            account=self.config.account,
            api_id=self.config.api_id,
            api_key=api_key,
            api_key_id=api_key_id,
        )

    def _integrate(
        self,
        route: Route,
        request: IncomingRequest,
        parameters: Mapping[str, str],
        authorized: _Authorized | None,
        plan_key: PlanKey | None,
    ) -> HttpAnswer:
        context = self._context(
            route,
            request,
            api_key=authorized.response.get("usageIdentifierKey")
            if plan_key and authorized
            else None,
            api_key_id=plan_key.key_id if plan_key else None,
        )
        if authorized is not None:
            response = authorized.response
            context["authorizer"] = {
                "principalId": str(response["principalId"]),
                **stringify_context(response.get("context")),
                "integrationLatency": authorized.latency_ms,
            }
        event = proxy_event(
            request,
            resource=route.path,
            path_parameters=parameters,
            stage_variables=self.config.stage_variables,
            context=context,
        )
        try:
            result = self.backend(event)
            status = int(result.get("statusCode", 200))
            headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
            body = result.get("body") or ""
            payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        except Exception:
            log.exception("backend failed")
            return HttpAnswer(
                502,
                (("Content-Type", "application/json"),),
                b'{"message": "Internal server error"}',
            )
        headers += cors_headers(request.header("Origin"), self.config.cors_allow_origins)
        return HttpAnswer(status, tuple(headers), payload)

    # -- gateway responses -----------------------------------------------------------------

    def _gateway(
        self,
        kind: GatewayResponse,
        request: IncomingRequest,
        *,
        context: Mapping[str, Any] | None = None,
        resource_arn: str | None = None,
    ) -> HttpAnswer:
        login = None
        if self.config.login_url is not None:
            return_to = f"{request.scheme}://{request.host}{request.path}"
            login = login_redirect(self.config.login_url, return_to)
        answer = gateway_response(
            kind,
            origin=request.header("Origin"),
            cors_allow_origins=self.config.cors_allow_origins,
            context=context,
            access_denied_template=self.config.access_denied_template,
            login_url=login,
            challenge=self.config.challenge,
            resource_arn=resource_arn,
        )
        if not self.config.gateway_responses:
            return answer
        values = ResponseValues(
            headers={name.lower(): value for name, value in request.headers},
            query=dict(request.query),
            stage_variables=self.config.stage_variables,
            context={
                "requestId": request.request_id,
                "stage": self.config.stage,
                "apiId": self.config.api_id,
                "httpMethod": request.method,
                "path": request.path,
                "identity.sourceIp": request.source_ip,
                **{f"authorizer.{k}": v for k, v in (context or {}).items()},
            },
        )
        return customize(answer, kind, self.config.gateway_responses, values)


def _with(answer: HttpAnswer, tag: str | None) -> HttpAnswer:
    if tag is None or any(name.lower() == AUTHORIZER_HEADER for name, _ in answer.headers):
        return answer
    return replace(answer, headers=(*answer.headers, (AUTHORIZER_HEADER, tag)))


def status_line(status: int) -> str:
    """WSGI's status line: ``401 Unauthorized``."""
    return f"{status} {_REASONS.get(status, '')}".strip()


def incoming_request(environ: WSGIEnvironment) -> IncomingRequest:
    """The request as API Gateway would see it, from a WSGI environ."""
    from werkzeug.wrappers import Request  # noqa: PLC0415 - only the WSGI path needs it

    wsgi = Request(environ)
    headers = [(name, value) for name, value in wsgi.headers.items()]
    body = wsgi.get_data(cache=False) if wsgi.content_length else b""
    return IncomingRequest(
        method=wsgi.method.upper(),
        path=raw_path(environ),
        headers=headers,
        query=list(wsgi.args.items(multi=True)),
        source_ip=wsgi.remote_addr or "127.0.0.1",
        host=wsgi.host,
        client_cert_pem=environ.get("SSL_CLIENT_CERT"),
        scheme=wsgi.scheme,
        body=body,
    )


def raw_path(environ: WSGIEnvironment) -> str:
    """The request path as the client sent it, still percent-encoded, without the query.

    API Gateway routes on this raw path and passes it on as ``path`` (and in ``methodArn``);
    WSGI's ``PATH_INFO`` is already decoded (``acme%2F..%2Fglobex`` would become
    ``acme/../globex``, ``%61cme`` would become ``acme``), so it is read from the request
    line werkzeug keeps in ``REQUEST_URI`` (gunicorn: ``RAW_URI``). A server that sets
    neither gets ``PATH_INFO`` encoded again, which cannot tell ``%2F`` from ``/``.
    """
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not raw:
        return quote(environ.get("PATH_INFO") or "/", safe=_PATH_SAFE) or "/"
    # PEP 3333 strings are latin-1 decoded bytes; undo it (the raw path is ASCII in practice).
    text = str(raw).encode("latin-1").decode("utf-8", "replace")
    if not text.startswith("/"):  # absolute form: "http://host/path?query"
        return urlsplit(text).path or "/"
    return text.split("?", 1)[0].split("#", 1)[0] or "/"


_PATH_SAFE: Final = "/:@!$&'()*+,;=-._~"

_REASONS: Final = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    414: "Request-URI Too Long",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
