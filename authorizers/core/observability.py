"""The one set of Logger, Metrics and Tracer the authorizers use.

- Logger: Powertools JSON logger. It never logs the event (``log_event`` stays off: an event
  carries tokens, keys and certificate PEMs) and the pipeline logs only fixed fields.
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

import json
import os
import sys
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools import Logger

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


def metrics_enabled() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("true", "1")


def record(authorizer: str, outcome: Outcome, reason: Reason | None) -> None:
    """Emit one EMF metric for one decision (one JSON line on stdout, which Lambda ships to
    CloudWatch Logs, where it becomes the metric)."""
    if not metrics_enabled():
        return
    # Authorizer kinds and reasons are fixed identifiers (no quoting needed); json.dumps is
    # kept for the kind anyway, so a future kind with odd characters cannot break the line.
    sys.stdout.write(
        f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)},'
        f'"CloudWatchMetrics":{_DIRECTIVES[outcome]}}},'
        f'"Authorizer":{json.dumps(authorizer)},'
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
