"""The one set of Logger, Metrics and Tracer the authorizers use.

- Logger: Powertools JSON logger. It never logs the event (``log_event`` stays off: an event
  carries tokens, keys and certificate PEMs) and the pipeline logs only fixed fields.
- Metrics: one EMF blob per outcome, namespace ``Gatehouse``, metric ``Allow``/``Deny``/
  ``Unauthorized``/``Error`` with dimensions ``Authorizer`` and ``Reason`` (a fixed enumeration,
  never a principal or tenant id).
- Tracer: created on first use only (constructing it imports aws-xray-sdk and patches botocore,
  ~300 ms), with response capture off: a response can hold ``usageIdentifierKey``, an API key.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

from authorizers.core.exceptions import Reason

NAMESPACE: Final = "Gatehouse"
SERVICE: Final = "gatehouse"

logger = Logger(service=SERVICE)
_tracer: Tracer | None = None


class Outcome(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    UNAUTHORIZED = "Unauthorized"
    ERROR = "Error"


def record(authorizer: str, outcome: Outcome, reason: Reason | None) -> None:
    """Emit one EMF metric for one decision."""
    with single_metric(
        name=outcome.value, unit=MetricUnit.Count, value=1, namespace=NAMESPACE
    ) as metric:
        metric.add_dimension(name="Authorizer", value=authorizer)
        metric.add_dimension(name="Reason", value=(reason.value if reason else "None"))


def tracer() -> Tracer:
    """The process-wide Tracer, built on first use."""
    global _tracer  # noqa: PLW0603 - a lazily built module singleton is the point
    if _tracer is None:
        from aws_lambda_powertools import Tracer  # noqa: PLC0415 - ~300 ms; only when tracing

        _tracer = Tracer(service=SERVICE)
    return _tracer
