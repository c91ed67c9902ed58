"""Shared builders for the policy tests: the demo route table, identities, requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from authorizers.core.request import Request, normalize
from authorizers.policy.engine import PolicySnapshot, compile_bundle
from authorizers.policy.model import Identity, PrincipalType
from authorizers.policy.routes import RouteTable
from tests.conftest import load_event

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "policies" / "demo.yaml"
DEMO_TESTS = ROOT / "policies" / "demo.tests.yaml"
DEMO_ROUTES = (
    "GET /tenants/{tenant}/orders",
    "POST /tenants/{tenant}/orders",
    "GET /tenants/{tenant}/orders/{id}",
    "DELETE /tenants/{tenant}/orders/{id}",
)
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"


def demo_table() -> RouteTable:
    return RouteTable.parse(DEMO_ROUTES)


def demo_snapshot() -> PolicySnapshot:
    return compile_bundle(DEMO.read_bytes(), demo_table())


def user(name: str, *groups: str, scopes: tuple[str, ...] = ()) -> Identity:
    return Identity(
        type=PrincipalType.USER,
        id=name,
        groups=frozenset(groups),
        scopes=frozenset(scopes),
        attributes={"issuer": "https://idp.example.com"},
        context={"sub": name},
    )


ALICE = user("alice", "admins", "tenant-acme")
BOB = user("bob", "readers", "tenant-acme")
CAROL = user("carol", "readers", "tenant-globex")


def request(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    kind: str = "rest_request",
    headers: dict[str, str] | None = None,
    source_ip: str | None = "203.0.113.7",
) -> Request:
    """A REST REQUEST (or TOKEN) event for ``method path``; ``resource`` names the route."""
    event: dict[str, Any] = load_event(kind)
    event["methodArn"] = f"{ARN}/{method}{path}"
    if kind == "rest_request":
        event["httpMethod"] = method
        event["path"] = path
        if resource is None:
            event.pop("resource", None)
        else:
            event["resource"] = resource
        event["pathParameters"] = {}
        extra = headers or {}
        event["headers"] = {"Authorization": "Bearer x", **extra}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        if source_ip is None:
            event["requestContext"]["identity"].pop("sourceIp", None)
        else:
            event["requestContext"]["identity"]["sourceIp"] = source_ip
    return normalize(event)


def force_policies(snapshot: PolicySnapshot, text: str) -> None:
    """Swap in policies that never went through validation (as if written against another
    schema): what the engine must still evaluate fail-closed."""
    import json

    import cedarpy

    est = json.loads(cedarpy.policies_to_json_str(text))
    snapshot._policies = dict(est["staticPolicies"])
    snapshot._admits = {policy_id: frozenset({"*"}) for policy_id in snapshot._policies}
    snapshot._annotations = {
        policy_id: policy.get("annotations", {}).get("id", policy_id)
        for policy_id, policy in snapshot._policies.items()
    }
    snapshot._slices.clear()
    snapshot.clear()
