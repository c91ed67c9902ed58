"""Identity + request + policy set -> Decision and its decision-log record. Pure.

No IO, no clock (``now`` is passed in), no environment. The order of checks, each failing
closed:

1. No valid policy set: enforce mode raises (the pipeline answers a deny-all with an
   ``Error`` metric); shadow mode allows (it is authentication only) and says so.
2. The request resolves to no route of the table (:mod:`authorizers.policy.routes`): Deny,
   ``UnknownRoute``.
3. Cedar evaluates the request: only a clean ``Allow`` (no policy error) allows
   (:mod:`authorizers.policy.engine`). Denied: ``PolicyDeny``; a policy errored: ``Internal``.
4. The returned IAM policy is made right for every route of the table this principal's
   cached answer can be replayed for (:meth:`PolicySnapshot.enumerate` and
   :func:`authorizers.core.routes.cache_safe_resources`), with explicit Denies for the paths
   the route rules refuse (:data:`~authorizers.policy.routes.REFUSED_PATH_GLOBS`). When that
   is impossible (a policy reads headers, the source IP or the time, which the authorizer
   only loads with the cache declared off; too many cells; an over-broad pattern; a
   path-bound route left with unevaluated values that another route's Allow reaches), the
   answer names this request only and ``cache_safe`` is False (docs/policies.md, "Caching").
   With ``authorizer_cache`` False (TTL 0) every answer names this request only.
   The effect for *this* request is always Cedar's answer from step 3.

Shadow mode evaluates everything the same way, then allows every authenticated request with a
stage-wide policy; the log record carries what enforce mode would have decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from authorizers.core.context import ContextValue
from authorizers.core.decision import Decision, Effect
from authorizers.core.exceptions import ConfigurationError, Reason, UpstreamError
from authorizers.core.request import Request
from authorizers.core.route_arn import MAX_RESOURCE_CHARS
from authorizers.core.routes import (
    ANY_METHOD,
    MAX_POLICY_RESOURCE_BYTES,
    NotCacheSafe,
    PolicyResources,
    RouteTemplate,
    cache_safe_resources,
    pattern_reaches,
)
from authorizers.policy.engine import Cell, Evaluation, PolicySnapshot
from authorizers.policy.model import (
    Identity,
    build_context,
    principal_entity,
    resource_entity,
)
from authorizers.policy.routes import REFUSED_PATH_GLOBS, RouteTable
from authorizers.policy.store import Unavailable


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The decision, and the fields of its decision-log line (no secrets: ids only)."""

    decision: Decision
    log: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    shadow_deny: bool = False


def decide(
    identity: Identity,
    request: Request,
    *,
    snapshot: PolicySnapshot | None,
    unavailable: Unavailable,
    table: RouteTable,
    shadow: bool,
    now: float,
    headers: Sequence[str] = (),
    authorizer_cache: bool = True,
) -> PolicyDecision:
    """Raises ``UpstreamError``/``ConfigurationError`` (enforce mode, no policy set) and, from
    header reads, ``InvalidRequestError`` (a context header sent twice with two values).

    ``authorizer_cache`` False: the operator confirmed API Gateway caches nothing (TTL 0), so
    the answer names this request only; no stage-wide policy is computed."""
    version = snapshot.version if snapshot is not None else "none"
    context: dict[str, ContextValue] = {**identity.context, "policy_version": version}
    log: dict[str, Any] = {
        "principal": identity.id,
        "principal_type": identity.type.value,
        "policy_version": version,
        "mode": "shadow" if shadow else "enforce",
    }
    if snapshot is None:
        log.update(decision="Deny", why=f"no valid policy set ({unavailable.why})")
        if shadow:
            return _shadow_allow(request, identity, context, log)
        if unavailable.why == "source":
            raise UpstreamError(unavailable.reason)
        raise ConfigurationError(
            "GATEHOUSE_POLICY_SOURCE", "holds no valid policy set (see the reload log line)"
        )
    match = table.resolve(request)
    if match is None:
        log.update(decision="Deny", reason=Reason.UNKNOWN_ROUTE.value, action=None)
        if shadow:
            return _shadow_allow(request, identity, context, log)
        denied = Decision.deny(
            request, Reason.UNKNOWN_ROUTE, principal_id=identity.id, context=context
        )
        return PolicyDecision(denied, log)
    header_values: dict[str, str] = {}
    for name in headers:
        value = request.headers.single(name)
        if value is not None:
            header_values[name] = value
    principal = principal_entity(identity, snapshot.mapping)
    resource = resource_entity(request.arn.api_id, request.arn.stage)
    cedar_context = build_context(
        match,
        method=request.method or match.template.method,
        scopes=identity.scopes,
        now=now,
        source_ip=request.source_ip,
        headers=header_values,
    )
    evaluation = snapshot.evaluate(principal, match.action, resource, cedar_context)
    reason = (
        None
        if evaluation.allowed
        else Reason.INTERNAL
        if evaluation.outcome == "error"
        else Reason.POLICY_DENY
    )
    log.update(
        decision="Allow" if evaluation.allowed else "Deny",
        action=match.action,
        outcome=evaluation.outcome,
        policies=list(evaluation.policies),
        reason=reason.value if reason is not None else None,
    )
    if evaluation.errored:
        log["errored_policies"] = list(evaluation.errored)
    if shadow:
        return _shadow_allow(request, identity, context, log, evaluation)
    if not authorizer_cache:
        scoped = _this_request(request, identity, evaluation, reason, context)
        log["cache_safe"] = False
        return PolicyDecision(scoped, log, evaluation)
    cells = snapshot.enumerate(principal, match, resource, cedar_context)
    decision = _cache_safe(
        request,
        identity=identity,
        evaluation=evaluation,
        reason=reason,
        cells=cells,
        path_bound=snapshot.path_bound,
        context=context,
    )
    if decision is None:
        decision = _this_request(request, identity, evaluation, reason, context)
    log["cache_safe"] = decision.cache_safe
    return PolicyDecision(decision, log, evaluation)


def _shadow_allow(
    request: Request,
    identity: Identity,
    context: Mapping[str, ContextValue],
    log: dict[str, Any],
    evaluation: Evaluation | None = None,
) -> PolicyDecision:
    would_deny = log.get("decision") == "Deny"
    log.update(shadow_decision=log.get("decision"), decision="Allow")
    allowed = Decision.allow_all(
        request,
        identity.id,
        context=context,
        usage_identifier_key=identity.usage_identifier_key,
    )
    return PolicyDecision(allowed, log, evaluation, shadow_deny=would_deny)


def _cache_safe(
    request: Request,
    *,
    identity: Identity,
    evaluation: Evaluation,
    reason: Reason | None,
    cells: Sequence[Cell] | None,
    path_bound: frozenset[RouteTemplate],
    context: Mapping[str, ContextValue],
) -> Decision | None:
    """The stage-wide answer from the enumerated cells, or None when there is none."""
    if cells is None:
        return None
    allowed = [cell.template for cell in cells if cell.allowed]
    if _reaches_unbound_values(tuple(cells), path_bound):
        return None
    try:
        resources = cache_safe_resources(request.arn, allowed, [c.template for c in cells])
    except NotCacheSafe:
        return None
    if not resources.allow:
        resources = PolicyResources(allow=(), deny=(request.arn.all_routes(),))
    else:
        refused = _refused_paths(request, resources)
        if refused is None:
            return None
        resources = refused
    # None when the policy would not give Cedar's answer for this request: it is then scoped.
    return Decision.verified(
        request,
        effect=Effect.ALLOW if evaluation.allowed else Effect.DENY,
        principal_id=identity.id,
        resources=resources,
        context=context,
        usage_identifier_key=identity.usage_identifier_key,
        reason=reason,
    )


def _refused_paths(request: Request, resources: PolicyResources) -> PolicyResources | None:
    """``resources`` with an explicit Deny for every path the route rules refuse and a glob
    can express (:data:`REFUSED_PATH_GLOBS`); None when that no longer fits a response.

    Needed only when an Allow holds a ``*`` (IAM's ``*`` crosses ``/``): an exact resource
    is a path the table resolves, which never holds such a spelling.
    """
    if not any("*" in resource for resource in resources.allow):
        return resources
    arn = request.arn
    extra = tuple(f"{arn.stage_prefix}/{glob}" for glob in REFUSED_PATH_GLOBS)
    everything = (*resources.allow, *resources.deny, *extra)
    if any(len(resource) > MAX_RESOURCE_CHARS for resource in extra):
        return None
    if sum(len(resource) + 3 for resource in everything) > MAX_POLICY_RESOURCE_BYTES:
        return None
    return PolicyResources(allow=resources.allow, deny=(*resources.deny, *extra))


@lru_cache(maxsize=256)
def _reaches_unbound_values(cells: tuple[Cell, ...], path_bound: frozenset[RouteTemplate]) -> bool:
    """Could an allowed pattern of one route reach a request of a path-bound route with a
    parameter value we did not evaluate? Its cells cover only the candidate values; every
    other value must stay implicitly denied, so no *other* route's Allow may cover it.

    Every path-bound route is checked, *including one with no cell at all* (the request did
    not bind its parameter and the principal has no candidate value): it is evaluated for no
    value, so no Deny is written for it, and another route's broad Allow (``GET/*/*`` of
    ``GET /{section}/{proxy+}``) would otherwise reach all of it."""
    for route in path_bound:
        for cell in cells:
            if not cell.allowed or cell.route == route:
                continue
            template = cell.template
            if (
                ANY_METHOD not in (template.method, route.method)
                and template.method != route.method
            ):
                continue  # IAM patterns of different methods never meet
            if pattern_reaches(template.method_glob, template.glob(), route):
                return True
    return False


def _this_request(
    request: Request,
    identity: Identity,
    evaluation: Evaluation,
    reason: Reason | None,
    context: Mapping[str, ContextValue],
) -> Decision:
    """An answer that names this request only (``cache_safe`` False)."""
    arn = request.arn.arn
    if not evaluation.allowed or len(arn) > MAX_RESOURCE_CHARS:
        denied = Decision.deny(
            request, reason or Reason.POLICY_DENY, principal_id=identity.id, context=context
        )
        return Decision(
            effect=Effect.DENY,
            principal_id=denied.principal_id,
            resources=denied.resources,
            context=denied.context,
            reason=denied.reason,
            cache_safe=False,
        )
    return Decision(
        effect=Effect.ALLOW,
        principal_id=identity.id,
        resources=PolicyResources(allow=(arn,)),
        context=MappingProxyType(dict(context)),
        usage_identifier_key=identity.usage_identifier_key,
        cache_safe=False,
    )
