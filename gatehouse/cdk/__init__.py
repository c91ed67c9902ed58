"""Gatehouse for the APIs you define in AWS CDK: the layer, the four authorizers, protections.

Install with ``pip install "gatehouse[cdk]"``; docs/constructs.md has a worked example per
construct. Everything here is synth-time only: no AWS call is made while the app runs.

::

    import aws_cdk as cdk
    from aws_cdk import aws_apigateway as apigw
    from gatehouse.cdk import GatehouseLayer, JwtAuthorizer, oidc_issuer

    stack = cdk.Stack(cdk.App(), "Orders")
    jwt = JwtAuthorizer(
        stack,
        "Jwt",
        layer=GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64"),
        issuers=[oidc_issuer("https://idp.example.com/", ["orders-api"])],
        routes=[{"route": "GET /orders"}],
    )
    api = apigw.RestApi(stack, "Api")
    api.root.add_resource("orders").add_method(
        "GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer()
    )
"""

from __future__ import annotations

from gatehouse.cdk._code import BundleMissingError
from gatehouse.cdk._settings_file import EnvironmentTooLargeError
from gatehouse.cdk._validate import SettingsError
from gatehouse.cdk.authorizers import (
    ApiKeyAuthorizer,
    FunctionOptions,
    GatehouseAuthorizer,
    JwtAuthorizer,
    MtlsAuthorizer,
    PolicyAuthorizer,
    PolicySource,
    SettingValue,
    UnsafeAuthorizerError,
    cognito_issuer,
    oidc_issuer,
)
from gatehouse.cdk.layer import (
    RUNTIME,
    GatehouseLayer,
    LayerNotBuiltError,
    LayerRef,
    LayerWithoutBytecodeError,
)
from gatehouse.cdk.login import LOGIN_ROUTES, BrowserLogin
from gatehouse.cdk.monitoring import AlarmThresholds, ApiMonitoring, MonitoringOptions
from gatehouse.cdk.rest import (
    UsagePlanTier,
    access_log_format,
    add_gateway_responses,
    add_usage_plans,
)
from gatehouse.cdk.rollout import Rollout
from gatehouse.cdk.waf import WafOptions, WafRules, WebAcl

__all__ = [
    "LOGIN_ROUTES",
    "RUNTIME",
    "AlarmThresholds",
    "ApiKeyAuthorizer",
    "ApiMonitoring",
    "BrowserLogin",
    "BundleMissingError",
    "EnvironmentTooLargeError",
    "FunctionOptions",
    "GatehouseAuthorizer",
    "GatehouseLayer",
    "JwtAuthorizer",
    "LayerNotBuiltError",
    "LayerRef",
    "LayerWithoutBytecodeError",
    "MonitoringOptions",
    "MtlsAuthorizer",
    "PolicyAuthorizer",
    "PolicySource",
    "Rollout",
    "SettingValue",
    "SettingsError",
    "UnsafeAuthorizerError",
    "UsagePlanTier",
    "WafOptions",
    "WafRules",
    "WebAcl",
    "access_log_format",
    "add_gateway_responses",
    "add_usage_plans",
    "cognito_issuer",
    "oidc_issuer",
]
