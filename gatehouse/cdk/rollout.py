"""Safe rollout of an authorizer function: a version behind an alias, shifted by CodeDeploy.

Deployed in place, a broken layer or settings change fails closed for every request at once:
a full outage. With a :class:`Rollout`, each change publishes a new version and CodeDeploy
moves the ``live`` alias to it step by step (canary or linear), while two alarms watch the
function's own log group (both versions: when the old one was healthy, a rise is the new
one's; a fault already there before the deployment rolls it back too):
crashes (a layer that does not import, a handler not found, a timeout: not Lambda's ``Errors``
metric, which also counts every 401, since a REST 401 is a raised ``Unauthorized``) and
fail-closed decisions (a settings mistake at cold start, an upstream the new settings cannot
reach). Either alarm rolls the alias back to the old version. API Gateway invokes the alias,
never ``$LATEST``.

AWS documentation: "Lambda deployments with CodeDeploy" and "Deployment configurations on
an AWS Lambda compute platform" (CodeDeploy User Guide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from gatehouse.cdk.monitoring import CRASH_PATTERN, FAULT_PATTERN, log_metric

__all__ = ["ALIAS_NAME", "Rollout", "RolloutResources", "add_rollout"]

ALIAS_NAME: Final = "live"
_STRATEGIES: Final = ("canary", "linear", "all_at_once")
_CODEDEPLOY_POLICY_FINDING: Final = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSCodeDeployRoleForLambdaLimited]"
)
_CODEDEPLOY_ROLE_REASON: Final = (
    "CodeDeploy's service role for Lambda uses the AWS managed policy "
    "AWSCodeDeployRoleForLambdaLimited, scoped by AWS to shifting Lambda aliases"
)


@dataclass(frozen=True, slots=True)
class Rollout:
    """How a new authorizer version takes traffic.

    ``strategy``: ``canary`` (``percent`` of requests for ``minutes``, then all), ``linear``
    (``percent`` more every ``minutes``) or ``all_at_once`` (still a version behind an alias,
    with the alarms' rollback, but no gradual shift). ``percent`` 1 to 99, ``minutes`` 1 to
    2880 (CodeDeploy's limits).

    Raises ValueError for a strategy, percent or interval CodeDeploy would refuse.
    """

    strategy: Literal["canary", "linear", "all_at_once"] = "canary"
    percent: int = 10
    minutes: int = 5

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r}: use one of {', '.join(_STRATEGIES)}")
        if isinstance(self.percent, bool) or not 1 <= self.percent <= 99:
            raise ValueError(f"percent {self.percent!r}: a whole number from 1 to 99")
        if isinstance(self.minutes, bool) or not 1 <= self.minutes <= 2880:
            raise ValueError(f"minutes {self.minutes!r}: a whole number from 1 to 2880")


@dataclass(frozen=True, slots=True)
class RolloutResources:
    """What :func:`add_rollout` made: the alias API Gateway invokes, the deployment group
    and its rollback alarms."""

    alias: lambda_.Alias
    deployment_group: codedeploy.LambdaDeploymentGroup
    alarms: tuple[cw.Alarm, ...]


def add_rollout(
    scope: Construct, function: lambda_.Function, log_group: logs.ILogGroup, rollout: Rollout
) -> RolloutResources:
    """Publish ``function`` as versions behind the ``live`` alias, shifted by CodeDeploy as
    ``rollout`` says, rolled back by an alarm on its crashes or its fail-closed decisions, both
    counted from ``log_group`` (the function's own, JSON lines).

    Example: ``add_rollout(self, fn.function, fn.log_group, Rollout("linear", 20, 2))``.
    """
    alias = lambda_.Alias(scope, "Alias", alias_name=ALIAS_NAME, version=function.current_version)
    alarms = (
        cw.Alarm(
            scope,
            "RolloutErrors",
            alarm_description="authorizer crashes or timeouts (rolls a deployment back)",
            metric=log_metric(log_group, "Crashes", CRASH_PATTERN),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        ),
        cw.Alarm(
            scope,
            "RolloutFailClosed",
            alarm_description=(
                "authorizer: fail-closed decisions during a deployment (rolls it back)"
            ),
            metric=log_metric(log_group, "FailClosed", FAULT_PATTERN),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        ),
    )
    group = codedeploy.LambdaDeploymentGroup(
        scope,
        "Deployment",
        alias=alias,
        deployment_config=_config(scope, rollout),
        alarms=list(alarms),
        auto_rollback=codedeploy.AutoRollbackConfig(
            failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
        ),
    )
    cdk.Validations.of(group).acknowledge(
        cdk.Acknowledgment(id=_CODEDEPLOY_POLICY_FINDING, reason=_CODEDEPLOY_ROLE_REASON)
    )
    return RolloutResources(alias=alias, deployment_group=group, alarms=alarms)


def _config(scope: Construct, rollout: Rollout) -> codedeploy.ILambdaDeploymentConfig:
    if rollout.strategy == "all_at_once":
        return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE
    interval = cdk.Duration.minutes(rollout.minutes)
    routing: codedeploy.TrafficRouting = (
        codedeploy.TrafficRouting.time_based_canary(interval=interval, percentage=rollout.percent)
        if rollout.strategy == "canary"
        else codedeploy.TrafficRouting.time_based_linear(
            interval=interval, percentage=rollout.percent
        )
    )
    return codedeploy.LambdaDeploymentConfig(scope, "DeploymentConfig", traffic_routing=routing)
