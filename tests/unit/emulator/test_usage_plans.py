"""Checklist §6 step 8: apiKeySource AUTHORIZER, usage plan membership, throttle and quota."""

from __future__ import annotations

import boto3
from moto import mock_aws

from authorizers.core.clock import ManualClock
from gatehouse.emulator.usage import ApiGatewayPlans, Meter, Plan, PlanKey, Verdict
from tests.unit.emulator.harness import Harness, body, policy

KEY = {"x-api-key": "client-key"}


def _with_usage_key(value: str | None):
    return {"key": lambda e: policy(usage_key=value)}


def test_known_usage_key_passes_and_reaches_the_backend():
    harness = Harness(handlers=_with_usage_key("usage-key-acme"))
    response = harness.request("/reports", headers=KEY)
    assert response.status_code == 200
    identity = harness.backend_events[0]["requestContext"]["identity"]
    assert identity["apiKeyId"] == "k-acme"


def test_no_usage_identifier_key_is_403_forbidden():
    harness = Harness(handlers=_with_usage_key(None))
    response = harness.request("/reports", headers=KEY)
    assert response.status_code == 403
    assert body(response) == {"message": "Forbidden"}
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_usage_key_in_no_plan_of_the_stage_is_403():
    response = Harness(handlers=_with_usage_key("not-in-a-plan")).request("/reports", headers=KEY)
    assert response.status_code == 403
    assert body(response) == {"message": "Forbidden"}


def test_disabled_usage_key_is_403():
    response = Harness(handlers=_with_usage_key("usage-key-off")).request("/reports", headers=KEY)
    assert response.status_code == 403


def test_burst_then_429_too_many_requests_then_refill():
    # plan: rate 1/s, burst 3
    harness = Harness(handlers=_with_usage_key("usage-key-acme"))
    statuses = [harness.request("/reports", headers=KEY).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = harness.request("/reports", headers=KEY)
    assert body(throttled) == {"message": "Too Many Requests"}
    assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    harness.clock.advance(1.0)
    assert harness.request("/reports", headers=KEY).status_code == 200


def test_quota_exceeded_is_429_limit_exceeded_until_the_next_period():
    meter = Meter(ManualClock(0.0))
    key = PlanKey("k", Plan(id="p", name="tiny", quota_limit=2, quota_period="DAY"))
    assert [meter.take(key) for _ in range(3)] == [Verdict.OK, Verdict.OK, Verdict.QUOTA_EXCEEDED]


def test_quota_response_body():
    from gatehouse.emulator.responses import GatewayResponse, gateway_response

    answer = gateway_response(GatewayResponse.QUOTA_EXCEEDED)
    assert (answer.status, answer.body) == (429, b'{"message": "Limit Exceeded"}')


def test_api_key_required_route_denied_by_the_authorizer_is_403_first():
    # Authorization happens before metering: a Deny never spends the plan's tokens.
    harness = Harness(handlers={"key": lambda e: policy("Deny", usage_key="usage-key-acme")})
    for _ in range(5):
        assert harness.request("/reports", headers=KEY).status_code == 403


def test_plans_and_keys_are_read_from_api_gateway():
    with mock_aws():
        client = boto3.client("apigateway", region_name="eu-west-1")
        api = client.create_rest_api(name="demo", apiKeySource="AUTHORIZER")["id"]
        plan = client.create_usage_plan(
            name="basic",
            apiStages=[{"apiId": api, "stage": "dev"}],
            throttle={"rateLimit": 5.0, "burstLimit": 10},
            quota={"limit": 1000, "period": "DAY"},
        )["id"]
        other = client.create_usage_plan(name="other", apiStages=[{"apiId": api, "stage": "prod"}])
        key = client.create_api_key(name="tenant-a", enabled=True)
        stray = client.create_api_key(name="tenant-b", enabled=True)
        client.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
        client.create_usage_plan_key(usagePlanId=other["id"], keyId=stray["id"], keyType="API_KEY")
        plans = ApiGatewayPlans(client, api_id=api, stage="dev")
        found = plans.find(key["value"])
        assert found is not None
        assert (found.key_id, found.plan.name) == (key["id"], "basic")
        assert (found.plan.rate_limit, found.plan.burst_limit, found.plan.quota_limit) == (
            5.0,
            10,
            1000,
        )
        assert plans.find(stray["value"]) is None  # in a plan of another stage


def test_stage_method_throttle_applies_to_every_caller_of_a_method():
    # GIVEN the stage's default method throttle: 1 request per second, burst 2
    harness = Harness(method_throttle=(1.0, 2))
    statuses = [harness.request("/health").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # another method has its own bucket; time refills
    assert harness.request("/profile", headers={"Authorization": "Bearer a.b.c"}).status_code == 200
    harness.clock.advance(1.0)
    assert harness.request("/health").status_code == 200


def test_a_method_throttle_replaces_the_stage_default_for_that_method_only():
    harness = Harness(method_throttle=(100.0, 100), method_throttles={"GET /health": (1.0, 1)})
    assert [harness.request("/health").status_code for _ in range(2)] == [200, 429]
    profile = [
        harness.request("/profile", headers={"Authorization": "Bearer a.b.c"}).status_code
        for _ in range(3)
    ]
    assert profile == [200, 200, 200]  # the stage default, burst 100
