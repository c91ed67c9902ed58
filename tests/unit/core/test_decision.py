"""Decisions for route-aware authorizers: effect, cache-safety, and the one-request fallback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from authorizers.core import responses
from authorizers.core.config import HttpResponseFormat
from authorizers.core.decision import Decision, Effect
from authorizers.core.exceptions import Reason
from authorizers.core.request import normalize
from authorizers.core.routes import PolicyResources, RouteTemplate
from tests.conftest import load_event


def templates(*texts):
    return [RouteTemplate.parse(t) for t in texts]


def test_allowed_route_gives_allow_and_a_cache_safe_policy():
    request = normalize(load_event("rest_request"))  # GET /pets/42 via /pets/{petId}
    table = templates("GET /pets/{petId}", "DELETE /pets/{petId}")
    decision = Decision.for_routes(
        request, "u", allowed=table[:1], table=table, denied_reason=Reason.INSUFFICIENT_SCOPE
    )
    assert decision.effect is Effect.ALLOW and decision.reason is None and decision.cache_safe


def test_route_not_allowed_gives_deny_with_the_reason_and_keeps_other_routes_allowed():
    request = normalize(load_event("rest_request"))
    table = templates("GET /pets/{petId}", "GET /stores")
    decision = Decision.for_routes(
        request,
        "u",
        allowed=templates("GET /stores"),
        table=table,
        denied_reason=Reason.INSUFFICIENT_SCOPE,
        usage_identifier_key="k" * 40,
    )
    assert decision.effect is Effect.DENY
    assert decision.reason is Reason.INSUFFICIENT_SCOPE
    assert decision.resources.allow == (request.arn.resource("GET", "/stores"),)
    # Kept on a deny: the cached response is replayed for GET /stores, which API Gateway then
    # meters against the caller's usage plan.
    assert decision.usage_identifier_key == "k" * 40


def test_nothing_allowed_is_a_deny_all():
    request = normalize(load_event("rest_request"))
    decision = Decision.for_routes(
        request,
        "u",
        allowed=(),
        table=templates("GET /pets/{petId}"),
        denied_reason=Reason.NOT_IN_GROUP,
    )
    assert decision.effect is Effect.DENY
    assert decision.resources.deny == (request.arn.all_routes(),)


def _ambiguous_table():
    return templates("GET /a/{x}", "GET /a/{x}/{z}", "GET /a/{x}/c")


def test_not_cache_safe_falls_back_to_this_request_only():
    event = load_event("rest_request")
    event["methodArn"] = event["methodArn"].replace("/GET/pets/42", "/GET/a/1")
    event["resource"] = "/a/{x}"
    request = normalize(event)
    table = _ambiguous_table()
    decision = Decision.for_routes(
        request, "u", allowed=[table[0], table[2]], table=table, denied_reason=Reason.POLICY_DENY
    )
    assert decision.cache_safe is False
    assert decision.effect is Effect.ALLOW
    assert decision.resources.allow == (request.arn.arn,)


def test_fallback_honours_any_templates_and_http_route_keys():
    event = load_event("http_v2")
    event["routeArn"] = event["routeArn"].replace("/GET/pets/42", "/GET/a/1/c")
    event["routeKey"] = "ANY /a/{x}/c"
    request = normalize(event)
    table = [*templates("GET /a/{x}", "GET /a/{x}/{z}"), RouteTemplate("ANY", "/a/{x}/c")]
    decision = Decision.for_routes(
        request, "u", allowed=[table[0], table[2]], table=table, denied_reason=Reason.POLICY_DENY
    )
    assert decision.cache_safe is False and decision.effect is Effect.ALLOW


def test_fallback_without_a_known_route_denies():
    event = load_event("http_v2")
    event["routeArn"] = event["routeArn"].replace("/GET/pets/42", "/GET/a/1")
    event["routeKey"] = "$default"
    request = normalize(event)
    table = _ambiguous_table()
    decision = Decision.for_routes(
        request, "u", allowed=[table[0], table[2]], table=table, denied_reason=Reason.UNKNOWN_ROUTE
    )
    assert decision.effect is Effect.DENY and decision.reason is Reason.UNKNOWN_ROUTE


def test_unlisted_route_reached_by_an_allowed_pattern_is_denied_here():
    # Found in review: with only "GET /orders/{id}" listed, the pattern GET/orders/* reaches the
    # unlisted GET /orders/1/refunds. The request is denied explicitly (not cache-safe).
    table = templates("GET /orders/{id}")
    for resource in ("/orders/{id}/refunds", None):
        event = load_event("rest_request")
        event["methodArn"] = event["methodArn"].replace("/GET/pets/42", "/GET/orders/1/refunds")
        event["resource"] = resource
        request = normalize(event)
        decision = Decision.for_routes(
            request, "u", allowed=table, table=table, denied_reason=Reason.UNKNOWN_ROUTE
        )
        assert decision.effect is Effect.DENY and decision.reason is Reason.UNKNOWN_ROUTE
        assert request.arn.arn in decision.resources.deny
        assert not decision.cache_safe


def test_token_events_find_their_route_by_path():
    event = load_event("rest_token")  # GET /pets/42, no resource in a TOKEN event
    request = normalize(event)
    table = templates("GET /pets/{petId}")
    decision = Decision.for_routes(
        request, "u", allowed=table, table=table, denied_reason=Reason.UNKNOWN_ROUTE
    )
    assert decision.effect is Effect.ALLOW and decision.cache_safe


def test_request_arn_too_long_for_a_policy_is_denied_without_naming_it():
    event = load_event("rest_request")
    long_path = "/orders/" + "x" * 600
    event["methodArn"] = event["methodArn"].replace("/GET/pets/42", "/GET" + long_path)
    event["resource"] = "/orders/{id}/unlisted"
    request = normalize(event)
    table = templates("GET /orders/{id}")
    decision = Decision.for_routes(
        request, "u", allowed=table, table=table, denied_reason=Reason.UNKNOWN_ROUTE
    )
    assert decision.effect is Effect.DENY
    assert decision.resources.deny == (request.arn.all_routes(),)


def test_verified_refuses_a_policy_that_contradicts_the_effect():
    # Attack: a stage-wide answer whose policy denies this request (or allows it) while the
    # decision says the opposite would be cached and replayed for every route.
    request = normalize(load_event("rest_request"))  # GET /pets/42
    elsewhere = PolicyResources(allow=(request.arn.resource("POST", "/other"),))
    here = PolicyResources(allow=(request.arn.resource("GET", "/pets/*"),))
    assert (
        Decision.verified(request, effect=Effect.ALLOW, principal_id="u", resources=elsewhere)
        is None
    )
    assert Decision.verified(request, effect=Effect.DENY, principal_id="u", resources=here) is None
    denied = Decision.verified(
        request,
        effect=Effect.DENY,
        principal_id="u",
        resources=elsewhere,
        reason=Reason.POLICY_DENY,
    )
    assert denied is not None and denied.reason is Reason.POLICY_DENY and denied.cache_safe


def test_a_verified_decision_is_not_evaluated_again_when_rendered(monkeypatch):
    request = normalize(load_event("rest_request"))
    here = PolicyResources(allow=(request.arn.resource("GET", "/pets/*"),))
    decision = Decision.verified(
        request, effect=Effect.ALLOW, principal_id="u", resources=here, context={"tenant": "acme"}
    )
    assert decision is not None and decision.consistent

    def refuse(*_args: object) -> None:
        raise AssertionError("evaluated twice")

    monkeypatch.setattr(responses, "evaluate_policy", refuse)
    response = responses.render(decision, request, HttpResponseFormat.IAM)
    assert response["context"] == {"tenant": "acme"}
    with pytest.raises(AssertionError, match="evaluated twice"):  # anything else still is
        responses.render(replace(decision, reason=None), request, HttpResponseFormat.IAM)


def test_a_new_context_keeps_a_checked_decision_checked_and_no_other():
    # The pipeline adds the deny reason to the context: that must not cost a second policy
    # evaluation, nor mark a decision built by hand as checked.
    request = normalize(load_event("rest_request"))
    denied = Decision.deny(request, Reason.POLICY_DENY).with_context({"reason": "PolicyDeny"})
    assert denied.consistent and dict(denied.context) == {"reason": "PolicyDeny"}
    by_hand = Decision(
        effect=Effect.ALLOW,
        principal_id="u",
        resources=PolicyResources(allow=(request.arn.resource("POST", "/other"),)),
    )
    assert not by_hand.with_context({"tenant": "acme"}).consistent
