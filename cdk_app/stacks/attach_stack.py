"""The attach stack: Gatehouse authorizers on a REST API that already exists.

Given the API's id and root resource id (``attach`` in the stage settings), it creates the
authorizer functions the listed routes use (rendered from
:func:`gatehouse.api_model.attached_api`), their API Gateway authorizers on that API, the listed
routes (new resources and methods, integrated with a demo backend function), and its own
deployment to the named stage: an imported API gets no automatic deployment, so
``deployment_revision`` is part of the deployment's logical id (bump it to force a redeploy).

CloudFormation can only add resources and methods it owns; it cannot change methods created
elsewhere. Putting an authorizer on an existing method is ``gatehouse attach`` (the CLI).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from cdk_app.components.authorizer_functions import AuthorizerFunctions
from cdk_app.components.authorizers_layer import AuthorizersLayer
from cdk_app.components.backends import DemoBackend
from cdk_app.components.rest_api import path_parameters
from cdk_app.config import StageConfig
from cdk_app.constants import ARCHITECTURES
from cdk_app.settings import AttachSettings
from cdk_app.stacks.api_stack import data_access, data_files, stage_resources
from cdk_app.stacks.common import log_retention, removal_policy
from cdk_app.stacks.identity_stack import IdentityStack
from gatehouse.api_model import ApiModel, attached_api


class AttachStack(cdk.Stack):
    """Attributes: ``model``, ``api`` (imported), ``functions``, ``backend``, ``authorizers``,
    ``methods`` (route key -> method), ``deployment``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        attach: AttachSettings,
        state: IdentityStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        architecture = ARCHITECTURES[config.architecture]
        retention = log_retention(config)
        policy = removal_policy(config)
        self.model: ApiModel = attached_api(
            stage_resources(self, config, state),
            config.api,
            [(r.method, r.path, r.authorizer) for r in attach.routes],
        )
        layer = AuthorizersLayer(
            self,
            "AuthorizersLayer",
            architecture=architecture,
            removal_policy=policy,
            require_bytecode=config.requires_layer_bytecode,
        )
        self.functions = functions = AuthorizerFunctions(
            self,
            "Authorizers",
            model=self.model,
            data_files=data_files(config),
            layer=layer,
            settings=config.functions,
            access=data_access(self, config, state),
            log_retention=retention,
            removal_policy=policy,
            stage_name=config.name,
            kms_key=state.kms_key,
        )
        self.backend = backend = DemoBackend(
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
        self.api = apigw.RestApi.from_rest_api_attributes(
            self,
            "ExistingApi",
            rest_api_id=attach.rest_api_id,
            root_resource_id=attach.root_resource_id,
        )
        self.authorizers: dict[str, apigw.IAuthorizer] = {}
        for name, model in self.model.authorizers.items():
            self.authorizers[name] = functions.functions[name].rest_authorizer(
                self,
                f"Authorizer-{name}",
                type=model.type,
                identity_sources=model.identity_sources,
                cache_ttl=cdk.Duration.seconds(model.cache_ttl_seconds),
                name=f"gatehouse-{name}",
            )
        validator = apigw.RequestValidator(
            self,
            "Validator",
            rest_api=self.api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        integration = apigw.LambdaIntegration(backend.function.function, allow_test_invoke=False)
        self.methods: dict[str, apigw.Method] = {}
        for route in self.model.routes:
            resource: apigw.IResource = self.api.root
            for part in route.path.strip("/").split("/"):
                resource = resource.get_resource(part) or resource.add_resource(part)
            if route.authorizer is None:  # attached routes always name one (settings.AttachRoute)
                continue
            self.methods[route.route_key] = resource.add_method(
                route.method,
                integration,
                authorizer=self.authorizers[route.authorizer],
                authorization_type=apigw.AuthorizationType.CUSTOM,
                api_key_required=route.api_key_required,
                request_validator=validator,
                request_parameters=path_parameters(route.path),
            )
        self.deployment = apigw.Deployment(
            self,
            "Deployment",
            api=self.api,
            stage_name=attach.stage_name,
            description=f"Gatehouse attach revision {attach.deployment_revision}",
        )
        self.deployment.add_to_logical_id({"revision": attach.deployment_revision})
        for method in self.methods.values():
            self.deployment.node.add_dependency(method)
