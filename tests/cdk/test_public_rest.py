"""gatehouse.cdk.rest on a team's own REST API: access logs, gateway responses, usage plans."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from gatehouse.cdk.rest import (
    UsagePlanTier,
    access_log_format,
    add_gateway_responses,
    add_usage_plans,
)


def _api() -> tuple[cdk.Stack, apigw.RestApi]:
    stack = cdk.Stack(cdk.App(), "Team")
    group = logs.LogGroup(stack, "Access")
    api = apigw.RestApi(
        stack,
        "Api",
        deploy_options=apigw.StageOptions(
            access_log_destination=apigw.LogGroupLogDestination(group),
            access_log_format=access_log_format(),
        ),
    )
    api.root.add_method("GET", apigw.MockIntegration())
    return stack, api


def test_the_access_log_line_carries_the_authorizer_outcome() -> None:
    stack, _ = _api()
    (stage,) = Template.from_stack(stack).find_resources("AWS::ApiGateway::Stage").values()
    line = json.loads(stage["Properties"]["AccessLogSetting"]["Format"])
    assert line["authorizerStatus"] == "$context.authorizer.status"
    assert line["authorizerError"] == "$context.authorizer.error"
    assert line["apiKeyId"] == "$context.identity.apiKeyId"
    # Who called over mTLS and with what, and why a backend failed: never the PEM itself.
    assert line["clientCertSerial"] == "$context.identity.clientCert.serialNumber"
    assert line["clientCertNotAfter"] == "$context.identity.clientCert.validity.notAfter"
    assert line["userAgent"] == "$context.identity.userAgent"
    assert line["integrationError"] == "$context.integrationErrorMessage"
    assert "clientCert.clientCertPem" not in json.dumps(line)


def test_a_browser_sees_401_with_cors_headers_not_a_cors_error() -> None:
    stack, api = _api()
    added = add_gateway_responses(api, cors_allow_origins=["https://app.example.com"])
    assert len(added) == 4
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "UNAUTHORIZED",
            "ResponseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
                "gatewayresponse.header.Vary": "'Origin'",
                "gatewayresponse.header.Access-Control-Allow-Headers": (
                    "'Authorization,Content-Type,x-api-key'"
                ),
            },
        },
    )


def test_the_login_redirect_is_a_302_on_unauthorized_only() -> None:
    stack, api = _api()
    added = add_gateway_responses(api, login_url="https://login.example.com/")
    assert len(added) == 1
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "UNAUTHORIZED",
            "StatusCode": "302",
            "ResponseParameters": {
                "gatewayresponse.header.Location": "'https://login.example.com/'"
            },
        },
    )


def _unauthorized_headers(stack: cdk.Stack) -> dict[str, str]:
    responses = Template.from_stack(stack).find_resources("AWS::ApiGateway::GatewayResponse")
    (unauthorized,) = [
        r["Properties"]
        for r in responses.values()
        if r["Properties"]["ResponseType"] == "UNAUTHORIZED"
    ]
    assert "StatusCode" not in unauthorized  # still API Gateway's 401
    headers: dict[str, str] = unauthorized["ResponseParameters"]
    return headers


def test_every_401_carries_a_bearer_challenge_by_default() -> None:
    # RFC 9110 section 11.6.1: a 401 names how to authenticate.
    stack, api = _api()
    assert len(add_gateway_responses(api)) == 1  # UNAUTHORIZED only, without CORS
    assert _unauthorized_headers(stack) == {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"}


def test_the_challenge_can_name_dpop() -> None:
    stack, api = _api()
    add_gateway_responses(api, challenge='Bearer, DPoP algs="ES256"')
    headers = _unauthorized_headers(stack)
    assert headers["gatewayresponse.header.WWW-Authenticate"] == "'Bearer, DPoP algs=\"ES256\"'"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"challenge": "Bearer realm='x'"}, "challenge"),
        ({"challenge": "Bearer\r\nSet-Cookie: a=b"}, "challenge"),
        ({"challenge": " "}, "challenge"),
        ({"challenge": 'Bearer realm="\u2028"'}, "challenge"),
        ({"challenge": "Bearer", "login_url": "https://login.example.com/"}, "challenge"),
        ({"login_url": "https://login.example.com/'"}, "login_url"),
    ],
)
def test_a_header_value_that_would_break_out_of_its_quotes_is_refused(
    arguments: dict[str, str], field: str
) -> None:
    # Attack: a quote ends API Gateway's literal and a CR LF splits the response.
    _, api = _api()
    with pytest.raises(ValueError, match=f"^{field}: "):
        add_gateway_responses(api, **arguments)


def test_each_tier_is_a_usage_plan_on_the_stage() -> None:
    stack, api = _api()
    plans = add_usage_plans(api, [UsagePlanTier("basic", 5, 10, 1000, "WEEK")])
    assert set(plans) == {"basic"}
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "UsagePlanName": "basic",
            "Throttle": {"RateLimit": 5, "BurstLimit": 10},
            "Quota": {"Limit": 1000, "Period": "WEEK"},
        },
    )
