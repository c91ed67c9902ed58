"""The public WebAcl and ApiMonitoring on a user's own stack (no cdk_app, no repository stage).

A minimal REST API (one mock method) and, separately, a minimal HTTP API (one route to a
function), protected with only ``gatehouse.cdk.waf`` and ``gatehouse.cdk.monitoring``.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration

from gatehouse.cdk.monitoring import ApiMonitoring, MonitoringOptions
from gatehouse.cdk.waf import MANAGED_RULE_GROUPS, WafOptions, WebAcl, waf_rules

pytestmark = pytest.mark.cdk


def _function(stack: cdk.Stack, id: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
    )


def _only(template: Template, type_: str) -> tuple[str, Mapping[str, Any]]:
    (item,) = template.find_resources(type_).items()
    return item


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmDescription"]: r["Properties"]
        for r in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


@pytest.fixture(scope="module")
def rest() -> Template:
    # GIVEN a user's REST API with one mock method and one authorizer function of theirs
    stack = cdk.Stack(cdk.App(), "Orders")
    api = apigw.RestApi(stack, "Api")
    api.root.add_resource("orders").add_method("GET", apigw.MockIntegration())
    authorizer = _function(stack, "OrdersAuthorizer")
    # WHEN it is protected with every default, the alarms naming the web ACL
    waf = WebAcl(stack, "Waf", stage=api.deployment_stage)
    ApiMonitoring(
        stack,
        "Monitoring",
        api=api,
        stage_name=api.deployment_stage.stage_name,
        functions={"orders": authorizer},
        kinds={"orders": "jwt"},
        web_acl_name=waf.metric_name,
        settings=MonitoringOptions(alarm_emails=("oncall@example.com",)),
    )
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def http() -> Template:
    # GIVEN a user's HTTP API with one route to a function, and a policy authorizer function
    stack = cdk.Stack(cdk.App(), "Catalog")
    api = apigwv2.HttpApi(stack, "Http")
    api.add_routes(
        path="/items",
        methods=[apigwv2.HttpMethod.GET],
        integration=HttpLambdaIntegration("Items", _function(stack, "Items")),
    )
    # WHEN it is monitored without a web ACL (WAF cannot protect an HTTP API)
    ApiMonitoring(
        stack,
        "Monitoring",
        http_api=api,
        stage_name="$default",
        functions={"policy": _function(stack, "PolicyAuthorizer")},
    )
    return Template.from_stack(stack)


# ------------------------------------------------------------------------------------- WebAcl


def test_web_acl_is_associated_with_the_rest_stage_arn(rest: Template) -> None:
    (api_id, _) = _only(rest, "AWS::ApiGateway::RestApi")
    (stage_id, _) = _only(rest, "AWS::ApiGateway::Stage")
    (acl_id, acl) = _only(rest, "AWS::WAFv2::WebACL")
    (_, association) = _only(rest, "AWS::WAFv2::WebACLAssociation")

    # THEN the association names exactly that stage's ARN and that web ACL
    assert association["Properties"] == {
        "ResourceArn": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":apigateway:",
                    {"Ref": "AWS::Region"},
                    "::/restapis/",
                    {"Ref": api_id},
                    "/stages/",
                    {"Ref": stage_id},
                ],
            ]
        },
        "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]},
    }
    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}


def test_web_acl_rate_rule_and_default_managed_groups(rest: Template) -> None:
    (_, acl) = _only(rest, "AWS::WAFv2::WebACL")
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}

    # THEN the rate rule blocks per IP at 2000 requests / 5 minutes, first
    assert rules["RateLimitPerIp"]["Priority"] == 0
    assert rules["RateLimitPerIp"]["Action"] == {"Block": {}}
    assert rules["RateLimitPerIp"]["Statement"] == {
        "RateBasedStatement": {"Limit": 2000, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}
    }
    # AND the default managed groups enforce; anonymous IP, admin protection and Bot Control
    # are off
    assert set(rules) == {
        "RateLimitPerIp",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
    }
    for group in set(rules) - {"RateLimitPerIp"}:
        assert rules[group]["OverrideAction"] == {"None": {}}
        assert rules[group]["Statement"] == {
            "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}
        }


def test_web_acl_logs_with_credential_headers_redacted_and_kept(rest: Template) -> None:
    (acl_id, acl) = _only(rest, "AWS::WAFv2::WebACL")
    (group_id, group) = _only(rest, "AWS::Logs::LogGroup")
    (_, logging) = _only(rest, "AWS::WAFv2::LoggingConfiguration")
    name = acl["Properties"]["Name"]

    assert re.fullmatch(r"[A-Za-z0-9]{1,100}", name)
    # The name ends in the stack's uuid: a group retained from a deleted stack does not block
    # creating the stack again.
    assert group["Properties"] == {
        "LogGroupName": {"Fn::Join": ["", [f"aws-waf-logs-{name}-", STACK_UUID]]},
        "RetentionInDays": 365,
    }
    assert group["DeletionPolicy"] == "Retain"
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert logging["Properties"]["RedactedFields"] == [
        {"SingleHeader": {"Name": "authorization"}},
        {"SingleHeader": {"Name": "x-api-key"}},
    ]
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    assert {"Ref": group_id} in destination["Fn::Join"][1]


def test_web_acl_redacts_the_headers_asked_for() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("GET", apigw.MockIntegration())
    WebAcl(
        stack,
        "Waf",
        stage=api.deployment_stage,
        name="orders",
        redacted_headers=("Authorization", "cookie"),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration",
        {
            "RedactedFields": [
                {"SingleHeader": {"Name": "authorization"}},
                {"SingleHeader": {"Name": "cookie"}},
            ]
        },
    )
    template.has_resource_properties("AWS::WAFv2::WebACL", {"Name": "orders"})


def test_web_acl_protects_an_imported_rest_stage() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    api = apigw.RestApi.from_rest_api_attributes(
        stack, "Api", rest_api_id="a1b2c3d4e5", root_resource_id="r00t", rest_api_name="orders"
    )
    stage = apigw.Stage.from_stage_attributes(stack, "Stage", rest_api=api, stage_name="live")
    WebAcl(stack, "Waf", stage=stage, name="orders")
    (_, association) = _only(Template.from_stack(stack), "AWS::WAFv2::WebACLAssociation")
    parts = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert parts[-1] == "::/restapis/a1b2c3d4e5/stages/live"


def test_web_acl_refuses_an_http_api_stage() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    api = apigwv2.HttpApi(stack, "Http")
    assert api.default_stage is not None
    with pytest.raises(TypeError, match="cannot be associated with an HTTP API"):
        WebAcl(stack, "Waf", stage=api.default_stage, name="x")  # type: ignore[arg-type]


STACK_UUID = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}


def test_waf_options_left_out_groups_keep_their_defaults() -> None:
    every = dict.fromkeys(("anonymous_ip", "admin_protection", "bot_control"), True)
    names = {r["name"] for r in waf_rules(WafOptions(managed_rules=every))}
    assert names == {"RateLimitPerIp", *MANAGED_RULE_GROUPS.values()}
    names = {r["name"] for r in waf_rules(WafOptions(managed_rules={"common": False}))}
    assert "AWSManagedRulesCommonRuleSet" not in names
    assert "AWSManagedRulesKnownBadInputsRuleSet" in names


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"managed_rules": {"comon": True}}, "unknown managed rule group"),
        ({"rate_limit": 9}, "rate_limit"),
        ({"rate_limit": 2_000_000_001}, "rate_limit"),
        ({"geo_block": ("kp",)}, "geo_block"),
        ({"count": ("comon",)}, r"unknown count \['comon'\]"),
        ({"count": ("admin_protection",)}, r"count: \['admin_protection'\] are not on"),
    ],
)
def test_waf_options_refuse_what_would_silently_weaken_the_acl(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WafOptions(**kwargs)


def test_a_counted_group_only_counts_and_bot_control_names_its_inspection_level() -> None:
    options = WafOptions(
        managed_rules={"admin_protection": True, "bot_control": True}, count=("admin_protection",)
    )
    rules = {r["name"]: r for r in waf_rules(options)}
    assert rules["AWSManagedRulesAdminProtectionRuleSet"]["overrideAction"] == {"count": {}}
    assert rules["AWSManagedRulesCommonRuleSet"]["overrideAction"] == {"none": {}}
    bot = rules["AWSManagedRulesBotControlRuleSet"]["statement"]["managedRuleGroupStatement"]
    assert bot["managedRuleGroupConfigs"] == [
        {"awsManagedRulesBotControlRuleSet": {"inspectionLevel": "COMMON"}}
    ]


def test_web_acl_refuses_a_name_waf_refuses() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("GET", apigw.MockIntegration())
    with pytest.raises(ValueError, match="WebAcl name"):
        WebAcl(stack, "Waf", stage=api.deployment_stage, name="orders api")


# ------------------------------------------------------------------------------ ApiMonitoring


def test_rest_api_alarms_watch_the_stage_by_api_name(rest: Template) -> None:
    (stage_id, _) = _only(rest, "AWS::ApiGateway::Stage")
    alarms = _alarms(rest)
    dimensions = [
        {"Name": "ApiName", "Value": "Api"},
        {"Name": "Stage", "Value": {"Ref": stage_id}},
    ]
    five = alarms["API 5XX responses per minute (authorizer or backend failing)"]
    assert (five["Namespace"], five["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert five["Dimensions"] == dimensions
    latency = alarms["API p99 latency in ms"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("Latency", "p99")
    assert latency["Dimensions"] == dimensions
    rate = alarms["API 4XX responses in % of requests (denials, bad requests, throttling)"]
    stats = {m["Id"]: m["MetricStat"] for m in rate["Metrics"] if "MetricStat" in m}
    assert stats["errors"]["Metric"]["MetricName"] == "4XXError"
    assert stats["requests"]["Metric"]["MetricName"] == "Count"
    assert stats["requests"]["Stat"] == "SampleCount"
    assert all(s["Metric"]["Dimensions"] == dimensions for s in stats.values())


def test_rest_monitoring_alarms_on_the_web_acl_and_the_labelled_function(rest: Template) -> None:
    (_, acl) = _only(rest, "AWS::WAFv2::WebACL")
    (topic_id, _) = _only(rest, "AWS::SNS::Topic")
    alarms = _alarms(rest)

    (waf,) = [a for a in alarms.values() if a.get("Namespace") == "AWS/WAFV2"]
    assert waf["MetricName"] == "BlockedRequests"
    assert {"Name": "WebACL", "Value": acl["Properties"]["Name"]} in waf["Dimensions"]
    # the label names the alarms, the kind picks the EMF Authorizer dimension
    deny = alarms["orders authorizer: Deny decisions per minute (403s)"]
    assert deny["Metrics"][0]["Expression"] == (
        'SELECT SUM("Deny") FROM SCHEMA("Gatehouse", Authorizer, Reason) WHERE Authorizer = \'jwt\''
    )
    assert "orders authorizer: 401s because the token issuer's JWKS is unreachable" in alarms
    # 3 Lambda + 3 decisions + issuer outage, 3 API, 1 WAF; all notify the topic
    assert len(alarms) == 3 + 3 + 1 + 3 + 1
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in alarms.values())
    rest.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_http_api_alarms_use_api_id_and_stage_and_lower_case_names(http: Template) -> None:
    (api_id, _) = _only(http, "AWS::ApiGatewayV2::Api")
    alarms = _alarms(http)
    dimensions = [
        {"Name": "ApiId", "Value": {"Ref": api_id}},
        {"Name": "Stage", "Value": "$default"},
    ]
    five = alarms["API 5XX responses per minute (authorizer or backend failing)"]
    assert (five["Namespace"], five["MetricName"], five["Statistic"]) == (
        "AWS/ApiGateway",
        "5xx",
        "Sum",
    )
    assert five["Dimensions"] == dimensions
    latency = alarms["API p99 latency in ms"]
    assert (latency["Namespace"], latency["MetricName"]) == ("AWS/ApiGateway", "Latency")
    assert latency["Dimensions"] == dimensions
    rate = alarms["API 4XX responses in % of requests (denials, bad requests, throttling)"]
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in rate["Metrics"] if "MetricStat" in m}
    assert {k: (m["Namespace"], m["MetricName"]) for k, m in stats.items()} == {
        "errors": ("AWS/ApiGateway", "4xx"),
        "requests": ("AWS/ApiGateway", "Count"),
    }
    assert all(m["Dimensions"] == dimensions for m in stats.values())


def test_no_waf_alarm_without_a_web_acl(http: Template) -> None:
    alarms = _alarms(http)
    assert [a for a in alarms.values() if a.get("Namespace") == "AWS/WAFV2"] == []
    assert not any("WAF" in description for description in alarms)
    http.resource_count_is("AWS::WAFv2::WebACL", 0)
    # the policy authorizer's alarms are all there: 3 Lambda, 3 decisions, 3 policy set, issuer
    assert len(alarms) == 3 + 3 + 3 + 1 + 3
    http.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "PolicyReloadFailed",
            "Dimensions": [{"Name": "Authorizer", "Value": "policy"}],
        },
    )


def test_two_functions_of_one_kind_share_the_decision_alarms() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    api = apigwv2.HttpApi(stack, "Http")
    monitoring = ApiMonitoring(
        stack,
        "Monitoring",
        http_api=api,
        functions={"orders": _function(stack, "A"), "billing": _function(stack, "B")},
        kinds={"orders": "apikey", "billing": "apikey"},
    )
    assert sorted(monitoring.alarms) == sorted(
        [
            *(f"{label}-{a}" for label in ("orders", "billing") for a in ("Errors", "Throttles")),
            "orders-DurationP99",
            "billing-DurationP99",
            "orders-Deny",
            "orders-Unauthorized",
            "orders-DecisionErrors",
            "Api5xx",
            "Api4xxRate",
            "ApiLatencyP99",
        ]
    )
    # without a stage name, the API alarms watch every stage: dimension ApiId alone
    template = Template.from_stack(stack)
    (api_id, _) = _only(template, "AWS::ApiGatewayV2::Api")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "5xx", "Dimensions": [{"Name": "ApiId", "Value": {"Ref": api_id}}]},
    )


def test_monitoring_refuses_unclear_input() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    rest = apigw.RestApi(stack, "Api")
    rest.root.add_method("GET", apigw.MockIntegration())
    http = apigwv2.HttpApi(stack, "Http")
    with pytest.raises(ValueError, match="exactly one"):
        ApiMonitoring(stack, "None")
    with pytest.raises(ValueError, match="exactly one"):
        ApiMonitoring(stack, "Both", api=rest, http_api=http)
    with pytest.raises(ValueError, match="which Gatehouse authorizer is function 'orders'"):
        ApiMonitoring(stack, "NoKind", api=rest, functions={"orders": _function(stack, "F")})


@pytest.mark.parametrize("construct", [WebAcl, ApiMonitoring])
def test_docstring_example_runs(construct: type) -> None:
    # The one example in the class docstring builds as written.
    doc = inspect.getdoc(construct) or ""
    (block,) = re.findall(r"::\n\n((?:    .*\n|\n)+)", doc + "\n")
    exec(compile(textwrap.dedent(block), f"<{construct.__name__} example>", "exec"), {})  # noqa: S102
