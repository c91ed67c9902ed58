"""Alarms, one dashboard and the SNS topic they notify, for one API and its Gatehouse authorizers.

Per authorizer function: Lambda errors, throttles and p99 duration (the function's own health).
Per Gatehouse authorizer kind: ``Deny``, ``Unauthorized`` and ``Error`` decisions per minute
(EMF namespace ``Gatehouse``, dimensions ``Authorizer`` x ``Reason``, summed over every reason
with a Metrics Insights query so a new reason cannot escape the alarm); for the kinds that verify
JWTs, 401s caused by an unreachable issuer (``Reason=UpstreamUnavailable``); for the policy
authorizer, failed reloads, no policy set, and evaluation errors.
Per API: 5XX count, 4XX rate (% of requests), p99 latency, for a REST API or an HTTP API.
WAF (when a web ACL is given): blocked requests. The topic enforces TLS for publishers.

References (AWS documentation):

- REST API metrics and dimensions (``ApiName``, ``ApiName`` x ``Stage``; ``4XXError``,
  ``5XXError``, ``Count``, ``Latency``):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
- HTTP API metrics and dimensions (``ApiId``, ``ApiId`` x ``Stage``; ``4xx``, ``5xx``,
  ``Count``, ``Latency``):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
- WAF metrics (``AWS/WAFV2``, ``BlockedRequests``):
  https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html
- Metrics Insights queries in alarms:
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-alarms.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from gatehouse.api_model import AuthorizerName

__all__ = [
    "ISSUER_AUTHORIZERS",
    "METRIC_AUTHORIZER",
    "METRIC_NAMESPACE",
    "POLICY_ALARMS",
    "AlarmSpec",
    "AlarmThresholds",
    "ApiMonitoring",
    "MonitoringOptions",
    "decisions_metric",
]

METRIC_NAMESPACE: Final = "Gatehouse"
METRIC_AUTHORIZER: Final[Mapping[AuthorizerName, str]] = {
    "jwt": "jwt",
    "apikey": "api_key",
    "mtls": "mtls",
    "policy": "policy",
}
"""Authorizer kind -> the ``Authorizer`` dimension its handler emits (handler ``KIND``)."""

_MINUTE: Final = cdk.Duration.minutes(1)
_FIVE_MINUTES: Final = cdk.Duration.minutes(5)
_API_NAMESPACE: Final = "AWS/ApiGateway"


class AlarmThresholds(Protocol):
    """What :class:`ApiMonitoring` reads from its ``settings``: a :class:`MonitoringOptions`,
    or any object with these attributes (the repository's stage passes its own pure-Python
    settings)."""

    @property
    def alarm_emails(self) -> tuple[str, ...]: ...

    @property
    def authorizer_duration_p99_ms(self) -> int: ...

    @property
    def deny_per_minute(self) -> int: ...

    @property
    def unauthorized_per_minute(self) -> int: ...

    @property
    def decision_errors_per_minute(self) -> int: ...

    @property
    def api_4xx_rate_percent(self) -> float: ...

    @property
    def api_latency_p99_ms(self) -> int: ...

    @property
    def waf_blocked_per_5_minutes(self) -> int: ...

    @property
    def throttled_per_5_minutes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class MonitoringOptions:
    """Alarm thresholds and who gets told. Every alarm fires at or above its threshold.

    ``alarm_emails`` are subscribed to the alarm topic (each confirms by e-mail).
    ``authorizer_duration_p99_ms``: p99 duration of an authorizer function (5 minutes).
    ``deny_per_minute``, ``unauthorized_per_minute``, ``decision_errors_per_minute``: Gatehouse
    ``Deny`` (403), ``Unauthorized`` (401) and ``Error`` (fault, denied closed) decisions.
    ``api_4xx_rate_percent``: 4XX responses in % of requests (5 minutes).
    ``api_latency_p99_ms``: API p99 latency (5 minutes).
    ``waf_blocked_per_5_minutes``: requests the web ACL blocked (only with a web ACL).
    ``throttled_per_5_minutes``: 429 answers (stage, method or usage-plan throttling, quota),
    counted from the REST access log (only with ``access_logs``).
    """

    alarm_emails: tuple[str, ...] = ()
    authorizer_duration_p99_ms: int = 1000
    deny_per_minute: int = 50
    unauthorized_per_minute: int = 100
    decision_errors_per_minute: int = 1
    api_4xx_rate_percent: float = 10.0
    api_latency_p99_ms: int = 2000
    waf_blocked_per_5_minutes: int = 500
    throttled_per_5_minutes: int = 50


#: A Lambda runtime failure in a JSON-format function log: an error type of the runtime or
#: the sandbox (``Runtime.ImportModuleError``, ``Runtime.ExitError``, ``Sandbox.Timedout``...),
#: on the runtime's line or on the ``platform.report`` record, or a report with status
#: ``timeout``. Never a 401: Gatehouse raises ``Unauthorized`` for it (error type
#: ``Unauthorized``), which Lambda counts in ``Errors`` and may report with status ``error``,
#: so that status is not matched. [unverified against CloudWatch: written from Lambda's
#: documented JSON log format; ``tests/cdk/test_log_patterns.py`` evaluates it on sample lines.]
CRASH_PATTERN: Final = (
    '{ ($.errorType = "Runtime.*") || (($.type = "platform.report") && '
    '(($.record.status = "timeout") || ($.record.errorType = "Runtime.*") '
    '|| ($.record.errorType = "Sandbox.*"))) }'
)
#: The line Gatehouse writes when it fails closed (``authorizers/core/pipeline.py``).
FAULT_PATTERN: Final = '{ $.message = "authorizer fault, denying" }'


def log_metric(log_group: logs.ILogGroup, id: str, pattern: str) -> cw.Metric:
    """A per-minute count of ``log_group``'s events matching ``pattern`` (a metric filter
    made once per log group and ``id``, so a rollout and a monitoring construct share it):
    one function's own signal, where Lambda's ``Errors`` also counts every 401 and the
    Gatehouse metrics are per authorizer kind, account-wide."""
    # One filter per log group and id, in the log group's stack (jsii may hand an ILogGroup
    # back as a proxy, which cannot be a scope).
    stack = cdk.Stack.of(log_group)
    name = cdk.Names.unique_resource_name(log_group, max_length=200) + f"-{id}"
    if stack.node.try_find_child(name) is None:
        logs.MetricFilter(
            stack,
            name,
            log_group=log_group,
            metric_namespace=f"{METRIC_NAMESPACE}/Functions",
            metric_name=name,
            filter_pattern=logs.FilterPattern.literal(pattern),
            metric_value="1",
            default_value=0,
        )
    return cw.Metric(
        namespace=f"{METRIC_NAMESPACE}/Functions",
        metric_name=name,
        statistic="Sum",
        period=cdk.Duration.minutes(1),
    )


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

ISSUER_AUTHORIZERS: Final[tuple[AuthorizerName, ...]] = ("jwt", "policy")
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


@dataclass(frozen=True, slots=True)
class _ApiMetrics:
    """The API's metric names and dimensions: REST and HTTP APIs publish differently."""

    dimensions: Mapping[str, str]
    client_error: str
    server_error: str

    def metric(self, name: str, period: cdk.Duration, statistic: str) -> cw.Metric:
        return cw.Metric(
            namespace=_API_NAMESPACE,
            metric_name=name,
            dimensions_map=dict(self.dimensions),
            period=period,
            statistic=statistic,
        )


def _api_metrics(
    api: apigw.IRestApi | None, http_api: apigwv2.IHttpApi | None, stage_name: str | None
) -> _ApiMetrics:
    stage = {} if stage_name is None else {"Stage": stage_name}
    if api is not None and http_api is None:
        # REST APIs: dimension ApiName (the API's name, not its id), metrics 4XXError/5XXError.
        return _ApiMetrics({"ApiName": api.rest_api_name, **stage}, "4XXError", "5XXError")
    if http_api is not None and api is None:
        # HTTP APIs: dimension ApiId, metrics 4xx/5xx (lower case).
        return _ApiMetrics({"ApiId": http_api.api_id, **stage}, "4xx", "5xx")
    raise ValueError("ApiMonitoring: pass exactly one of api= (REST) and http_api= (HTTP)")


class ApiMonitoring(Construct):
    """Alarms on an API, its Gatehouse authorizer functions and its web ACL, one SNS topic and
    one dashboard.

    ::

        import aws_cdk as cdk
        from aws_cdk import aws_apigateway as apigw
        from gatehouse.cdk.monitoring import ApiMonitoring, MonitoringOptions
        from gatehouse.cdk.waf import WebAcl

        stack = cdk.Stack(cdk.App(), "Orders")
        api = apigw.RestApi(stack, "Api")
        api.root.add_method("GET", apigw.MockIntegration())
        waf = WebAcl(stack, "Waf", stage=api.deployment_stage)
        ApiMonitoring(
            stack,
            "Monitoring",
            api=api,
            stage_name=api.deployment_stage.stage_name,
            web_acl_name=waf.metric_name,
            settings=MonitoringOptions(alarm_emails=("oncall@example.com",)),
        )

    For an HTTP API pass ``http_api=`` instead of ``api=`` (``stage_name="$default"`` for its
    default stage); authorizer functions go in ``functions``, each under a label of your choice
    with its Gatehouse kind in ``kinds`` (``{"orders": jwt.kind}``), unless the label already is
    a kind (``jwt``, ``apikey``, ``mtls``, ``policy``).

    Contract
    --------
    - Exactly one of ``api`` (a REST API, ``aws_apigateway.IRestApi``) and ``http_api`` (an HTTP
      API, ``aws_apigatewayv2.IHttpApi``). With ``stage_name`` the API alarms watch that stage
      (dimensions ``ApiName``/``ApiId`` x ``Stage``), without it every stage together. REST
      metrics are keyed by the API's *name*: an imported REST API must carry its real name
      (``RestApi.from_rest_api_attributes(..., rest_api_name=...)``).
    - Per function (label ``<l>``): ``<l>-Errors``, ``<l>-Throttles``, ``<l>-DurationP99``.
      ``<l>-Errors`` counts crashes and timeouts from the function's log group
      (:data:`CRASH_PATTERN`) for a ``lambda.Function``; for an imported function, Lambda's
      ``Errors``, which also counts every 401 (a raised ``Unauthorized``).
      Decision alarms (``<l>-Deny``, ``-Unauthorized``, ``-DecisionErrors``, and
      ``-IssuerUnavailable`` / the policy-set alarms) come once per kind, under the first label
      of that kind: the ``Authorizer`` dimension is the kind, so two functions of one kind share
      those metrics. Labels are construct ids (no ``/``).
    - ``WafBlocked`` only when ``web_acl_name`` (the web ACL's metric name) is given.
    - ``Api429`` only with ``access_logs`` (a REST API's access log group, lines in
      :func:`gatehouse.cdk.rest.access_log_format`): API Gateway publishes no metric of its
      429s, so a metric filter counts the lines with ``status`` 429 (metric ``Http429`` in
      the ``Gatehouse`` namespace, by ``ApiId`` and ``Stage``).
    - ``notify``: alarms made elsewhere, such as a rollout's rollback alarms
      (``GatehouseAuthorizer.rollout.alarms``): they notify the topic too and are on the
      dashboard's status widget.
    - Every alarm notifies the topic on alarm and on OK, treats missing data as not breaching
      (no traffic is not an incident) and fires on 2 of the last 3 periods (WAF: 1 of 1). The
      topic refuses publishers not using TLS, and ``kms_key`` encrypts it (its policy must let
      CloudWatch alarms use it: :func:`gatehouse.cdk.kms.stage_key`).

    Attributes: ``topic``, ``alarms`` (id -> alarm), ``dashboard``.

    Raises
    ------
    ValueError
        Without exactly one API, or for a function label that is no kind and has none in
        ``kinds``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: AlarmThresholds | None = None,
        functions: Mapping[str, lambda_.IFunction] | None = None,
        kinds: Mapping[str, AuthorizerName] | None = None,
        api: apigw.IRestApi | None = None,
        http_api: apigwv2.IHttpApi | None = None,
        stage_name: str | None = None,
        web_acl_name: str | None = None,
        dashboard_name: str | None = None,
        notify: Sequence[cw.Alarm] = (),
        access_logs: logs.ILogGroup | None = None,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        options: AlarmThresholds = settings if settings is not None else MonitoringOptions()
        metrics = _api_metrics(api, http_api, stage_name)
        labelled = _kinds_of(functions or {}, kinds or {})
        self.topic = sns.Topic(
            self,
            "Alarms",
            enforce_ssl=True,
            display_name="Gatehouse alarms",
            master_key=kms_key,  # its policy must let CloudWatch alarms publish (kms.py)
        )
        for email in options.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        specs = [*self._authorizer_alarms(options, labelled), *self._api_alarms(options, metrics)]
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
                    options.waf_blocked_per_5_minutes,
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                )
            )
        if access_logs is not None:
            specs.append(self._throttled_alarm(options, access_logs, api, stage_name))
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
        for alarm in notify:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=[*self.alarms.values(), *notify], width=24)
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

    def _authorizer_alarms(
        self,
        settings: AlarmThresholds,
        functions: Mapping[str, tuple[AuthorizerName, lambda_.IFunction]],
    ) -> list[AlarmSpec]:
        specs: list[AlarmSpec] = []
        watched: set[AuthorizerName] = set()
        for name, (kind_name, fn) in functions.items():
            kind = METRIC_AUTHORIZER[kind_name]
            specs += [
                AlarmSpec(
                    f"{name}-Errors",
                    f"{name} authorizer: crashes or timeouts (callers get 500)",
                    # From the function's own log where it is known: Lambda's Errors metric
                    # counts every 401 too (a raised Unauthorized).
                    log_metric(fn.log_group, "Crashes", CRASH_PATTERN)
                    if isinstance(fn, lambda_.Function)
                    else fn.metric_errors(period=_MINUTE, statistic="Sum"),
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
            ]
            if kind_name in watched:
                continue  # the decision metrics are per kind: already alarmed on
            watched.add(kind_name)
            specs += [
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
            if kind_name == "policy":
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
            if kind_name in ISSUER_AUTHORIZERS:
                specs.append(
                    AlarmSpec(
                        f"{name}-IssuerUnavailable",
                        f"{name} authorizer: 401s because the token issuer's JWKS is unreachable",
                        decisions_metric("Unauthorized", kind, _MINUTE, "UpstreamUnavailable"),
                        1,
                    )
                )
        return specs

    def _throttled_alarm(
        self,
        settings: AlarmThresholds,
        access_logs: logs.ILogGroup,
        api: apigw.IRestApi | None,
        stage_name: str | None,
    ) -> AlarmSpec:
        if api is None:
            raise ValueError("ApiMonitoring: access_logs is for a REST API's access log (api=)")
        stage = stage_name or api.deployment_stage.stage_name
        logs.MetricFilter(
            self,
            "Http429",
            log_group=access_logs,
            metric_namespace=METRIC_NAMESPACE,
            metric_name="Http429",
            # The access log writes the status as a JSON string ("$context.status").
            filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
            metric_value="1",
            dimensions={"ApiId": "$.apiId", "Stage": "$.stage"},
        )
        throttled = cw.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name="Http429",
            dimensions_map={"ApiId": api.rest_api_id, "Stage": stage},
            statistic="Sum",
            period=_FIVE_MINUTES,
        )
        return AlarmSpec(
            "Api429",
            "API 429 answers in 5 minutes (throttling or quota: a burst, or limits too low)",
            throttled,
            settings.throttled_per_5_minutes,
        )

    @staticmethod
    def _api_alarms(settings: AlarmThresholds, api: _ApiMetrics) -> list[AlarmSpec]:
        four_xx_rate = cw.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={
                "errors": api.metric(api.client_error, _FIVE_MINUTES, "Sum"),
                "requests": api.metric("Count", _FIVE_MINUTES, "SampleCount"),
            },
            label="4XX % of requests",
            period=_FIVE_MINUTES,
        )
        return [
            AlarmSpec(
                "Api5xx",
                "API 5XX responses per minute (authorizer or backend failing)",
                api.metric(api.server_error, _MINUTE, "Sum"),
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
                api.metric("Latency", _FIVE_MINUTES, "p99"),
                settings.api_latency_p99_ms,
            ),
        ]


def _kinds_of(
    functions: Mapping[str, lambda_.IFunction], kinds: Mapping[str, AuthorizerName]
) -> dict[str, tuple[AuthorizerName, lambda_.IFunction]]:
    """Each function label -> (its Gatehouse kind, the function)."""
    known: Mapping[str, AuthorizerName] = {k: k for k in METRIC_AUTHORIZER}
    unused = sorted(set(kinds) - set(functions))
    if unused:
        raise ValueError(f"ApiMonitoring: kinds for labels not in functions: {unused}")
    labelled: dict[str, tuple[AuthorizerName, lambda_.IFunction]] = {}
    for label, fn in functions.items():
        kind = kinds.get(label) or known.get(label)
        if kind is None or kind not in METRIC_AUTHORIZER:
            raise ValueError(
                f"ApiMonitoring: which Gatehouse authorizer is function {label!r}? pass "
                f"kinds={{{label!r}: <one of {', '.join(METRIC_AUTHORIZER)}>}}"
            )
        labelled[label] = (kind, fn)
    return labelled
