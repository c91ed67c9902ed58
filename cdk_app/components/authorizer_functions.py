"""One Lambda function per authorizer of the API model, built with the public constructs.

The settings of each function are the model's, unchanged (:mod:`gatehouse.api_model` is the one
source of truth; a test compares the template with it); the resources they name (keys table,
CRL objects, trust anchors, policy source) are handed to the constructs as typed parameters,
which is how each function gets exactly the access it needs:
:class:`gatehouse.cdk.ApiKeyAuthorizer` may ``GetItem`` on the keys table,
:class:`gatehouse.cdk.MtlsAuthorizer` may ``GetObject`` each configured CRL object (no
wildcard), :class:`gatehouse.cdk.PolicyAuthorizer` may read its external source if it has one,
and :class:`gatehouse.cdk.JwtAuthorizer` needs no AWS permission (JWKS over HTTPS). Each
construct checks its settings with the runtime's readers at synth, and moves settings past
Lambda's 4 KB into ``gatehouse.json`` in its code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_app.settings import FunctionSettings
from gatehouse.api_model import ApiModel, AuthorizerModel, AuthorizerName
from gatehouse.cdk import (
    ApiKeyAuthorizer,
    FunctionOptions,
    GatehouseAuthorizer,
    GatehouseLayer,
    JwtAuthorizer,
    LayerRef,
    MtlsAuthorizer,
    PolicyAuthorizer,
    PolicySource,
    Rollout,
)
from gatehouse.cdk._code import TASK_ROOT, BundleMissingError, bundled_file

__all__ = [
    "TASK_ROOT",
    "AuthorizerFunctions",
    "BundleMissingError",
    "DataAccess",
    "bundled_file",
]


@dataclass(frozen=True, slots=True)
class DataAccess:
    """What the functions read: the keys table, each CA's CRL object (CA key id -> bucket and
    key) and the policy bundle's source."""

    api_keys_table: dynamodb.ITable
    crls: Mapping[str, tuple[s3.IBucket, str]]
    policy_source: PolicySource


# The settings each construct sets from its typed parameters (not passed twice).
_TYPED: dict[AuthorizerName, tuple[str, ...]] = {
    "jwt": (),
    "apikey": ("GATEHOUSE_APIKEY_TABLE",),
    "mtls": ("GATEHOUSE_MTLS_TRUST_ANCHORS", "GATEHOUSE_MTLS_CRLS"),
    "policy": ("GATEHOUSE_POLICY_SOURCE",),
}


class AuthorizerFunctions(Construct):
    """One authorizer construct per authorizer of ``model``; ``data_files`` are the files each
    carries (``mtls``: its trust anchors).

    Attributes: ``functions`` (authorizer name -> its :class:`gatehouse.cdk.GatehouseAuthorizer`)
    and ``file_settings`` (authorizer name -> the settings moved to its ``gatehouse.json``; only
    the functions that needed a settings file).

    Raises
    ------
    gatehouse.cdk.EnvironmentTooLargeError
        If a function's settings cannot fit in Lambda's 4 KB environment even with a file.
    gatehouse.cdk.SettingsError
        If the runtime would refuse a function's settings at cold start.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: ApiModel,
        data_files: Mapping[AuthorizerName, Sequence[Path]],
        layer: GatehouseLayer | LayerRef,
        settings: FunctionSettings,
        access: DataAccess,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        stage_name: str,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.functions: dict[AuthorizerName, GatehouseAuthorizer] = {}
        for name, authorizer in model.authorizers.items():
            options = FunctionOptions(
                memory_mb=settings.memory_mb,
                timeout_seconds=settings.timeout_seconds,
                reserved_concurrency=settings.reserved_concurrency,
                log_retention=log_retention,
                removal_policy=removal_policy,
                description=f"Gatehouse {name} authorizer ({stage_name})",
                rollout=Rollout(**dataclasses.asdict(settings.rollout))
                if settings.rollout is not None
                else None,
                kms_key=kms_key,
            )
            self.functions[name] = self._authorizer(
                name=name,
                model=authorizer,
                layer=layer,
                options=options,
                access=access,
                data_files=data_files,
            )
        self.file_settings: dict[AuthorizerName, dict[str, str]] = {
            name: fn.file_settings for name, fn in self.functions.items() if fn.file_settings
        }

    def _authorizer(
        self,
        *,
        name: AuthorizerName,
        model: AuthorizerModel,
        layer: GatehouseLayer | LayerRef,
        options: FunctionOptions,
        access: DataAccess,
        data_files: Mapping[AuthorizerName, Sequence[Path]],
    ) -> GatehouseAuthorizer:
        rest = {k: v for k, v in model.environment.items() if k not in _TYPED[name]}
        if name == "jwt":
            return JwtAuthorizer(self, name, layer=layer, settings=rest, function=options)
        if name == "apikey":
            return ApiKeyAuthorizer(
                self,
                name,
                layer=layer,
                table=access.api_keys_table,
                settings=rest,
                function=options,
            )
        if name == "mtls":
            (anchors,) = data_files["mtls"]
            return MtlsAuthorizer(
                self,
                name,
                layer=layer,
                trust_anchors=anchors,
                crls=access.crls,
                settings=rest,
                function=options,
            )
        return PolicyAuthorizer(
            self, name, layer=layer, source=access.policy_source, settings=rest, function=options
        )
