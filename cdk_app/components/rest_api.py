"""The regional REST API, rendered from :class:`gatehouse.api_model.ApiModel`.

Everything route- and authorizer-shaped comes from the model: one TOKEN or REQUEST authorizer
per model authorizer (identity sources, validation regex, cache TTL), one method per route
(authorizer, ``apiKeyRequired``), one usage plan per tier. What this construct adds is the
gateway around it:

- ``apiKeySource: AUTHORIZER`` (the API-key authorizer returns the tenant's usage-plan key);
- a request validator (parameters and body) on every method, path parameters required;
- stage: JSON access logs (with the authorizer's status, latency and error), INFO execution
  logs without data trace, metrics, X-Ray, default throttling, an API Gateway client
  certificate for HTTP backends that want to verify the caller;
- CORS: an unauthenticated ``OPTIONS`` preflight on every resource (browsers send it without
  credentials) and CORS headers on the gateway's own 4XX/5XX responses, so a browser sees
  401/403 instead of a CORS error;
- every UNAUTHORIZED carries the API's ``WWW-Authenticate`` challenge (``model.challenge``);
  never a login 302, which would be API-wide (gateway responses cannot be set per route);
- optionally, a PRIVATE endpoint whose resource policy admits only the given VPC endpoints;
- ``disableExecuteApiEndpoint`` when the mTLS custom domain is the only way in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from gatehouse.api_model import ApiModel, AuthorizerName
from gatehouse.cdk import GatehouseAuthorizer
from gatehouse.cdk.rest import (
    UsagePlanTier,
    access_log_format,
    add_gateway_responses,
    add_usage_plans,
)

_PERIOD = {"DAY": apigw.Period.DAY, "WEEK": apigw.Period.WEEK, "MONTH": apigw.Period.MONTH}
_PATH_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\+?\}")
_CORS_RESPONSES = (
    apigw.ResponseType.UNAUTHORIZED,
    apigw.ResponseType.ACCESS_DENIED,
    apigw.ResponseType.DEFAULT_4_XX,
    apigw.ResponseType.DEFAULT_5_XX,
)


def path_parameters(path: str) -> dict[str, bool] | None:
    """``{"method.request.path.<p>": True}`` for each ``{p}``/``{p+}`` of ``path`` (required)."""
    params = {f"method.request.path.{p}": True for p in _PATH_PARAM.findall(path)}
    return params or None


class GatehouseRestApi(Construct):
    """The REST API of one stage.

    Parameters
    ----------
    model:
        What to build (routes, authorizers, settings).
    authorizer_functions:
        The authorizer construct of each model authorizer (its REST authorizer is made here,
        with the model's type, identity sources and TTL, checked by the construct).
    backend:
        The integration of every route (the demo backend).
    stage_name:
        The API stage name.
    disable_execute_api_endpoint:
        True when a custom (mTLS) domain is the only way in.

    Attributes
    ----------
    api, authorizers, usage_plans, access_logs, client_certificate:
        The resources.
    methods:
        Route key (``GET /profile``) -> its method.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: ApiModel,
        authorizer_functions: Mapping[AuthorizerName, GatehouseAuthorizer],
        backend: lambda_.IFunction,
        stage_name: str,
        disable_execute_api_endpoint: bool,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        settings = model.settings
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention,
            removal_policy=removal_policy,
            encryption_key=kms_key,
        )
        self.client_certificate = apigw.CfnClientCertificate(
            self, "BackendCertificate", description=f"{model.name} -> HTTP backends"
        )
        private = bool(settings.private_vpc_endpoint_ids)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{model.name}-{stage_name}",
            description=f"Gatehouse demo API ({stage_name})",
            endpoint_types=[apigw.EndpointType.PRIVATE if private else apigw.EndpointType.REGIONAL],
            policy=_private_policy(settings.private_vpc_endpoint_ids) if private else None,
            cloud_watch_role=False,
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            disable_execute_api_endpoint=disable_execute_api_endpoint,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,
                throttling_rate_limit=settings.throttling_rate_limit,
                throttling_burst_limit=settings.throttling_burst_limit,
                method_options={
                    # CDK's key: the resource path, then the method.
                    f"{t.route.split(' ', 1)[1]}/{t.route.split(' ', 1)[0]}": (
                        # A method's settings replace the stage's */* entry for it: repeat
                        # logging and metrics, or the throttled methods would lose them.
                        apigw.MethodDeploymentOptions(
                            throttling_rate_limit=t.rate_limit,
                            throttling_burst_limit=t.burst_limit,
                            logging_level=apigw.MethodLoggingLevel.INFO,
                            metrics_enabled=True,
                            data_trace_enabled=False,
                        )
                    )
                    for t in settings.method_throttles
                },
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=access_log_format(),
                client_certificate_id=self.client_certificate.attr_client_certificate_id,
            ),
        )
        self.validator = self.api.add_request_validator(
            "Validator",
            request_validator_name="parameters-and-body",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self.authorizers: dict[AuthorizerName, apigw.IAuthorizer] = {
            name: authorizer_functions[name].rest_authorizer(
                self,
                f"Authorizer-{name}",
                type=a.type,
                identity_sources=a.identity_sources,
                cache_ttl=cdk.Duration.seconds(a.cache_ttl_seconds),
                name=name,
            )
            for name, a in model.authorizers.items()
        }
        integration = apigw.LambdaIntegration(backend, allow_test_invoke=False)
        cors = (
            apigw.CorsOptions(
                allow_origins=list(settings.cors_allow_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "x-api-key"],
                max_age=cdk.Duration.minutes(10),
            )
            if settings.cors_allow_origins
            else None
        )
        self.methods: dict[str, apigw.Method] = {}
        for route in model.routes:
            resource = self._resource(route.path, cors)
            self.methods[route.route_key] = resource.add_method(
                route.method,
                integration,
                authorizer=self.authorizers[route.authorizer] if route.authorizer else None,
                authorization_type=apigw.AuthorizationType.CUSTOM
                if route.authorizer
                else apigw.AuthorizationType.NONE,
                api_key_required=route.api_key_required,
                request_validator=self.validator,
                request_parameters=path_parameters(route.path),
            )
        self.usage_plans = add_usage_plans(
            self.api,
            [
                UsagePlanTier(
                    plan.name,
                    rate_limit=plan.rate_limit,
                    burst_limit=plan.burst_limit,
                    quota_limit=plan.quota_limit,
                    quota_period=plan.quota_period,
                )
                for plan in settings.usage_plans
            ],
        )
        add_gateway_responses(
            self.api,
            cors_allow_origins=settings.cors_allow_origins,
            challenge=model.challenge,
        )

    def _resource(self, path: str, cors: apigw.CorsOptions | None) -> apigw.IResource:
        resource: apigw.IResource = self.api.root
        for part in path.strip("/").split("/"):
            child = resource.get_resource(part)
            if child is None:
                child = resource.add_resource(part)
                if cors is not None:
                    child.add_cors_preflight(
                        allow_origins=cors.allow_origins,
                        allow_methods=cors.allow_methods,
                        allow_headers=cors.allow_headers,
                        max_age=cors.max_age,
                    )
            resource = child
        return resource


def _private_policy(vpc_endpoint_ids: tuple[str, ...]) -> iam.PolicyDocument:
    """Invoke only through the given VPC endpoints (explicit deny for everything else)."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                effect=iam.Effect.ALLOW,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*"],
            ),
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*"],
                conditions={"StringNotEquals": {"aws:SourceVpce": list(vpc_endpoint_ids)}},
            ),
        ]
    )
