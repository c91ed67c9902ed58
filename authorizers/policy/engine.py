"""The Cedar engine: a validated, pre-parsed policy set, and fail-closed evaluation. Pure.

:func:`compile_bundle` turns a bundle into a :class:`PolicySnapshot` once (per load): the
compiled rules and Cedar text are validated against the shipped schema (strict mode: an
attribute read that could fail, a typo, an action that is not a route, all refused), parsed
into a ``cedarpy.PolicySet``, and analysed for the authorizer cache
(:mod:`authorizers.policy.analysis`). Evaluation then runs without re-parsing anything: the
action hierarchy is pre-parsed entities; only the principal and resource are added per call.

Fail closed (docs/policies.md, "What is decided, in order"; Cedar documentation,
"Authorization": a policy whose evaluation errors is ignored, and the error reported): the
answer is Allow only when Cedar says ``Allow`` *and* reports no error. A ``forbid`` whose
condition errors is skipped by Cedar, which can turn a Deny into an Allow; so any error is a
Deny, as is ``NoDecision`` (a request Cedar could not even build).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import cedarpy

from authorizers.core.cache import BoundedTTLCache
from authorizers.core.route_arn import HTTP_METHODS
from authorizers.core.routes import ANY_METHOD, RouteTemplate, RouteTemplateError
from authorizers.policy.analysis import (
    Dependence,
    request_varying,
    route_dependence,
    scoped_actions,
)
from authorizers.policy.bundle import Bundle, BundleError, parse_bundle
from authorizers.policy.model import (
    ACTION_TYPE,
    Principal,
    PrincipalMapping,
    action_entities,
    build_schema,
    entities_json,
)
from authorizers.policy.routes import RouteMatch, RouteTable

#: Most concrete cells (route x bound parameter values) evaluated for one cache-safe answer.
MAX_CELLS: Final = 512
#: Most candidate values per path parameter.
MAX_CANDIDATES: Final = 16
ENUMERATION_CACHE_SIZE: Final = 1024
ENUMERATION_CACHE_SECONDS: Final = 300
#: Most actions in the schema one validation chunk is checked against.
VALIDATION_CHUNK_ACTIONS: Final = 32
_PLAIN_SEGMENT: Final = re.compile(r"[A-Za-z0-9._~:@!$&'()+,;=-]{1,128}")
_POLICY_ID: Final = re.compile(r"policy\d+|rule:[A-Za-z0-9_.:-]+")


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One fail-closed Cedar answer."""

    allowed: bool
    #: Why: ``allow``, ``deny`` (a forbid or no permit), ``error`` (a policy errored) or
    #: ``no_decision`` (Cedar could not evaluate the request).
    outcome: str
    #: The determining policies, by ``@id`` when they have one.
    policies: tuple[str, ...] = ()
    #: Ids of the policies that errored (never the error text: it may quote values).
    errored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cell:
    """One concrete row of the cache-safe enumeration: a template with some parameters bound."""

    template: RouteTemplate
    allowed: bool
    #: The table route this cell specializes (``template`` itself when nothing is bound).
    route: RouteTemplate
    # Hashed once, as RouteTemplate is: decide() memoizes by the tuple of a request's cells.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.template, self.allowed, self.route)))

    def __hash__(self) -> int:
        return self._hash


class PolicySnapshot:
    """One loaded policy set: immutable, shared by every request until the next reload.

    Evaluation is indexed by action: each route gets the slice of policies whose action scope
    can apply to it (a policy whose scope does not admit an action can never apply to it, so
    the decision is the same), and a two-entity base (the action and its method group). Cedar
    scans policies linearly; the slice keeps a decision's cost independent of the set's size.
    Slices are built on first use per route and kept for the snapshot's life.
    """

    def __init__(
        self,
        *,
        bundle: Bundle,
        table: RouteTable,
        est: Mapping[str, Any],
        admits: Mapping[str, frozenset[str]],
        version: str,
        annotations: Mapping[str, str],
        dependence: Mapping[str, Dependence],
        request_varying: tuple[str, ...] = (),
    ) -> None:
        self.bundle = bundle
        #: Policies (by ``@id``) that read headers, the source IP or the time.
        self.request_varying = request_varying
        self.table = table
        self.version = version
        self._policies: dict[str, Any] = dict(est.get("staticPolicies", {}))
        self._admits = dict(admits)
        self._annotations = dict(annotations)
        self._dependence = dict(dependence)
        self._actions = {str(route): route for route in table.routes}
        # Routes whose decision reads one of their own path parameters: their cells cover only
        # the candidate values (possibly none at all), every other value stays unevaluated.
        self.path_bound: frozenset[RouteTemplate] = frozenset(
            route
            for route in table.routes
            if not self._dependence[str(route)].dynamic
            and set(table.params(route)) & self._dependence[str(route)].params
        )
        self._slices: dict[str, tuple[cedarpy.PolicySet, cedarpy.Entities]] = {}
        self._full_base: cedarpy.Entities | None = None
        # Path parameters are compared with the principal's id or tenants only when a policy
        # reads them: only then are they candidate values in the enumeration.
        compact = json.dumps(est, separators=(",", ":"))
        self._candidate_attributes = tuple(
            name
            for name in ("id", "tenants")
            if f'{{"left":{{"Var":"principal"}},"attr":"{name}"}}' in compact
        )
        self.policy_count = len(annotations)
        # Enumerations by (principal, scopes, resource, this request's path values): the cells
        # depend on nothing else (dynamic routes give None before any evaluation). Lives and
        # dies with this snapshot, so a reload never serves an old policy set's cells.
        self._cells: BoundedTTLCache[str, tuple[Cell, ...] | None] = BoundedTTLCache(
            maxsize=ENUMERATION_CACHE_SIZE, ttl_seconds=ENUMERATION_CACHE_SECONDS
        )
        # Parsed entity sets by (action, principal + resource JSON): a caller's next request
        # skips the parse. The key is the entity JSON we built, never raw request input.
        self._entity_cache: BoundedTTLCache[tuple[str, str], cedarpy.Entities] = BoundedTTLCache(
            maxsize=ENUMERATION_CACHE_SIZE, ttl_seconds=ENUMERATION_CACHE_SECONDS
        )

    def clear(self) -> None:
        """Forget cached enumerations and entity sets (tests, benchmarks)."""
        self._cells.clear()
        self._entity_cache.clear()

    @property
    def mapping(self) -> PrincipalMapping:
        return self.bundle.mapping

    def dependence(self, route: RouteTemplate) -> Dependence:
        return self._dependence[str(route)]

    def _name(self, policy_id: str) -> str:
        return self._annotations.get(policy_id) or policy_id

    def _slice(self, action: str) -> tuple[cedarpy.PolicySet, cedarpy.Entities]:
        found = self._slices.get(action)
        if found is None:
            route = self._actions[action]
            ids = [
                policy_id
                for policy_id, admitted in self._admits.items()
                if "*" in admitted or action in admitted or route.method in admitted
            ]
            document = {
                "staticPolicies": {policy_id: self._policies[policy_id] for policy_id in ids},
                "templates": {},
                "templateLinks": [],
            }
            policies = cedarpy.PolicySet.from_json_str(json.dumps(document))
            base = cedarpy.Entities.from_json_str(json.dumps(action_entities([route])))
            found = (policies, base)
            self._slices[action] = found
        return found

    def _entities(self, action: str, base: cedarpy.Entities, delta: str) -> cedarpy.Entities:
        """The action's base plus this principal and resource, kept for a repeat caller."""
        key = (action, delta)
        entities = self._entity_cache.get(key)
        if entities is None:
            entities = base.with_added_json_str(delta)
            self._entity_cache.put(key, entities)
        return entities

    def evaluate(
        self,
        principal: Principal,
        action: str,
        resource: Mapping[str, Any],
        context: Mapping[str, Any],
    ) -> Evaluation:
        return self.evaluate_many(principal, [action], resource, [context])[0]

    def evaluate_many(
        self,
        principal: Principal,
        actions: Sequence[str],
        resource: Mapping[str, Any],
        contexts: Sequence[Mapping[str, Any]],
    ) -> list[Evaluation]:
        """Evaluate one principal against several (action, context) pairs: one Cedar batch
        per action, with that action's slice. Several actions share one entity set (the whole
        action hierarchy plus the principal), built once."""
        delta = entities_json(principal, dict(resource))
        results: list[Evaluation] = [Evaluation(False, "no_decision")] * len(actions)
        by_action: dict[str, list[int]] = {}
        for index, action in enumerate(actions):
            by_action.setdefault(action, []).append(index)
        shared = None
        if len(by_action) > 1:
            if self._full_base is None:
                self._full_base = cedarpy.Entities.from_json_str(
                    json.dumps(action_entities(self.table.routes))
                )
            shared = self._full_base.with_added_json_str(delta)
        for action, indexes in by_action.items():
            policies, base = self._slice(action)
            entities = shared if shared is not None else self._entities(action, base, delta)
            requests = [
                {
                    "principal": principal.uid,
                    "action": {"type": ACTION_TYPE, "id": action},
                    "resource": resource["uid"],
                    "context": dict(contexts[index]),
                }
                for index in indexes
            ]
            answers = cedarpy.is_authorized_batch(requests, policies, entities)
            for index, answer in zip(indexes, answers, strict=True):
                results[index] = self._judge(answer)
        return results

    def _judge(self, result: cedarpy.AuthzResult) -> Evaluation:
        diagnostics = result.diagnostics
        policies = tuple(self._name(p) for p in diagnostics.reasons)
        if diagnostics.errors:
            errored = tuple(
                sorted({self._name(m.group(0)) for e in diagnostics.errors for m in _ids(str(e))})
            )
            return Evaluation(False, "error", policies, errored)
        decision = result.decision
        if decision is cedarpy.Decision.Allow:
            return Evaluation(True, "allow", policies)
        if decision is cedarpy.Decision.Deny:
            return Evaluation(False, "deny", policies)
        return Evaluation(False, "no_decision", policies)

    def enumerate(
        self,
        principal: Principal,
        match: RouteMatch,
        resource: Mapping[str, Any],
        context: Mapping[str, Any],
    ) -> tuple[Cell, ...] | None:
        """Every route of the table, concretely enough to be right for any request this
        principal's cached answer may be replayed for; None when that cannot be done.

        A path-bound route is evaluated once per combination of candidate values of the
        parameters it depends on (this request's values, the principal's id and tenants) and
        yields one cell per combination, with those parameters spelled out; any other value is
        left out of every Allow (a later request with it is denied by the cached policy, never
        wrongly allowed). A dynamic route, or too many cells, gives None.
        """
        # One canonical JSON array of the four inputs the cells depend on (one dumps, not four).
        key = json.dumps(
            [
                principal.entity,
                sorted(context.get("scopes", ())),
                resource["uid"],
                sorted(match.raw_params.items()),
            ],
            sort_keys=True,
            separators=(",", ":"),
        )
        if key in self._cells:
            return self._cells.get(key)
        found = self._enumerate(principal, match, resource, context)
        self._cells.put(key, found)
        return found

    def _enumerate(
        self,
        principal: Principal,
        match: RouteMatch,
        resource: Mapping[str, Any],
        context: Mapping[str, Any],
    ) -> tuple[Cell, ...] | None:
        cells: list[tuple[RouteTemplate, RouteTemplate, dict[str, Any]]] = []
        scopes = context.get("scopes", [])
        # Only values that are one plain path segment as they are (no "/", no escapes): the
        # same text is then both the Cedar value and the IAM resource's spelling.
        candidates = sorted(
            value
            for value in principal.candidate_values(self._candidate_attributes)
            if _PLAIN_SEGMENT.fullmatch(value)
        )[:MAX_CANDIDATES]
        for route in self.table.routes:
            dependence = self._dependence[str(route)]
            if dependence.dynamic:
                return None
            if route.method != ANY_METHOD:
                methods: tuple[str | None, ...] = (route.method,)
            elif dependence.method:
                methods = tuple(sorted(HTTP_METHODS))  # one cell per concrete method
            else:
                methods = (None,)  # any method decides the same: the request's stands in
            names = self.table.params(route)
            bound = [name for name in names if name in dependence.params]
            choices: list[list[tuple[str, str]]] = []
            for name in bound:
                own = [match.raw_params[name]] if name in match.raw_params else []
                choices.append([(name, value) for value in dict.fromkeys(own + candidates)])
            for method, combination in itertools.product(methods, itertools.product(*choices)):
                bound_values = dict(combination)
                template = _specialize(route, bound_values, method)
                if template is None:
                    return None
                path = {
                    name: _decoded(bound_values[name])
                    if name in bound_values
                    else match.params.get(name, "x")
                    for name in names
                }
                # Only what a non-dynamic route may read (see ``analysis``): a smaller
                # context is a cheaper Cedar request, and the decision is the same.
                cell_context = {
                    "path": path,
                    "method": method or context.get("method", "GET"),
                    "scopes": scopes,
                }
                cells.append((template, route, cell_context))
                if len(cells) > MAX_CELLS:
                    return None
        results = self.evaluate_many(
            principal, [str(c[1]) for c in cells], resource, [c[2] for c in cells]
        )
        return tuple(Cell(c[0], r.allowed, c[1]) for c, r in zip(cells, results, strict=True))


def _ids(text: str) -> list[re.Match[str]]:
    return list(_POLICY_ID.finditer(text))


def _decoded(value: str) -> str:
    from urllib.parse import unquote  # noqa: PLC0415 - rare path

    return unquote(value) if "%" in value else value


def _specialize(
    route: RouteTemplate, values: Mapping[str, str], method: str | None = None
) -> RouteTemplate | None:
    """``GET /t/{tenant}/o/{id}`` with tenant=acme -> ``GET /t/acme/o/{id}``; ``method``
    replaces an ``ANY`` route's method (``ANY /files/{proxy+}`` -> ``POST /files/{proxy+}``)."""
    path = route.path
    for name, value in values.items():
        path = path.replace(f"{{{name}+}}", value).replace(f"{{{name}}}", value)
    try:
        return RouteTemplate.parse(f"{method or route.method} {path}")
    except RouteTemplateError:
        return None


def bundle_version(data: bytes) -> str:
    """A short, stable version of a bundle: its SHA-256, 16 hex digits."""
    return hashlib.sha256(data).hexdigest()[:16]


#: The setting that tells the authorizer API Gateway's cache is off (config.py reads it).
AUTHORIZER_CACHE_SETTING: Final = "GATEHOUSE_POLICY_AUTHORIZER_CACHE"


def compile_bundle(
    data: bytes,
    table: RouteTable,
    *,
    headers: Sequence[str] = (),
    require_cacheable: bool = False,
) -> PolicySnapshot:
    """Parse, compile, validate and pre-parse a bundle. Raises :class:`BundleError`.

    ``require_cacheable``: API Gateway's authorizer cache is on (the authorizer passes its
    ``GATEHOUSE_POLICY_AUTHORIZER_CACHE``): a policy that reads request-varying context is
    refused, because its answer would be replayed for the TTL whatever the headers, source IP
    or time of the next request.
    """
    bundle = parse_bundle(data, table)
    return compile_parsed(
        bundle,
        table,
        headers=headers,
        version=bundle_version(data),
        require_cacheable=require_cacheable,
    )


def compile_parsed(
    bundle: Bundle,
    table: RouteTable,
    *,
    headers: Sequence[str],
    version: str,
    require_cacheable: bool = False,
) -> PolicySnapshot:
    text = bundle.policy_text()
    try:
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as error:
        raise BundleError(f"Cedar syntax: {_first_line(error)}") from None
    if est.get("templates"):
        raise BundleError("Cedar templates (?principal, ?resource) are not supported")
    policies: dict[str, Any] = est.get("staticPolicies", {})
    annotations: dict[str, str] = {}
    for policy_id, policy in policies.items():
        annotation = policy.get("annotations", {}).get("id")
        annotations[policy_id] = annotation if isinstance(annotation, str) else policy_id
    seen: set[str] = set()
    for name in annotations.values():
        if name in seen:
            raise BundleError(f"two policies share the @id {name!r}")
        seen.add(name)
    groups: dict[str, set[str]] = {}
    for route in table.routes:
        groups.setdefault(route.method, set()).add(str(route))
    frozen_groups = {k: frozenset(v) for k, v in groups.items()}
    admits = {policy_id: _admitted(policy, frozen_groups) for policy_id, policy in policies.items()}
    _validate(policies, admits, table, headers)
    varying = [annotations[policy_id] for policy_id in request_varying(est)]
    if require_cacheable and varying:
        raise BundleError(
            f"policy {varying[0]!r} reads request-varying context (headers, source_ip, time): "
            "API Gateway's authorizer cache would replay its answer for the cache TTL whatever "
            "they are. Set the API's authorizer result TTL to 0 and "
            f"{AUTHORIZER_CACHE_SETTING}=off, or do not read them"
        )
    dependence = route_dependence(est, [str(r) for r in table.routes], frozen_groups)
    return PolicySnapshot(
        bundle=bundle,
        table=table,
        est=est,
        admits=admits,
        version=version,
        annotations=annotations,
        dependence=dependence,
        request_varying=tuple(varying),
    )


def _admitted(policy: Mapping[str, Any], groups: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The actions a policy can apply to; ``{"*"}`` for all, including when its conditions
    name an action (it then needs the whole schema to validate)."""
    scope = policy.get("action", {})
    admitted = scoped_actions(scope if isinstance(scope, dict) else {}, groups)
    if ACTION_TYPE in json.dumps(policy.get("conditions", [])):
        return frozenset({"*"})
    return frozenset(admitted)


def _validate(
    policies: Mapping[str, Any],
    admits: Mapping[str, frozenset[str]],
    table: RouteTable,
    headers: Sequence[str],
) -> None:
    """Strict validation against the shipped schema, in chunks.

    Cedar's validator costs grow with (policies x actions in the schema): 1,000 policies
    against a 1,000-action schema take ~20 s. Validation is per policy, so each policy is
    validated against the schema of the actions it can apply to (policies over every action
    against the whole schema), in chunks of policies whose actions together stay small.
    """
    chunks: list[tuple[list[str], set[str]]] = []
    every = [policy_id for policy_id, admitted in admits.items() if "*" in admitted]
    if every:
        chunks.append((every, {str(route) for route in table.routes}))
    current: tuple[list[str], set[str]] = ([], set())
    by_method: dict[str, set[str]] = {}
    for route in table.routes:
        by_method.setdefault(route.method, set()).add(str(route))
    for policy_id, admitted in admits.items():
        if "*" in admitted:
            continue
        routes: set[str] = set()
        for action in admitted:
            # A method group brings its routes; an action the table does not have is kept,
            # so the validator names it.
            routes |= by_method.get(action, {action})
        if current[0] and len(current[1] | routes) > VALIDATION_CHUNK_ACTIONS:
            chunks.append(current)
            current = ([], set())
        current[0].append(policy_id)
        current[1].update(routes)
    if current[0]:
        chunks.append(current)
    by_id = {str(route): route for route in table.routes}
    for ids, actions in chunks:
        chunk_routes = [by_id[a] for a in sorted(actions) if a in by_id]
        schema = build_schema(chunk_routes or list(table.routes), headers)
        document = {
            "staticPolicies": {policy_id: policies[policy_id] for policy_id in ids},
            "templates": {},
            "templateLinks": [],
        }
        text = cedarpy.policies_from_json_str(json.dumps(document))
        result = cedarpy.validate_policies(text, json.dumps(schema))
        if not result.validation_passed:
            first = result.errors[0] if result.errors else None
            detail = str(first) if first is not None else "validation failed"
            raise BundleError(f"Cedar schema validation: {detail}")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else "parse error"
