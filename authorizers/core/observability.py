"""The one set of Logger, Metrics and Tracer the authorizers use.

- Logger: Powertools JSON logger. It never logs the event (an event carries tokens, keys and
  certificate PEMs) and the pipeline logs only fixed fields. Each line written during an
  invocation carries the fields Powertools' ``inject_lambda_context`` gives it
  (``cold_start``, ``function_name``, ``function_memory_size``, ``function_arn``,
  ``function_request_id``, ``correlation_id`` from ``requestContext.requestId``), but they
  are put on the logger only when the invocation writes its first line
  (:func:`begin_invocation`): an Allow writes none (it is logged at DEBUG), and the decorator
  cost ~25 µs per request whether or not anything was logged (``make bench``). Lines are
  formatted by :class:`~authorizers.core.log_format.JsonLineFormatter`: Powertools' JSON line,
  field for field, in ~6 µs instead of ~14.
- Metrics: one EMF blob per outcome, namespace ``Gatehouse``, metric ``Allow``/``Deny``/
  ``Unauthorized``/``Error`` with dimensions ``Authorizer`` and ``Reason`` (a fixed enumeration,
  never a principal or tenant id). Written directly in the CloudWatch embedded metric format
  rather than through Powertools' ``single_metric``, which builds and validates a metrics
  provider per call: that cost ~40 µs per decision, as much as verifying an RS256 signature
  (``make bench``). ``POWERTOOLS_METRICS_DISABLED=true`` turns them off, as for Powertools.
- Tracer: opt-in (``GATEHOUSE_TRACING``), built once (constructing it imports aws-xray-sdk and
  botocore, ~250 ms), without auto-patching, and the pipeline never captures responses: a
  response can hold ``usageIdentifierKey``, an API key.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

from authorizers.core.exceptions import Reason
from authorizers.core.log_format import JsonLineFormatter

NAMESPACE: Final = "Gatehouse"
SERVICE: Final = "gatehouse"

logger = Logger(service=SERVICE)
# The keys Powertools' Logger gives the formatter it builds (service, sampling_rate, resolved
# from the environment as it does).
logger.registered_handler.setFormatter(
    JsonLineFormatter(service=logger.service, sampling_rate=logger.sampling_rate)
)
# The stdlib logger Powertools' Logger writes through (it is named after the service).
_stdlib_logger = logging.getLogger(logger.name)
_tracer: Tracer | None = None


class _Invocation:
    """The invocation in progress: its log fields are built on its first log line, if any."""

    __slots__ = ("cold_start", "context", "event", "fields_set")

    def __init__(self, event: object, context: object, cold_start: bool) -> None:
        self.event = event
        self.context = context
        self.cold_start = cold_start
        self.fields_set = False

    def set_fields(self) -> None:
        # What inject_lambda_context(clear_state=True, correlation_id_path=API_GATEWAY_REST)
        # does: structure_logs(cold_start, <the context's four fields>), which clears the
        # formatter's keys and its thread-local ones and puts back the Logger's own (service,
        # sampling_rate), then set_correlation_id. The same formatter calls, made once
        # (2.7 µs, not 4.0).
        self.fields_set = True
        context: Any = self.context
        fields = {
            "service": logger.service,
            "sampling_rate": logger.sampling_rate,
            "cold_start": self.cold_start,
            # build_lambda_context_model's four
            "function_name": context.function_name,
            "function_memory_size": context.memory_limit_in_mb,
            "function_arn": context.invoked_function_arn,
            "function_request_id": context.aws_request_id,
            "correlation_id": correlation_id(self.event),
        }
        formatter = logger.registered_formatter
        formatter.clear_state()
        formatter.thread_safe_clear_keys()
        formatter.append_keys(**fields)


def correlation_id(event: object) -> Any:
    """``requestContext.requestId``: what Powertools' ``correlation_paths.API_GATEWAY_REST``
    reads, looked up directly (its jmespath query cost 3.4 µs per logged invocation, this
    0.05 µs). ``None`` where the event has no such field."""
    if not isinstance(event, dict):
        return None
    context = event.get("requestContext")
    return context.get("requestId") if isinstance(context, dict) else None


_invocation: _Invocation | None = None
_cold = True


def begin_invocation(event: object, context: object) -> None:
    """Note a new invocation (the Lambda entry point calls this first): the log lines it writes
    carry its fields, set on the first one. Never raises: a context without the attributes
    Lambda's has leaves the lines without them."""
    global _invocation, _cold  # noqa: PLW0603 - one invocation at a time, as Lambda runs them
    # As Powertools counts it: the first invocation of the process, unless provisioned.
    cold = _cold and os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"
    _cold = False
    _invocation = _Invocation(event, context, cold)
    if logger.sampling_rate and not cold:
        logger.refresh_sample_rate_calculation()  # a fresh DEBUG sample per invocation


class _InvocationFields(logging.Filter):
    """Runs for each line the logger writes (below its level nothing reaches a filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        invocation = _invocation
        if invocation is not None and not invocation.fields_set:
            # A context without Lambda's attributes (a test double): the line is written
            # without the invocation's fields, never lost and never an error.
            with contextlib.suppress(Exception):
                invocation.set_fields()
        return True


logger.addFilter(_InvocationFields())


class Outcome(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    UNAUTHORIZED = "Unauthorized"
    ERROR = "Error"


# The constant part of each outcome's EMF directive, serialized once.
_DIRECTIVES: Final = {
    outcome: json.dumps(
        [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["Authorizer", "Reason"]],
                "Metrics": [{"Name": outcome.value, "Unit": "Count"}],
            }
        ],
        separators=(",", ":"),
    )
    for outcome in Outcome
}


@functools.lru_cache(maxsize=16)  # the kinds are the code's own handful of names
def _quoted(kind: str) -> str:
    return json.dumps(kind)


def debug_enabled() -> bool:
    """Would a DEBUG line be written now (``POWERTOOLS_LOG_LEVEL``, or this invocation's debug
    sample under ``POWERTOOLS_LOGGER_SAMPLE_RATE``)?"""
    return _stdlib_logger.isEnabledFor(logging.DEBUG)


def metrics_enabled() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("true", "1")


def record(authorizer: str, outcome: Outcome, reason: Reason | None) -> None:
    """Emit one EMF metric for one decision (one JSON line on stdout, which Lambda ships to
    CloudWatch Logs, where it becomes the metric)."""
    if not metrics_enabled():
        return
    # Authorizer kinds and reasons are fixed identifiers (no quoting needed); the kind is
    # JSON-quoted anyway, so a future kind with odd characters cannot break the line.
    sys.stdout.write(
        f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)},'
        f'"CloudWatchMetrics":{_DIRECTIVES[outcome]}}},'
        f'"Authorizer":{_quoted(authorizer)},'
        f'"Reason":"{reason.value if reason else "None"}",'
        f'"{outcome.value}":1}}\n'
    )


def tracer() -> Tracer:
    """The process-wide Tracer, built on first use."""
    global _tracer  # noqa: PLW0603 - a lazily built module singleton is the point
    if _tracer is None:
        from aws_lambda_powertools import Tracer  # noqa: PLC0415 - ~300 ms; only when tracing

        # No auto-patching: it imports botocore (and the authorizers make few AWS calls).
        _tracer = Tracer(service=SERVICE, auto_patch=False)
    return _tracer
