"""API key authorizer + usage plans (apiKeySource AUTHORIZER) through the running gateway.

The throttling test is last in this module and lets the bucket refill afterwards.
"""

from __future__ import annotations

import time

import pytest

from authorizers.api_key.keys import Environment, generate

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]


def _key(local, tenant: str) -> dict[str, str]:
    return {"x-api-key": local.key(tenant)}


def test_key_with_the_scope_is_allowed_and_metered_on_its_plan(local):
    answer = local.call("GET", "/reports", _key(local, "acme"))
    assert answer.status == 200
    assert answer.body["principalId"] == "acme"
    assert answer.body["authorizer"]["usage_plan"] == "basic"
    assert answer.body["apiKeyId"]  # the tenant's API Gateway key, found in a plan of the stage


def test_key_without_the_scope_is_403(local):
    answer = local.call("POST", "/reports", _key(local, "acme"))
    assert answer.status == 403


def test_premium_key_with_write_scope(local):
    answer = local.call("POST", "/reports", _key(local, "globex"))
    assert answer.status == 200
    assert answer.body["authorizer"]["usage_plan"] == "premium"


def test_no_key_is_401_before_the_authorizer(local):
    answer = local.call("GET", "/reports")
    assert answer.status == 401
    assert answer.header("x-gatehouse-authorizer") == "apikey; cache=skipped"


def test_well_formed_unknown_key_is_401(local):
    unknown = generate(Environment.LIVE).secret
    assert local.call("GET", "/reports", {"x-api-key": unknown}).status == 401


def test_past_the_plans_burst_is_429_then_the_bucket_refills(local):
    statuses = [local.call("GET", "/reports", _key(local, "acme")).status for _ in range(30)]
    assert 429 in statuses
    assert statuses[0] == 200
    throttled = local.call("GET", "/reports", _key(local, "acme"))
    if throttled.status == 429:
        assert throttled.body == {"message": "Too Many Requests"}
    time.sleep(2.5)  # basic: 5 requests per second, burst 10
    assert local.call("GET", "/reports", _key(local, "acme")).status == 200
