"""Alarms, one dashboard and the SNS topic they notify, for one stage.

Per authorizer: Lambda errors, throttles and p99 duration (the function's own health), and
Gatehouse ``Deny``, ``Unauthorized`` and ``Error`` counts per minute (the decisions; EMF
namespace ``Gatehouse``, dimensions ``Authorizer`` x ``Reason``, summed over every reason with a
Metrics Insights query so a new reason cannot escape the alarm); for the authorizers that
verify JWTs, 401s caused by an unreachable issuer (``Reason=UpstreamUnavailable``); for the
policy authorizer, failed reloads, no policy set, and evaluation errors.
Per API: 5XX count, 4XX rate (% of requests), p99 latency. WAF: blocked requests.
docs/deploy.md says what each means and what to do. The topic enforces TLS for publishers;
e-mail subscriptions come from the stage settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_app.settings import MonitoringSettings
from gatehouse.api_model import AuthorizerName

METRIC_NAMESPACE: Final = "Gatehouse"
METRIC_AUTHORIZER: Final[Mapping[AuthorizerName, str]] = {
    "jwt": "jwt",
    "apikey": "api_key",
    "mtls": "mtls",
    "policy": "policy",
}
"""Model authorizer name -> the ``Authorizer`` dimension its handler emits (handler ``KIND``)."""

_MINUTE: Final = cdk.Duration.minutes(1)
_FIVE_MINUTES: Final = cdk.Duration.minutes(5)


def decisions_metric(
    outcome: str, authorizer: str, period: cdk.Duration, reason: str | None = None
) -> cw.MathExpression:
    """Sum of one Gatehouse outcome metric of one authorizer, over every ``Reason`` or one."""
    # A Metrics Insights query over fixed identifiers (no user input): not SQL.
    query = f'SELECT SUM("{outcome}") FROM SCHEMA("{METRIC_NAMESPACE}", Authorizer, Reason) '  # noqa: S608
    query += f"WHERE Authorizer = '{authorizer}'"
    if reason is not None:
        query += f" AND Reason = '{reason}'"
    return cw.MathExpression(
        expression=query,
        label=f"{authorizer} {outcome}" + (f" {reason}" if reason else ""),
        period=period,
    )


POLICY_ALARMS: Final[Mapping[str, str]] = {
    "PolicyReloadFailed": "a policy reload failed (the last good set stays)",
    "PolicyUnavailable": "requests arrived with no valid policy set loaded (denied)",
    "PolicyEvaluationError": "a policy errored while evaluating (denied)",
}
"""The policy authorizer's own metrics (``authorizers/policy/metrics.py``) worth an alarm."""

ISSUER_AUTHORIZERS: Final = ("jwt", "policy")
"""Authorizers that fetch an issuer's JWKS: an outage shows as Unauthorized/UpstreamUnavailable."""


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One alarm: what it watches and when it fires (``>= threshold``)."""

    id: str
    description: str
    metric: cw.IMetric
    threshold: float
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2


class Monitoring(Construct):
    """Attributes: ``topic``, ``alarms`` (id -> alarm), ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: MonitoringSettings,
        functions: Mapping[AuthorizerName, lambda_.IFunction],
        api: apigw.RestApi,
        web_acl_name: str | None,
        dashboard_name: str,
    ) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(self, "Alarms", enforce_ssl=True, display_name="Gatehouse alarms")
        for email in settings.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        specs = [*self._authorizer_alarms(settings, functions), *self._api_alarms(settings, api)]
        if web_acl_name is not None:
            blocked = cw.Metric(
                namespace="AWS/WAFV2",
                metric_name="BlockedRequests",
                dimensions_map={
                    "WebACL": web_acl_name,
                    "Region": cdk.Stack.of(self).region,
                    "Rule": "ALL",
                },
                statistic="Sum",
                period=_FIVE_MINUTES,
            )
            specs.append(
                AlarmSpec(
                    "WafBlocked",
                    "WAF blocked requests in 5 minutes (attack, or a rule hitting real traffic)",
                    blocked,
                    settings.waf_blocked_per_5_minutes,
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                )
            )
        action = cw_actions.SnsAction(self.topic)
        self.alarms: dict[str, cw.Alarm] = {}
        for spec in specs:
            alarm = cw.Alarm(
                self,
                spec.id,
                alarm_description=spec.description,
                metric=spec.metric,
                threshold=spec.threshold,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.datapoints_to_alarm,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms[spec.id] = alarm
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)
        )
        row: list[cw.IWidget] = []
        for spec in specs:
            row.append(
                cw.GraphWidget(
                    title=spec.description,
                    left=[spec.metric],
                    left_annotations=[cw.HorizontalAnnotation(value=spec.threshold)],
                    width=8,
                )
            )
            if len(row) == 3:
                self.dashboard.add_widgets(*row)
                row = []
        if row:
            self.dashboard.add_widgets(*row)

    @staticmethod
    def _authorizer_alarms(
        settings: MonitoringSettings, functions: Mapping[AuthorizerName, lambda_.IFunction]
    ) -> list[AlarmSpec]:
        specs: list[AlarmSpec] = []
        for name, fn in functions.items():
            kind = METRIC_AUTHORIZER[name]
            specs += [
                AlarmSpec(
                    f"{name}-Errors",
                    f"{name} authorizer: Lambda errors (crashes or timeouts: callers get 500)",
                    fn.metric_errors(period=_MINUTE, statistic="Sum"),
                    1,
                ),
                AlarmSpec(
                    f"{name}-Throttles",
                    f"{name} authorizer: Lambda throttles (concurrency exhausted: callers get 500)",
                    fn.metric_throttles(period=_MINUTE, statistic="Sum"),
                    1,
                ),
                AlarmSpec(
                    f"{name}-DurationP99",
                    f"{name} authorizer: p99 duration in ms (slow upstream or cold starts)",
                    fn.metric_duration(period=_FIVE_MINUTES, statistic="p99"),
                    settings.authorizer_duration_p99_ms,
                ),
                AlarmSpec(
                    f"{name}-Deny",
                    f"{name} authorizer: Deny decisions per minute (403s)",
                    decisions_metric("Deny", kind, _MINUTE),
                    settings.deny_per_minute,
                ),
                AlarmSpec(
                    f"{name}-Unauthorized",
                    f"{name} authorizer: Unauthorized decisions per minute (401s)",
                    decisions_metric("Unauthorized", kind, _MINUTE),
                    settings.unauthorized_per_minute,
                ),
                AlarmSpec(
                    f"{name}-DecisionErrors",
                    f"{name} authorizer: faults per minute (denied closed: upstream, config)",
                    decisions_metric("Error", kind, _MINUTE),
                    settings.decision_errors_per_minute,
                ),
            ]
            if name == "policy":
                specs += [
                    AlarmSpec(
                        f"{name}-{metric}",
                        f"{name} authorizer: {what}",
                        cw.Metric(
                            namespace=METRIC_NAMESPACE,
                            metric_name=metric,
                            dimensions_map={"Authorizer": kind},
                            statistic="Sum",
                            period=_MINUTE,
                        ),
                        1,
                    )
                    for metric, what in POLICY_ALARMS.items()
                ]
            if name in ISSUER_AUTHORIZERS:
                specs.append(
                    AlarmSpec(
                        f"{name}-IssuerUnavailable",
                        f"{name} authorizer: 401s because the token issuer's JWKS is unreachable",
                        decisions_metric("Unauthorized", kind, _MINUTE, "UpstreamUnavailable"),
                        1,
                    )
                )
        return specs

    @staticmethod
    def _api_alarms(settings: MonitoringSettings, api: apigw.RestApi) -> list[AlarmSpec]:
        four_xx_rate = cw.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={
                "errors": api.metric_client_error(period=_FIVE_MINUTES, statistic="Sum"),
                "requests": api.metric_count(period=_FIVE_MINUTES, statistic="SampleCount"),
            },
            label="4XX % of requests",
            period=_FIVE_MINUTES,
        )
        return [
            AlarmSpec(
                "Api5xx",
                "API 5XX responses per minute (authorizer or backend failing)",
                api.metric_server_error(period=_MINUTE, statistic="Sum"),
                1,
            ),
            AlarmSpec(
                "Api4xxRate",
                "API 4XX responses in % of requests (denials, bad requests, throttling)",
                four_xx_rate,
                settings.api_4xx_rate_percent,
            ),
            AlarmSpec(
                "ApiLatencyP99",
                "API p99 latency in ms",
                api.metric_latency(period=_FIVE_MINUTES, statistic="p99"),
                settings.api_latency_p99_ms,
            ),
        ]
