"""The route table: a concrete request -> the route template that is its Cedar action.

Templates are :class:`authorizers.core.routes.RouteTemplate` (parsed and matched by the core);
this module adds the normalization rules a *policy* decision needs, and the path parameters.

Normalization rules (each one is tested in ``tests/unit/policy/test_routes.py``):

- **Method**: as API Gateway sends it (upper case). A table route ``ANY /x`` matches every
  method; a method route beats ``ANY`` for the same path.
- **Case**: paths are case-sensitive, like API Gateway's. ``/Tenants/acme/orders`` is not
  ``/tenants/{tenant}/orders``: an unknown route, denied.
- **Trailing slash**: one trailing ``/`` is ignored (``/orders/`` is ``/orders``), as API
  Gateway routes it. The root is ``/``.
- **Double slash**: an empty segment (``/tenants//orders``) never matches: denied, not
  collapsed (a backend may read it differently from us).
- **Dot segments**: a ``.`` or ``..`` segment, raw or percent-encoded (``%2e%2E``), is refused:
  denied. We never resolve them (``/tenants/acme/../globex/orders`` is not acme's).
- **Encoded slash**: segments are split on a literal ``/`` only, then percent-decoded. A
  ``{param}`` whose value decodes to something holding ``/`` (``acme%2F..%2Fglobex``) is
  refused; only a greedy ``{proxy+}`` value may hold ``/`` (its own segments obey the rules).
  A malformed escape (``%zz``) or one that decodes to invalid UTF-8 is refused.
- **Precedence** when several templates match (a TOKEN event does not name its route): the one
  whose segments are most specific, left to right: literal before ``{param}`` before
  ``{proxy+}``; then a method before ``ANY``. API Gateway's own precedence.
- When the event names its route (REST ``resource``, HTTP ``routeKey``), that template must be
  in the table *and* match the path under these rules; anything else is an unknown route.

Path parameters are the decoded values; a Cedar policy sees them in ``context.path``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote

from authorizers.core.request import EventKind, Request
from authorizers.core.routes import ANY_METHOD, RouteTemplate, RouteTemplateError

#: Most routes one table may hold (each is a Cedar action; the schema grows with them).
MAX_ROUTES: Final = 2000
_DOT_SEGMENTS: Final = frozenset({".", ".."})
_DOTS: Final = _DOT_SEGMENTS


def _dot_spellings() -> tuple[str, ...]:
    one = (".", "%2e", "%2E")
    return (*one, *(a + b for a in one for b in one))


#: IAM globs (after ``{api}/{stage}/``) for requests the rules above always refuse and a glob
#: can express: an encoded slash anywhere, an empty segment, and a ``.``/``..`` segment in
#: any spelling (raw, ``%2e``, ``%2E``), last or followed by ``/``. No request the table
#: resolves matches one (the API id, stage and method never hold ``%``, ``/.`` or ``//``, and
#: a table literal may not hold ``%`` or be a dot segment), so they are added as Deny to every
#: cache-safe Allow: IAM's ``*`` in ``GET/tenants/acme/orders/*`` crosses ``/`` and would
#: otherwise reach ``GET /tenants/acme/orders/..%2F..%2Fglobex``. What a glob cannot express
#: (a malformed escape such as ``%zz``, invalid UTF-8) is the documented residual.
REFUSED_PATH_GLOBS: Final[tuple[str, ...]] = (
    "*//*",
    "*%2F*",
    "*%2f*",
    *(glob for dots in _dot_spellings() for glob in (f"*/{dots}", f"*/{dots}/*")),
)


class RouteTableError(ValueError):
    """The route table is not a list of distinct ``METHOD /path`` templates."""


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The route a request resolved to, and its decoded path parameters."""

    template: RouteTemplate
    params: Mapping[str, str]
    #: The parameter values as they appear in the request ARN (not decoded): what an IAM
    #: resource must spell to name this request.
    raw_params: Mapping[str, str]

    @property
    def action(self) -> str:
        return str(self.template)


@dataclass(frozen=True, slots=True)
class _Segment:
    literal: str | None  # None: a parameter
    name: str | None = None
    greedy: bool = False


def segments(template: RouteTemplate) -> tuple[_Segment, ...]:
    """The template's path as segments (``/`` is none)."""
    if template.path == "/":
        return ()
    out = []
    for part in template.path[1:].split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            out.append(_Segment(None, name.rstrip("+"), greedy))
        else:
            out.append(_Segment(part))
    return tuple(out)


def params_of(template: RouteTemplate) -> tuple[str, ...]:
    """The names of the template's path parameters, in order."""
    return tuple(s.name for s in segments(template) if s.name is not None)


class RouteTable:
    """The routes one policy authorizer guards; each template is a Cedar action."""

    def __init__(self, routes: Iterable[RouteTemplate]) -> None:
        self.routes: tuple[RouteTemplate, ...] = tuple(routes)
        if not self.routes:
            raise RouteTableError("the route table is empty")
        if len(self.routes) > MAX_ROUTES:
            raise RouteTableError(f"the route table holds more than {MAX_ROUTES} routes")
        if len(set(self.routes)) != len(self.routes):
            raise RouteTableError("a route is listed twice")
        self._set = frozenset(self.routes)
        self._segments = {route: segments(route) for route in self.routes}
        for route, parts in self._segments.items():
            for part in parts:
                # A literal that is a dot segment can never match (the rules refuse it), and
                # one with a percent-escape would be the only legitimate way for "%2F" or
                # "%2e" to appear in a request: refusing both keeps the cached answer's
                # REFUSED_PATH_GLOBS from ever denying a request the table allows.
                if part.literal is not None and ("%" in part.literal or part.literal in _DOTS):
                    raise RouteTableError(
                        f"route {route}: a literal segment may not be '.', '..' or hold a "
                        "percent-escape (write it decoded)"
                    )
        # Index for tables of hundreds of routes: (segment count, first segment or None for a
        # parameter) -> routes; greedy routes are always candidates.
        self._index: dict[tuple[int, str | None], list[RouteTemplate]] = {}
        self._greedy: list[RouteTemplate] = []
        for route, parts in self._segments.items():
            if parts and parts[-1].greedy:
                self._greedy.append(route)
            else:
                first = parts[0].literal if parts else ""
                self._index.setdefault((len(parts), first), []).append(route)

    @classmethod
    def parse(cls, texts: Iterable[object]) -> RouteTable:
        routes = []
        for text in texts:
            if not isinstance(text, str):
                raise RouteTableError("each route is a string such as 'GET /orders/{id}'")
            try:
                routes.append(RouteTemplate.parse(text))
            except RouteTemplateError as error:
                raise RouteTableError(str(error)) from None
        return cls(routes)

    def __contains__(self, route: object) -> bool:
        return route in self._set

    def __len__(self) -> int:
        return len(self.routes)

    def params(self, route: RouteTemplate) -> tuple[str, ...]:
        return tuple(s.name for s in self._segments[route] if s.name is not None)

    def resolve(self, request: Request) -> RouteMatch | None:
        """The table route of ``request`` under the rules above, or None (unknown route)."""
        method = request.method
        if method is None:
            return None
        parts = _path_segments(request.path)
        if parts is None:
            return None
        named = _named_route(request)
        if named is not None:
            for candidate in (named, RouteTemplate(ANY_METHOD, named.path)):
                if candidate in self._set:
                    return self._bind(candidate, parts)
            return None
        best: tuple[tuple[int, ...], RouteMatch] | None = None
        for route in self._candidates(method, parts):
            match = self._bind(route, parts)
            if match is None:
                continue
            rank = _rank(self._segments[route], route.method == ANY_METHOD)
            if best is None or rank < best[0]:
                best = (rank, match)
        return None if best is None else best[1]

    def _candidates(self, method: str, parts: tuple[str, ...]) -> list[RouteTemplate]:
        first = parts[0] if parts else ""
        found = [
            *self._index.get((len(parts), first), ()),
            *self._index.get((len(parts), None), ()),
            *self._greedy,
        ]
        return [r for r in found if r.method in (method, ANY_METHOD)]

    def _bind(self, route: RouteTemplate, parts: tuple[str, ...]) -> RouteMatch | None:
        template = self._segments[route]
        params: dict[str, str] = {}
        raw: dict[str, str] = {}
        for index, segment in enumerate(template):
            if segment.greedy:
                rest = parts[index:]
                if not rest:
                    return None
                decoded = [_decode(p) for p in rest]
                if any(d is None or "/" in d for d in decoded):
                    return None
                params[segment.name or ""] = "/".join(d or "" for d in decoded)
                raw[segment.name or ""] = "/".join(rest)
                return RouteMatch(route, MappingProxyType(params), MappingProxyType(raw))
            if index >= len(parts):
                return None
            if segment.literal is not None:
                if parts[index] != segment.literal:
                    return None
                continue
            value = _decode(parts[index])
            if value is None or "/" in value:
                return None
            params[segment.name or ""] = value
            raw[segment.name or ""] = parts[index]
        if len(parts) != len(template):
            return None
        return RouteMatch(route, MappingProxyType(params), MappingProxyType(raw))


def _path_segments(path: str) -> tuple[str, ...] | None:
    """The raw segments of a concrete path, or None when the rules refuse it."""
    if not path.startswith("/"):
        return None
    if path == "/":
        return ()
    body = path[1:]
    if body.endswith("/"):
        body = body[:-1]
    parts = tuple(body.split("/"))
    for part in parts:
        if not part:
            return None
        decoded = _decode(part)
        if decoded is None or decoded in _DOT_SEGMENTS:
            return None
    return parts


def _decode(segment: str) -> str | None:
    """Percent-decode one segment strictly: None for a malformed escape or invalid UTF-8."""
    if "%" not in segment:
        return segment
    for index, char in enumerate(segment):
        if char == "%":
            escape = segment[index + 1 : index + 3]
            if len(escape) != 2 or not all(c in "0123456789abcdefABCDEF" for c in escape):
                return None
    try:
        return unquote(segment, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


def _named_route(request: Request) -> RouteTemplate | None:
    """The template the event says API Gateway routed to (None: the event does not say)."""
    if request.route is None or request.method is None:
        return None
    if request.kind is EventKind.HTTP_V2:
        method, _, path = request.route.partition(" ")
        if not path:  # "$default"
            return None
    else:
        method, path = request.method, request.route
    try:
        return RouteTemplate.parse(f"{method} {path}")
    except RouteTemplateError:
        return None


def _rank(template: tuple[_Segment, ...], any_method: bool) -> tuple[int, ...]:
    """Lower is more specific: per segment 0 literal, 1 param, 2 greedy; then ANY last."""
    kinds = [2 if s.greedy else 1 if s.literal is None else 0 for s in template]
    # A longer literal prefix wins; among equals, more segments is more specific.
    return (*kinds, 3, -len(template), 1 if any_method else 0)
