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

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs pinned; used via safe_load only

from authorizers.core.exceptions import InvalidRequestError, Reason
from authorizers.core.request import Request, normalize
from authorizers.core.routes import RouteTemplate, RouteTemplateError
from authorizers.policy.bundle import BundleError
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


class CaseError(ValueError):
    """The tests file (or an explain request) is malformed; the message says where."""


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
    except yaml.YAMLError:
        raise CaseError(f"{path}: not valid YAML") from None


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
    return compile_bundle(data, table, headers=headers, require_cacheable=require_cacheable)


def identity(name: str, spec: object) -> Identity:
    if not isinstance(spec, dict):
        raise CaseError(f"identity {name!r}: a mapping with type, groups, tenants, scopes")
    kind = _TYPES.get(str(spec.get("type", "user")))
    if kind is None:
        raise CaseError(f"identity {name!r}: type is user, api_client or device")
    known = {"type", "id", "groups", "tenants", "scopes", "attributes", "claims"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise CaseError(f"identity {name!r}: unknown key {unknown[0]!r}")

    def names(key: str) -> frozenset[str]:
        value = spec.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CaseError(f"identity {name!r}: {key} is a list of strings")
        return frozenset(value)

    attributes = {**_DEFAULT_ATTRIBUTES[kind], **(spec.get("attributes") or {})}
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
        who = people.get(str(case.get("identity")))
        if who is None:
            raise CaseError(f"case {name!r}: identity must name one of 'identities'")
        expected = str(case.get("expect", "")).lower()
        if expected not in ("allow", "deny"):
            raise CaseError(f"case {name!r}: expect is allow or deny")
        headers = case.get("headers") or {}
        request = build_request(
            str(case.get("request", "")),
            headers={str(k): str(v) for k, v in headers.items()},
            source_ip=case.get("source_ip"),
        )
        got = evaluate(
            snapshot,
            who,
            request,
            now=float(case.get("time", now)),
            headers=context_headers(document),
        )
        problem = ""
        if got.decision != expected:
            problem = f"expected {expected}, got {got.decision}"
        wanted = case.get("policies")
        if not problem and wanted is not None and sorted(map(str, wanted)) != sorted(got.policies):
            problem = f"expected policies {sorted(map(str, wanted))}, got {sorted(got.policies)}"
        results.append(CaseResult(name, not problem, expected, got, problem))
    return results


__all__ = [
    "BundleError",
    "CaseError",
    "CaseResult",
    "Outcome",
    "build_request",
    "compile_file",
    "evaluate",
    "identity",
    "load_yaml",
    "route_table",
    "run_cases",
]
