"""Checklist §6 step 10: gateway responses and their customizations."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.emulator.responses import CustomResponse
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


def test_the_login_redirect_answers_every_route_as_api_gateway_does():
    # UNAUTHORIZED is one gateway response per API: the emulator must not show a per-route
    # 302 that a deployed API would give every machine client too.
    login = "https://auth.example.com/login?client_id=abc&response_type=code"
    harness = Harness(login_url=login, challenge="Bearer")
    for path in ("/profile", "/admin/reports"):
        response = harness.request(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(login + "&redirect_uri=http")
        assert "WWW-Authenticate" not in response.headers


def _unauthorized(event: dict[str, Any]) -> object:
    raise Exception("Unauthorized")  # how a Lambda authorizer asks for a 401


def test_every_401_carries_the_challenge():
    harness = Harness(challenge='Bearer, DPoP algs="ES256"')
    skipped = harness.request("/profile")  # no token: refused before the authorizer runs
    refused = Harness(challenge="Bearer", handlers={"tok": _unauthorized}).request(
        "/profile", headers={"Authorization": TOKEN}
    )
    assert skipped.status_code == refused.status_code == 401
    assert skipped.headers["WWW-Authenticate"] == 'Bearer, DPoP algs="ES256"'
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert "WWW-Authenticate" not in Harness().request("/profile").headers


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


# --- a template's own AWS::ApiGateway::GatewayResponse customizations ---------------------------

CORS = CustomResponse(
    headers=(("Access-Control-Allow-Origin", "'http://localhost:3000'"), ("Vary", "'Origin'"))
)


def test_default_4xx_applies_to_every_4xx_without_its_own_customization():
    harness = Harness(gateway_responses={"DEFAULT_4XX": CORS})
    for path, status in (("/profile", 401), ("/nowhere", 403)):
        response = harness.request(path)
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert response.headers["Vary"] == "Origin"


def test_a_types_own_customization_wins_over_the_default():
    own = CustomResponse(status_code=302, headers=(("Location", "'https://login.test/'"),))
    harness = Harness(gateway_responses={"DEFAULT_4XX": CORS, "UNAUTHORIZED": own})
    response = harness.request("/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://login.test/"
    assert "Access-Control-Allow-Origin" not in response.headers  # only its own, not DEFAULT_4XX


def test_default_5xx_applies_to_an_authorizer_failure_and_not_to_4xx():
    def broken(event: dict[str, object]) -> dict[str, object]:
        raise RuntimeError("boom")

    harness = Harness(
        gateway_responses={"DEFAULT_5XX": CustomResponse(headers=(("X-Fault", "'yes'"),))},
        handlers={"tok": broken},
    )
    failed = harness.request("/profile", headers={"Authorization": TOKEN})
    assert failed.status_code == 500
    assert failed.headers["X-Fault"] == "yes"
    assert "X-Fault" not in harness.request("/profile").headers  # the 401


def test_a_template_reads_the_error_message_request_values_and_the_deny_context():
    template = (
        '{"error": $context.error.messageString, "type": "$context.error.responseType", '
        '"reason": "$context.authorizer.reason", "unknown": "$context.nothing"}'
    )
    custom = CustomResponse(
        headers=(("X-Request", "method.request.header.X-Trace"),), template=template
    )
    deny = policy("Deny", context={"reason": "a&b <raw>"})
    harness = Harness(gateway_responses={"ACCESS_DENIED": custom}, handlers={"tok": lambda e: deny})
    response = harness.request("/profile", headers={"Authorization": TOKEN, "X-Trace": "t-1"})
    assert response.status_code == 403
    assert response.headers["X-Request"] == "t-1"
    assert body(response) == {
        "error": "User is not authorized to access this resource with an explicit deny",
        "type": "ACCESS_DENIED",
        "reason": "a&b <raw>",  # substituted as raw text, as API Gateway does
        "unknown": "",
    }


def test_a_request_value_cannot_split_the_response_into_two_headers():
    # The attack: CR LF in a query string copied into a header sets a header of the caller's.
    custom = CustomResponse(headers=(("X-Q", "method.request.querystring.q"),))
    harness = Harness(gateway_responses={"DEFAULT_4XX": custom})
    response = harness.request("/profile", query="q=a%0d%0aSet-Cookie:%20s=1")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Q"] == "aSet-Cookie: s=1"


def test_a_header_value_api_gateway_would_refuse_is_refused():
    with pytest.raises(ValueError, match="neither a quoted literal nor a request value"):
        CustomResponse(headers=(("X", "unquoted"),))
    with pytest.raises(ValueError, match="not an HTTP status"):
        CustomResponse(status_code=101)  # a 1xx final answer breaks the exchange
    with pytest.raises(ValueError, match="is not a token"):
        CustomResponse(headers=(("Bad Name:", "'x'"),))
