"""The stateful stack: Cognito, the API-key table and the PKI (CRL) bucket.

Kept apart from the API stack (CDK best practice): these hold data, so they are retained and
deletion-protected on protected stages, and an API stack can be destroyed and redeployed
without touching users, keys or CRLs.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from cdk_app.components.api_keys_table import ApiKeysTable
from cdk_app.components.identity import Identity
from cdk_app.components.pki_bucket import PkiBucket
from cdk_app.config import StageConfig
from cdk_app.stacks.common import removal_policy


class IdentityStack(cdk.Stack):
    """Attributes: ``identity``, ``api_keys``, ``pki``."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        policy = removal_policy(config)
        self.identity = Identity(self, "Identity", settings=config.identity, removal_policy=policy)
        self.api_keys = ApiKeysTable(
            self,
            "ApiKeys",
            removal_policy=policy,
            deletion_protection=config.identity.deletion_protection,
        )
        self.pki = PkiBucket(self, "Pki", removal_policy=policy)
        pool = self.identity.user_pool
        cdk.CfnOutput(self, "UserPoolId", value=pool.user_pool_id)
        cdk.CfnOutput(self, "M2MClientId", value=self.identity.m2m_client.user_pool_client_id)
        cdk.CfnOutput(
            self, "BrowserClientId", value=self.identity.browser_client.user_pool_client_id
        )
        cdk.CfnOutput(self, "HostedUi", value=self.identity.domain.base_url())
        cdk.CfnOutput(self, "ApiKeysTable", value=self.api_keys.table.table_name)
        cdk.CfnOutput(self, "PkiBucket", value=self.pki.bucket.bucket_name)
