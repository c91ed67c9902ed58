"""WAF rules, logging redaction and association; alarms, their metrics, the dashboard, SNS."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from cdk_app import settings
from gatehouse.cdk.monitoring import METRIC_AUTHORIZER, MonitoringOptions
from gatehouse.cdk.rollout import Rollout
from gatehouse.cdk.waf import DEFAULT_MANAGED_RULES, MANAGED_RULE_GROUPS, WafOptions
from tests.cdk.conftest import STAGES, Synthesized, resources_of, template_of

pytestmark = pytest.mark.cdk


def _rules(template: Any) -> dict[str, dict[str, Any]]:
    (acl,) = resources_of(template, "AWS::WAFv2::WebACL")
    return {r["Name"]: r for r in acl["Rules"]}


@pytest.mark.parametrize("name", list(STAGES))
def test_web_acl_has_the_rate_rule_and_the_managed_groups_turned_on(
    name: str, repo: Synthesized
) -> None:
    waf = STAGES[name]["waf"]
    template = template_of(repo, repo.stages[name].api)
    rules = _rules(template)

    # THEN the rate rule blocks per IP at the configured limit
    rate = rules["RateLimitPerIp"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {
        "Limit": waf["rate_limit"],
        "EvaluationWindowSec": 300,
        "AggregateKeyType": "IP",
    }
    # AND exactly the managed groups the stage turns on are there, enforcing unless counted
    wanted = {MANAGED_RULE_GROUPS[k] for k, on in waf["managed_rules"].items() if on}
    counted = {MANAGED_RULE_GROUPS[k] for k in waf.get("count", [])}
    assert set(rules) - {"RateLimitPerIp"} == wanted
    assert "AWSManagedRulesSQLiRuleSet" in wanted
    for group in wanted:
        action = {"Count": {}} if group in counted else {"None": {}}
        assert rules[group]["OverrideAction"] == action
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"VendorName": "AWS", "Name": group}
    priorities = [r["Priority"] for r in rules.values()]
    assert len(set(priorities)) == len(priorities)


def test_geo_block_rule_when_configured(variant: Synthesized) -> None:
    rules = _rules(template_of(variant, variant.stages["dev"].api))
    assert rules["GeoBlock"]["Statement"] == {"GeoMatchStatement": {"CountryCodes": ["KP"]}}
    assert rules["GeoBlock"]["Action"] == {"Block": {}}


@pytest.mark.parametrize("name", list(STAGES))
def test_web_acl_is_associated_with_the_stage_and_logs_redacted(
    name: str, repo: Synthesized
) -> None:
    template = template_of(repo, repo.stages[name].api)
    (stage_id,) = template.find_resources("AWS::ApiGateway::Stage")
    (association,) = resources_of(template, "AWS::WAFv2::WebACLAssociation")
    assert stage_id in json.dumps(association["ResourceArn"])
    template.has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration",
        {
            "RedactedFields": [
                {"SingleHeader": {"Name": "authorization"}},
                {"SingleHeader": {"Name": "x-api-key"}},
            ]
        },
    )
    stack_uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": {"Fn::Join": ["", [f"aws-waf-logs-gatehouse-{name}-", stack_uuid]]}},
    )


def _alarms(template: Any) -> dict[str, dict[str, Any]]:
    return {a["AlarmDescription"]: a for a in resources_of(template, "AWS::CloudWatch::Alarm")}


@pytest.mark.parametrize("name", list(STAGES))
def test_alarms_per_authorizer_api_and_waf(name: str, repo: Synthesized) -> None:
    template = template_of(repo, repo.stages[name].api)
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")

    # 6 per authorizer (errors, throttles, p99 duration, Deny, Unauthorized, Error), an issuer
    # outage alarm for jwt and policy, 3 policy-set alarms, 3 for the API, 1 for WAF; with a
    # rollout (prod), 2 rollback alarms per authorizer, which notify the topic too; one on
    # the 429s counted from the access log
    rollback = 4 * 2 if "rollout" in STAGES[name].get("functions", {}) else 0
    assert len(alarms) == 4 * 6 + 2 + 3 + 3 + 1 + rollback + 1
    topic = template.find_resources("AWS::SNS::Topic")
    (topic_id,) = topic
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    lambda_metrics = {a["MetricName"] for a in alarms if a.get("Namespace") == "AWS/Lambda"}
    assert lambda_metrics == {"Throttles", "Duration"}
    # Crashes are counted from each function's log, not by Lambda's Errors (every 401 is one)
    crashes = [a for a in alarms if a.get("Namespace") == "Gatehouse/Functions"]
    assert len(crashes) == 4 * (1 + (2 if rollback else 0))
    api_metrics = {a["MetricName"] for a in alarms if a.get("Namespace") == "AWS/ApiGateway"}
    assert api_metrics == {"5XXError", "Latency"}
    waf = [a for a in alarms if a.get("Namespace") == "AWS/WAFV2"]
    assert [a["MetricName"] for a in waf] == ["BlockedRequests"]


def test_duration_and_latency_alarms_use_p99(repo: Synthesized) -> None:
    template = template_of(repo, repo.stages["prod"].api)
    monitoring = STAGES["prod"]["monitoring"]
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Duration", "ExtendedStatistic": "p99", "Threshold": 1000},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Latency",
            "ExtendedStatistic": "p99",
            "Threshold": monitoring.get("api_latency_p99_ms", 2000),
        },
    )


@pytest.mark.parametrize("outcome", ["Deny", "Unauthorized", "Error"])
def test_decision_alarms_query_the_gatehouse_emf_metrics(outcome: str, repo: Synthesized) -> None:
    # GIVEN the Deny/Unauthorized alarms
    template = template_of(repo, repo.stages["dev"].api)
    queries = [
        a["Metrics"][0]["Expression"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm")
        if "Metrics" in a
        and f'SUM("{outcome}")' in a["Metrics"][0].get("Expression", "")
        and "AND Reason" not in a["Metrics"][0]["Expression"]
    ]

    # THEN one per authorizer, over namespace Gatehouse and its Authorizer x Reason dimensions,
    # with the Authorizer value the handler emits
    assert sorted(queries) == sorted(
        f'SELECT SUM("{outcome}") FROM SCHEMA("Gatehouse", Authorizer, Reason) '  # noqa: S608
        f"WHERE Authorizer = '{kind}'"
        for kind in METRIC_AUTHORIZER.values()
    )


def test_issuer_outage_alarms_watch_unauthorized_upstream_unavailable(repo: Synthesized) -> None:
    template = template_of(repo, repo.stages["dev"].api)
    queries = sorted(
        a["Metrics"][0]["Expression"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm")
        if "Metrics" in a and "AND Reason" in a["Metrics"][0].get("Expression", "")
    )
    assert queries == [
        f'SELECT SUM("Unauthorized") FROM SCHEMA("Gatehouse", Authorizer, Reason) '  # noqa: S608
        f"WHERE Authorizer = '{kind}' AND Reason = 'UpstreamUnavailable'"
        for kind in ("jwt", "policy")
    ]


@pytest.mark.parametrize("name", list(STAGES))
def test_429s_are_counted_from_the_access_log(name: str, repo: Synthesized) -> None:
    # API Gateway publishes no 429 metric: without this, throttled callers go unseen.
    template = template_of(repo, repo.stages[name].api)
    (metric_filter,) = [
        f
        for f in resources_of(template, "AWS::Logs::MetricFilter")
        if f["MetricTransformations"][0]["MetricName"] == "Http429"
    ]
    assert metric_filter["FilterPattern"] == '{ $.status = "429" }'  # a string in the log
    (transformation,) = metric_filter["MetricTransformations"]
    assert (transformation["MetricNamespace"], transformation["MetricName"]) == (
        "Gatehouse",
        "Http429",
    )
    assert transformation["Dimensions"] == [
        {"Key": "ApiId", "Value": "$.apiId"},
        {"Key": "Stage", "Value": "$.stage"},
    ]
    (alarm,) = [
        a
        for a in resources_of(template, "AWS::CloudWatch::Alarm")
        if a.get("MetricName") == "Http429"
    ]
    assert {d["Name"] for d in alarm["Dimensions"]} == {"ApiId", "Stage"}
    assert alarm["Threshold"] == 50


def test_policy_set_alarms_watch_the_policy_authorizers_metrics(repo: Synthesized) -> None:
    from authorizers.policy.metrics import PolicyMetric

    template = template_of(repo, repo.stages["dev"].api)
    watched = {
        a["MetricName"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm")
        if a.get("Namespace") == "Gatehouse"
    }
    assert watched - {"Http429"} == {
        PolicyMetric.RELOAD_FAILED.value,
        PolicyMetric.UNAVAILABLE.value,
        PolicyMetric.EVALUATION_ERROR.value,
    }
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "PolicyReloadFailed",
            "Dimensions": [{"Name": "Authorizer", "Value": "policy"}],
        },
    )


def test_metric_authorizer_names_are_the_handlers_kinds() -> None:
    # The Authorizer dimension is each handler module's KIND (authorizers/core/observability).
    from authorizers.api_key import handler as api_key
    from authorizers.jwt_bearer import handler as jwt_bearer
    from authorizers.mtls import handler as mtls
    from authorizers.policy import authorizer as policy

    assert METRIC_AUTHORIZER["jwt"] == jwt_bearer.KIND
    assert METRIC_AUTHORIZER["apikey"] == api_key.KIND
    assert METRIC_AUTHORIZER["mtls"] == mtls.KIND
    assert METRIC_AUTHORIZER["policy"] == policy.KIND


def test_4xx_rate_alarm_divides_by_request_count(repo: Synthesized) -> None:
    template = template_of(repo, repo.stages["dev"].api)
    (alarm,) = [
        a
        for a in resources_of(template, "AWS::CloudWatch::Alarm")
        if "Metrics" in a and "requests" in json.dumps(a["Metrics"])
    ]
    expression = next(m for m in alarm["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"4XXError", "Count"}


def test_topic_enforces_tls_and_subscribes_the_configured_emails(repo: Synthesized) -> None:
    prod = template_of(repo, repo.stages["prod"].api)
    emails = STAGES["prod"]["monitoring"]["alarm_emails"]
    subscriptions = resources_of(prod, "AWS::SNS::Subscription")
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(emails)
    assert {s["Protocol"] for s in subscriptions} == {"email"}
    prod.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


@pytest.mark.parametrize("name", list(STAGES))
def test_one_dashboard_shows_every_alarm(name: str, repo: Synthesized) -> None:
    template = template_of(repo, repo.stages[name].api)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    (dashboard,) = resources_of(template, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])
    # the alarm status widget lists every alarm (by reference), graphs show every metric
    assert all(alarm in body for alarm in template.find_resources("AWS::CloudWatch::Alarm"))
    assert "Gatehouse" in body
    assert "BlockedRequests" in body


def _fields(cls: type) -> dict[str, tuple[object, object]]:
    instance = cls()
    return {f.name: (f.type, getattr(instance, f.name)) for f in dataclasses.fields(cls)}


def test_stage_settings_are_in_step_with_the_public_options() -> None:
    # cdk_app.settings stays pure Python (local mode loads it without aws-cdk-lib), so it keeps
    # its own copies of the public option classes: same fields, types and defaults.
    assert _fields(settings.WafSettings) == _fields(WafOptions)
    assert _fields(settings.RolloutSettings) == _fields(Rollout)
    assert settings.WafSettings().managed_rules == DEFAULT_MANAGED_RULES
    assert dict(settings.MANAGED_RULE_GROUPS) == dict(MANAGED_RULE_GROUPS)
    stage = _fields(settings.MonitoringSettings)
    assert stage.pop("config_rules") == ("bool", False)
    assert stage == _fields(MonitoringOptions)
