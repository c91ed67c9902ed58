"""A key record + a request -> a Decision: status, expiry, scopes per route, usage key."""

from __future__ import annotations

import pytest

from authorizers.api_key.decide import ScopeRule, build_context, decide
from authorizers.api_key.keys import Environment, generate
from authorizers.core.decision import Effect, render_policy
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.core.iam_match import PolicyOutcome, evaluate_policy
from authorizers.core.request import normalize
from authorizers.core.routes import Match, RouteTemplate
from tests.conftest import load_event
from tests.unit.api_key.fixtures import USAGE_KEY, record_for

NOW = 1_750_000_000.0
RULES = (
    ScopeRule(RouteTemplate.parse("GET /pets/{petId}"), scopes=frozenset({"pets:read"})),
    ScopeRule(
        RouteTemplate.parse("POST /pets"),
        scopes=frozenset({"pets:write", "pets:admin"}),
        match=Match.ANY,
    ),
    ScopeRule(RouteTemplate.parse("GET /health")),
)


def record(**overrides):
    return record_for(generate(Environment.LIVE), **overrides)


def request_for(method: str, path: str, resource: str):
    event = load_event("rest_request")
    event["methodArn"] = event["methodArn"].replace("/GET/pets/42", f"/{method}{path}")
    event["resource"] = resource
    return normalize(event)


def run(rec, request, rules=RULES, unmatched_allowed=False):
    return decide(rec, request, now=NOW, rules=rules, unmatched_allowed=unmatched_allowed)


def test_no_rules_allows_the_whole_stage_with_the_usage_key():
    request = normalize(load_event("rest_request"))
    decision = run(record(), request, rules=())
    assert decision.effect is Effect.ALLOW
    assert decision.principal_id == "tenant-acme"
    assert decision.resources.allow == (request.arn.all_routes(),)
    assert decision.usage_identifier_key == USAGE_KEY
    assert decision.cache_safe


def test_websocket_connect_ignores_route_rules():
    request = normalize(load_event("websocket_connect"))
    assert run(record(scopes=frozenset()), request).effect is Effect.ALLOW


@pytest.mark.parametrize("status", ["revoked", "suspended", "ACTIVE"])
def test_a_key_that_is_not_active_is_revoked(status):
    with pytest.raises(AuthenticationError) as caught:
        run(record(status=status), normalize(load_event("rest_request")))
    assert caught.value.reason is Reason.REVOKED


def test_expiry_is_exact_and_checked_against_now():
    request = normalize(load_event("rest_request"))
    assert run(record(expires_at=int(NOW) + 1), request, rules=()).effect is Effect.ALLOW
    with pytest.raises(AuthenticationError) as caught:
        run(record(expires_at=int(NOW)), request, rules=())
    assert caught.value.reason is Reason.EXPIRED


def test_revocation_wins_over_expiry():
    with pytest.raises(AuthenticationError) as caught:
        run(record(status="revoked", expires_at=1), normalize(load_event("rest_request")))
    assert caught.value.reason is Reason.REVOKED


def test_a_route_needing_a_scope_the_key_lacks_is_denied_with_reason_and_usage_key():
    request = request_for("GET", "/pets/42", "/pets/{petId}")
    decision = run(record(scopes=frozenset({"orders:read"})), request)
    assert decision.effect is Effect.DENY
    assert decision.reason is Reason.INSUFFICIENT_SCOPE
    # A cached replay for an allowed route still needs the key for the usage plan.
    assert decision.usage_identifier_key == USAGE_KEY


def test_rules_allow_exactly_the_permitted_routes_for_every_cached_replay():
    # GIVEN a key with pets:read only
    request = request_for("GET", "/pets/42", "/pets/{petId}")
    decision = run(record(scopes=frozenset({"pets:read"})), request)
    assert decision.effect is Effect.ALLOW and decision.cache_safe
    # THEN the same cached policy answers correctly on every other route of the table
    policy = render_policy(decision.resources)
    base = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"
    expected = {
        "GET/pets/7": PolicyOutcome.ALLOW,
        "GET/health": PolicyOutcome.ALLOW,  # a rule with no scopes: any valid key
    }
    for path, outcome in expected.items():
        assert evaluate_policy(policy, f"{base}/{path}") is outcome
    assert evaluate_policy(policy, f"{base}/POST/pets") is not PolicyOutcome.ALLOW


def test_any_of_scopes():
    request = request_for("POST", "/pets", "/pets")
    assert run(record(scopes=frozenset({"pets:admin"})), request).effect is Effect.ALLOW
    denied = run(record(scopes=frozenset({"pets:read"})), request)
    assert denied.reason is Reason.INSUFFICIENT_SCOPE


def test_a_route_no_rule_names_is_denied_unless_unmatched_is_allowed():
    request = request_for("GET", "/orders", "/orders")
    denied = run(record(), request)
    assert (denied.effect, denied.reason) == (Effect.DENY, Reason.UNKNOWN_ROUTE)
    assert run(record(), request, unmatched_allowed=True).effect is Effect.ALLOW


def test_context_is_flat_and_never_holds_secrets():
    rec = record(scopes=frozenset({"b", "a"}))
    context = build_context(rec)
    assert context == {
        "tenant": "tenant-acme",
        "key_id": rec.key_id,
        "scope": "a b",
        "usage_plan": "gold",
    }
    assert USAGE_KEY not in context.values() and rec.key_hash not in context.values()


def test_context_leaves_out_what_the_record_lacks():
    rec = record(scopes=frozenset(), usage_plan=None)
    assert set(build_context(rec)) == {"tenant", "key_id"}
