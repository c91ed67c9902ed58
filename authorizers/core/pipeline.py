"""From raw event to response: the one place where errors become responses.

::

    event -> normalize() -> authorizer.decide(request) -> render() -> response
                  \\________________ any error ________________/
                                      |
        InvalidRequestError, AuthenticationError  -> 401 (raise Unauthorized; HTTP simple: false)
        AccessDeniedError                          -> Deny (403), reason in context
        UpstreamError, ConfigurationError, other   -> Deny, Error metric (fail closed)

No exception other than :class:`Unauthorized` leaves :func:`handle`, and that one carries no
cause (``from None``) so its traceback shows nothing of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from authorizers.core.config import CoreConfig, HttpResponseFormat
from authorizers.core.deadline import Deadline
from authorizers.core.decision import ANONYMOUS, Decision, Effect
from authorizers.core.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    AuthorizerError,
    ConfigurationError,
    InvalidRequestError,
    Reason,
    Unauthorized,
)
from authorizers.core.observability import (
    Outcome,
    begin_invocation,
    debug_enabled,
    logger,
    record,
    tracer,
)
from authorizers.core.request import EventKind, Request, normalize
from authorizers.core.responses import ResponseError, render


class Authorizer(Protocol):
    """What every authorizer offers the pipeline."""

    @property
    def core(self) -> CoreConfig: ...

    def decide(self, request: Request) -> Decision: ...


A = TypeVar("A", bound=Authorizer)


class ColdStart(Generic[A]):
    """Builds an authorizer once, at cold start, and remembers a configuration failure.

    A broken configuration must not crash the init phase (API Gateway would answer 500): it is
    logged once, with the setting's name and what to put there, and every request is denied
    with reason ``Configuration`` until the function is redeployed with a fixed setting.
    """

    def __init__(self, kind: str, build: Callable[[], A]) -> None:
        self.kind = kind
        self._authorizer: A | None = None
        self._error: Reason | None = None
        try:
            self._authorizer = build()
            if self._authorizer.core.tracing:
                tracer()  # built in the init phase (~300 ms), not on the first request
        except ConfigurationError as error:
            logger.error("configuration error", extra={"authorizer": kind, "error": str(error)})
            self._error = Reason.CONFIGURATION
        except Exception as error:
            logger.error(
                "authorizer failed to start",
                extra={"authorizer": kind, "error_type": type(error).__name__},
            )
            self._error = Reason.INTERNAL

    def get(self) -> A:
        if self._authorizer is None:
            raise ConfigurationError("authorizer", "did not start; see the cold-start log line")
        return self._authorizer

    @property
    def tracing(self) -> bool:
        return self._authorizer is not None and self._authorizer.core.tracing

    @property
    def http_format(self) -> HttpResponseFormat:
        if self._authorizer is None:
            return HttpResponseFormat.IAM
        return self._authorizer.core.http_response_format


LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_handler_for(cold_start: ColdStart[Any]) -> LambdaHandler:
    """The Lambda entry point of one authorizer: logging context, lazy tracing, :func:`handle`.

    The event is never logged: it holds the caller's credentials. The log lines of the
    invocation carry its Lambda fields (:func:`~authorizers.core.observability.begin_invocation`).
    The context gives the invocation's deadline (:class:`~authorizers.core.deadline.Deadline`):
    every upstream call is over before the function's timeout.
    """

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        begin_invocation(event, context)  # the invocation's log fields, on its first line
        deadline = Deadline.for_invocation(context)
        if not cold_start.tracing:
            return handle(event, cold_start, deadline)
        with tracer().provider.in_subsegment("## authorize") as subsegment:
            subsegment.put_annotation(key="authorizer", value=cold_start.kind)
            return handle(event, cold_start, deadline)

    return lambda_handler


def handle(
    event: object, cold_start: ColdStart[Any], deadline: Deadline | None = None
) -> dict[str, Any]:
    """Answer one authorizer event; upstream calls end by ``deadline``. See the module
    docstring for the error mapping."""
    kind = cold_start.kind
    http_format = cold_start.http_format
    try:
        request = normalize(event, deadline)
    except InvalidRequestError as error:
        return _unauthorized(kind, error.reason, _looks_like_v2(event), http_format)
    try:
        decision = cold_start.get().decide(request)
    except (InvalidRequestError, AuthenticationError) as error:
        simple = request.kind is EventKind.HTTP_V2
        return _unauthorized(kind, error.reason, simple, http_format)
    except AccessDeniedError as error:
        decision = Decision.deny(
            request, error.reason, principal_id=error.principal_id or ANONYMOUS
        )
    except AuthorizerError as error:
        return _fault(kind, request, http_format, error.reason, type(error).__name__)
    except Exception as error:
        return _fault(kind, request, http_format, Reason.INTERNAL, type(error).__name__)
    return _respond(kind, request, decision, http_format)


def _respond(
    kind: str, request: Request, decision: Decision, http_format: HttpResponseFormat
) -> dict[str, Any]:
    if decision.effect is Effect.DENY:
        decision = _with_reason(decision)
    try:
        response = render(decision, request, http_format)
    except ResponseError as error:
        logger.error("invalid authorizer response", extra={"authorizer": kind, "error": str(error)})
        return _fault(kind, request, http_format, Reason.INVALID_RESPONSE, "ResponseError")
    outcome = Outcome.ALLOW if decision.effect is Effect.ALLOW else Outcome.DENY
    record(kind, outcome, decision.reason)
    # Allows are logged at DEBUG: API Gateway's access log already records every allowed call
    # with $context.authorizer.principalId, and an INFO line per allow costs ~15 µs and log
    # volume. Denies are always logged. Below DEBUG an Allow does not even build the line's
    # fields (~1.5 µs a request, measured with timeit; too small for a make bench row).
    if outcome is Outcome.ALLOW and not debug_enabled():
        return response
    log = logger.debug if outcome is Outcome.ALLOW else logger.info
    log(
        "decision",
        extra={
            "authorizer": kind,
            "decision": outcome.value,
            "reason": decision.reason.value if decision.reason else None,
            "principal": decision.principal_id,
            "event_kind": request.kind.value,
            "method": request.method,
            "path": request.path,
            "cache_safe": decision.cache_safe,
        },
    )
    return response


def _with_reason(decision: Decision) -> Decision:
    """Put the deny reason in the context: usable as ``$context.authorizer.reason`` in the
    ACCESS_DENIED gateway response."""
    reason = (decision.reason or Reason.POLICY_DENY).value
    return decision.with_context({**decision.context, "reason": reason})


def _unauthorized(
    kind: str, reason: Reason, v2: bool, http_format: HttpResponseFormat
) -> dict[str, Any]:
    record(kind, Outcome.UNAUTHORIZED, reason)
    logger.info("unauthorized", extra={"authorizer": kind, "reason": reason.value})
    if v2 and http_format is HttpResponseFormat.SIMPLE:
        return {"isAuthorized": False}
    raise Unauthorized(reason) from None


def _fault(
    kind: str, request: Request, http_format: HttpResponseFormat, reason: Reason, error_type: str
) -> dict[str, Any]:
    record(kind, Outcome.ERROR, reason)
    logger.error(
        "authorizer fault, denying",
        extra={"authorizer": kind, "reason": reason.value, "error_type": error_type},
    )
    decision = Decision.deny(request, reason, context={"reason": reason.value})
    try:
        return render(decision, request, http_format)
    except ResponseError:  # pragma: no cover - a bare deny-all always renders
        raise Unauthorized from None


def _looks_like_v2(event: object) -> bool:
    return isinstance(event, Mapping) and event.get("version") == "2.0"
