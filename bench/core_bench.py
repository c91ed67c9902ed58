"""Core rows: normalizing events, rendering decisions, matching policies, cache-safe policies.

Anchors: Powertools' event data classes and response builder (what the core wraps), and the
standard library's ``fnmatch`` for glob matching.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from authorizers.core import routes
from authorizers.core.config import HttpResponseFormat
from authorizers.core.decision import Decision, render_policy
from authorizers.core.exceptions import Reason
from authorizers.core.iam_match import evaluate_policy
from authorizers.core.request import normalize
from authorizers.core.responses import render
from authorizers.core.routes import RouteTemplate, cache_safe_resources
from bench.harness import bench

EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events"


def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def register() -> None:
    """Define the rows (import has no side effects)."""
    rest = _event("rest_request")
    request = normalize(rest)
    table = [RouteTemplate.parse(f"GET /r{i}/{{id}}") for i in range(20)]
    table += [RouteTemplate.parse("GET /pets/{petId}"), RouteTemplate.parse("GET /pets/{petId}/x")]
    allowed = table[::2]
    decision = Decision.allow_all(request, "user-1", context={"sub": "user-1", "scope": "a b"})
    routed = Decision.for_routes(
        request, "user-1", allowed=allowed, table=table, denied_reason=Reason.INSUFFICIENT_SCOPE
    )
    policy = render_policy(routed.resources)
    arn = request.arn.arn
    patterns = list(routed.resources.allow)

    @bench("normalize REST REQUEST", "powertools data class reads", anchor=True)
    def _pt_event() -> object:
        ev = APIGatewayAuthorizerRequestEvent(rest)
        return (
            ev.method_arn,
            ev.parsed_arn,
            ev.headers.get("authorization"),
            ev.query_string_parameters,
            ev.path_parameters,
            ev.request_context.identity.source_ip,
            ev.request_context.request_id,
        )

    @bench("normalize REST REQUEST", "gatehouse normalize() + credential()")
    def _ours_event() -> object:
        return normalize(rest).credential("authorization")

    @bench("render allow-all (REST)", "powertools APIGatewayAuthorizerResponse", anchor=True)
    def _pt_render() -> object:
        response = APIGatewayAuthorizerResponse.from_route_arn(
            arn, principal_id="user-1", context={"sub": "user-1", "scope": "a b"}
        )
        response.allow_all_routes()
        return response.asdict()

    @bench("render allow-all (REST)", "gatehouse render() with checks")
    def _ours_render() -> object:
        return render(decision, request, HttpResponseFormat.IAM)

    @bench("policy match (11 resources)", "stdlib fnmatch.fnmatchcase", anchor=True)
    def _fnmatch() -> object:
        return any(fnmatch.fnmatchcase(arn, p) for p in patterns)

    @bench("policy match (11 resources)", "gatehouse evaluate_policy()")
    def _ours_match() -> object:
        return evaluate_policy(policy, arn)

    @bench(
        "route decision (22 routes)", "exact-ARN policy (powertools, not cache-safe)", anchor=True
    )
    def _pt_exact() -> object:
        response = APIGatewayAuthorizerResponse.from_route_arn(arn, principal_id="user-1")
        response.allow_route("GET", "/pets/42")
        return response.asdict()

    @bench("route decision (22 routes)", "gatehouse cache_safe_resources(), warm")
    def _ours_safe() -> object:
        return cache_safe_resources(request.arn, allowed, table)

    # The memo's uncached function: clearing the shared memo instead would make every other
    # row that plans routes (the policy authorizer's) cold once per round as well.
    plan_uncached = routes._plan.__wrapped__

    @bench("route decision (22 routes)", "gatehouse cache_safe_resources(), first time")
    def _ours_safe_cold() -> object:
        return plan_uncached(frozenset(allowed), tuple(table), False)
