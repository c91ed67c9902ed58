"""The WAFv2 web ACL in front of the stage (L1: aws-cdk-lib has no WAFv2 L2).

Rules, in priority order: a rate-based block per client IP (requests per 5 minutes), an
optional geo block, then the AWS managed rule groups the stage turns on (common, known bad
inputs, IP reputation, anonymous IP). Logs go to a CloudWatch Logs group (WAF requires the
``aws-waf-logs-`` name prefix) with the ``authorization`` and ``x-api-key`` headers redacted.
The association uses the stage ARN, which references the stage, so it is created after it.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cdk_app.settings import MANAGED_RULE_GROUPS, WafSettings

REDACTED_HEADERS = ("authorization", "x-api-key")


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudWatchMetricsEnabled": True,
        "metricName": metric,
        "sampledRequestsEnabled": True,
    }


def managed_rule(group: str, priority: int) -> dict[str, Any]:
    """One AWS managed rule group, enforcing (``overrideAction: none``)."""
    return {
        "name": group,
        "priority": priority,
        "overrideAction": {"none": {}},
        "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": group}},
        "visibilityConfig": _visibility(group),
    }


def waf_rules(settings: WafSettings) -> list[dict[str, Any]]:
    """The web ACL's rules for ``settings``, in priority order."""
    rules: list[dict[str, Any]] = [
        {
            "name": "RateLimitPerIp",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rateBasedStatement": {
                    "limit": settings.rate_limit,
                    "evaluationWindowSec": 300,
                    "aggregateKeyType": "IP",
                }
            },
            "visibilityConfig": _visibility("RateLimitPerIp"),
        }
    ]
    if settings.geo_block:
        rules.append(
            {
                "name": "GeoBlock",
                "priority": 1,
                "action": {"block": {}},
                "statement": {"geoMatchStatement": {"countryCodes": list(settings.geo_block)}},
                "visibilityConfig": _visibility("GeoBlock"),
            }
        )
    for offset, (key, group) in enumerate(MANAGED_RULE_GROUPS.items()):
        if settings.managed_rules.get(key, False):
            rules.append(managed_rule(group, 10 + offset))
    return rules


class WebAcl(Construct):
    """Attributes: ``acl``, ``association``, ``log_group``, ``metric_name``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: WafSettings,
        stage: apigw.Stage,
        name: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.metric_name = name
        self.acl = wafv2.CfnWebACL(
            self,
            "Acl",
            name=name,
            scope="REGIONAL",
            default_action={"allow": {}},
            visibility_config=_visibility(name),
            rules=waf_rules(settings),
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.acl.attr_arn
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"aws-waf-logs-{name}",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.acl.attr_arn,
            log_destination_configs=[
                cdk.Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self.log_group.log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[{"singleHeader": {"Name": h}} for h in REDACTED_HEADERS],
        )
