"""Checklist §6 step 10: gateway responses and their customizations."""

from __future__ import annotations

from tests.unit.emulator.harness import TOKEN, Harness, body, policy

ORIGIN = "http://localhost:3000"


def test_401_carries_cors_headers_for_an_allowed_origin():
    harness = Harness(cors_allow_origins=(ORIGIN,))
    response = harness.request("/profile", headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_403_carries_cors_headers_and_other_origins_get_none():
    harness = Harness(cors_allow_origins=(ORIGIN,), handlers={"tok": lambda e: policy("Deny")})
    allowed = harness.request("/profile", headers={"Authorization": TOKEN, "Origin": ORIGIN})
    other = harness.request(
        "/profile", headers={"Authorization": TOKEN, "Origin": "https://x.test"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Origin" not in other.headers


def test_backend_answers_carry_cors_headers_too():
    harness = Harness(cors_allow_origins=(ORIGIN,))
    response = harness.request("/health", headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_preflight_is_answered_without_the_authorizer():
    harness = Harness(cors_allow_origins=(ORIGIN,))
    response = harness.request("/profile", method="OPTIONS", headers={"Origin": ORIGIN})
    assert response.status_code == 204
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert harness.calls("tok") == 0


def test_without_cors_no_headers_and_options_is_missing_authentication_token():
    harness = Harness()
    response = harness.request("/profile", method="OPTIONS", headers={"Origin": ORIGIN})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_unauthorized_on_a_browser_route_redirects_to_login_when_configured():
    login = "https://auth.example.com/login?client_id=abc&response_type=code"
    harness = Harness(login_url=login)
    response = harness.request("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(login + "&redirect_uri=http")
    # a non-browser route keeps its 401
    assert harness.request("/admin/reports").status_code == 401


def test_access_denied_template_substitutes_the_deny_context():
    template = '{"message": "$context.authorizer.reason", "who": "$context.authorizer.user"}'
    deny = policy("Deny", context={"reason": "NotInGroup", "user": 'a"b'})
    harness = Harness(access_denied_template=template, handlers={"tok": lambda e: deny})
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 403
    assert body(response) == {"message": "NotInGroup", "who": 'a"b'}


def test_error_responses_name_their_type():
    harness = Harness()
    assert harness.request("/profile").headers["x-amzn-ErrorType"] == "UnauthorizedException"
