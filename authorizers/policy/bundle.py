"""The policy bundle: one YAML (or JSON) document holding the whole policy set. Pure.

::

    version: 1
    principal:                      # optional: how identities become tenants
      tenant_group_prefix: tenant-  # group "tenant-acme" -> principal.tenants has "acme"
      tenant_claim: custom:tenant   # a JWT claim (string or list) naming tenants
    rules:                          # optional: YAML route rules, compiled to Cedar
      - id: readers-read-own-tenant # required, unique; becomes the policy's @id
        effect: allow               # allow (permit, default) or deny (forbid)
        routes: ["GET /tenants/{tenant}/orders"]   # templates of the route table, or ["*"]
        groups: [readers]           # any of (principal.groups)
        scopes: [orders:read]       # all of (context.scopes)
        tenants: [acme]             # any of (principal.tenants)
        match_path: {tenant: tenants}   # path parameter -> principal attribute it must equal
    cedar: |                        # optional: Cedar policies
      permit (...) when { ... };

An ``allow`` rule permits its routes when every condition it lists holds. A ``deny`` rule
forbids its routes for the principals its ``groups``/``scopes``/``tenants`` select (everyone
when it lists none) *unless* its ``match_path`` holds: ``match_path`` always reads "the path
parameter must equal the principal's attribute". ``match_path`` attributes are ``tenants`` and
``groups`` (a member of the set) or ``id`` (equal). Every route of a rule that uses
``match_path`` must have that parameter.

Unknown keys are errors that name the key and suggest the closest one, as for settings.
Compiled rules are written defensively (``has`` before every optional read), so they never
error at evaluation.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml  # type: ignore[import-untyped]  # no stubs pinned; used via safe_load only

from authorizers.core.routes import RouteTemplate, RouteTemplateError
from authorizers.policy.model import ACTION_TYPE, PrincipalMapping
from authorizers.policy.routes import RouteTable, params_of

#: Largest bundle accepted from any source (an SSM advanced parameter holds 8 KiB; S3 more).
MAX_BUNDLE_BYTES: Final = 1_048_576
RULE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# Names put inside Cedar string literals: printable ASCII without quote or backslash.
_NAME: Final = re.compile(r"[ !#-\[\]-~]{1,128}")
_TOP_KEYS: Final = frozenset({"version", "principal", "rules", "cedar"})
_PRINCIPAL_KEYS: Final = frozenset({"tenant_group_prefix", "tenant_claim"})
_RULE_KEYS: Final = frozenset(
    {"id", "effect", "routes", "groups", "scopes", "tenants", "match_path", "description"}
)
_SET_ATTRIBUTES: Final = frozenset({"tenants", "groups"})
_MATCH_ATTRIBUTES: Final = _SET_ATTRIBUTES | {"id"}


class BundleError(ValueError):
    """The bundle is not valid; the message says where and why (never echoes a value)."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    allow: bool
    routes: tuple[RouteTemplate, ...]
    groups: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    tenants: frozenset[str] = frozenset()
    match_path: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Bundle:
    mapping: PrincipalMapping
    rules: tuple[Rule, ...]
    cedar: str

    def policy_text(self) -> str:
        """Compiled rules first, then the Cedar text: one policy set."""
        compiled = "\n".join(compile_rule(rule) for rule in self.rules)
        return f"{compiled}\n{self.cedar}" if compiled else self.cedar


def load_document(data: bytes) -> Mapping[str, Any]:
    """Bytes from a source -> the bundle mapping (YAML 1.1 safe subset; JSON is YAML)."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError("the bundle is not UTF-8 text") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise BundleError(f"the bundle is not valid YAML or JSON{where}") from None
    if not isinstance(document, dict):
        raise BundleError("the bundle must be a mapping with 'version: 1'")
    return document


def parse_bundle(data: bytes, table: RouteTable) -> Bundle:
    """Parse and check a bundle against the route table; raises :class:`BundleError`."""
    document = load_document(data)
    _check_keys("the bundle", document, _TOP_KEYS)
    version = document.get("version")
    # ``True == 1`` and ``1.0 == 1`` in Python: only the integer 1 is version 1.
    if type(version) is not int or version != 1:
        raise BundleError("'version' must be 1")
    mapping = _mapping(document.get("principal"))
    raw_rules = document.get("rules")
    if raw_rules is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        raise BundleError("'rules' must be a list")
    rules = tuple(_rule(index, item, table) for index, item in enumerate(raw_rules, start=1))
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise BundleError("two rules share one 'id'")
    cedar = document.get("cedar")
    if cedar is None:
        cedar = ""
    if not isinstance(cedar, str):
        raise BundleError("'cedar' must be Cedar policy text (a YAML block string)")
    if not rules and not cedar.strip():
        raise BundleError("the bundle holds no rule and no Cedar policy")
    return Bundle(mapping=mapping, rules=rules, cedar=cedar)


def _check_keys(where: str, item: Mapping[Any, Any], known: frozenset[str]) -> None:
    for key in item:
        if not isinstance(key, str):
            raise BundleError(f"{where}: every key must be a string (found a {_kind(key)})")
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BundleError(f"{where}: unknown key {str(key)[:64]!r}{hint}")


def _kind(value: object) -> str:
    """A YAML-ish name for a value's type (never the value: it may be a secret pasted in)."""
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "list"}
    if isinstance(value, dict):
        return "mapping"
    return names.get(type(value), "null" if value is None else type(value).__name__)


def _mapping(value: object) -> PrincipalMapping:
    if value is None:
        return PrincipalMapping()
    if not isinstance(value, dict):
        raise BundleError("'principal' must be a mapping")
    _check_keys("'principal'", value, _PRINCIPAL_KEYS)
    prefix = value.get("tenant_group_prefix")
    claim = value.get("tenant_claim")
    for key, item in (("tenant_group_prefix", prefix), ("tenant_claim", claim)):
        if item is not None and (not isinstance(item, str) or not _NAME.fullmatch(item)):
            raise BundleError(f"'principal.{key}' must be a non-empty string")
    return PrincipalMapping(tenant_group_prefix=prefix, tenant_claim=claim)


def _names(where: str, item: Mapping[str, Any], key: str) -> frozenset[str]:
    value = item.get(key)
    if value is None:
        return frozenset()
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and _NAME.fullmatch(v) for v in value)
    ):
        raise BundleError(
            f"{where}: {key!r} must be a non-empty list of names (printable, no quote or backslash)"
        )
    return frozenset(value)


def _rule(index: int, item: object, table: RouteTable) -> Rule:
    where = f"rule {index}"
    if not isinstance(item, dict):
        raise BundleError(f"{where}: must be a mapping")
    _check_keys(where, item, _RULE_KEYS)
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not RULE_ID.fullmatch(rule_id):
        raise BundleError(f"{where}: 'id' is required: letters, digits and _ . : - (up to 64)")
    where = f"rule {rule_id!r}"
    effect = item.get("effect", "allow")
    if effect not in ("allow", "deny"):
        raise BundleError(f"{where}: 'effect' must be 'allow' or 'deny'")
    routes = _routes(where, item.get("routes"), table)
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        raise BundleError(f"{where}: 'description' must be a string, not a {_kind(description)}")
    match_path = _match_path(where, item.get("match_path"), routes)
    return Rule(
        id=rule_id,
        allow=effect == "allow",
        routes=routes,
        groups=_names(where, item, "groups"),
        scopes=_names(where, item, "scopes"),
        tenants=_names(where, item, "tenants"),
        match_path=match_path,
    )


def _match_path(
    where: str, value: object, routes: tuple[RouteTemplate, ...]
) -> tuple[tuple[str, str], ...]:
    """``{param: attribute}``, type-checked key by key (YAML allows any key and value)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise BundleError(f"{where}: 'match_path' maps a path parameter to tenants, groups or id")
    for param in value:
        if not isinstance(param, str):
            raise BundleError(
                f"{where}: 'match_path' keys are path parameter names (found a {_kind(param)})"
            )
    pairs = []
    for param, attribute in sorted(value.items()):
        if not isinstance(attribute, str) or attribute not in _MATCH_ATTRIBUTES:
            found = "" if isinstance(attribute, str) else f", not a {_kind(attribute)}"
            raise BundleError(
                f"{where}: 'match_path.{param[:64]}' must be one of tenants, groups or id{found}"
            )
        for route in routes:
            if param not in params_of(route):
                raise BundleError(f"{where}: route {route} has no parameter {{{param}}}")
        pairs.append((param, attribute))
    return tuple(pairs)


def _routes(where: str, value: object, table: RouteTable) -> tuple[RouteTemplate, ...]:
    if value == ["*"]:
        return table.routes
    if not isinstance(value, list) or not value:
        raise BundleError(f"{where}: 'routes' must be a non-empty list of route templates")
    routes = []
    for text in value:
        if not isinstance(text, str):
            raise BundleError(f"{where}: each of 'routes' must be a string, not a {_kind(text)}")
        try:
            route = RouteTemplate.parse(text)
        except RouteTemplateError:
            raise BundleError(f"{where}: a route must look like 'GET /orders/{{id}}'") from None
        if route not in table:
            raise BundleError(f"{where}: route {route} is not in the route table")
        routes.append(route)
    if len(set(routes)) != len(routes):
        raise BundleError(f"{where}: a route is listed twice")
    return tuple(routes)


def _literal(value: str) -> str:
    return json.dumps(value)  # _NAME keeps it ASCII without quote/backslash: valid Cedar


def _set(values: frozenset[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in sorted(values)) + "]"


def _path_condition(param: str, attribute: str) -> str:
    read = f"context.path.{param}"
    if attribute in _SET_ATTRIBUTES:
        test = f"principal.{attribute}.contains({read})"
    else:
        test = f"principal.id == {read}"
    return f"(context.path has {param} && {test})"


def compile_rule(rule: Rule) -> str:
    """One rule -> one Cedar policy (``@id`` is the rule id, prefixed ``rule:``)."""
    actions = ", ".join(f"{ACTION_TYPE}::{_literal(str(r))}" for r in rule.routes)
    who: list[str] = []
    if rule.groups:
        who.append(f"principal.groups.containsAny({_set(rule.groups)})")
    if rule.scopes:
        who.append(f"context.scopes.containsAll({_set(rule.scopes)})")
    if rule.tenants:
        who.append(f"principal.tenants.containsAny({_set(rule.tenants)})")
    paths = [_path_condition(p, a) for p, a in rule.match_path]
    head = f'@id("rule:{rule.id}")\n'
    scope = f"(principal, action in [{actions}], resource)"
    if rule.allow:
        conditions = who + paths
        body = f" when {{ {' && '.join(conditions)} }}" if conditions else ""
        return f"{head}permit {scope}{body};"
    when = f" when {{ {' && '.join(who)} }}" if who else ""
    unless = f" unless {{ {' && '.join(paths)} }}" if paths else ""
    return f"{head}forbid {scope}{when}{unless};"
