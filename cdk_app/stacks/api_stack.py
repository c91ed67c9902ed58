"""The API stack: everything stateless that serves requests, rendered from the API model.

Composition only: the authorizers layer; :func:`gatehouse.api_model.demo_api`, wired to the
stateful resources of the identity stack; one function per authorizer; the demo backend; the
REST API; the optional mTLS domain; the WAF web ACL; monitoring; optional AWS Config rules.
The authorizers and the API live in one stack (an authorizer function in another stack makes
a reference cycle through the invoke permission).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from cdk_app.components.authorizer_functions import (
    TASK_ROOT,
    AuthorizerFunctions,
    DataAccess,
    bundled_file,
)
from cdk_app.components.authorizers_layer import AuthorizersLayer
from cdk_app.components.backends import DemoBackend
from cdk_app.components.config_rules import ApiConfigRules
from cdk_app.components.monitoring import Monitoring
from cdk_app.components.mtls_domain import MtlsDomain
from cdk_app.components.rest_api import GatehouseRestApi
from cdk_app.components.waf import WebAcl
from cdk_app.config import StageConfig
from cdk_app.constants import ARCHITECTURES
from cdk_app.stacks.common import log_retention, removal_policy, repo_path
from cdk_app.stacks.identity_stack import IdentityStack
from gatehouse.api_model import ApiModel, AuthorizerName, Resources, demo_api
from gatehouse.cdk import PolicySource


def stage_resources(stack: cdk.Stack, config: StageConfig, state: IdentityStack) -> Resources:
    """Where the authorizers' state lives in a deployed stage (CDK tokens).

    The trusted issuer is the stage's created pool, or (``identity.provider`` ``existing_cognito``
    or ``oidc``) the issuer entry of :class:`cdk_app.components.identity.ExternalIdentity`.
    """
    anchors = Path(config.mtls.trust_anchors_file).name
    return Resources(
        region=stack.region,
        user_pool_id=state.identity.user_pool_id,
        client_ids=state.identity.client_ids,
        api_keys_table=state.api_keys.table.table_name,
        trust_anchors=str(TASK_ROOT / anchors),
        crls={key_id: state.pki.uri(key) for key_id, key in config.mtls.crls.items()},
        policy_source=config.policy.source or str(TASK_ROOT / Path(config.policy.bundle).name),
        jwt_issuer=state.identity.jwt_issuer,
    )


def data_files(config: StageConfig) -> dict[AuthorizerName, tuple[Path, ...]]:
    """The data files each authorizer function carries besides its policy bundle (which is
    part of :func:`data_access`): the mTLS function's trust anchors.

    Raises
    ------
    cdk_app.components.authorizer_functions.BundleMissingError
        If one of them does not exist.
    """
    return {
        "mtls": (bundled_file(repo_path(config.mtls.trust_anchors_file), "trust anchors"),),
    }


def policy_source(stack: cdk.Stack, config: StageConfig) -> PolicySource:
    """The stage's policy bundle: the file shipped in the function's code, or the external
    ``s3://`` / ``ssm:`` source it may read.

    Raises
    ------
    cdk_app.components.authorizer_functions.BundleMissingError
        If the bundle file does not exist.
    """
    source = config.policy.source
    if source is None:
        return PolicySource.file(bundled_file(repo_path(config.policy.bundle), "policy bundle"))
    if source.startswith("s3://"):
        return PolicySource(
            setting=source,
            actions=("s3:GetObject",),
            resources=(f"arn:{stack.partition}:s3:::{source.removeprefix('s3://')}",),
        )
    return PolicySource(
        setting=source,
        actions=("ssm:GetParameter",),
        resources=(
            stack.format_arn(
                service="ssm",
                resource="parameter",
                resource_name=source.removeprefix("ssm:/").lstrip("/"),
            ),
        ),
    )


def data_access(stack: cdk.Stack, config: StageConfig, state: IdentityStack) -> DataAccess:
    """What the stage's authorizer functions read (tokens of the identity stack)."""
    return DataAccess(
        api_keys_table=state.api_keys.table,
        crls={key_id: (state.pki.bucket, key) for key_id, key in config.mtls.crls.items()},
        policy_source=policy_source(stack, config),
    )


class ApiStack(cdk.Stack):
    """The serving side of one stage.

    Attributes
    ----------
    model, model_resources:
        The :class:`ApiModel` this stack was rendered from, and the resources it was wired to.
    authorizers_layer, authorizer_functions, backend, rest_api, mtls_domain, waf, monitoring,
    config_rules:
        The components (``mtls_domain`` and ``config_rules`` may be ``None``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        state: IdentityStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        architecture = ARCHITECTURES[config.architecture]
        retention = log_retention(config)
        policy = removal_policy(config)
        self.authorizers_layer = AuthorizersLayer(
            self,
            "AuthorizersLayer",
            architecture=architecture,
            removal_policy=policy,
            require_bytecode=config.requires_layer_bytecode,
        )
        self.model_resources = stage_resources(self, config, state)
        self.model: ApiModel = demo_api(self.model_resources, config.api)
        self.authorizer_functions = AuthorizerFunctions(
            self,
            "Authorizers",
            model=self.model,
            data_files=data_files(config),
            layer=self.authorizers_layer,
            settings=config.functions,
            access=data_access(self, config, state),
            log_retention=retention,
            removal_policy=policy,
            stage_name=config.name,
            kms_key=state.kms_key,
        )
        self.backend = DemoBackend(
            self,
            "Backend",
            architecture=architecture,
            settings=config.functions,
            cors_allow_origins=config.api.cors_allow_origins,
            log_retention=retention,
            removal_policy=policy,
            stage_name=config.name,
            kms_key=state.kms_key,
        )
        domain = config.mtls.domain_name
        self.rest_api = GatehouseRestApi(
            self,
            "RestApi",
            model=self.model,
            authorizer_functions=self.authorizer_functions.functions,
            backend=self.backend.function.function,
            stage_name=config.name,
            disable_execute_api_endpoint=domain is not None,
            log_retention=retention,
            removal_policy=policy,
            kms_key=state.kms_key,
        )
        self.mtls_domain: MtlsDomain | None = None
        if domain is not None and config.mtls.certificate_arn is not None:
            self.mtls_domain = MtlsDomain(
                self,
                "MtlsDomain",
                domain_name=domain,
                certificate_arn=config.mtls.certificate_arn,
                truststore_file=repo_path(config.mtls.trust_anchors_file),
                api=self.rest_api.api,
            )
        self.waf = WebAcl(
            self,
            "Waf",
            settings=config.waf,
            stage=self.rest_api.api.deployment_stage,
            name=f"gatehouse-{config.name}",
            log_retention=retention,
            removal_policy=policy,
            kms_key=state.kms_key,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            settings=config.monitoring,
            kms_key=state.kms_key,
            functions={n: f.function for n, f in self.authorizer_functions.functions.items()},
            api=self.rest_api.api,
            web_acl_name=self.waf.metric_name,
            dashboard_name=f"gatehouse-{config.name}",
            access_logs=self.rest_api.access_logs,
            notify=[
                alarm
                for f in self.authorizer_functions.functions.values()
                if f.rollout is not None
                for alarm in f.rollout.alarms
            ],
        )
        self.config_rules = (
            ApiConfigRules(self, "ConfigRules") if config.monitoring.config_rules else None
        )
        cdk.CfnOutput(self, "ApiUrl", value=self.rest_api.api.url, description="execute-api URL")
        cdk.CfnOutput(self, "ApiId", value=self.rest_api.api.rest_api_id)
        if self.mtls_domain is not None:
            cdk.CfnOutput(
                self,
                "MtlsDomainTarget",
                value=self.mtls_domain.domain.domain_name_alias_domain_name,
                description=f"point {domain} here (CNAME or Route 53 alias)",
            )
        cdk.CfnOutput(self, "AlarmTopic", value=self.monitoring.topic.topic_arn)
