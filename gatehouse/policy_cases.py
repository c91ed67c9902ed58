"""Table-driven policy tests and one-off explanations, shared by ``gatehouse policy``.

A tests file (YAML)::

    bundle: demo.yaml                  # optional; default: <name>.yaml beside <name>.tests.yaml
    routes:                            # the route table (GATEHOUSE_POLICY_ROUTES)
      - GET /tenants/{tenant}/orders
    identities:                        # named principals
      bob: {type: user, groups: [readers, tenant-acme]}
      robot: {type: api_client, tenants: [acme], scopes: [orders:read],
              attributes: {key_id: gkid_1}}
    cases:
      - name: bob reads his tenant's orders
        identity: bob
        request: GET /tenants/acme/orders
        expect: allow                  # allow | deny
        policies: [rule:readers-read-own-tenant]   # optional: the determining policies
        headers: {x-channel: web}      # optional; source_ip, time (epoch seconds) too
    context_headers: [x-channel]       # optional: as GATEHOUSE_POLICY_CONTEXT_HEADERS

Identity types: ``user`` (JWT), ``api_client`` (API key), ``device`` (mTLS); ``id`` defaults
to the name. A request is evaluated exactly as the authorizer does (route resolution,
principal mapping, fail-closed Cedar evaluation), from a REST REQUEST event built here.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs pinned; used via safe_load only

from authorizers.core.exceptions import InvalidRequestError, Reason
from authorizers.core.request import Request, normalize
from authorizers.core.routes import RouteTemplate, RouteTemplateError
from authorizers.policy.bundle import MAX_BUNDLE_BYTES, BundleError
from authorizers.policy.decide import decide
from authorizers.policy.engine import PolicySnapshot, compile_bundle
from authorizers.policy.model import Identity, PrincipalType
from authorizers.policy.routes import RouteTable, RouteTableError
from authorizers.policy.store import Unavailable

ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:gatehouse/local"
_TYPES = {
    "user": PrincipalType.USER,
    "api_client": PrincipalType.API_CLIENT,
    "device": PrincipalType.DEVICE,
}
_DEFAULT_ATTRIBUTES = {
    PrincipalType.USER: {"issuer": "https://issuer.example"},
    PrincipalType.API_CLIENT: {"key_id": "gkid_test"},
    PrincipalType.DEVICE: {"fingerprint": "0" * 64, "issuer": "00", "serial": "01"},
}


#: The keys of a tests file, of one case and of one identity (docs/policies.md).
DOCUMENT_KEYS = frozenset({"bundle", "routes", "identities", "cases", "context_headers"})
CASE_KEYS = frozenset(
    {"name", "identity", "request", "expect", "policies", "headers", "source_ip", "time"}
)
IDENTITY_KEYS = frozenset({"type", "id", "groups", "tenants", "scopes", "attributes", "claims"})


class CaseError(ValueError):
    """The tests file (or an explain request) is malformed; the message says where."""


def check_keys(where: str, mapping: Mapping[Any, Any], known: Iterable[str]) -> None:
    """Refuse a key that is not in ``known``, suggesting the closest (a misspelt key must not
    be ignored: a case without its ``expect``-changing key may pass for the wrong reason)."""
    names = sorted(known)
    for key in mapping:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(names)}"
            raise CaseError(f"{where}: unknown key {key!r}{hint}")


def yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's reason and where it is (1-based line and column), without the source
    snippet PyYAML appends to ``str(error)``."""
    problem = getattr(error, "problem", None)
    if problem is None:  # ReaderError (a character YAML does not allow) has a reason instead
        reason = getattr(error, "reason", None)
        position = getattr(error, "position", None)
        if reason is None:
            return type(error).__name__
        return f"{reason} (character {position + 1})" if position is not None else str(reason)
    text = str(problem)
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        text += f" at line {mark.line + 1}, column {mark.column + 1}"
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if context:
        text += f" ({context}"
        if context_mark is not None:
            text += f" started at line {context_mark.line + 1}, column {context_mark.column + 1}"
        text += ")"
    return text


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: str  # "allow" | "deny"
    action: str | None
    policies: tuple[str, ...]
    errored: tuple[str, ...]
    outcome: str
    cache_safe: bool
    resources: Mapping[str, Sequence[str]] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    passed: bool
    expected: str
    got: Outcome
    problem: str = ""


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise CaseError(f"{path}: cannot be read") from None
    except yaml.YAMLError as error:
        raise CaseError(f"{path}: not valid YAML: {yaml_problem(error)}") from None


def route_table(routes: object) -> RouteTable:
    if isinstance(routes, str):
        try:
            routes = json.loads(routes)
        except ValueError:
            raise CaseError("routes: not a JSON list") from None
    if not isinstance(routes, list):
        raise CaseError('routes: a list of route templates, e.g. ["GET /orders/{id}"]')
    try:
        return RouteTable.parse(routes)
    except RouteTableError as error:
        raise CaseError(f"routes: {error}") from None


def compile_file(
    path: Path,
    table: RouteTable,
    headers: Sequence[str] = (),
    *,
    require_cacheable: bool = False,
) -> PolicySnapshot:
    """Raises BundleError (invalid bundle) or CaseError (unreadable file).

    ``require_cacheable``: judge the bundle as an authorizer with API Gateway's result cache on
    (``GATEHOUSE_POLICY_AUTHORIZER_CACHE=on``) does: policies reading headers, source IP or time
    are refused.
    """
    try:
        data = path.read_bytes()
    except OSError:
        raise CaseError(f"{path}: cannot be read") from None
    try:
        return compile_bundle(data, table, headers=headers, require_cacheable=require_cacheable)
    except BundleError as error:
        # The authorizer's message gives only the line (it may be logged in Lambda); the
        # operator gets the parser's reason and column too.
        reason = _bundle_yaml_problem(data)
        if reason is None:
            raise
        raise BundleError(f"the bundle is not valid YAML or JSON: {reason}") from error


def _bundle_yaml_problem(data: bytes) -> str | None:
    """Why ``data`` is not YAML, or ``None`` when it is (or the bundle failed for another
    reason first: too large, not UTF-8)."""
    if len(data) > MAX_BUNDLE_BYTES:
        return None
    try:
        yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    except yaml.YAMLError as error:
        return yaml_problem(error)
    return None


def identity(name: str, spec: object) -> Identity:
    if not isinstance(spec, dict):
        raise CaseError(f"identity {name!r}: a mapping with type, groups, tenants, scopes")
    kind = _TYPES.get(str(spec.get("type", "user")))
    if kind is None:
        raise CaseError(f"identity {name!r}: type is user, api_client or device")
    check_keys(f"identity {name!r}", spec, IDENTITY_KEYS)

    def names(key: str) -> frozenset[str]:
        value = spec.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CaseError(f"identity {name!r}: {key} is a list of strings")
        return frozenset(value)

    extra = spec.get("attributes") or {}
    if not isinstance(extra, dict):
        raise CaseError(f"identity {name!r}: attributes is a mapping")
    attributes = {**_DEFAULT_ATTRIBUTES[kind], **extra}
    claims = spec.get("claims") or {}
    if not isinstance(claims, dict):
        raise CaseError(f"identity {name!r}: claims is a mapping")
    return Identity(
        type=kind,
        id=str(spec.get("id", name)),
        groups=names("groups"),
        tenants=names("tenants"),
        scopes=names("scopes"),
        attributes={str(k): str(v) for k, v in attributes.items()},
        claims=claims,
    )


def build_request(
    line: str, *, headers: Mapping[str, str] | None = None, source_ip: str | None = None
) -> Request:
    """``GET /tenants/acme/orders`` -> the REST REQUEST the authorizer would receive (the
    route is resolved from the path, as for a TOKEN event)."""
    method, _, path = line.strip().partition(" ")
    method = method.upper()
    path = path.strip()
    try:
        RouteTemplate.parse(f"{method} /")
    except RouteTemplateError:
        raise CaseError(f"request {line!r}: expected 'METHOD /path'") from None
    if not path.startswith("/"):
        raise CaseError(f"request {line!r}: expected 'METHOD /path'")
    all_headers = {"Authorization": "Bearer test", **(headers or {})}
    event: dict[str, Any] = {
        "type": "REQUEST",
        "methodArn": f"{ARN_PREFIX}/{method}{path}",
        "httpMethod": method,
        "path": path,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "requestContext": {"identity": {"sourceIp": source_ip} if source_ip else {}},
    }
    try:
        return normalize(event)
    except InvalidRequestError:
        raise CaseError(f"request {line!r}: not a request API Gateway would send") from None


def evaluate(
    snapshot: PolicySnapshot,
    who: Identity,
    request: Request,
    *,
    now: float,
    headers: Sequence[str] = (),
) -> Outcome:
    """Decide as the authorizer does (enforce mode) and report why."""
    result = decide(
        who,
        request,
        snapshot=snapshot,
        unavailable=Unavailable("not loaded", Reason.CONFIGURATION),
        table=snapshot.table,
        shadow=False,
        now=now,
        headers=headers,
    )
    evaluation = result.evaluation
    match = snapshot.table.resolve(request)
    return Outcome(
        decision="allow" if result.decision.effect.value == "Allow" else "deny",
        action=match.action if match is not None else None,
        policies=evaluation.policies if evaluation is not None else (),
        errored=evaluation.errored if evaluation is not None else (),
        outcome=evaluation.outcome if evaluation is not None else "unknown_route",
        cache_safe=result.decision.cache_safe,
        resources={
            "allow": list(result.decision.resources.allow),
            "deny": list(result.decision.resources.deny),
        },
        params=dict(match.params) if match is not None else {},
    )


def context_headers(document: Mapping[str, Any]) -> tuple[str, ...]:
    """The tests file's ``context_headers`` (GATEHOUSE_POLICY_CONTEXT_HEADERS), lower-cased."""
    value = document.get("context_headers") or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CaseError("context_headers: a list of header names")
    return tuple(v.lower() for v in value)


def check_document(document: object, where: Path) -> Mapping[str, Any]:
    """The tests file's top level: a mapping of known keys (a misspelt ``route`` must be
    reported as unknown, not as ``routes`` missing)."""
    if not isinstance(document, dict):
        raise CaseError(f"{where}: a mapping with routes, identities and cases")
    check_keys(str(where), document, DOCUMENT_KEYS)
    return document


def run_cases(
    document: Mapping[str, Any], snapshot: PolicySnapshot, *, now: float
) -> list[CaseResult]:
    identities = document.get("identities") or {}
    if not isinstance(identities, dict):
        raise CaseError("identities: a mapping of name -> identity")
    people = {str(name): identity(str(name), spec) for name, spec in identities.items()}
    cases = document.get("cases")
    if not isinstance(cases, list) or not cases:
        raise CaseError("cases: a non-empty list")
    results = []
    for index, case in enumerate(cases, start=1):
        if not isinstance(case, dict):
            raise CaseError(f"case {index}: a mapping")
        name = str(case.get("name", f"case {index}"))
        check_keys(f"case {name!r}", case, CASE_KEYS)
        who = people.get(str(case.get("identity")))
        if who is None:
            raise CaseError(f"case {name!r}: identity must name one of 'identities'")
        expected = str(case.get("expect", "")).lower()
        if expected not in ("allow", "deny"):
            raise CaseError(f"case {name!r}: expect is allow or deny")
        headers, source_ip, at, wanted = _case_fields(name, case, now)
        request = build_request(
            str(case.get("request", "")),
            headers={str(k): str(v) for k, v in headers.items()},
            source_ip=source_ip,
        )
        got = evaluate(
            snapshot,
            who,
            request,
            now=float(at),
            headers=context_headers(document),
        )
        problem = ""
        if got.decision != expected:
            problem = f"expected {expected}, got {got.decision}"
        if not problem and wanted is not None and sorted(map(str, wanted)) != sorted(got.policies):
            problem = f"expected policies {sorted(map(str, wanted))}, got {sorted(got.policies)}"
        results.append(CaseResult(name, not problem, expected, got, problem))
    return results


def _case_fields(
    name: str, case: Mapping[str, Any], now: float
) -> tuple[Mapping[Any, Any], str | None, float, list[Any] | None]:
    """A case's optional headers, source_ip, time and policies, type-checked."""
    headers = case.get("headers") or {}
    if not isinstance(headers, dict):
        raise CaseError(f"case {name!r}: headers is a mapping of name -> value")
    source_ip = case.get("source_ip")
    if source_ip is not None and not isinstance(source_ip, str):
        raise CaseError(f"case {name!r}: source_ip is a string, e.g. '10.0.0.1'")
    at = case.get("time", now)
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise CaseError(f"case {name!r}: time is a number (epoch seconds)")
    wanted = case.get("policies")
    if wanted is not None and not isinstance(wanted, list):
        raise CaseError(f"case {name!r}: policies is a list of policy ids")
    return headers, source_ip, float(at), wanted


__all__ = [
    "BundleError",
    "CaseError",
    "CaseResult",
    "Outcome",
    "build_request",
    "check_document",
    "check_keys",
    "compile_file",
    "evaluate",
    "identity",
    "load_yaml",
    "route_table",
    "run_cases",
    "yaml_problem",
]
