"""Checklist §6 step 7: the returned policy, evaluated against this request's methodArn."""

from __future__ import annotations

from tests.unit.emulator.harness import PREFIX, TOKEN, Harness, body, policy


def _two(allow: str, deny: str) -> dict:
    response = policy("Allow", allow)
    response["policyDocument"]["Statement"].append(
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": deny}
    )
    return response


def test_explicit_deny_is_403_with_the_explicit_message():
    harness = Harness(handlers={"tok": lambda e: policy("Deny")})
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 403
    assert body(response) == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_no_matching_allow_is_403_implicit():
    harness = Harness(handlers={"tok": lambda e: policy("Allow", f"{PREFIX}/POST/*")})
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 403
    assert body(response) == {"Message": "User is not authorized to access this resource"}


def test_deny_wins_over_allow():
    handler = lambda e: _two(f"{PREFIX}/*/*", f"{PREFIX}/GET/admin/*")  # noqa: E731
    harness = Harness(handlers={"tok": handler})
    assert harness.request("/profile", headers={"Authorization": TOKEN}).status_code == 200
    assert harness.request("/admin/reports", headers={"Authorization": TOKEN}).status_code == 403


def test_star_crosses_slashes_and_matching_is_anchored_and_case_sensitive():
    harness = Harness(handlers={"tok": lambda e: policy("Allow", f"{PREFIX}/GET/admin*")})
    assert harness.request("/admin/reports", headers={"Authorization": TOKEN}).status_code == 200
    assert harness.request("/profile", headers={"Authorization": TOKEN}).status_code == 403
    lower = Harness(handlers={"tok": lambda e: policy("Allow", f"{PREFIX}/get/*")})
    assert lower.request("/profile", headers={"Authorization": TOKEN}).status_code == 403


def test_other_stage_or_api_does_not_match():
    other = PREFIX.replace("/dev", "/prod")
    harness = Harness(handlers={"tok": lambda e: policy("Allow", f"{other}/*/*")})
    assert harness.request("/profile", headers={"Authorization": TOKEN}).status_code == 403
