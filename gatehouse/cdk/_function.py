"""One Lambda function the way every Gatehouse function is built.

Python (:data:`gatehouse.cdk.RUNTIME`) on the layer's architecture, the authorizers layer,
X-Ray active tracing, JSON logs into its own log group (explicit retention), an inline role
that may write only to that log group (no ``AWSLambdaBasicExecutionRole``, which allows every
log group of the account), explicit memory and a small timeout, and optional reserved
concurrency. Callers add exactly the permissions the function needs with :meth:`allow`.

It acknowledges its own two cdk-nag findings, so a team running cdk-nag on its app sees none
from Gatehouse: ``AwsSolutions-IAM5[Resource::*]`` on the role (X-Ray's write actions support
no resource scoping) and ``Serverless-LambdaDLQ`` (API Gateway invokes it synchronously).
An acknowledgement does nothing where cdk-nag is not registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from gatehouse.cdk.layer import RUNTIME

XRAY_REASON: Final = (
    "Active X-Ray tracing adds xray:PutTraceSegments/PutTelemetryRecords, which support no "
    "resource-level scoping (the Service Authorization Reference lists only '*')"
)
DLQ_REASON: Final = (
    "Invoked synchronously by API Gateway (authorizer or proxy integration): the caller gets "
    "the failure and the Errors alarm fires; a DLQ only receives asynchronous invocations"
)


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` and its descendants, with its reason.

    ``rule_id`` is ``AwsSolutions-IAM5`` or, for one granular finding,
    ``AwsSolutions-IAM5[Resource::*]``; ``reason`` is kept in the validation report.
    """
    if len(reason.strip()) < 10:
        raise ValueError(f"acknowledging {rule_id} needs a real reason, not {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


class GatehouseFunction(Construct):
    """A ``lambda.Function`` with Gatehouse's defaults.

    Parameters
    ----------
    scope, id:
        Construct scope and id.
    handler:
        Dotted handler name (from the layer, or from ``code``).
    code:
        The function's own code: for authorizers only data files (the handler is in the layer).
    layers:
        Layers, usually the authorizers layer.
    architecture, memory_mb, timeout_seconds, reserved_concurrency:
        Sizing, from the stage's ``functions`` settings.
    environment:
        Environment variables, exactly (nothing is added).
    log_retention, removal_policy:
        Retention and removal policy of the function's log group.
    kms_key:
        A customer-managed key for the log group and the environment (the function may
        decrypt with it); ``None``: AWS-owned and AWS-managed keys.
    description:
        Shown in the Lambda console.

    Attributes
    ----------
    function, role, log_group:
        The resources.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        handler: str,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        architecture: lambda_.Architecture,
        memory_mb: int,
        timeout_seconds: int,
        reserved_concurrency: int | None,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        description: str,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            removal_policy=removal_policy,
            encryption_key=kms_key,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description}: writes its own logs only",
            inline_policies={
                "Logs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[self.log_group.log_group_arn],
                        )
                    ]
                )
            },
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=architecture,
            handler=handler,
            code=code,
            layers=list(layers),
            role=self.role,
            memory_size=memory_mb,
            timeout=cdk.Duration.seconds(timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            environment=dict(environment),
            environment_encryption=kms_key,
            description=description,
        )
        self._decryptable: set[str] = set()
        self.allow_decrypt(kms_key)
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        acknowledge(self.function, "Serverless-LambdaDLQ", DLQ_REASON)

    def allow_decrypt(self, key: kms.IKey | None) -> None:
        """Let the function decrypt with ``key`` (the key of a table, bucket or environment it
        reads); nothing for ``None`` (an AWS-owned or AWS-managed key needs no grant)."""
        if key is None or key.key_arn in self._decryptable:
            return
        self._decryptable.add(key.key_arn)
        self.allow(["kms:Decrypt"], [key.key_arn])

    def allow(self, actions: Sequence[str], resources: Sequence[str]) -> None:
        """Let the function call ``actions`` on exactly ``resources``."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=list(resources))
        )
