"""The Cedar engine: fail closed, deny overrides, schema validation, dependence analysis."""

from __future__ import annotations

import json
import time

import cedarpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizers.policy.analysis import Dependence
from authorizers.policy.bundle import BundleError
from authorizers.policy.engine import compile_bundle
from authorizers.policy.model import (
    build_context,
    build_schema,
    principal_entity,
    resource_entity,
)
from authorizers.policy.routes import RouteTable
from tests.unit.policy.helpers import BOB, CAROL, DEMO, demo_table, force_policies, request, user

TABLE = RouteTable.parse(["GET /orders/{id}", "DELETE /orders/{id}", "GET /health"])


def bundle(cedar: str = "", rules: str = "", principal: str = "") -> bytes:
    parts = ["version: 1"]
    if principal:
        parts.append(principal)
    if rules:
        parts.append(rules)
    if cedar:
        parts.append("cedar: |\n" + "\n".join("  " + line for line in cedar.splitlines()))
    return ("\n".join(parts) + "\n").encode()


def decide(snapshot, who, method, path, *, headers=None, now=None):
    match = snapshot.table.resolve(request(method, path))
    assert match is not None
    principal = principal_entity(who, snapshot.mapping)
    context = build_context(
        match,
        method=method,
        scopes=who.scopes,
        now=now if now is not None else time.time(),
        source_ip="203.0.113.7",
        headers=headers or {},
    )
    return snapshot.evaluate(
        principal, match.action, resource_entity("abcdef1234", "prod"), context
    )


PERMIT_ALL = "permit (principal, action, resource);"


def test_a_clean_permit_allows_and_names_the_policy():
    snapshot = compile_bundle(bundle('@id("all")\n' + PERMIT_ALL), TABLE)
    result = decide(snapshot, BOB, "GET", "/orders/1")
    assert result.allowed and result.outcome == "allow" and result.policies == ("all",)


def test_no_permit_is_deny():
    snapshot = compile_bundle(
        bundle('permit (principal, action == Gatehouse::Action::"GET /health", resource);'), TABLE
    )
    result = decide(snapshot, BOB, "GET", "/orders/1")
    assert not result.allowed and result.outcome == "deny" and result.policies == ()


def test_forbid_overrides_permit():
    snapshot = compile_bundle(
        bundle(
            PERMIT_ALL
            + '\n@id("no-delete")\nforbid (principal, action in Gatehouse::Action::"DELETE",'
            " resource);"
        ),
        TABLE,
    )
    assert decide(snapshot, BOB, "GET", "/orders/1").allowed
    denied = decide(snapshot, BOB, "DELETE", "/orders/1")
    assert not denied.allowed and denied.policies == ("no-delete",)


def test_an_errored_forbid_is_a_deny_not_skipped():
    """Attack: Cedar skips a forbid whose condition errors (facts §1.2), so permit + erroring
    forbid gives Allow. The policy set is loaded unvalidated here (a policy written against a
    different schema); the engine must still deny."""
    snapshot = compile_bundle(bundle(PERMIT_ALL), TABLE)
    text = (
        PERMIT_ALL + '\n@id("suspended")\nforbid (principal, action, resource) '
        "when { principal.suspended == true };"
    )
    force_policies(snapshot, text)
    # Raw Cedar would allow:
    raw = cedarpy.is_authorized(
        {
            "principal": 'Gatehouse::User::"bob"',
            "action": 'Gatehouse::Action::"GET /orders/{id}"',
            "resource": 'Gatehouse::Api::"abcdef1234/prod"',
            "context": {},
        },
        text,
        [],
    )
    assert raw.decision is cedarpy.Decision.Allow and raw.diagnostics.errors
    result = decide(snapshot, BOB, "GET", "/orders/1")
    assert not result.allowed and result.outcome == "error"
    assert result.errored == ("suspended",)


def test_no_decision_is_a_deny():
    """Attack: a request Cedar cannot build (a float in the context) must never allow."""
    snapshot = compile_bundle(bundle(PERMIT_ALL), TABLE)
    match = TABLE.resolve(request("GET", "/orders/1"))
    assert match is not None
    principal = principal_entity(BOB, snapshot.mapping)
    result = snapshot.evaluate(
        principal,
        match.action,
        resource_entity("a", "b"),
        {"path": {"id": "1"}, "scopes": [], "time": 1.5, "headers": {}},
    )
    assert not result.allowed and result.outcome in ("no_decision", "error")


def test_an_unknown_attribute_is_refused_at_validation():
    """A typo ('tenantt') fails the load, not a request at 3 am."""
    with pytest.raises(BundleError, match="schema validation"):
        compile_bundle(
            bundle('permit (principal, action, resource) when { principal.tenantt == "a" };'),
            TABLE,
        )


def test_an_optional_attribute_read_without_has_is_refused():
    """Strict validation: a read that can error at runtime is refused at load time."""
    with pytest.raises(BundleError, match="schema validation"):
        compile_bundle(
            bundle(
                "forbid (principal is Gatehouse::User, action, resource) "
                'when { principal.client_id == "x" };'
            ),
            TABLE,
        )
    compile_bundle(
        bundle(
            "forbid (principal is Gatehouse::User, action, resource) "
            'when { principal has client_id && principal.client_id == "x" };'
        ),
        TABLE,
    )


def test_an_action_that_is_not_a_route_is_refused():
    with pytest.raises(BundleError, match="schema validation"):
        compile_bundle(
            bundle('permit (principal, action == Gatehouse::Action::"GET /nope", resource);'),
            TABLE,
        )


def test_syntax_errors_templates_and_duplicate_ids_are_refused():
    with pytest.raises(BundleError, match="Cedar syntax"):
        compile_bundle(bundle("permit (principal, action resource);"), TABLE)
    with pytest.raises(BundleError, match="templates"):
        compile_bundle(bundle("permit (principal == ?principal, action, resource);"), TABLE)
    with pytest.raises(BundleError, match="@id"):
        compile_bundle(bundle(f'@id("a")\n{PERMIT_ALL}\n@id("a")\n{PERMIT_ALL}'), TABLE)


def test_headers_and_source_ip_reach_the_context():
    snapshot = compile_bundle(
        bundle(
            "permit (principal, action, resource) when { context.headers has x_channel && "
            'context.headers.x_channel == "web" && context has source_ip && '
            'context.source_ip.isInRange(ip("203.0.113.0/24")) };'
        ),
        TABLE,
        headers=["x-channel"],
    )
    assert decide(snapshot, BOB, "GET", "/orders/1", headers={"x-channel": "web"}).allowed
    assert not decide(snapshot, BOB, "GET", "/orders/1").allowed
    assert snapshot.dependence(TABLE.routes[0]).dynamic


def test_an_unparseable_source_ip_is_left_out():
    match = TABLE.resolve(request("GET", "/orders/1"))
    assert match is not None
    context = build_context(
        match, method="GET", scopes=frozenset(), now=1.9, source_ip="nope", headers={}
    )
    assert "source_ip" not in context and context["time"] == 1  # whole seconds, never floats


def test_dependence_analysis():
    snapshot = compile_bundle(
        bundle(
            'permit (principal, action == Gatehouse::Action::"GET /orders/{id}", resource) '
            'when { context.path.id == principal.id && context.scopes.contains("a") };\n'
            'forbid (principal, action in Gatehouse::Action::"DELETE", resource) '
            "when { context.time > 0 };"
        ),
        TABLE,
    )
    get, delete, health = TABLE.routes
    assert snapshot.dependence(get) == Dependence(frozenset({"id"}), False)
    assert snapshot.dependence(delete).dynamic
    assert snapshot.dependence(health) == Dependence()
    by_method = compile_bundle(
        bundle(
            "permit (principal, action, resource) "
            'when { context.method == "GET" && context.path has id };'
        ),
        TABLE,
    )
    assert by_method.dependence(health) == Dependence(frozenset({"id"}), False, method=True)


def test_schema_shape():
    schema = build_schema(demo_table().routes, ["x-tenant"])["Gatehouse"]
    action = schema["actions"]["GET /tenants/{tenant}/orders"]
    assert action["memberOf"] == [{"id": "GET"}]
    context = action["appliesTo"]["context"]["attributes"]
    assert context["path"]["attributes"] == {"tenant": {"type": "String"}}
    assert context["headers"]["attributes"]["x_tenant"]["required"] is False
    assert set(schema["entityTypes"]) == {"Group", "Api", "User", "ApiClient", "Device"}


# --- property: adding a forbid never turns a Deny into an Allow -------------------------

_GROUPS = ["readers", "admins", "tenant-acme", "tenant-globex"]
_ROUTES = list(demo_table().routes)
_CONDITIONS = [
    "true",
    'principal.groups.contains("readers")',
    'principal.groups.contains("admins")',
    "context.path has tenant && principal.tenants.contains(context.path.tenant)",
    "context.path has id",
    'principal.id == "bob"',
]


def _policy(effect: str, route: int | None, condition: int) -> str:
    action = "action" if route is None else f'action == Gatehouse::Action::"{_ROUTES[route]}"'
    return f"{effect} (principal, {action}, resource) when {{ {_CONDITIONS[condition]} }};"


_policy_strategy = st.tuples(
    st.sampled_from(["permit", "forbid"]),
    st.one_of(st.none(), st.integers(0, len(_ROUTES) - 1)),
    st.integers(0, len(_CONDITIONS) - 1),
)


@settings(max_examples=40, deadline=None)
@given(
    policies=st.lists(_policy_strategy, min_size=1, max_size=5),
    forbid=st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.integers(0, 5)),
    groups=st.sets(st.sampled_from(_GROUPS)),
    route=st.integers(0, 3),
    tenant=st.sampled_from(["acme", "globex"]),
)
def test_adding_a_forbid_never_turns_deny_into_allow(policies, forbid, groups, route, tenant):
    table = demo_table()
    text = "\n".join(_policy(*p) for p in policies)
    base = compile_bundle(bundle(text), table)
    more = compile_bundle(bundle(text + "\n" + _policy("forbid", *forbid)), table)
    who = user("bob", *groups)
    path = str(_ROUTES[route].path).replace("{tenant}", tenant).replace("{id}", "7")
    method = _ROUTES[route].method
    before = decide(base, who, method, path)
    after = decide(more, who, method, path)
    assert not (after.allowed and not before.allowed)
    if not before.allowed:
        assert not after.allowed


def test_demo_snapshot_metadata():
    from tests.unit.policy.helpers import demo_snapshot

    snapshot = demo_snapshot()
    assert snapshot.policy_count == 4 and len(snapshot.version) == 16
    assert decide(snapshot, CAROL, "GET", "/tenants/globex/orders/7").allowed
    assert json.loads(json.dumps(snapshot.bundle.rules[0].routes[0].path))


REQUEST_VARYING = {
    "source_ip": 'context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))',
    "header": 'context.headers has x_channel && context.headers.x_channel == "web"',
    "time": "context.time < 2000000000",
}


@pytest.mark.parametrize("condition", sorted(REQUEST_VARYING.values()))
def test_request_varying_policies_are_refused_while_the_authorizer_cache_is_on(condition):
    """Attack: an 'office network only' (or header, or business-hours) Allow is replayed by
    API Gateway's cache for the TTL to the same token from anywhere, at any time. With the
    cache on (the default), such a bundle must not load; the message says what to set."""
    text = (
        "version: 1\ncedar: |\n"
        '  @id("office-only")\n'
        "  permit (principal, action, resource) when { " + condition + " };\n"
    ).encode()
    table = RouteTable.parse(["GET /payroll"])
    with pytest.raises(BundleError, match="'office-only' reads request-varying") as raised:
        compile_bundle(text, table, headers=["x-channel"], require_cacheable=True)
    assert "GATEHOUSE_POLICY_AUTHORIZER_CACHE=off" in str(raised.value)
    assert "TTL to 0" in str(raised.value)
    snapshot = compile_bundle(text, table, headers=["x-channel"])  # the cache is off
    assert snapshot.request_varying == ("office-only",)


def test_the_demo_is_cacheable():
    snapshot = compile_bundle(DEMO.read_bytes(), demo_table(), require_cacheable=True)
    assert snapshot.request_varying == ()
