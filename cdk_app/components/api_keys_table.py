"""The DynamoDB table of API keys: the schema ``authorizers.api_key`` and ``gatehouse keys`` use.

Partition key ``key_hash`` (S, the SHA-256 hex of the key; see
``authorizers/api_key/record.py``), no sort key, no index (``gatehouse keys`` finds a key by
its public id with a filtered Scan). On-demand billing, encryption at rest (AWS owned key),
point-in-time recovery, ``expires_at`` as the TTL attribute (DynamoDB deletes lazily; the
authorizer checks expiry itself on every request), deletion protection on protected stages.
"""

from __future__ import annotations

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

PARTITION_KEY: Final = "key_hash"
TTL_ATTRIBUTE: Final = "expires_at"


class ApiKeysTable(Construct):
    """Attributes: ``table``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        removal_policy: cdk.RemovalPolicy,
        deletion_protection: bool,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(kms_key)
            if kms_key is not None
            else dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
        )
