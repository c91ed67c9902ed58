"""Cedar policy authorizer rows (issue #6): one decision with 10 / 100 / 1,000 routes and
policies, the cache-safe route enumeration, and a cold load of 1,000 policies.

A decision row is what a request costs once authenticated: resolve the route, build the
principal entity and context, evaluate the pre-parsed policy slice of the route (fail-closed
checks included), for a repeat caller (its parsed entity set is cached); one row shows a new
caller. The anchor is cedarpy's string API as its README shows it: policies (and schema) as
text, re-parsed on every call. Targets: decision p50 <= 150 us at 100 routes, <= 1 ms at
1,000 policies; enumeration <= 10 ms at 100 routes.
"""

from __future__ import annotations

import json
import time
from itertools import cycle
from typing import Any

import cedarpy
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from authorizers.core.exceptions import Reason
from authorizers.core.pipeline import ColdStart, lambda_handler_for
from authorizers.core.request import Request, normalize
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.policy.authorizer import PolicyAuthorizer
from authorizers.policy.decide import decide
from authorizers.policy.engine import PolicySnapshot, compile_bundle
from authorizers.policy.model import (
    Identity,
    PrincipalType,
    build_context,
    build_schema,
    principal_entity,
    resource_entity,
)
from authorizers.policy.routes import RouteTable
from authorizers.policy.store import Unavailable
from bench.harness import CONTEXT, bench, quiet
from tests.conftest import load_event
from tests.unit.policy.helpers import DEMO, DEMO_ROUTES

ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"
WHO = Identity(
    type=PrincipalType.USER,
    id="bob",
    groups=frozenset({"g3", "tenant-acme"}),
    attributes={"issuer": "https://idp.example.com"},
)


def _routes(count: int) -> list[str]:
    return [f"GET /r{i}/tenants/{{tenant}}/items/{{id}}" for i in range(count)]


def _bundle(routes: list[str]) -> bytes:
    policies = [
        f'@id("p{i}")\npermit (principal in Gatehouse::Group::"g{i % 10}", '
        f'action == Gatehouse::Action::"{route}", resource)\n'
        "when { context.path has tenant && principal.tenants.contains(context.path.tenant) };"
        for i, route in enumerate(routes)
    ]
    policies.append(
        '@id("isolation")\nforbid (principal, action, resource)\n'
        "when { context.path has tenant && !principal.tenants.contains(context.path.tenant) };"
    )
    document = {
        "version": 1,
        "principal": {"tenant_group_prefix": "tenant-"},
        "cedar": "\n".join(policies),
    }
    return json.dumps(document).encode()


def _request(path: str) -> Request:
    event = load_event("rest_request")
    event["methodArn"] = f"{ARN}/GET{path}"
    event["httpMethod"] = "GET"
    event.pop("resource")
    return normalize(event)


def _setup(count: int) -> tuple[PolicySnapshot, RouteTable, Request, bytes]:
    routes = _routes(count)
    table = RouteTable.parse(routes)
    data = _bundle(routes)
    snapshot = compile_bundle(data, table)
    # Route 3 (group g3, which bob is in): the last-but-few route of the table.
    request = _request(f"/r{count - 7 if count > 10 else 3}/tenants/acme/items/9")
    return snapshot, table, request, data


def _decision(snapshot: PolicySnapshot, table: RouteTable, request: Request) -> bool:
    match = table.resolve(request)
    assert match is not None
    principal = principal_entity(WHO, snapshot.mapping)
    context = build_context(
        match,
        method=request.method or "GET",
        scopes=WHO.scopes,
        now=time.time(),
        source_ip=request.source_ip,
        headers={},
    )
    resource = resource_entity(request.arn.api_id, request.arn.stage)
    return snapshot.evaluate(principal, match.action, resource, context).allowed


def register() -> None:
    _handler_rows()
    setups = {count: _setup(count) for count in (10, 100, 1000)}
    snapshot100, table100, request100, data100 = setups[100]
    # Rows that measure a cold cache clear their own snapshot: clearing the shared one would
    # make the first call of every round of the warm rows (measured interleaved) cold too.
    scratch100 = compile_bundle(data100, table100)
    assert _decision(snapshot100, table100, request100)  # route 93: group g3, bob's
    group = "Cedar policy decision (route + entities + evaluate)"

    text100 = snapshot100.bundle.policy_text()
    schema100 = json.dumps(build_schema(table100.routes))
    match100 = table100.resolve(request100)
    assert match100 is not None
    principal100 = principal_entity(WHO, snapshot100.mapping)
    entities100 = [principal100.entity, resource_entity("abcdef1234", "prod")]
    naive_request: dict[str, Any] = {
        "principal": principal100.uid,
        "action": {"type": "Gatehouse::Action", "id": match100.action},
        "resource": {"type": "Gatehouse::Api", "id": "abcdef1234/prod"},
        "context": build_context(
            match100, method="GET", scopes=frozenset(), now=time.time(), source_ip=None, headers={}
        ),
    }

    @bench(group, "cedarpy is_authorized, policies + schema as text (100)", anchor=True)
    def _naive() -> object:
        return cedarpy.is_authorized(naive_request, text100, entities100, schema100)

    for count, target in ((10, None), (100, 150.0), (1000, 1000.0)):
        snapshot, table, request, _ = setups[count]

        def _row(
            s: PolicySnapshot = snapshot, t: RouteTable = table, r: Request = request
        ) -> object:
            return _decision(s, t, r)

        bench(group, f"gatehouse, {count:,} routes and policies", target_us=target)(_row)

    @bench(group, "gatehouse, 100 routes, a new caller (entity set parsed)")
    def _new_caller() -> object:
        scratch100.clear()
        return _decision(scratch100, table100, request100)

    enumeration = "Cedar policy cache-safe enumeration (100 routes)"
    context100 = build_context(
        match100, method="GET", scopes=frozenset(), now=time.time(), source_ip=None, headers={}
    )
    resource100 = resource_entity("abcdef1234", "prod")

    @bench(enumeration, "one decision (100 routes)", anchor=True)
    def _one() -> object:
        return _decision(snapshot100, table100, request100)

    @bench(enumeration, "enumerate every route for the principal", target_us=10_000)
    def _enumerate() -> object:
        scratch100.clear()
        return scratch100.enumerate(principal100, match100, resource100, context100)

    unavailable = Unavailable("not loaded", Reason.CONFIGURATION)

    @bench(enumeration, "full decide(): evaluate + cache-safe IAM policy (warm)")
    def _full() -> object:
        return decide(
            WHO,
            request100,
            snapshot=snapshot100,
            unavailable=unavailable,
            table=table100,
            shadow=False,
            now=time.time(),
        )

    cold = "Cedar policy cold load (1,000 policies)"
    snapshot1000, table1000, _, data1000 = setups[1000]
    text1000 = snapshot1000.bundle.policy_text()

    @bench(cold, "cedarpy PolicySet.from_str (parse only)", anchor=True)
    def _parse() -> object:
        return cedarpy.PolicySet.from_str(text1000)

    @bench(cold, "gatehouse compile_bundle: YAML + schema validation + analysis + parse")
    def _compile() -> object:
        return compile_bundle(data1000, table1000)


ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"


def _handler_rows() -> None:
    """The policy authorizer (JWT authentication, the demo bundle from a file, Cedar) against
    the JWT authorizer alone, both through ``lambda_handler`` on the same 1,000 tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig"}
    issuer = {
        "type": "oidc",
        "issuer": "https://idp.example.com",
        "audiences": ["api://orders"],
        "algorithms": ["RS256"],
        "jwks": {"keys": [jwk]},
        "groups_claim": "cognito:groups",
    }
    jwt_environ = {"GATEHOUSE_JWT_ISSUERS": json.dumps([issuer]), "GATEHOUSE_TRACING": "false"}
    policy_environ = {
        **jwt_environ,
        "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer",
        "GATEHOUSE_POLICY_SOURCE": str(DEMO),
        "GATEHOUSE_POLICY_ROUTES": json.dumps(list(DEMO_ROUTES)),
    }
    with quiet():  # the cold start logs the policy set it loaded
        jwt_handler = lambda_handler_for(
            ColdStart("jwt", lambda: JwtAuthorizer.from_environ(jwt_environ, in_lambda=False))
        )
        policy_handler = lambda_handler_for(
            ColdStart(
                "policy", lambda: PolicyAuthorizer.from_environ(policy_environ, in_lambda=False)
            )
        )
    now = int(time.time())
    events = []
    for i in range(1000):
        token = pyjwt.encode(
            {
                "iss": issuer["issuer"],
                "aud": "api://orders",
                "sub": "bob",
                "cognito:groups": ["readers", "tenant-acme"],
                "iat": now - 60,
                "exp": now + 86_400,
                "jti": f"jti-{i}",
            },
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        event = load_event("rest_request")
        event["methodArn"] = f"{ARN}/GET/tenants/acme/orders"
        event["httpMethod"], event["path"] = "GET", "/tenants/acme/orders"
        event["resource"] = "/tenants/{tenant}/orders"
        event["pathParameters"] = {"tenant": "acme"}
        event["headers"] = {"Authorization": f"Bearer {token}"}
        event["multiValueHeaders"] = {"Authorization": [f"Bearer {token}"]}
        events.append(event)
    # Both must allow bob's read: a bench of a Deny would time the wrong path.
    with quiet():
        plain = jwt_handler(events[0], CONTEXT)["policyDocument"]["Statement"]
        allowed = policy_handler(events[0], CONTEXT)["policyDocument"]["Statement"]
    assert plain[0]["Effect"] == "Allow", plain
    assert any(s["Effect"] == "Allow" for s in allowed), allowed
    next_jwt, next_policy = cycle(events).__next__, cycle(events).__next__
    group = "Policy vs JWT, through lambda_handler (REST REQUEST, key cached)"

    @bench(group, "gatehouse JWT lambda_handler (the same run's)", anchor=True)
    def _jwt() -> object:
        return jwt_handler(next_jwt(), CONTEXT)

    @bench(group, "gatehouse policy lambda_handler: JWT + Cedar demo bundle", target_ratio=4)
    def _policy() -> object:
        return policy_handler(next_policy(), CONTEXT)
