"""One Lambda function per authorizer of the API model, with exactly the access it needs.

The environment of each function is the model's, unchanged (:mod:`gatehouse.api_model` is the one
source of truth; a test compares the template with it). The handler lives in the layer; a
function's own code holds only the data files it reads:

- ``mtls``: the trust anchors PEM (``/var/task/<file>``), the same file the custom domain uses
  as its truststore;
- ``policy``: the policy bundle (one document, ``/var/task/<file>``), unless the stage names an
  external ``s3://``/``ssm:`` source.

Permissions: ``apikey`` may ``GetItem`` on the keys table; ``mtls`` may ``GetObject`` each
configured CRL object (no wildcard); ``policy`` may read its external source if it has one;
``jwt`` needs no AWS permission (JWKS over HTTPS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_app.components.function import GatehouseFunction
from cdk_app.settings import FunctionSettings
from gatehouse.api_model import ApiModel, AuthorizerName

TASK_ROOT: Final = PurePosixPath("/var/task")
"""Where Lambda unpacks a function's own code."""

_PLACEHOLDER: Final = "# Gatehouse: the handler is in the authorizers layer (/opt/python).\n"


class BundleMissingError(FileNotFoundError):
    """A file the stage bundles into a function (trust anchors, policy bundle) does not exist."""

    def __init__(self, what: str, path: Path) -> None:
        self.path = path
        super().__init__(f"{what} {path} does not exist (set in cdk.json)")


def single_file_code(path: Path, what: str) -> lambda_.Code:
    """Function code holding only ``path`` (``/var/task/<name>``)."""
    if not path.is_file():
        raise BundleMissingError(what, path)
    return lambda_.Code.from_asset(str(path.parent), exclude=["*", f"!{path.name}"])


@dataclass(frozen=True, slots=True)
class DataAccess:
    """What the functions read, as ARNs (empty where there is nothing)."""

    api_keys_table_arn: str
    crl_object_arns: tuple[str, ...]
    policy_source_arns: tuple[str, ...] = ()
    policy_source_actions: tuple[str, ...] = ()


class AuthorizerFunctions(Construct):
    """Attributes: ``functions`` (authorizer name -> :class:`GatehouseFunction`)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: ApiModel,
        code: Mapping[AuthorizerName, lambda_.Code],
        layer: lambda_.ILayerVersion,
        architecture: lambda_.Architecture,
        settings: FunctionSettings,
        access: DataAccess,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        stage_name: str,
    ) -> None:
        super().__init__(scope, id)
        self.functions: dict[AuthorizerName, GatehouseFunction] = {}
        for name, authorizer in model.authorizers.items():
            fn = GatehouseFunction(
                self,
                name,
                handler=authorizer.handler,
                code=code.get(name) or lambda_.Code.from_inline(_PLACEHOLDER),
                layers=[layer],
                architecture=architecture,
                memory_mb=settings.memory_mb,
                timeout_seconds=settings.timeout_seconds,
                reserved_concurrency=settings.reserved_concurrency,
                environment=authorizer.environment,
                log_retention=log_retention,
                removal_policy=removal_policy,
                description=f"Gatehouse {name} authorizer ({stage_name})",
            )
            self.functions[name] = fn
        if "apikey" in self.functions:
            self.functions["apikey"].allow(["dynamodb:GetItem"], [access.api_keys_table_arn])
        if "mtls" in self.functions and access.crl_object_arns:
            self.functions["mtls"].allow(["s3:GetObject"], access.crl_object_arns)
        if "policy" in self.functions and access.policy_source_arns:
            self.functions["policy"].allow(access.policy_source_actions, access.policy_source_arns)
