"""The Orders service's infrastructure: a CDK stack defined with Gatehouse's public constructs.

``OrdersStack`` is a plain ``cdk.Stack``, the way a team writes one:

- the **Orders REST API** (``aws_apigateway.RestApi``, stage ``live``): staff routes behind a
  Gatehouse JWT authorizer (an external OIDC issuer, route rules with scopes) and the partner
  route behind the Gatehouse API-key authorizer (keys in a DynamoDB table this stack owns,
  ``apiKeySource: AUTHORIZER`` and a usage plan); one small Lambda function per route;
  WAF, access logs, execution logs, X-Ray, throttling, request validation, alarms;
- the **Stock HTTP API** (``aws_apigatewayv2.HttpApi``): the same JWT authorizer in front of a
  private integration, an internal Application Load Balancer in a VPC with isolated subnets
  only (no NAT gateway, no internet gateway), reached through a VPC link;
- the **Portal HTTP API** (``aws_apigatewayv2.HttpApi``): staff browsers, signed in with
  Gatehouse's browser login (``BrowserLogin``: ``/auth/login``, ``/auth/callback``,
  ``/auth/logout``) and a session-cookie JWT authorizer (``settings/portal.json``, ``login.json``);
- the Gatehouse layer, from a directory built before synthesis
  (``gatehouse layer build --arch arm64 --out build/layer/arm64``).

:func:`create_app` builds the app the way ``cdk synth`` runs it (``app.py``), with the cdk-nag
``AwsSolutions`` and ``Serverless`` packs registered: synthesis fails on any finding that is
not acknowledged. Every acknowledgement is in this file, on the narrowest construct, with its
reason; the Gatehouse functions acknowledge their own two (X-Ray's ``Resource::*``, no DLQ).

Context (``cdk.json``, or ``cdk synth -c key=value``):

``orders:region``
    The region of the stack (ALB access logs need to know it at synth time).
``orders:issuer``, ``orders:audiences``
    The OIDC issuer whose access tokens staff present, and the audiences accepted.
``orders:alarm_emails``
    Who is told when an alarm fires (each address confirms by e-mail).
``orders:layer_dir``
    The built Gatehouse layer; else the ``ORDERS_LAYER_DIR`` environment variable, else
    ``build/layer/arm64`` (relative to where ``cdk`` runs: this project's directory).
``orders:production``
    ``true`` for a production deploy: the layer must then carry bytecode for the Lambda
    runtime's Python (built where ``gatehouse layer build`` found one), else every cold start
    compiles every module. Off by default, so a laptop or CI without that Python synthesizes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct, IConstruct
from gatehouse.cdk import (
    RUNTIME,
    ApiKeyAuthorizer,
    BrowserLogin,
    FunctionOptions,
    GatehouseLayer,
    JwtAuthorizer,
    Rollout,
    UsagePlanTier,
    access_log_format,
    add_gateway_responses,
    add_usage_plans,
    oidc_issuer,
)
from gatehouse.cdk.monitoring import ApiMonitoring, MonitoringOptions
from gatehouse.cdk.waf import WafOptions, WebAcl
from gatehouse.challenge import api_challenge

from orders_service import SETTINGS

__all__ = [
    "DEFAULT_LAYER_DIR",
    "HTTP_ACCESS_LOG_FIELDS",
    "KEYS_PARTITION_KEY",
    "KEYS_TTL_ATTRIBUTE",
    "LAYER_DIR_ENV",
    "LOGIN_SETTINGS",
    "PARTNER_ROUTES",
    "PARTNER_SETTINGS",
    "PORTAL_SETTINGS",
    "PRINCIPAL_HEADER",
    "STAFF_ROUTES",
    "STOCK_ROUTE",
    "Backend",
    "OrdersStack",
    "create_app",
    "layer_directory",
]

DEFAULT_LAYER_DIR: Final = Path("build/layer/arm64")
LAYER_DIR_ENV: Final = "ORDERS_LAYER_DIR"

#: The schema ``gatehouse keys`` writes and the API-key authorizer reads: partition key
#: ``key_hash`` (S, the SHA-256 hex of the key), no sort key, no index; ``expires_at`` is the
#: TTL attribute (DynamoDB deletes lazily; the authorizer checks expiry on every request).
KEYS_PARTITION_KEY: Final = "key_hash"
KEYS_TTL_ATTRIBUTE: Final = "expires_at"

#: Staff routes of the REST API and the OIDC scopes each needs (GATEHOUSE_JWT_ROUTES).
STAFF_ROUTES: Final = (
    {"route": "GET /orders", "scopes": ["orders:read"]},
    {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
    {"route": "POST /orders", "scopes": ["orders:write"]},
    {"route": "DELETE /orders/{id}", "scopes": ["orders:admin"]},
)
#: The HTTP API's route (same authorizer, so its rule is in the same list).
STOCK_ROUTE: Final = {"route": "GET /stock/{sku}", "scopes": ["stock:read"]}
#: Partner routes and scopes: apikey.json's, the settings test_partner_keys.py exercises.
PARTNER_SETTINGS: Final = json.loads((SETTINGS / "apikey.json").read_text(encoding="utf-8"))
PARTNER_ROUTES: Final = tuple(PARTNER_SETTINGS["GATEHOUSE_APIKEY_ROUTES"])
#: The portal's session-cookie JWT authorizer and its login: the settings
#: test_portal_login.py exercises.
PORTAL_SETTINGS: Final = json.loads((SETTINGS / "portal.json").read_text(encoding="utf-8"))
LOGIN_SETTINGS: Final = json.loads((SETTINGS / "login.json").read_text(encoding="utf-8"))
#: The login.json settings BrowserLogin takes as parameters; any other goes in ``settings=``.
_LOGIN_PARAMETERS: Final = frozenset(
    f"GATEHOUSE_LOGIN_{name}"
    for name in (
        "AUTHORIZE_URL",
        "TOKEN_URL",
        "CLIENT_ID",
        "REDIRECT_URI",
        "ALLOWED_ORIGINS",
        "DEFAULT_RETURN",
        "LOGOUT_URL",
    )
)

#: The header the HTTP API sets, for the stock service, to the caller the authorizer admitted
#: (overwritten: a client cannot send its own).
PRINCIPAL_HEADER: Final = "x-orders-principal"

COGNITO_AUTHORIZER_REASON: Final = (
    "Guarded by a Gatehouse Lambda (CUSTOM) authorizer on purpose: staff tokens come from an "
    "external OIDC issuer and partners call with API keys, neither of which a Cognito user "
    "pool authorizer can verify"
)
XRAY_REASON: Final = (
    "Active X-Ray tracing adds xray:PutTraceSegments/PutTelemetryRecords, which support no "
    "resource-level scoping (the Service Authorization Reference lists only '*')"
)
SYNC_DLQ_REASON: Final = (
    "Invoked synchronously (API Gateway proxy integration, or the load balancer): the caller "
    "gets the failure and the API's 5XX alarm fires; a DLQ only receives asynchronous "
    "invocations"
)
LOG_BUCKET_REASON: Final = (
    "This bucket receives the load balancer's access logs; its own server access logs would go "
    "to another bucket needing the same exemption. Object-level audit is CloudTrail S3 data "
    "events where required"
)
EMAIL_REDRIVE_REASON: Final = (
    "E-mail subscription for alarm notifications: an undeliverable e-mail cannot be replayed "
    "from an SQS DLQ, and the alarm state stays visible in CloudWatch and on the dashboard"
)

#: The HTTP API's access-log line ($context variables of HTTP APIs, authorizer outcome included).
HTTP_ACCESS_LOG_FIELDS: Final = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "principalId": "$context.authorizer.principalId",
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatency": "$context.authorizer.latency",
    "authorizerError": "$context.authorizer.error",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
}

_REST_BACKEND: Final = """\
import json


def handler(event, context):
    caller = (event.get("requestContext") or {}).get("authorizer") or {}
    body = {
        "route": ROUTE,
        "principal": caller.get("principalId"),
        "id": (event.get("pathParameters") or {}).get("id"),
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
"""
_ALB_BACKEND: Final = """\
import json


def handler(event, context):
    headers = event.get("headers") or {}
    body = {"route": ROUTE, "principal": headers.get(PRINCIPAL_HEADER), "path": event.get("path")}
    return {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
"""


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge cdk-nag finding ``rule_id`` on ``scope`` (and below it), with ``reason``."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


class Backend(Construct):
    """One route's backend: a small inline Python function.

    Its own log group (explicit retention) and a role that may write only there (no
    ``AWSLambdaBasicExecutionRole``, which allows every log group of the account), X-Ray,
    JSON logs, explicit memory and timeout, the newest runtime. Attributes: ``function``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        route: str,
        template: str = _REST_BACKEND,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, id)
        log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=cdk.RemovalPolicy.RETAIN
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Orders backend {route}: writes its own logs only",
            inline_policies={
                "Logs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[log_group.log_group_arn],
                        )
                    ]
                )
            },
        )
        code = f"ROUTE = {route!r}\nPRINCIPAL_HEADER = {PRINCIPAL_HEADER!r}\n{template}"
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_inline(code),
            role=role,
            memory_size=256,
            timeout=cdk.Duration.seconds(5),
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            description=f"Orders backend: {route}",
        )
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        acknowledge(self.function, "Serverless-LambdaDLQ", SYNC_DLQ_REASON)


@jsii.implements(apigwv2.IAccessLogSettings)
class _HttpAccessLogs:
    """An HTTP API stage's access logs: one JSON line per request into ``group``."""

    def __init__(self, group: logs.ILogGroup) -> None:
        self._group = group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._group)

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(HTTP_ACCESS_LOG_FIELDS))


@jsii.implements(elbv2.IApplicationLoadBalancerTarget)
class _LambdaTarget:
    """A Lambda function as an ALB target, invocable only by this account's target group.

    ``aws_elasticloadbalancingv2_targets.LambdaTarget`` lets ``elasticloadbalancing.amazonaws.com``
    invoke the function with no condition: any account's target group could register it. The
    permission must exist before the target group registers the function, so it cannot name
    the group's ARN (a cycle): it names the group by its fixed name, in this account and region.
    """

    def __init__(
        self, scope: Construct, function: lambda_.IFunction, *, target_group_name: str
    ) -> None:
        stack = cdk.Stack.of(scope)
        self._function = function
        self.permission = lambda_.CfnPermission(
            scope,
            "LoadBalancerInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_arn,
            principal="elasticloadbalancing.amazonaws.com",
            source_account=stack.account,
            source_arn=stack.format_arn(
                service="elasticloadbalancing",
                resource="targetgroup",
                resource_name=f"{target_group_name}/*",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )

    def attach_to_application_target_group(
        self, target_group: elbv2.IApplicationTargetGroup
    ) -> elbv2.LoadBalancerTargetProps:
        target_group.node.add_dependency(self.permission)
        return elbv2.LoadBalancerTargetProps(
            target_type=elbv2.TargetType.LAMBDA,
            target_json={"id": self._function.function_arn},
        )


def _construct_id(route_key: str) -> str:
    """``GET /orders/{id}`` -> ``GetOrdersIdBackend``."""
    method, path = route_key.split(" ", 1)
    words = [method, *path.strip("/").split("/")]
    return "".join(word.strip("{}").title() for word in words) + "Backend"


class OrdersStack(cdk.Stack):
    """The Orders REST API and the Stock HTTP API, guarded by Gatehouse authorizers.

    Attributes
    ----------
    keys_table:
        The API keys (``gatehouse keys create --table <its name> ...``).
    staff, partners:
        The Gatehouse JWT and API-key authorizers (``.function`` is the Lambda function).
    rest_api, methods, rest_authorizers:
        The Orders REST API, its methods by route key (``GET /orders/{id}``), and its two
        authorizers (``staff``: TOKEN, ``partners``: REQUEST).
    backends:
        Route key -> the route's backend function (REST routes and the stock service).
    http_api, vpc, load_balancer, listener, vpc_link:
        The Stock HTTP API and its private integration.
    portal, portal_api, portal_login:
        The session-cookie JWT authorizer, the Portal HTTP API, and its browser login.
    waf, monitoring:
        The web ACL of the REST stage, and the alarms (``rest`` and ``http``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer_dir: str | Path,
        issuer: str,
        audiences: Sequence[str],
        alarm_emails: Sequence[str] = (),
        production: bool = False,
        env: cdk.Environment | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id, env=env, description=description)
        layer = GatehouseLayer(self, "Gatehouse", directory=layer_dir, require_bytecode=production)
        self.keys_table = self._keys_table()
        self.staff = JwtAuthorizer(
            self,
            "StaffJwt",
            layer=layer,
            issuers=[oidc_issuer(issuer, audiences)],
            routes=[*STAFF_ROUTES, STOCK_ROUTE],
            settings={"GATEHOUSE_JWT_LEEWAY_SECONDS": 30},
            # A new version takes 20 % more traffic every 2 minutes; an alarm rolls it back.
            function=FunctionOptions(rollout=Rollout("linear", percent=20, minutes=2)),
        )
        self.partners = ApiKeyAuthorizer(
            self,
            "PartnerKeys",
            layer=layer,
            table=self.keys_table,
            routes=PARTNER_ROUTES,
            settings={
                "GATEHOUSE_APIKEY_CACHE_SECONDS": PARTNER_SETTINGS["GATEHOUSE_APIKEY_CACHE_SECONDS"]
            },
        )
        self.backends: dict[str, lambda_.IFunction] = {}
        self.methods: dict[str, apigw.Method] = {}
        self.rest_api = self._rest_api()
        self.waf = WebAcl(
            self, "Waf", stage=self.rest_api.deployment_stage, settings=WafOptions(rate_limit=1000)
        )
        self.http_api = self._http_api()
        self.portal = JwtAuthorizer(self, "PortalJwt", layer=layer, settings=PORTAL_SETTINGS)
        self.portal_api = self._portal_api(layer)
        options = MonitoringOptions(alarm_emails=tuple(alarm_emails))
        self.monitoring = {
            "rest": ApiMonitoring(
                self,
                "OrdersMonitoring",
                api=self.rest_api,
                stage_name=self.rest_api.deployment_stage.stage_name,
                functions={"staff": self.staff.function, "partners": self.partners.function},
                kinds={"staff": self.staff.kind, "partners": self.partners.kind},
                web_acl_name=self.waf.metric_name,
                settings=options,
                notify=self.staff.rollout.alarms if self.staff.rollout else (),
                access_logs=self.access_logs,  # Api429: 429s counted from the access log
            ),
            "http": ApiMonitoring(
                self,
                "StockMonitoring",
                http_api=self.http_api,
                stage_name="$default",
                settings=options,
            ),
        }
        for monitoring in self.monitoring.values():
            for child in monitoring.topic.node.children:
                if isinstance(child, sns.Subscription):
                    acknowledge(child, "Serverless-SNSRedrivePolicy", EMAIL_REDRIVE_REASON)

    # --- the API keys -------------------------------------------------------------------------

    def _keys_table(self) -> dynamodb.TableV2:
        return dynamodb.TableV2(
            self,
            "PartnerKeysTable",
            partition_key=dynamodb.Attribute(
                name=KEYS_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=KEYS_TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    # --- the REST API -------------------------------------------------------------------------

    def _rest_api(self) -> apigw.RestApi:
        self.access_logs = access_logs = logs.LogGroup(
            self,
            "OrdersAccessLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        api = apigw.RestApi(
            self,
            "OrdersApi",
            rest_api_name="orders",
            description="Orders API: staff (OIDC JWT) and partner (API key) routes",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logs need API Gateway's account-level CloudWatch Logs role, which the
            # platform sets once per account and region: a stack must not own it.
            cloud_watch_role=False,
            # The API-key authorizer returns the partner's usage-plan key.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            deploy_options=apigw.StageOptions(
                stage_name="live",
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,
                throttling_rate_limit=100,
                throttling_burst_limit=200,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=access_log_format(),
            ),
        )
        validator = api.add_request_validator(
            "Validator",
            request_validator_name="parameters-and-body",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        staff = self.staff.rest_authorizer()
        partners = self.partners.rest_authorizer()
        self.rest_authorizers = {"staff": staff, "partners": partners}
        routes = [(rule["route"], staff, False) for rule in STAFF_ROUTES]
        routes += [(rule["route"], partners, True) for rule in PARTNER_ROUTES]
        for route_key, authorizer, metered in routes:
            method, path = route_key.split(" ", 1)
            backend = Backend(self, _construct_id(route_key), route=route_key).function
            resource = api.root.resource_for_path(path)
            params = {
                f"method.request.path.{part[1:-1]}": True
                for part in path.split("/")
                if part.startswith("{")
            }
            self.methods[route_key] = resource.add_method(
                method,
                # The invoke permission is scoped to this API, stage, method and path.
                apigw.LambdaIntegration(backend, allow_test_invoke=False),
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                api_key_required=metered,
                request_validator=validator,
                request_parameters=params or None,
            )
            acknowledge(self.methods[route_key], "AwsSolutions-COG4", COGNITO_AUTHORIZER_REASON)
            self.backends[route_key] = backend
        add_usage_plans(
            api,
            [UsagePlanTier("basic", rate_limit=10, burst_limit=20, quota_limit=10_000)],
            description="Orders partners",
        )
        # Every 401 names its scheme (WWW-Authenticate), DPoP too if an issuer accepts it.
        add_gateway_responses(
            api,
            challenge=api_challenge(
                [
                    (authorizer.kind, authorizer.environment)
                    for authorizer in (self.staff, self.partners)
                ],
                realm="orders",
            ),
        )
        return api

    # --- the HTTP API and its private integration -------------------------------------------

    def _http_api(self) -> apigwv2.HttpApi:
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="services", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            # Nothing is placed in the default security group (every resource has its own);
            # restricting it would deploy a custom-resource Lambda function just for that.
            restrict_default_security_group=False,
        )
        flow_logs = logs.LogGroup(
            self,
            "VpcFlowLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.vpc.add_flow_log(
            "FlowLogs", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        alb_group = ec2.SecurityGroup(
            self,
            "StockAlbSecurityGroup",
            vpc=self.vpc,
            description="Stock ALB: HTTP from the API Gateway VPC link only",
            allow_all_outbound=False,  # its only target is a Lambda function
        )
        link_group = ec2.SecurityGroup(
            self,
            "StockLinkSecurityGroup",
            vpc=self.vpc,
            description="API Gateway VPC link: to the stock ALB only",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "StockAlb",
            vpc=self.vpc,
            internet_facing=False,
            vpc_subnets=isolated,
            security_group=alb_group,
            drop_invalid_header_fields=True,
        )
        self.load_balancer.log_access_logs(self._alb_log_bucket(), prefix="stock-alb")
        # open=False: no 0.0.0.0/0 ingress; the VPC link's group is let in below.
        self.listener = self.load_balancer.add_listener("Http", port=80, open=False)
        stock = Backend(self, "StockService", route=STOCK_ROUTE["route"], template=_ALB_BACKEND)
        self.backends[STOCK_ROUTE["route"]] = stock.function
        group_name = f"{self.stack_name}-stock"
        self.listener.add_targets(
            "Stock",
            target_group_name=group_name,
            targets=[_LambdaTarget(stock, stock.function, target_group_name=group_name)],
        )
        self.load_balancer.connections.allow_from(
            link_group, ec2.Port.tcp(80), "API Gateway VPC link"
        )
        self.vpc_link = apigwv2.VpcLink(
            self, "StockLink", vpc=self.vpc, subnets=isolated, security_groups=[link_group]
        )

        api = self._http_api_with_stage(
            "Stock",
            api_name="orders-stock",
            description="Stock API: staff (OIDC JWT) in front of the internal stock service",
            rate_limit=50,
            burst_limit=100,
        )
        method, path = STOCK_ROUTE["route"].split(" ", 1)
        api.add_routes(
            path=path,
            methods=[apigwv2.HttpMethod(method)],
            integration=integrations.HttpAlbIntegration(
                "Stock",
                self.listener,
                vpc_link=self.vpc_link,
                parameter_mapping=apigwv2.ParameterMapping().overwrite_header(
                    PRINCIPAL_HEADER,
                    apigwv2.MappingValue.context_variable("authorizer.principalId"),
                ),
            ),
            authorizer=self.staff.http_authorizer(api),
        )
        return api

    def _http_api_with_stage(
        self, name: str, *, api_name: str, description: str, rate_limit: int, burst_limit: int
    ) -> apigwv2.HttpApi:
        """An HTTP API with its ``$default`` stage: throttled, and access logs kept a year."""
        api = apigwv2.HttpApi(
            self,
            f"{name}Api",
            api_name=api_name,
            description=description,
            create_default_stage=False,
        )
        access_logs = logs.LogGroup(
            self,
            f"{name}AccessLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        apigwv2.HttpStage(
            self,
            f"{name}Stage",
            http_api=api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
            access_log_settings=_HttpAccessLogs(access_logs),
        )
        return api

    # --- the portal: browsers with a session cookie ------------------------------------------

    def _portal_api(self, layer: GatehouseLayer) -> apigwv2.HttpApi:
        api = self._http_api_with_stage(
            "Portal",
            api_name="orders-portal",
            description="Orders portal: staff browsers, signed in with a session cookie",
            rate_limit=20,
            burst_limit=40,
        )
        # No cache and no identity source: the CSRF proof is checked on every request.
        authorizer = self.portal.http_authorizer(api)
        for rule in PORTAL_SETTINGS["GATEHOUSE_JWT_ROUTES"]:
            route_key = rule["route"]
            method, path = route_key.split(" ", 1)
            backend = Backend(self, _construct_id(route_key), route=route_key).function
            api.add_routes(
                path=path,
                methods=[apigwv2.HttpMethod(method)],
                integration=integrations.HttpLambdaIntegration(
                    f"{_construct_id(route_key)}Integration", backend
                ),
                authorizer=authorizer,
            )
            self.backends[route_key] = backend
        login = LOGIN_SETTINGS
        self.portal_login = BrowserLogin(
            self,
            "PortalLogin",
            layer=layer,
            api=api,
            authorizer=self.portal,
            authorize_url=login["GATEHOUSE_LOGIN_AUTHORIZE_URL"],
            token_url=login["GATEHOUSE_LOGIN_TOKEN_URL"],
            client_id=login["GATEHOUSE_LOGIN_CLIENT_ID"],
            redirect_uri=login["GATEHOUSE_LOGIN_REDIRECT_URI"],
            allowed_origins=login["GATEHOUSE_LOGIN_ALLOWED_ORIGINS"],
            default_return=login["GATEHOUSE_LOGIN_DEFAULT_RETURN"],
            logout_url=login["GATEHOUSE_LOGIN_LOGOUT_URL"],
            # Whatever else login.json holds, deployed as tested.
            settings={k: str(v) for k, v in login.items() if k not in _LOGIN_PARAMETERS},
        )
        return api

    def _alb_log_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "StockAlbLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # what ALB log delivery supports
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(bucket, "AwsSolutions-S1", LOG_BUCKET_REASON)
        return bucket


# --- the app ------------------------------------------------------------------------------------


def layer_directory(app: cdk.App) -> Path:
    """The built layer: context ``orders:layer_dir``, else ``$ORDERS_LAYER_DIR``, else
    :data:`DEFAULT_LAYER_DIR`."""
    chosen = app.node.try_get_context("orders:layer_dir") or os.environ.get(LAYER_DIR_ENV)
    return Path(chosen) if chosen else DEFAULT_LAYER_DIR


def _required(app: cdk.App, key: str) -> object:
    value = app.node.try_get_context(key)
    if value is None:
        raise ValueError(f"context {key!r} is not set: add it to cdk.json or pass -c {key}=...")
    return value


def _boolean(app: cdk.App, key: str) -> bool:
    """A context flag: ``true``/``false`` in cdk.json, or the same text from ``-c key=...``."""
    value = app.node.try_get_context(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"context {key!r} is {value!r}: expected true or false")


def _strings(value: object) -> list[str]:
    """A context list (cdk.json) or a comma-separated one (``-c key=a,b``)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list):
        return [str(item) for item in value]
    raise ValueError(f"expected a list of strings, got {value!r}")


def create_app(
    context: Mapping[str, object] | None = None, *, outdir: str | None = None
) -> tuple[cdk.App, OrdersStack]:
    """The app with ``OrdersStack`` and cdk-nag registered; the caller synthesizes it.

    ``context``: the app's context (the ``cdk`` CLI hands ``cdk.json``'s to the app itself, so
    ``app.py`` passes none; tests pass ``cdk.json``'s ``context``).
    """
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    stack = OrdersStack(
        app,
        "Orders",
        env=cdk.Environment(region=str(_required(app, "orders:region"))),
        description="Orders service: REST and HTTP APIs guarded by Gatehouse authorizers",
        layer_dir=layer_directory(app),
        issuer=str(_required(app, "orders:issuer")),
        audiences=_strings(_required(app, "orders:audiences")),
        alarm_emails=_strings(app.node.try_get_context("orders:alarm_emails") or []),
        production=_boolean(app, "orders:production"),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack
