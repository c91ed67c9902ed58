"""The Cedar engine: a validated, pre-parsed policy set, and fail-closed evaluation. Pure.

:func:`compile_bundle` turns a bundle into a :class:`PolicySnapshot` once (per load): the
compiled rules and Cedar text are validated against the shipped schema (strict mode: an
attribute read that could fail, a typo, an action that is not a route, all refused), parsed
into a ``cedarpy.PolicySet``, and analysed for the authorizer cache
(:mod:`authorizers.policy.analysis`). Evaluation then runs without re-parsing anything: the
action hierarchy is pre-parsed entities; only the principal and resource are added per call.

Fail closed (facts §1.2): the answer is Allow only when Cedar says ``Allow`` *and* reports no
error. A ``forbid`` whose condition errors is skipped by Cedar, which can turn a Deny into an
Allow; so any error is a Deny, as is ``NoDecision`` (a request Cedar could not even build).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cedarpy

from authorizers.core.routes import RouteTemplate, RouteTemplateError
from authorizers.policy.analysis import Dependence, route_dependence
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


class PolicySnapshot:
    """One loaded policy set: immutable, shared by every request until the next reload."""

    def __init__(
        self,
        *,
        bundle: Bundle,
        table: RouteTable,
        policies: cedarpy.PolicySet,
        version: str,
        annotations: Mapping[str, str],
        dependence: Mapping[str, Dependence],
    ) -> None:
        self.bundle = bundle
        self.table = table
        self.version = version
        self._policies = policies
        self._annotations = dict(annotations)
        self._dependence = dict(dependence)
        self._base = cedarpy.Entities.from_json_str(json.dumps(action_entities(table.routes)))
        self.policy_count = len(annotations)

    @property
    def mapping(self) -> PrincipalMapping:
        return self.bundle.mapping

    def dependence(self, route: RouteTemplate) -> Dependence:
        return self._dependence[str(route)]

    def _name(self, policy_id: str) -> str:
        return self._annotations.get(policy_id) or policy_id

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
        """Evaluate one principal against several (action, context) pairs in one batch."""
        entities = self._base.with_added_json_str(entities_json(principal, dict(resource)))
        requests = [
            {
                "principal": principal.uid,
                "action": {"type": ACTION_TYPE, "id": action},
                "resource": resource["uid"],
                "context": dict(context),
            }
            for action, context in zip(actions, contexts, strict=True)
        ]
        results = cedarpy.is_authorized_batch(requests, self._policies, entities)
        return [self._judge(result) for result in results]

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
    ) -> list[Cell] | None:
        """Every route of the table, concretely enough to be right for any request this
        principal's cached answer may be replayed for; None when that cannot be done.

        A path-bound route is evaluated once per combination of candidate values of the
        parameters it depends on (this request's values, the principal's id and tenants) and
        yields one cell per combination, with those parameters spelled out; any other value is
        left out of every Allow (a later request with it is denied by the cached policy, never
        wrongly allowed). A dynamic route, or too many cells, gives None.
        """
        cells: list[tuple[RouteTemplate, RouteTemplate, dict[str, Any]]] = []
        candidates = sorted(principal.candidate_values())[:MAX_CANDIDATES]
        for route in self.table.routes:
            dependence = self._dependence[str(route)]
            if dependence.dynamic:
                return None
            names = self.table.params(route)
            bound = [name for name in names if name in dependence.params]
            choices: list[list[tuple[str, str]]] = []
            for name in bound:
                own = [match.raw_params[name]] if name in match.raw_params else []
                choices.append([(name, value) for value in dict.fromkeys(own + candidates)])
            for combination in itertools.product(*choices):
                bound_values = dict(combination)
                template = _specialize(route, bound_values)
                if template is None:
                    return None
                path = {
                    name: _decoded(bound_values[name])
                    if name in bound_values
                    else match.params.get(name, "x")
                    for name in names
                }
                cells.append((template, route, {**context, "path": path}))
                if len(cells) > MAX_CELLS:
                    return None
        results = self.evaluate_many(
            principal, [str(c[1]) for c in cells], resource, [c[2] for c in cells]
        )
        return [Cell(c[0], r.allowed, c[1]) for c, r in zip(cells, results, strict=True)]


def _ids(text: str) -> list[re.Match[str]]:
    return list(_POLICY_ID.finditer(text))


def _decoded(value: str) -> str:
    from urllib.parse import unquote  # noqa: PLC0415 - rare path

    return unquote(value) if "%" in value else value


def _specialize(route: RouteTemplate, values: Mapping[str, str]) -> RouteTemplate | None:
    """``GET /t/{tenant}/o/{id}`` with tenant=acme -> ``GET /t/acme/o/{id}``."""
    path = route.path
    for name, value in values.items():
        path = path.replace(f"{{{name}+}}", value).replace(f"{{{name}}}", value)
    try:
        return RouteTemplate.parse(f"{route.method} {path}")
    except RouteTemplateError:
        return None


def bundle_version(data: bytes) -> str:
    """A short, stable version of a bundle: its SHA-256, 16 hex digits."""
    return hashlib.sha256(data).hexdigest()[:16]


def compile_bundle(
    data: bytes, table: RouteTable, *, headers: Sequence[str] = ()
) -> PolicySnapshot:
    """Parse, compile, validate and pre-parse a bundle. Raises :class:`BundleError`."""
    bundle = parse_bundle(data, table)
    return compile_parsed(bundle, table, headers=headers, version=bundle_version(data))


def compile_parsed(
    bundle: Bundle, table: RouteTable, *, headers: Sequence[str], version: str
) -> PolicySnapshot:
    text = bundle.policy_text()
    schema = build_schema(table.routes, headers)
    try:
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as error:
        raise BundleError(f"Cedar syntax: {_first_line(error)}") from None
    if est.get("templates"):
        raise BundleError("Cedar templates (?principal, ?resource) are not supported")
    result = cedarpy.validate_policies(text, json.dumps(schema))
    if not result.validation_passed:
        first = result.errors[0] if result.errors else None
        detail = str(first) if first is not None else "validation failed"
        raise BundleError(f"Cedar schema validation: {detail}")
    annotations: dict[str, str] = {}
    for policy_id, policy in est.get("staticPolicies", {}).items():
        annotation = policy.get("annotations", {}).get("id")
        annotations[policy_id] = annotation if isinstance(annotation, str) else policy_id
    names = list(annotations.values())
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BundleError(f"two policies share the @id {duplicates[0]!r}")
    groups: dict[str, set[str]] = {}
    for route in table.routes:
        groups.setdefault(route.method, set()).add(str(route))
    dependence = route_dependence(
        est, [str(r) for r in table.routes], {k: frozenset(v) for k, v in groups.items()}
    )
    policies = cedarpy.PolicySet.from_str(text)
    return PolicySnapshot(
        bundle=bundle,
        table=table,
        policies=policies,
        version=version,
        annotations=annotations,
        dependence=dependence,
    )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else "parse error"
