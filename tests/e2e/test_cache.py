"""Authorizer result caching across routes, observed through the running gateway.

Each test signs in again (moto's Cognito) for a token no other test used: a fresh cache key.
"""

from __future__ import annotations

import boto3
import pytest

from gatehouse.localmode.seed import DEMO_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]


def _fresh_token(local, user: str) -> str:
    cognito = boto3.client(
        "cognito-idp",
        region_name=local.info["region"],
        endpoint_url=local.info["moto"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    auth = cognito.initiate_auth(
        ClientId=local.info["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": DEMO_PASSWORD},
    )
    return str(auth["AuthenticationResult"]["AccessToken"])


def _cache(answer) -> str:
    return answer.header("x-gatehouse-authorizer")


def test_one_invoke_serves_every_route_of_the_authorizer(local):
    headers = {"Authorization": f"Bearer {_fresh_token(local, 'bob')}"}
    first = local.call("GET", "/profile", headers)
    denied = local.call("GET", "/admin/reports", headers)
    again = local.call("GET", "/profile", headers)
    assert (first.status, _cache(first)) == (200, "jwt; cache=miss")
    # The policy cached for bob's token denies the admin route: 403 without an invoke.
    assert (denied.status, _cache(denied)) == (403, "jwt; cache=hit")
    assert (again.status, _cache(again)) == (200, "jwt; cache=hit")


def test_policy_authorizer_answer_is_cached_and_right_on_other_routes(local):
    if not local.policy_available:
        pytest.skip("the policy authorizer did not start; see its e2e tests (fail closed)")
    headers = {"Authorization": f"Bearer {_fresh_token(local, 'alice')}"}
    statuses = [
        local.call("GET", "/tenants/acme/orders", headers),
        local.call("DELETE", "/tenants/acme/orders/9", headers),
        local.call("GET", "/tenants/globex/orders", headers),
    ]
    assert [a.status for a in statuses] == [200, 200, 403]
    assert [_cache(a) for a in statuses] == [
        "policy; cache=miss",
        "policy; cache=hit",
        "policy; cache=hit",
    ]


def test_the_same_token_on_another_authorizer_is_another_cache_entry(local):
    headers = {"Authorization": f"Bearer {_fresh_token(local, 'carol')}"}
    assert _cache(local.call("GET", "/profile", headers)) == "jwt; cache=miss"
    assert _cache(local.call("GET", "/tenants/globex/orders", headers)).endswith("cache=miss")


def test_mtls_authorizer_is_not_cached(local):
    cert = tuple(local.info["pki"]["device"])
    first = local.call("GET", "/devices/device-1/telemetry", tls=True, cert=cert)
    second = local.call("GET", "/devices/device-1/telemetry", tls=True, cert=cert)
    assert (_cache(first), _cache(second)) == ("mtls; cache=miss", "mtls; cache=miss")
