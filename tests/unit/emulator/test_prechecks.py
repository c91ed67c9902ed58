"""Checklist §6 step 2: pre-checks answered by the gateway without invoking the authorizer."""

from __future__ import annotations

import pytest

from tests.unit.emulator.harness import PREFIX, TOKEN, Harness, body, cache_state


def test_unknown_route_is_missing_authentication_token():
    harness = Harness()
    response = harness.request("/nope")
    assert response.status_code == 403
    assert body(response) == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_known_path_with_another_method_is_missing_authentication_token():
    response = Harness().request("/profile", method="DELETE", headers={"Authorization": TOKEN})
    assert response.status_code == 403
    assert body(response) == {"message": "Missing Authentication Token"}


def test_resource_policy_explicit_deny_is_403_before_the_authorizer():
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": f"{PREFIX}/GET/profile"}
        ],
    }
    harness = Harness(resource_policy=deny)
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 403
    assert "User: anonymous is not authorized" in body(response)["Message"]
    assert harness.calls("tok") == 0


def test_method_arn_over_1600_bytes_is_414():
    harness = Harness()
    response = harness.request("/files/" + "a" * 1600)
    assert response.status_code == 414
    assert harness.calls("nocache") == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}], ids=["missing", "empty"])
def test_token_source_missing_or_empty_is_401_without_invoke(headers):
    harness = Harness()
    response = harness.request("/profile", headers=headers)
    assert response.status_code == 401
    assert body(response) == {"message": "Unauthorized"}
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert harness.calls("tok") == 0
    assert cache_state(response) == "skipped"


def test_token_failing_the_validation_regex_is_401_without_invoke():
    harness = Harness()
    response = harness.request("/profile", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.status_code == 401
    assert harness.calls("tok") == 0


def test_validation_regex_search_or_fullmatch_is_a_flag():
    # An unanchored pattern: search semantics accept a prefix match, fullmatch does not.
    from gatehouse.emulator.config import AuthorizerSpec, IdentitySource
    from tests.unit.emulator.harness import AUTHORIZERS

    loose = AuthorizerSpec(
        "tok", "TOKEN", (IdentitySource("header", "Authorization"),), 0, "Bearer"
    )
    search = Harness(authorizers={**AUTHORIZERS, "tok": loose})
    full = Harness(authorizers={**AUTHORIZERS, "tok": loose}, regex_fullmatch=True)
    assert search.request("/profile", headers={"Authorization": TOKEN}).status_code == 200
    assert full.request("/profile", headers={"Authorization": TOKEN}).status_code == 401


def test_request_authorizer_with_caching_needs_every_identity_source():
    harness = Harness()
    response = harness.request("/pets/1", headers={"X-Token": "t"})  # no ?tenant=
    assert response.status_code == 401
    assert harness.calls("req") == 0


def test_request_authorizer_without_caching_is_invoked_without_identity_sources():
    harness = Harness(handlers={"nocache": lambda e: _raise_unauthorized()})
    response = harness.request("/files/a")
    assert response.status_code == 401
    assert harness.calls("nocache") == 1


def test_open_route_never_invokes_an_authorizer():
    harness = Harness()
    assert harness.request("/health").status_code == 200
    assert all(harness.calls(name) == 0 for name in harness.functions)


def _raise_unauthorized() -> object:
    raise Exception("Unauthorized")
