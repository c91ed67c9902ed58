"""The policy bundle: document shape, YAML rules, and what they compile to."""

from __future__ import annotations

import contextlib

import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import example, given, settings
from hypothesis import strategies as st

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
        ("version: 1\nrules: [{id: a, routes: ['*'], match_path: {tenant: x}}]", "one of tenants"),
        ("version: 1\nrules: [{id: a, routes: ['*'], match_path: {id: id}}]", "no parameter"),
        ("version: 1\nrules: [{id: a, routes: ['*']}, {id: a, routes: ['*']}]", "share one"),
        ("version: 1\ncedar: 'x'\n  bad: [", "not valid YAML"),
        ("version: true\ncedar: x", "'version' must be 1"),
        ("version: 1.0\ncedar: x", "'version' must be 1"),
        ("version: 1\n3: x\ncedar: x", "every key must be a string"),
        ("version: 1\nrules: [{id: a, routes: [3]}]", "each of 'routes' must be a string"),
        ("version: 1\nrules: [{id: a, routes: ['*'], description: [x]}]", "'description'"),
    ],
)
def test_malformed_bundles_are_refused(text, problem):
    with pytest.raises(BundleError, match=problem):
        parse(text)


@pytest.mark.parametrize(
    ("match_path", "problem"),
    [
        (
            "{tenant: [tenants]}",
            "'match_path.tenant' must be one of tenants, groups or id, not a list",
        ),
        ("{tenant: {a: b}}", "'match_path.tenant' must be one of .* not a mapping"),
        ("{tenant: tenants, 3: id}", "keys are path parameter names .*found a number"),
        ("{true: tenants}", "keys are path parameter names .*found a boolean"),
        ("{null: tenants}", "keys are path parameter names .*found a null"),
    ],
)
def test_mistyped_match_path_is_a_bundle_error_naming_the_key(match_path, problem):
    """Availability attack/accident: a mistyped bundle used to raise TypeError (unhashable
    list, mixed key types), which skipped last-known-good and the reload metric and, at cold
    start, broke the function for good. It must be a BundleError that says where."""
    text = f"version: 1\nrules: [{{id: r, routes: ['{LIST}'], match_path: {match_path}}}]\n"
    with pytest.raises(BundleError, match=problem):
        parse(text)


def test_the_reviewed_broken_bundle_is_a_bundle_error():
    data = (ROOT / "policies" / "demo.yaml").read_bytes()
    broken = data.replace(b"match_path: {tenant: tenants}", b"match_path: {tenant: [tenants]}")
    assert broken != data
    with pytest.raises(BundleError, match=r"rule 'readers-read-own-tenant': 'match_path\.tenant'"):
        compile_bundle(broken, TABLE)


_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["tenants", "id", "tenant", LIST, "*", "allow", "deny", "a", 'x"y']),
)
_KEYS = st.one_of(
    st.sampled_from(["tenant", "id", "routes", "match_path", "effect", "groups", "version"]),
    st.integers(0, 2),
    st.booleans(),
)
_ANY = st.recursive(
    _LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=10,
)
_RULE = st.fixed_dictionaries(
    {"id": st.one_of(st.just("r1"), _LEAF)},
    optional={
        key: st.one_of(st.just(good), _ANY)
        for key, good in {
            "effect": "deny",
            "routes": [LIST],
            "groups": ["readers"],
            "scopes": ["s"],
            "tenants": ["acme"],
            "match_path": {"tenant": "tenants"},
            "description": "d",
        }.items()
    },
)
_DOCUMENT = st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), _LEAF)},
    optional={
        "rules": st.one_of(st.lists(_RULE, max_size=2), _ANY),
        "cedar": st.one_of(st.just("permit (principal, action, resource);"), _ANY),
        "principal": st.one_of(st.just({"tenant_group_prefix": "t-"}), _ANY),
    },
)


@settings(max_examples=300, deadline=None)
@given(document=_DOCUMENT)
@example(document={"version": 1, "rules": [{"id": "r", "routes": [LIST], "match_path": {1: "id"}}]})
def test_property_any_document_compiles_or_is_a_bundle_error(document):
    """Whatever YAML an operator (or an attacker with write access to the source) pushes, the
    only failure is a BundleError: never a TypeError that escapes last-known-good."""
    with contextlib.suppress(BundleError):
        compile_bundle(yaml.safe_dump(document).encode(), TABLE)


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
