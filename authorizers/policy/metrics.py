"""Policy-specific metrics: one EMF line per event, fixed names, dimension ``Authorizer``.

The pipeline already counts every ``Allow``/``Deny``/``Unauthorized``/``Error`` with its
reason (:mod:`authorizers.core.observability`). These add what only the policy authorizer
knows, each a fixed name (never a policy id, principal or tenant):

=======================  ==============================================================
``PolicyEvaluationError`` a policy errored while evaluating (the request was denied)
``PolicyShadowDeny``      shadow mode: the policy set would have denied (the request was allowed)
``PolicyReloaded``        a new policy set was loaded
``PolicyReloadFailed``    a reload failed; the last-known-good set (if any) stays
``PolicyUnavailable``     a request arrived while no valid policy set was loaded
``PolicyNotCacheSafe``    the answer could not be made right for every route (scoped to one)
=======================  ==============================================================
"""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from typing import Final

from authorizers.core.observability import NAMESPACE, metrics_enabled


class PolicyMetric(StrEnum):
    EVALUATION_ERROR = "PolicyEvaluationError"
    SHADOW_DENY = "PolicyShadowDeny"
    RELOADED = "PolicyReloaded"
    RELOAD_FAILED = "PolicyReloadFailed"
    UNAVAILABLE = "PolicyUnavailable"
    NOT_CACHE_SAFE = "PolicyNotCacheSafe"


_DIRECTIVES: Final = {
    metric: json.dumps(
        [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["Authorizer"]],
                "Metrics": [{"Name": metric.value, "Unit": "Count"}],
            }
        ],
        separators=(",", ":"),
    )
    for metric in PolicyMetric
}


def count(authorizer: str, metric: PolicyMetric) -> None:
    """Emit one EMF count for ``metric``."""
    if not metrics_enabled():
        return
    sys.stdout.write(
        f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)},'
        f'"CloudWatchMetrics":{_DIRECTIVES[metric]}}},'
        f'"Authorizer":{json.dumps(authorizer)},"{metric.value}":1}}\n'
    )
