"""Route rules -> cache-safe decisions."""

from __future__ import annotations

import pytest

from authorizers.core.decision import Effect, render_policy
from authorizers.core.exceptions import AccessDeniedError, Reason
from authorizers.core.iam_match import PolicyOutcome, evaluate_policy
from authorizers.core.request import normalize
from authorizers.core.routes import Match, RouteTemplate
from authorizers.jwt_bearer.claims import VerifiedToken
from authorizers.jwt_bearer.decide import build_context, decide
from authorizers.jwt_bearer.routes import RouteRule
from tests.conftest import load_event
from tests.unit.jwt_bearer.conftest import oidc_profile

RULES = (
    RouteRule(RouteTemplate.parse("GET /pets/{petId}"), scopes=frozenset({"pets:read"})),
    RouteRule(RouteTemplate.parse("DELETE /pets/{petId}"), groups=frozenset({"admins"})),
    RouteRule(
        RouteTemplate.parse("POST /pets"),
        scopes=frozenset({"pets:write", "pets:admin"}),
        scopes_match=Match.ANY,
    ),
)


def token(scopes=(), groups=(), **profile) -> VerifiedToken:
    claims = {"sub": "user-1", "iss": "https://idp.example.com", "client_id": "c1", "n": 3}
    return VerifiedToken(
        profile=oidc_profile(**profile),
        claims=claims,
        principal="user-1",
        scopes=frozenset(scopes),
        groups=frozenset(groups),
    )


def request_for(method: str, path: str, resource: str):
    event = load_event("rest_request")
    event["methodArn"] = event["methodArn"].replace("/GET/pets/42", f"/{method}{path}")
    event["resource"] = resource
    return normalize(event)


def test_no_rules_allows_the_whole_stage():
    request = normalize(load_event("rest_request"))
    decision = decide(token(), request, rules=(), unmatched_allowed=False, context_claims=["sub"])
    assert decision.effect is Effect.ALLOW
    assert decision.resources.allow == (request.arn.all_routes(),)


def test_rules_allow_exactly_the_satisfied_routes_for_every_cached_replay():
    request = request_for("GET", "/pets/42", "/pets/{petId}")
    decision = decide(
        token(scopes={"pets:read"}),
        request,
        rules=RULES,
        unmatched_allowed=False,
        context_claims=(),
    )
    assert decision.effect is Effect.ALLOW and decision.cache_safe
    policy = render_policy(decision.resources)
    base = request.arn.stage_prefix
    # The same cached policy, replayed for the other routes of this token:
    assert evaluate_policy(policy, f"{base}/GET/pets/7") is PolicyOutcome.ALLOW
    assert evaluate_policy(policy, f"{base}/DELETE/pets/7") is not PolicyOutcome.ALLOW
    assert evaluate_policy(policy, f"{base}/POST/pets") is not PolicyOutcome.ALLOW
    assert evaluate_policy(policy, f"{base}/GET/other") is not PolicyOutcome.ALLOW


@pytest.mark.parametrize(
    ("method", "path", "resource", "scopes", "groups", "reason"),
    [
        ("GET", "/pets/1", "/pets/{petId}", (), (), Reason.INSUFFICIENT_SCOPE),
        ("DELETE", "/pets/1", "/pets/{petId}", ("pets:read",), ("staff",), Reason.NOT_IN_GROUP),
        ("POST", "/pets", "/pets", ("pets:read",), (), Reason.INSUFFICIENT_SCOPE),
        ("GET", "/stores", "/stores", ("pets:read",), (), Reason.UNKNOWN_ROUTE),
    ],
)
def test_denies_carry_the_failed_requirement(method, path, resource, scopes, groups, reason):
    request = request_for(method, path, resource)
    decision = decide(
        token(scopes=scopes, groups=groups),
        request,
        rules=RULES,
        unmatched_allowed=False,
        context_claims=(),
    )
    assert decision.effect is Effect.DENY
    assert decision.reason is reason


def test_any_of_scopes_and_unmatched_allowed():
    post = request_for("POST", "/pets", "/pets")
    assert (
        decide(
            token(scopes={"pets:admin"}),
            post,
            rules=RULES,
            unmatched_allowed=False,
            context_claims=(),
        ).effect
        is Effect.ALLOW
    )
    other = request_for("GET", "/stores", "/stores")
    decision = decide(token(), other, rules=RULES, unmatched_allowed=True, context_claims=())
    assert decision.effect is Effect.ALLOW
    policy = render_policy(decision.resources)
    assert (
        evaluate_policy(policy, f"{other.arn.stage_prefix}/GET/pets/1") is not PolicyOutcome.ALLOW
    )


def test_issuer_wide_requirements_deny_every_route():
    request = normalize(load_event("rest_request"))
    with pytest.raises(AccessDeniedError) as caught:
        decide(
            token(scopes={"a"}, required_scopes=frozenset({"a", "b"})),
            request,
            rules=(),
            unmatched_allowed=False,
            context_claims=(),
        )
    assert (
        caught.value.reason is Reason.INSUFFICIENT_SCOPE and caught.value.principal_id == "user-1"
    )
    with pytest.raises(AccessDeniedError) as caught:
        decide(
            token(groups={"x"}, required_groups=frozenset({"admins", "ops"})),
            request,
            rules=(),
            unmatched_allowed=False,
            context_claims=(),
        )
    assert caught.value.reason is Reason.NOT_IN_GROUP


def test_websocket_connect_ignores_route_rules():
    request = normalize(load_event("websocket_connect"))
    decision = decide(token(), request, rules=RULES, unmatched_allowed=False, context_claims=())
    assert decision.effect is Effect.ALLOW


def test_context_is_the_allow_listed_claims_flattened():
    context = build_context(
        token(scopes={"b", "a"}, groups={"y", "x"}),
        ["sub", "scope", "groups", "client_id", "n", "missing", "cognito:username"],
    )
    assert context == {"sub": "user-1", "scope": "a b", "groups": "x,y", "client_id": "c1", "n": 3}
