"""The demo backend: one Lambda function behind every route, reachable only through the API.

It answers with what API Gateway passed from the authorizer (principal and context), which is
what a walkthrough wants to show. A browser gets CORS headers when its ``Origin`` is one of the
stage's ``api.cors_allow_origins`` (a proxy integration's response is the backend's own).

"Only through the gateway": the function has no URL, and the only invoke permissions on it
are the ones ``LambdaIntegration`` adds, each scoped to this API's ARN, stage-wildcard, method
and path (``SourceArn``). HTTP backends verify the stage's
client certificate instead (:mod:`cdk_app.components.rest_api`).
"""

from __future__ import annotations

import json
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_app.settings import FunctionSettings
from gatehouse.cdk._function import GatehouseFunction

_SOURCE: Final = """\
import json
import os

ORIGINS = set(json.loads(os.environ.get("CORS_ALLOW_ORIGINS", "[]")))


def handler(event, context):
    context_ = (event.get("requestContext") or {}).get("authorizer") or {}
    authorizer = {k: v for k, v in context_.items() if k != "integrationLatency"}
    route = f"{event.get('httpMethod')} {event.get('resource')}"
    body = json.dumps({"route": route, "authorizer": authorizer})
    headers = {"Content-Type": "application/json", "Vary": "Origin"}
    request_headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = request_headers.get("origin")
    if origin in ORIGINS:
        headers["Access-Control-Allow-Origin"] = origin
    return {"statusCode": 200, "headers": headers, "body": body}
"""


class DemoBackend(Construct):
    """Attributes: ``function`` (a :class:`GatehouseFunction`)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        architecture: lambda_.Architecture,
        settings: FunctionSettings,
        cors_allow_origins: tuple[str, ...],
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        stage_name: str,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.function = GatehouseFunction(
            self,
            "Backend",
            handler="index.handler",
            code=lambda_.Code.from_inline(_SOURCE),
            layers=[],
            architecture=architecture,
            memory_mb=256,
            timeout_seconds=settings.timeout_seconds,
            reserved_concurrency=None,
            environment={"CORS_ALLOW_ORIGINS": json.dumps(list(cors_allow_origins))},
            log_retention=log_retention,
            removal_policy=removal_policy,
            description=f"Gatehouse demo backend ({stage_name})",
            kms_key=kms_key,
        )
