"""The Orders API's JWT settings (orders_service/settings/jwt.json), through the authorizer."""

from __future__ import annotations

import fnmatch
import json
import time

import pytest
from authorizers.core.exceptions import Unauthorized

from orders_service import JWT_ROUTES, SETTINGS
from tests.conftest import API_ARN, token_event


def allows(response: dict, method: str, path: str) -> bool:
    """IAM's reading of the returned policy for one request (``*`` crosses ``/``; Deny wins)."""
    arn = f"{API_ARN}/{method}{path}"
    verdicts = {
        statement["Effect"]
        for statement in response["policyDocument"]["Statement"]
        for resource in statement["Resource"]
        if fnmatch.fnmatchcase(arn, resource)
    }
    return verdicts == {"Allow"}


def test_a_reader_may_read_but_not_write(cold_start, jwt_task_root, token):
    handler = cold_start("jwt_bearer", jwt_task_root)
    reader = token(scope="orders:read")
    assert allows(handler(token_event(reader, "GET", "/orders/7")), "GET", "/orders/7")
    denied = handler(token_event(reader, "POST", "/orders"))
    assert not allows(denied, "POST", "/orders")
    assert denied["context"]["reason"] == "InsufficientScope"


def test_a_cached_read_answer_never_opens_delete(cold_start, jwt_task_root, token):
    # API Gateway caches the answer per token: the GET answer must not allow DELETE.
    handler = cold_start("jwt_bearer", jwt_task_root)
    response = handler(token_event(token(scope="orders:read orders:write"), "GET", "/orders/7"))
    assert allows(response, "GET", "/orders/8")
    assert not allows(response, "DELETE", "/orders/7")  # order-admins only


@pytest.mark.parametrize(
    "claims",
    [{"aud": "another-api"}, {"exp": int(time.time()) - 3600}, {"iss": "https://evil.test/"}],
    ids=["another-audience", "expired", "another-issuer"],
)
def test_tokens_not_meant_for_this_api_are_401(cold_start, jwt_task_root, token, claims):
    handler = cold_start("jwt_bearer", jwt_task_root)
    with pytest.raises(Unauthorized):
        handler(token_event(token(scope="orders:read", **claims), "GET", "/orders"))


def test_every_route_of_the_api_has_a_rule():
    rules = json.loads((SETTINGS / "jwt.json").read_text())["GATEHOUSE_JWT_ROUTES"]
    assert sorted(rule["route"] for rule in rules) == sorted(JWT_ROUTES)
