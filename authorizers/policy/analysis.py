"""What each route's decision can depend on, read from the policies' JSON form. Pure.

A decision is a function of (principal, action, resource, context). The principal, the
resource (API and stage) and ``context.scopes`` are fixed for one API Gateway cache key (the
credential); the rest of the context (headers, source IP, time) is not. For the authorizer
cache, each route is therefore classified from the policies that can apply to it:

- **static**: its policies read nothing of the context but ``context.scopes``;
- **path-bound**: they read ``context.path.<p>`` (``has`` or value) and ``context.scopes``
  only: the decision is a function of those path parameters;
- reading ``context.method`` is safe too: it is the route's own method, or for an ``ANY``
  route one of the seven HTTP methods, each evaluated (``Dependence.method``);
- **dynamic**: they read anything else of the context (or the context as a whole).

The walk is conservative: any ``context`` it does not recognise as one of the two safe shapes
makes the route dynamic, and a policy whose action scope is not a plain ``==``/``in`` over
known actions applies to every route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from authorizers.policy.model import ACTION_TYPE

_IDENTITY_BOUND = frozenset({"scopes"})


@dataclass(frozen=True, slots=True)
class Dependence:
    """What a route's decision may read beyond the principal: path parameters, or anything."""

    params: frozenset[str] = frozenset()
    dynamic: bool = False
    #: Reads ``context.method``: fixed for a method route, one of the HTTP methods for ``ANY``.
    method: bool = False

    def merged(self, other: Dependence) -> Dependence:
        return Dependence(
            self.params | other.params,
            self.dynamic or other.dynamic,
            self.method or other.method,
        )


def _is_context(node: object) -> bool:
    return isinstance(node, dict) and node.get("Var") == "context"


def _context_attr(node: object) -> str | None:
    """``context.<attr>`` -> attr."""
    if isinstance(node, dict) and set(node) == {"."}:
        inner = node["."]
        if isinstance(inner, dict) and _is_context(inner.get("left")):
            attr = inner.get("attr")
            return attr if isinstance(attr, str) else None
    return None


def _path_param(node: object) -> str | None:
    """``context.path.<p>`` or ``context.path has <p>`` -> p."""
    if isinstance(node, dict) and len(node) == 1:
        (op, inner), *_ = node.items()
        if (
            op in (".", "has")
            and isinstance(inner, dict)
            and _context_attr(inner.get("left")) == "path"
        ):
            attr = inner.get("attr")
            return attr if isinstance(attr, str) else None
    return None


def dependence(expression: object) -> Dependence:
    """Walk one condition body (Cedar EST)."""
    params: set[str] = set()
    dynamic = False
    method = False
    stack = [expression]
    while stack:
        node = stack.pop()
        param = _path_param(node)
        if param is not None:
            params.add(param)
            continue
        if _context_attr(node) in _IDENTITY_BOUND:
            continue
        if _context_attr(node) == "method":
            method = True
            continue
        if _is_context(node):
            dynamic = True
            continue
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return Dependence(frozenset(params), dynamic, method)


def scoped_actions(scope: Mapping[str, Any], groups: Mapping[str, frozenset[str]]) -> set[str]:
    """The action ids a policy's action scope admits (route ids and group ids alike);
    ``{"*"}`` for every action."""
    op = scope.get("op")
    if op in ("==", "in") and isinstance(scope.get("entity"), dict):
        entities = [scope["entity"]]
    elif op == "in" and isinstance(scope.get("entities"), list):
        entities = scope["entities"]
    else:
        return {"*"}
    out: set[str] = set()
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("type") != ACTION_TYPE:
            return {"*"}
        ident = str(entity.get("id"))
        out.add(ident)
        if op == "in":
            out.update(groups.get(ident, frozenset()))
    return out


def route_dependence(
    est: Mapping[str, Any], routes: Iterable[str], groups: Mapping[str, frozenset[str]]
) -> dict[str, Dependence]:
    """Route id -> what its decision may depend on, over every static policy in ``est``.

    ``groups`` maps an action group id to the route ids in it.
    """
    routes = list(routes)
    result = {route: Dependence() for route in routes}
    policies = est.get("staticPolicies", {})
    for policy in policies.values() if isinstance(policies, dict) else ():
        found = Dependence()
        for condition in policy.get("conditions", []):
            found = found.merged(dependence(condition.get("body")))
        if not found.params and not found.dynamic and not found.method:
            continue
        scope = policy.get("action", {})
        admitted = scoped_actions(scope if isinstance(scope, dict) else {}, groups)
        for route in routes:
            if "*" in admitted or route in admitted:
                result[route] = result[route].merged(found)
    return result


def request_varying(est: Mapping[str, Any]) -> list[str]:
    """Ids of the static policies whose conditions read request-varying context (headers,
    source IP, time, or the context as a whole): answers API Gateway's cache cannot replay."""
    found = []
    policies = est.get("staticPolicies", {})
    for policy_id, policy in policies.items() if isinstance(policies, dict) else ():
        for condition in policy.get("conditions", []):
            if dependence(condition.get("body")).dynamic:
                found.append(str(policy_id))
                break
    return found
