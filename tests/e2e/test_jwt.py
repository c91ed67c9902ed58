"""JWT authorizer through the running gateway: Cognito (moto) access tokens, TOKEN authorizer."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]


def test_open_route_needs_no_credentials(local):
    assert local.call("GET", "/health").status == 200


def test_valid_token_is_allowed_and_claims_reach_the_backend(local):
    answer = local.call("GET", "/profile", local.bearer("bob"))
    assert answer.status == 200
    assert answer.body["route"] == "GET /profile"
    assert answer.body["authorizer"]["groups"] == "readers,tenant-acme"
    assert answer.body["authorizer"]["token_use"] == "access"
    assert answer.body["principalId"]  # the token's sub


def test_missing_token_is_401_without_invoking_the_authorizer(local):
    answer = local.call("GET", "/profile")
    assert answer.status == 401
    assert answer.body == {"message": "Unauthorized"}
    assert answer.header("x-gatehouse-authorizer") == "jwt; cache=skipped"


def test_token_failing_the_validation_regex_is_401(local):
    answer = local.call("GET", "/profile", {"Authorization": "Token abc"})
    assert answer.status == 401
    assert answer.header("x-gatehouse-authorizer") == "jwt; cache=skipped"


def test_garbled_token_is_401_from_the_authorizer(local):
    answer = local.call("GET", "/profile", {"Authorization": "Bearer not.a.jwt"})
    assert answer.status == 401
    assert answer.header("x-gatehouse-authorizer") == "jwt; cache=miss"


def test_tampered_signature_is_401(local):
    token = local.token("carol")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert local.call("GET", "/profile", {"Authorization": f"Bearer {tampered}"}).status == 401


def test_admins_only_route(local):
    assert local.call("GET", "/admin/reports", local.bearer("alice")).status == 200
    denied = local.call("GET", "/admin/reports", local.bearer("carol"))
    assert denied.status == 403
    assert denied.body["Message"].startswith("User is not authorized to access this resource")


def test_cors_headers_on_the_401_for_the_stage_origin(local):
    answer = local.call("GET", "/profile", {"Origin": "http://localhost:3000"})
    assert answer.status == 401
    assert answer.header("Access-Control-Allow-Origin") == "http://localhost:3000"
