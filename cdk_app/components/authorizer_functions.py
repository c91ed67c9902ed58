"""One Lambda function per authorizer of the API model, with exactly the access it needs.

The settings of each function are the model's, unchanged (:mod:`gatehouse.api_model` is the one
source of truth; a test compares the template with it). They are its environment variables,
unless those would exceed Lambda's 4 KB: then the largest token-free settings move to
``/var/task/gatehouse.json`` and ``GATEHOUSE_CONFIG_FILE=gatehouse.json`` points the runtime at
it (:mod:`cdk_app.components.settings_file`). The handler lives in the layer; a function's own
code holds only the files it reads:

- ``mtls``: the trust anchors PEM (``/var/task/<file>``), the same file the custom domain uses
  as its truststore;
- ``policy``: the policy bundle (one document, ``/var/task/<file>``), unless the stage names an
  external ``s3://``/``ssm:`` source;
- any function whose settings moved: ``gatehouse.json``.

Permissions: ``apikey`` may ``GetItem`` on the keys table; ``mtls`` may ``GetObject`` each
configured CRL object (no wildcard); ``policy`` may read its external source if it has one;
``jwt`` needs no AWS permission (JWKS over HTTPS).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_app.components.function import GatehouseFunction
from cdk_app.components.settings_file import (
    CONFIG_FILE_NAME,
    settings_file_text,
    split_environment,
)
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


def bundled_file(path: Path, what: str) -> Path:
    """``path``, a file the stage bundles into a function (``what`` names it in the error).

    Raises
    ------
    BundleMissingError
        If ``path`` is not a file.
    """
    if not path.is_file():
        raise BundleMissingError(what, path)
    return path


def single_file_code(path: Path) -> lambda_.Code:
    """Function code holding only ``path`` (``/var/task/<name>``)."""
    return lambda_.Code.from_asset(str(path.parent), exclude=["*", f"!{path.name}"])


def function_code(files: Sequence[Path], file_settings: Mapping[str, str]) -> lambda_.Code:
    """A function's own code: ``files`` at ``/var/task/<name>``, plus ``gatehouse.json`` holding
    ``file_settings`` when there are any.

    No files and no settings: an inline placeholder; one file and no settings: that file in
    place (:func:`single_file_code`); anything else: a staged directory.
    """
    if not file_settings and not files:
        return lambda_.Code.from_inline(_PLACEHOLDER)
    if not file_settings and len(files) == 1:
        return single_file_code(files[0])
    return lambda_.Code.from_asset(str(stage_code_directory(files, file_settings)))


def stage_code_directory(files: Sequence[Path], file_settings: Mapping[str, str]) -> Path:
    """A new directory holding copies of ``files`` and, with settings, ``gatehouse.json``.

    The directory is left in place: CDK copies it into the cloud assembly during synthesis,
    but with asset staging off (``cdk synth --no-staging``, SAM) the assembly points at it, so
    removing it when the app exits would break those. The asset hash is of the contents, so
    the random directory name does not change the template.

    Raises
    ------
    ValueError
        If two files would have the same name in ``/var/task``.
    """
    directory = Path(tempfile.mkdtemp(prefix="gatehouse-code-"))
    for path in files:
        shutil.copyfile(path, _new_file(directory, path.name))
    if file_settings:
        _new_file(directory, CONFIG_FILE_NAME).write_text(
            settings_file_text(file_settings), encoding="utf-8"
        )
    return directory


def _new_file(directory: Path, name: str) -> Path:
    target = directory / name
    if target.exists():
        raise ValueError(f"two files named {name} would be bundled into one function's code")
    return target


@dataclass(frozen=True, slots=True)
class DataAccess:
    """What the functions read, as ARNs (empty where there is nothing)."""

    api_keys_table_arn: str
    crl_object_arns: tuple[str, ...]
    policy_source_arns: tuple[str, ...] = ()
    policy_source_actions: tuple[str, ...] = ()


class AuthorizerFunctions(Construct):
    """One function per authorizer of ``model``; ``data_files`` are the files each carries.

    Attributes: ``functions`` (authorizer name -> :class:`GatehouseFunction`) and
    ``file_settings`` (authorizer name -> the settings moved to its ``gatehouse.json``; only
    the functions that needed a settings file).

    Raises
    ------
    cdk_app.components.settings_file.EnvironmentTooLargeError
        If a function's settings cannot fit in Lambda's 4 KB environment even with a file.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: ApiModel,
        data_files: Mapping[AuthorizerName, Sequence[Path]],
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
        self.file_settings: dict[AuthorizerName, dict[str, str]] = {}
        for name, authorizer in model.authorizers.items():
            environment, file_settings = split_environment(
                authorizer.environment, function=f"{self.node.path}/{name}"
            )
            if file_settings:
                self.file_settings[name] = file_settings
            fn = GatehouseFunction(
                self,
                name,
                handler=authorizer.handler,
                code=function_code(data_files.get(name, ()), file_settings),
                layers=[layer],
                architecture=architecture,
                memory_mb=settings.memory_mb,
                timeout_seconds=settings.timeout_seconds,
                reserved_concurrency=settings.reserved_concurrency,
                environment=environment,
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
