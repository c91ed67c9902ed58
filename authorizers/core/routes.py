"""Route templates, and the cache-safe policy resources for what a principal may call.

API Gateway caches an authorizer's *response* under the identity-source values and re-evaluates
the cached policy against every later request that shares them. A policy that names only the
first request's ARN therefore turns the principal's next call to another route into a 403
("the cached-403 pitfall": AWS Knowledge Center, "api-gateway-lambda-authorization-errors";
docs/core.md, "Decisions and API Gateway's authorizer cache"). :func:`cache_safe_resources`
returns resources that are right for every route of the table instead.

The subtle part is that IAM has no single-segment wildcard: ``*`` crosses ``/``, so the pattern
for ``GET /orders/{id}`` (``GET/orders/*``) also matches ``GET /orders/7/secret``. When such an
over-broad Allow reaches a route the principal may *not* call, that route gets an explicit Deny
(Deny wins in IAM). If a Deny would in turn reach an allowed route, no policy is right for every
route and :class:`NotCacheSafe` is raised: the caller then scopes the answer to the one request
and the API must not cache across routes (TTL 0, or the route in the identity sources). Overlaps
are decided exactly, by intersecting the two patterns' automata, not by sampling paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Final

from authorizers.core.route_arn import HTTP_METHODS, MAX_RESOURCE_CHARS, RouteArn

ANY_METHOD: Final = "ANY"
#: Resource budget for one policy (API Gateway caps the whole authorizer result near 8 KB).
MAX_POLICY_RESOURCE_BYTES: Final = 6144

_SEGMENT = re.compile(r"\{(?P<name>[A-Za-z0-9_.-]+)(?P<greedy>\+)?\}|[^{}*?/\s]+")


class RouteTemplateError(ValueError):
    """A route template that is not ``METHOD /path/{param}/{proxy+}``."""


class NotCacheSafe(Exception):
    """No policy is right for every route of the table; scope the answer to one request."""


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    """``GET /orders/{id}``: a method (or ``ANY``) and a path template as API Gateway has it."""

    method: str
    path: str
    # Hashed once: the memoized cache-safe answers are keyed by tuples and sets of a table's
    # routes, hashed on every request (at 100 routes, a fifth of a policy decision).
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.method, self.path)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        method, sep, path = text.strip().partition(" ")
        method = method.upper()
        if not sep or (method not in HTTP_METHODS and method not in (ANY_METHOD, "*")):
            raise RouteTemplateError(f"route {text!r}: expected 'METHOD /path'")
        template = cls(ANY_METHOD if method == "*" else method, path.strip())
        template.tokens()  # validates the path
        return template

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def tokens(self) -> tuple[str | None, ...]:
        """The path as a token list: one character each, ``None`` for ``{param}``, ``""`` for
        ``{proxy+}`` (last only)."""
        if not self.path.startswith("/"):
            raise RouteTemplateError(f"route {self}: the path must start with '/'")
        tokens: list[str | None] = []
        segments = self.path[1:].split("/") if self.path != "/" else []
        for index, segment in enumerate(segments):
            if index:
                tokens.append("/")
            match = _SEGMENT.fullmatch(segment)
            if match is None:
                raise RouteTemplateError(f"route {self}: bad segment {segment!r}")
            if match["name"] is None:
                tokens.extend(segment)
            elif match["greedy"]:
                if index != len(segments) - 1:
                    raise RouteTemplateError(f"route {self}: {{proxy+}} must be last")
                tokens.append("")
            else:
                tokens.append(None)
        return tuple(tokens)

    def glob(self) -> str:
        """The IAM path glob covering every concrete path of this template."""
        out = []
        for token in self.tokens():
            out.append("*" if token is None or token == "" else token)
        return "/" + "".join(out).lstrip("/") if self.path != "/" else "/"

    @property
    def method_glob(self) -> str:
        return "*" if self.method == ANY_METHOD else self.method

    def matches(self, method: str, path: str) -> bool:
        """Could API Gateway route ``method path`` (concrete) to this template?"""
        if self.method not in (ANY_METHOD, method):
            return False
        return _template_regex(self).fullmatch(path) is not None


class Match(StrEnum):
    """How a route rule's required set is matched against what a caller holds."""

    ALL = "all"
    ANY = "any"


def satisfied(required: frozenset[str], held: frozenset[str], match: Match) -> bool:
    """Does ``held`` meet ``required`` (exact, case-sensitive)? An empty requirement always does."""
    if not required:
        return True
    if match is Match.ALL:
        return required <= held
    return not required.isdisjoint(held)


@dataclass(frozen=True, slots=True)
class PolicyResources:
    allow: tuple[str, ...]
    deny: tuple[str, ...] = ()


def all_routes(arn: RouteArn) -> PolicyResources:
    """Everything under the API and stage: for decisions that do not depend on the route."""
    return PolicyResources(allow=(arn.all_routes(),))


def cache_safe_resources(
    arn: RouteArn,
    allowed: Iterable[RouteTemplate],
    table: Sequence[RouteTemplate],
    *,
    others_allowed: bool = False,
) -> PolicyResources:
    """Resources right for every route in ``table`` when the principal may call ``allowed``.

    ``others_allowed``: routes *not* in the table are allowed too (the table lists only the
    restricted routes); the policy is then "everything, except the table routes not allowed".

    Raises
    ------
    NotCacheSafe
        When an over-broad pattern cannot be corrected, or the policy would be too large.
    """
    allowed_set = frozenset(allowed)
    if not allowed_set and not others_allowed:
        return PolicyResources(allow=(), deny=(arn.all_routes(),))
    plan = _plan(allowed_set, tuple(table), others_allowed)
    if plan is None:
        raise NotCacheSafe("an allowed route is covered by a needed Deny")
    allow_globs, deny_globs = plan
    resources = PolicyResources(
        allow=tuple(arn.resource(m, g) for m, g in allow_globs),
        deny=tuple(arn.resource(m, g) for m, g in deny_globs),
    )
    everything = resources.allow + resources.deny
    if any(len(r) > MAX_RESOURCE_CHARS for r in everything):
        raise NotCacheSafe("a resource is longer than API Gateway accepts")
    if sum(len(r) + 3 for r in everything) > MAX_POLICY_RESOURCE_BYTES:
        raise NotCacheSafe("the policy would be too large")
    return resources


_Globs = tuple[tuple[str, str], ...]


@lru_cache(maxsize=1024)
def _plan(
    allowed: frozenset[RouteTemplate], table: tuple[RouteTemplate, ...], others_allowed: bool
) -> tuple[_Globs, _Globs] | None:
    """The (method, path) globs to allow and deny, or None when no policy is right.

    Pure and keyed only by configuration-derived values (the route table and the subset a
    principal's scopes/groups allow), so a small bounded memo serves every principal with the
    same permissions: the overlap analysis runs once per distinct permission set.
    """
    denied = [route for route in table if route not in allowed]
    if others_allowed:
        allow_globs: _Globs = (("*", "/*"),)
    else:
        allow_globs = tuple(sorted({(r.method_glob, r.glob()) for r in allowed}))
    deny_set: set[tuple[str, str]] = set()
    for route in denied:
        if any(pattern_reaches(m, g, route) for m, g in allow_globs):
            deny_set.add((route.method_glob, route.glob()))
    for route in allowed:
        if any(pattern_reaches(m, g, route) for m, g in deny_set):
            return None
    return allow_globs, tuple(sorted(deny_set))


def clear() -> None:
    """Forget memoized plans and patterns (tests)."""
    _plan.cache_clear()
    _template_regex.cache_clear()


def pattern_reaches(method_glob: str, path_glob: str, route: RouteTemplate) -> bool:
    """Does some concrete request of ``route`` match the resource ``method_glob + path_glob``?

    Decided on the whole ``METHOD/path`` string, as IAM matches it: a ``*`` method glob also
    crosses ``/`` (``*/orders/*`` matches ``GET/admin/orders/1``), so method and path cannot
    be checked apart.
    """
    methods = sorted(HTTP_METHODS) if route.method == ANY_METHOD else [route.method]
    glob = method_glob + path_glob
    path_tokens = route.tokens()
    return any(_intersects(glob, (*method, "/", *path_tokens)) for method in methods)


@lru_cache(maxsize=1024)
def _template_regex(template: RouteTemplate) -> re.Pattern[str]:
    parts = []
    for token in template.tokens():
        parts.append("[^/]+" if token is None else ".+" if token == "" else re.escape(token))
    return re.compile("/" + "".join(parts), re.DOTALL)


# A template token is one character (literal), ``None`` (``{param}``: ``[^/]+``) or ``""``
# (``{proxy+}``: ``.+``). A template state is (token index, inside) where ``inside`` means the
# current param token has consumed at least one character. A glob state is an index into the
# glob; ``*`` is ``.*`` and ``?`` is one character.
_TemplateState = tuple[int, bool]


def _intersects(chars: str, template: tuple[str | None, ...]) -> bool:
    """Product-automaton emptiness check: does some string match both the glob ``chars`` and
    the ``template`` tokens?"""
    start = {(i, t) for i in _glob_closure(chars, 0) for t in _template_closure(0, False)}
    seen = set(start)
    frontier = list(start)
    while frontier:
        i, (j, inside) = frontier.pop()
        if i == len(chars) and j == len(template) and not inside:
            return True
        for need, next_i in _glob_moves(chars, i):
            for accepts, next_j, next_inside in _template_moves(template, j):
                if not accepts(need):
                    continue
                for state in _product(chars, next_i, next_j, next_inside):
                    if state not in seen:
                        seen.add(state)
                        frontier.append(state)
    return False


def _glob_closure(chars: str, i: int) -> set[int]:
    out = {i}
    while i < len(chars) and chars[i] == "*":
        i += 1
        out.add(i)
    return out


def _template_closure(j: int, inside: bool) -> set[_TemplateState]:
    return {(j, inside), (j + 1, False)} if inside else {(j, inside)}


def _product(chars: str, i: int, j: int, inside: bool) -> set[tuple[int, _TemplateState]]:
    return {(gi, t) for gi in _glob_closure(chars, i) for t in _template_closure(j, inside)}


def _glob_moves(chars: str, i: int) -> list[tuple[str | None, int]]:
    """(the character the glob needs, or None for any; the next glob index)."""
    if i >= len(chars):
        return []
    if chars[i] == "*":
        return [(None, i)]
    if chars[i] == "?":
        return [(None, i + 1)]
    return [(chars[i], i + 1)]


def _template_moves(
    template: tuple[str | None, ...], j: int
) -> list[tuple[Callable[[str | None], bool], int, bool]]:
    """(does the template accept a character the glob offers; next index; inside)."""
    if j >= len(template):
        return []
    token = template[j]
    if token is None:  # {param}: any character but "/"
        return [(lambda need: need != "/", j, True)]
    if token == "":  # {proxy+}: any character
        return [(lambda _need: True, j, True)]
    return [(lambda need: need is None or need == token, j + 1, False)]
