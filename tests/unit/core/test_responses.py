"""Rendering decisions for every event kind, and the checks done before anything ships."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizers.core.config import HttpResponseFormat
from authorizers.core.decision import Decision, Effect
from authorizers.core.exceptions import Reason
from authorizers.core.request import normalize
from authorizers.core.responses import MAX_RESPONSE_BYTES, ResponseError, _bound, render
from authorizers.core.routes import PolicyResources, RouteTemplate
from tests.conftest import load_event

IAM = HttpResponseFormat.IAM
SIMPLE = HttpResponseFormat.SIMPLE


@pytest.mark.parametrize(
    ("name", "all_routes"),
    [
        ("rest_token", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*/*"),
        ("rest_request", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*/*"),
        ("http_v1", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/$default/*/*"),
        ("http_v2", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/$default/*/*"),
        ("websocket_connect", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*"),
    ],
)
def test_allow_all_renders_an_iam_policy_for_the_whole_stage(name, all_routes):
    request = normalize(load_event(name))
    decision = Decision.allow_all(request, "user-1", context={"sub": "user-1", "n": 2})
    response = render(decision, request, IAM)
    assert response == {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [all_routes]}
            ],
        },
        "context": {"sub": "user-1", "n": 2},
    }


def test_http_v2_simple_response_uses_a_real_boolean():
    request = normalize(load_event("http_v2"))
    allow = render(Decision.allow_all(request, "u", context={"sub": "u"}), request, SIMPLE)
    assert allow == {"isAuthorized": True, "context": {"sub": "u"}}
    deny = render(Decision.deny(request, Reason.POLICY_DENY), request, SIMPLE)
    assert deny["isAuthorized"] is False


def test_simple_format_applies_to_payload_2_0_only():
    request = normalize(load_event("http_v1"))
    response = render(Decision.allow_all(request, "u"), request, SIMPLE)
    assert "policyDocument" in response


def test_usage_identifier_key_is_returned_for_rest_only():
    for name, expected in [("rest_token", True), ("rest_request", True), ("http_v1", False)]:
        request = normalize(load_event(name))
        decision = Decision.allow_all(request, "tenant-1", usage_identifier_key="k" * 40)
        assert ("usageIdentifierKey" in render(decision, request, IAM)) is expected


def test_deny_renders_an_explicit_deny_for_the_stage():
    request = normalize(load_event("rest_request"))
    response = render(Decision.deny(request, Reason.POLICY_DENY), request, IAM)
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == [request.arn.all_routes()]
    assert response["principalId"] == "anonymous"


def test_partition_from_the_arn_is_kept():
    event = load_event("rest_request")
    event["methodArn"] = event["methodArn"].replace("arn:aws:", "arn:aws-us-gov:")
    request = normalize(event)
    response = render(Decision.allow_all(request, "u"), request, IAM)
    assert response["policyDocument"]["Statement"][0]["Resource"][0].startswith("arn:aws-us-gov:")


def test_root_path_request_is_rendered():
    event = load_event("rest_request")
    event["methodArn"] = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/"
    event["resource"] = "/"
    request = normalize(event)
    table = [RouteTemplate.parse("GET /")]
    decision = Decision.for_routes(
        request, "u", allowed=table, table=table, denied_reason=Reason.INSUFFICIENT_SCOPE
    )
    response = render(decision, request, IAM)
    assert response["policyDocument"]["Statement"][0]["Resource"] == [
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/"
    ]


def test_an_allow_whose_policy_would_deny_this_request_never_ships():
    # A bug upstream (allow decision, policy for other routes) must not become a silent 403
    # cached for every route, nor the reverse an allow.
    request = normalize(load_event("rest_request"))
    wrong = Decision(
        effect=Effect.ALLOW,
        principal_id="u",
        resources=PolicyResources(allow=(request.arn.resource("POST", "/other"),)),
    )
    with pytest.raises(ResponseError):
        render(wrong, request, IAM)
    reverse = replace(
        Decision.allow_all(request, "u"), effect=Effect.DENY, reason=Reason.POLICY_DENY
    )
    with pytest.raises(ResponseError):
        render(reverse, request, IAM)


def test_invalid_context_and_empty_principal_are_refused():
    request = normalize(load_event("rest_request"))
    nested = Decision.allow_all(request, "u", context={"claims": "x"})
    with pytest.raises(ResponseError):
        render(nested, request, IAM)
    with pytest.raises(ResponseError):
        render(Decision.allow_all(request, ""), request, IAM)


def test_response_size_is_capped():
    request = normalize(load_event("rest_request"))
    context = {f"k{i}": "x" * 1000 for i in range(8)}  # under the context cap
    with pytest.raises(ResponseError):
        render(Decision.allow_all(request, "u", context=context), request, IAM)
    assert MAX_RESPONSE_BYTES == 8192


# Long ASCII strings (with quotes, backslashes, control characters) take the counted branch.
_LONG_ASCII = st.text(st.characters(max_codepoint=127), min_size=33, max_size=80)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text() | _LONG_ASCII,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_the_size_bound_never_undercounts(value):
    # What it stops: an oversize response skipping the exact check because the cheap bound
    # said it fits (API Gateway would then answer 500 instead of a clean deny).
    try:
        exact = len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
    except ValueError:  # an int too long to print: the bound must send it to the exact check
        assert _bound(value) > MAX_RESPONSE_BYTES
        return
    assert _bound(value) >= exact


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=33))
def test_the_bound_of_a_long_printable_ascii_string_is_its_size(text):
    # Otherwise a policy of a few dozen resource ARNs is serialized on every request.
    assert _bound(text) == len(json.dumps(text))


def test_a_response_just_over_the_cap_is_refused_with_astral_characters():
    request = normalize(load_event("rest_request"))
    context = {"k": "\U0001f600" * 700}  # 700 characters, 8.4 KB once escaped
    with pytest.raises(ResponseError, match="bytes; the cap is 8192"):
        render(Decision.allow_all(request, "u", context=context), request, IAM)


def test_a_policy_api_gateway_would_reject_is_a_response_error():
    request = normalize(load_event("rest_request"))
    too_long = Decision(
        effect=Effect.DENY,
        principal_id="u",
        resources=PolicyResources(allow=(), deny=(request.arn.stage_prefix + "/" + "x" * 600,)),
        reason=Reason.POLICY_DENY,
    )
    with pytest.raises(ResponseError):
        render(too_long, request, IAM)
