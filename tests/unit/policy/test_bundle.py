"""The policy bundle: document shape, YAML rules, and what they compile to."""

from __future__ import annotations

import pytest

from authorizers.policy.bundle import MAX_BUNDLE_BYTES, BundleError, compile_rule, parse_bundle
from authorizers.policy.engine import compile_bundle
from tests.unit.policy.helpers import ALICE, BOB, CAROL, ROOT, demo_table, user

TABLE = demo_table()
LIST = "GET /tenants/{tenant}/orders"


def parse(text: str):
    return parse_bundle(text.encode(), TABLE)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", "mapping"),
        ("version: 2\ncedar: x", "'version' must be 1"),
        ("version: 1", "no rule and no Cedar"),
        ("version: 1\ncedr: x", "did you mean 'cedar'"),
        ("version: 1\nprincipal: {tenant_prefix: t-}\ncedar: x", "did you mean"),
        ("version: 1\nprincipal: [1]\ncedar: x", "'principal' must be a mapping"),
        ("version: 1\nprincipal: {tenant_claim: 3}\ncedar: x", "tenant_claim"),
        ("version: 1\nrules: {}\n", "'rules' must be a list"),
        ("version: 1\ncedar: [1]", "Cedar policy text"),
        ("version: 1\nrules: [3]", "must be a mapping"),
        ("version: 1\nrules: [{routes: ['*']}]", "'id' is required"),
        ("version: 1\nrules: [{id: a, routes: ['*'], efect: deny}]", "did you mean 'effect'"),
        ("version: 1\nrules: [{id: a, routes: ['*'], effect: maybe}]", "'effect'"),
        ("version: 1\nrules: [{id: a, routes: []}]", "non-empty list"),
        ("version: 1\nrules: [{id: a, routes: ['GET /nope']}]", "not in the route table"),
        ("version: 1\nrules: [{id: a, routes: ['nope']}]", "must look like"),
        (f"version: 1\nrules: [{{id: a, routes: ['{LIST}', '{LIST}']}}]", "listed twice"),
        ("version: 1\nrules: [{id: a, routes: ['*'], groups: []}]", "non-empty list"),
        ("version: 1\nrules: [{id: a, routes: ['*'], groups: ['a\"b']}]", "no quote"),
        ("version: 1\nrules: [{id: a, routes: ['*'], match_path: [1]}]", "'match_path'"),
        ("version: 1\nrules: [{id: a, routes: ['*'], match_path: {tenant: x}}]", "attributes"),
        ("version: 1\nrules: [{id: a, routes: ['*'], match_path: {id: id}}]", "no parameter"),
        ("version: 1\nrules: [{id: a, routes: ['*']}, {id: a, routes: ['*']}]", "share one"),
        ("version: 1\ncedar: 'x'\n  bad: [", "not valid YAML"),
    ],
)
def test_malformed_bundles_are_refused(text, problem):
    with pytest.raises(BundleError, match=problem):
        parse(text)


def test_size_and_encoding_limits():
    with pytest.raises(BundleError, match="larger"):
        parse_bundle(b" " * (MAX_BUNDLE_BYTES + 1), TABLE)
    with pytest.raises(BundleError, match="UTF-8"):
        parse_bundle(b"\xff\xfe", TABLE)


def test_json_is_a_bundle_too():
    bundle = parse('{"version": 1, "cedar": "permit (principal, action, resource);"}')
    assert bundle.rules == () and "permit" in bundle.cedar


def test_yaml_aliases_cannot_build_objects():
    """Attack: a YAML tag that constructs Python objects (safe_load refuses it)."""
    with pytest.raises(BundleError, match="not valid YAML"):
        parse("version: 1\ncedar: !!python/object/apply:os.system ['true']")


def test_allow_rule_compiles_to_a_permit():
    bundle = parse(
        "version: 1\nrules:\n- id: r\n  routes: ['GET /tenants/{tenant}/orders']\n"
        "  groups: [b, a]\n  scopes: [s]\n  tenants: [acme]\n  match_path: {tenant: tenants}\n"
    )
    text = compile_rule(bundle.rules[0])
    assert text.startswith('@id("rule:r")\npermit (principal, action in [')
    assert 'principal.groups.containsAny(["a", "b"])' in text
    assert 'context.scopes.containsAll(["s"])' in text
    assert 'principal.tenants.containsAny(["acme"])' in text
    assert "(context.path has tenant && principal.tenants.contains(context.path.tenant))" in text


def test_deny_rule_compiles_to_a_forbid_unless_the_path_matches():
    bundle = parse(
        "version: 1\nrules:\n- id: r\n  effect: deny\n  routes: ['*']\n  groups: [g]\n"
        "  match_path: {tenant: tenants}\n"
    )
    text = compile_rule(bundle.rules[0])
    assert "forbid (" in text and "when { principal.groups.containsAny" in text
    assert "unless { (context.path has tenant" in text
    assert compile_rule(
        parse("version: 1\nrules: [{id: d, effect: deny, routes: ['*']}]").rules[0]
    ).endswith("resource);")


def test_match_path_on_id():
    snapshot = compile_bundle(
        b"version: 1\nrules:\n- id: own\n  routes: ['GET /tenants/{tenant}/orders']\n"
        b"  match_path: {tenant: id}\n",
        TABLE,
    )
    from tests.unit.policy.test_engine import decide

    assert decide(snapshot, user("acme"), "GET", "/tenants/acme/orders").allowed
    assert not decide(snapshot, user("bob"), "GET", "/tenants/acme/orders").allowed


def test_tenant_claim_mapping():
    from dataclasses import replace

    from tests.unit.policy.test_engine import decide

    snapshot = compile_bundle(
        b"version: 1\nprincipal: {tenant_claim: 'custom:tenant'}\nrules:\n- id: own\n"
        b"  routes: ['*']\n  match_path: {tenant: tenants}\n",
        TABLE,
    )
    claimed = replace(BOB, groups=frozenset(), claims={"custom:tenant": "globex"})
    listed = replace(BOB, groups=frozenset(), claims={"custom:tenant": ["acme", 3, ""]})
    assert decide(snapshot, claimed, "GET", "/tenants/globex/orders").allowed
    assert decide(snapshot, listed, "GET", "/tenants/acme/orders").allowed
    assert not decide(snapshot, BOB, "GET", "/tenants/acme/orders").allowed  # no prefix mapping


def test_demo_outcomes_hold_with_rules_only_and_cedar_only():
    """The demo's worked example holds in each language alone (docs/policies.md)."""
    from tests.unit.policy.test_engine import decide

    rules_only = (
        b"version: 1\nprincipal: {tenant_group_prefix: tenant-}\nrules:\n"
        b"- id: read\n  routes: ['GET /tenants/{tenant}/orders',\n"
        b"           'GET /tenants/{tenant}/orders/{id}']\n"
        b"  groups: [readers, admins]\n  match_path: {tenant: tenants}\n"
        b"- id: write\n  routes: ['POST /tenants/{tenant}/orders',\n"
        b"           'DELETE /tenants/{tenant}/orders/{id}']\n"
        b"  groups: [admins]\n  match_path: {tenant: tenants}\n"
        b"- id: isolation\n  effect: deny\n  routes: ['*']\n  match_path: {tenant: tenants}\n"
    )
    cedar_only = (
        b"version: 1\nprincipal: {tenant_group_prefix: tenant-}\ncedar: |\n"
        b'  permit (principal in Gatehouse::Group::"readers",\n'
        b'          action in Gatehouse::Action::"GET", resource);\n'
        b'  permit (principal in Gatehouse::Group::"admins", action, resource);\n'
        b"  forbid (principal, action, resource) unless { context.path has tenant && "
        b"principal.tenants.contains(context.path.tenant) };\n"
    )
    for data in (rules_only, cedar_only):
        snapshot = compile_bundle(data, TABLE)
        assert decide(snapshot, BOB, "GET", "/tenants/acme/orders").allowed
        assert not decide(snapshot, BOB, "GET", "/tenants/globex/orders").allowed
        assert not decide(snapshot, BOB, "POST", "/tenants/acme/orders").allowed
        assert decide(snapshot, ALICE, "POST", "/tenants/acme/orders").allowed
        assert decide(snapshot, ALICE, "DELETE", "/tenants/acme/orders/1").allowed
        assert not decide(snapshot, ALICE, "GET", "/tenants/globex/orders/1").allowed
        assert decide(snapshot, CAROL, "GET", "/tenants/globex/orders/7").allowed
        assert not decide(snapshot, CAROL, "GET", "/tenants/acme/orders/7").allowed


def _doc_example(title: str) -> bytes:
    text = (ROOT / "docs" / "policies.md").read_text()
    start = text.index(title)
    block = text.index("```yaml\n", start) + len("```yaml\n")
    return text[block : text.index("```", block)].encode()


@pytest.mark.parametrize("title", ["**In YAML rules only:**", "**In Cedar only:**"])
def test_the_worked_examples_in_the_docs_give_the_documented_outcomes(title):
    from tests.unit.policy.test_engine import decide

    snapshot = compile_bundle(_doc_example(title), TABLE)
    assert decide(snapshot, BOB, "GET", "/tenants/acme/orders").allowed
    assert not decide(snapshot, BOB, "GET", "/tenants/globex/orders").allowed
    assert not decide(snapshot, BOB, "POST", "/tenants/acme/orders").allowed
    assert decide(snapshot, ALICE, "POST", "/tenants/acme/orders").allowed
    assert decide(snapshot, ALICE, "DELETE", "/tenants/acme/orders/7").allowed
    assert not decide(snapshot, ALICE, "GET", "/tenants/globex/orders").allowed
    assert decide(snapshot, CAROL, "GET", "/tenants/globex/orders/7").allowed
    assert not decide(snapshot, CAROL, "GET", "/tenants/acme/orders/7").allowed
