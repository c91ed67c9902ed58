"""The stateful stack: the stage's identity provider, the API-key table and the PKI (CRL) bucket.

Kept apart from the API stack (CDK best practice): these hold data, so they are retained and
deletion-protected on protected stages, and an API stack can be destroyed and redeployed
without touching users, keys or CRLs.

``identity.provider`` decides what it holds for identity: ``cognito`` (the default) creates the
user pool, its clients, groups and hosted domain; ``existing_cognito`` and ``oidc`` create
nothing (the tokens come from a pool or issuer managed elsewhere), so the stack then holds
only the table and the bucket.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_app.components.api_keys_table import ApiKeysTable
from cdk_app.components.identity import ExternalIdentity, Identity, read_jwks_file
from cdk_app.components.pki_bucket import PkiBucket
from cdk_app.config import CONTEXT_KEY, StageConfig
from cdk_app.stacks.common import removal_policy, repo_path
from gatehouse.cdk.kms import stage_key


class IdentityStack(cdk.Stack):
    """Attributes: ``identity`` (:class:`Identity` for ``provider: cognito``, else an
    :class:`ExternalIdentity` holding no resource), ``api_keys``, ``pki``.

    Raises
    ------
    cdk_app.config.StageConfigError
        If ``identity.jwks_file`` is missing or not a public JWKS (:func:`read_jwks_file`).
    """

    def __init__(self, scope: Construct, id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        policy = removal_policy(config)
        settings = config.identity
        self.identity: Identity | ExternalIdentity
        if settings.creates_pool:
            self.identity = Identity(self, "Identity", settings=settings, removal_policy=policy)
        else:
            jwks = None
            if settings.jwks_file is not None:
                key = f"{CONTEXT_KEY}.stages.{config.name}.identity.jwks_file"
                jwks = read_jwks_file(repo_path(settings.jwks_file), key)
            self.identity = ExternalIdentity(self, "Identity", settings=settings, jwks=jwks)
        #: The stage's customer-managed key (``kms_key``), or ``None``.
        self.kms_key: kms.IKey | None = None
        if config.kms_key == "create":
            self.kms_key = stage_key(self, "Key", description=f"Gatehouse ({config.name})")
        elif config.kms_key is not None:
            self.kms_key = kms.Key.from_key_arn(self, "Key", config.kms_key)
        self.api_keys = ApiKeysTable(
            self,
            "ApiKeys",
            removal_policy=policy,
            deletion_protection=settings.deletion_protection,
            kms_key=self.kms_key,
        )
        self.pki = PkiBucket(self, "Pki", removal_policy=policy, kms_key=self.kms_key)
        if isinstance(self.identity, Identity):
            pool = self.identity.user_pool
            cdk.CfnOutput(self, "UserPoolId", value=pool.user_pool_id)
            cdk.CfnOutput(self, "M2MClientId", value=self.identity.m2m_client.user_pool_client_id)
            cdk.CfnOutput(
                self, "BrowserClientId", value=self.identity.browser_client.user_pool_client_id
            )
            cdk.CfnOutput(self, "HostedUi", value=self.identity.domain.base_url())
        cdk.CfnOutput(self, "ApiKeysTable", value=self.api_keys.table.table_name)
        cdk.CfnOutput(self, "PkiBucket", value=self.pki.bucket.bucket_name)
