"""Cedar policy authorizer through the gateway: the demo tenants, roles and users."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]

CASES = [
    ("bob", "GET", "/tenants/acme/orders", 200),
    ("bob", "GET", "/tenants/globex/orders", 403),
    ("bob", "POST", "/tenants/acme/orders", 403),
    ("alice", "POST", "/tenants/acme/orders", 200),
    ("alice", "DELETE", "/tenants/acme/orders/7", 200),
    ("carol", "GET", "/tenants/globex/orders/7", 200),
    ("carol", "GET", "/tenants/acme/orders/7", 403),
]


@pytest.mark.parametrize(("user", "method", "path", "expected"), CASES)
def test_policy_decides_by_tenant_and_role(local, user, method, path, expected):
    answer = local.call(method, path, local.bearer(user))
    # Until the policy authorizer starts, its routes fail closed (500).
    assert answer.status == (expected if local.policy_available else 500)


def test_no_token_is_401(local):
    assert local.call("GET", "/tenants/acme/orders").status == 401


def test_token_of_another_shape_is_401_before_the_authorizer(local):
    answer = local.call("GET", "/tenants/acme/orders", {"Authorization": "ApiKey x"})
    # REQUEST authorizer with caching: the identity source is present, so it is invoked.
    assert answer.status == 401


def test_routing_is_on_the_raw_path_over_a_real_socket(local):
    # An encoded slash is not a separator: the {tenant} route is matched (its cached REQUEST
    # authorizer's pre-check refuses the missing token: 401), instead of the decoded
    # /tenants/acme/../globex/orders that matches no route (403 Missing Authentication Token).
    answer = local.call("GET", "/tenants/acme%2F..%2Fglobex/orders")
    assert answer.status == 401
    assert answer.header("x-gatehouse-authorizer") == "policy; cache=skipped"


def test_an_encoded_traversal_reaches_the_authorizer_raw_and_is_refused(local):
    # bob (acme) names acme%2F..%2Fglobex: routed as one {tenant} segment, handed over raw;
    # the authorizer sees it (the header says it was consulted) and never grants globex.
    answer = local.call("GET", "/tenants/acme%2F..%2Fglobex/orders", local.bearer("bob"))
    assert answer.status == (403 if local.policy_available else 500)
    assert (answer.header("x-gatehouse-authorizer") or "").startswith("policy; cache=")
