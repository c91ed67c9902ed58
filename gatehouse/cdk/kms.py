"""A customer-managed KMS key for everything Gatehouse stores or logs.

CloudWatch Logs groups, Lambda environments, the SNS alarm topic, the API-key table and
buckets are encrypted with AWS-owned or AWS-managed keys unless given a key. :func:`stage_key`
makes one key fit for all of them: yearly rotation, retained, and a key policy that also lets
CloudWatch Logs (this account and region's log groups only, by encryption context) and
CloudWatch alarms (publishing to an encrypted topic) use it. A key of your own needs the same
two statements (AWS documentation: "Encrypt log data in CloudWatch Logs using AWS Key
Management Service"; "Encrypting messages published to Amazon SNS with AWS KMS" for alarms).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

__all__ = ["allow_logs_and_alarms", "stage_key"]


def stage_key(scope: Construct, id: str, *, description: str) -> kms.Key:
    """A rotating, retained key that logs, alarms, Lambda, DynamoDB and S3 can use.

    Example: ``key = stage_key(stack, "Key", description="orders data")``.
    """
    key = kms.Key(
        scope,
        id,
        description=description,
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,  # data encrypted with it outlives the stack
    )
    allow_logs_and_alarms(key)
    return key


def allow_logs_and_alarms(key: kms.Key) -> None:
    """Add to ``key``'s policy what CloudWatch Logs and CloudWatch alarms need: log groups of
    this account and region may encrypt with it; alarms may publish to a topic it encrypts."""
    stack = cdk.Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    # As AWS documents it for alarms on an encrypted topic, with no condition: a source
    # condition the service does not send would silently drop every alarm notification.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=["*"],
        )
    )
