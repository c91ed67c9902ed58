"""An API that ``gatehouse attach`` and ``gatehouse detach`` work on, REST or HTTP.

:class:`GatewayApi` holds what both kinds share (the function's configuration and resource
policy, the account) and names what each does its own way: how its authorizers and routes
are read and written, where the attach record lives, how a stage is deployed. The plans in
:mod:`gatehouse.attach` and :mod:`gatehouse.detach` are written once, against this class;
:func:`open_api` finds which kind an id is.
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from gatehouse.attach_plan import MTLS_TTL_HINT, AnySpec, ApiMethod, FunctionArn, MethodSwitch
from gatehouse.aws import Settings, aws_errors
from gatehouse.errors import CliError, ExitCode

if TYPE_CHECKING:
    from gatehouse.api_model import AuthorizerName
    from gatehouse.attach_record import AttachRecord
    from gatehouse.detach import Restore

__all__ = ["GatewayApi", "SpecOptions", "open_api"]


@dataclasses.dataclass(frozen=True, slots=True)
class SpecOptions:
    """What ``gatehouse attach`` was asked for, before the API's kind is known."""

    kind: AuthorizerName
    function: FunctionArn
    name: str | None
    ttl: int | None
    identity_source: str | None


class GatewayApi(ABC):
    """One API as attach and detach read it, and the clients they write with."""

    #: "REST API" or "HTTP API", for messages.
    label: str = "API"
    #: The longest attach record the API can keep (gatehouse.attach_record).
    max_record_chars: int = 0
    #: Whether the record lists the stages deployed since the last switch (where the API
    #: itself cannot tell what a stage serves).
    tracks_deployments: bool = False
    #: Whether the API has API keys (REST: ``apiKeyRequired`` on methods).
    has_api_keys: bool = False
    #: What its methods are called, and the command that changes one (for hints).
    item: str = "method"
    update_command: str = "aws apigateway update-method"

    def __init__(self, settings: Settings, api_id: str) -> None:
        self.api_id = api_id
        self._settings = settings
        self._lambdas: dict[str, Any] = {}
        with aws_errors("connecting to AWS"):  # boto3 checks the region here
            self.sts = settings.client("sts")

    # --- what both kinds share ------------------------------------------------------------

    @property
    def region(self) -> str:
        return str(self.sts.meta.region_name)

    def lambda_for(self, function: FunctionArn) -> Any:
        """A Lambda client in the function's region: it may live in another than the API."""
        client = self._lambdas.get(function.region)
        if client is None:
            with aws_errors("connecting to AWS Lambda"):
                settings = dataclasses.replace(self._settings, region=function.region)
                client = self._lambdas[function.region] = settings.client("lambda")
        return client

    def require_function(self, function: FunctionArn) -> dict[str, str] | None:
        """Check the function exists; its environment variables, when Lambda shows them."""
        with aws_errors(f"looking up function {function.arn}"):
            config = self.lambda_for(function).get_function_configuration(FunctionName=function.arn)
        # No "Environment": the function has no variables. "Error": Lambda could not decrypt
        # them for us (a customer-managed KMS key), so they are unknown.
        environment = config.get("Environment") or {}
        if environment.get("Error"):
            return None
        variables = environment.get("Variables") or {}
        return {str(k): str(v) for k, v in variables.items()}

    def account(self) -> str:
        with aws_errors("asking STS for the account of the API"):
            return str(self.sts.get_caller_identity()["Account"])

    def policy_statements(self, function: FunctionArn) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - lazy, as boto3

        with aws_errors(f"reading the resource policy of {function.arn}"):
            try:
                policy = self.lambda_for(function).get_policy(FunctionName=function.arn)["Policy"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return []  # the function exists (checked before): it has no policy yet
                raise
        statements = json.loads(policy).get("Statement", [])
        return [s for s in statements if isinstance(s, dict)]

    def require_stage(self, stage: str) -> dict[str, Any]:
        stages = self.stages()
        for found in stages:
            if found.get("stageName") == stage:
                return dict(found)
        names = sorted(str(s.get("stageName")) for s in stages)
        raise CliError(
            f"{self.label} {self.api_id} has no stage {stage!r}",
            hint=f"its stages: {', '.join(names) or 'none (deploy the API once first)'}",
            code=ExitCode.NOT_FOUND,
        )

    # --- what each kind does its own way ------------------------------------------------

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """The API itself (raises a not-found CliError)."""

    @abstractmethod
    def stages(self) -> list[dict[str, Any]]:
        """The stages, each with at least ``stageName``."""

    @abstractmethod
    def methods(self) -> list[ApiMethod]:
        """Every method (REST) or route (HTTP), sorted."""

    @abstractmethod
    def authorizers(self) -> list[dict[str, Any]]:
        """The authorizers, each with at least ``id``, ``name`` and ``authorizerUri``."""

    @abstractmethod
    def spec(self, options: SpecOptions) -> AnySpec:
        """The authorizer attach wants (raises CliError or click.BadParameter)."""

    def with_environment(self, spec: AnySpec, environment: Mapping[str, str] | None) -> AnySpec:
        """``spec`` completed with what the function's settings decide (default: nothing)."""
        del environment
        return spec

    @abstractmethod
    def record_of(self, authorizer: Mapping[str, Any]) -> AttachRecord | None:
        """The attach record of ``authorizer``; None: not attach's. Raises RecordError."""

    @abstractmethod
    def auto_deploys(self, stage: Mapping[str, Any]) -> bool:
        """Whether the stage serves each change at once (no deployment to make)."""

    @abstractmethod
    def stale(
        self,
        spec: AnySpec,
        guarded: Sequence[ApiMethod],
        stage: Mapping[str, Any],
        record: AttachRecord | None,
    ) -> list[ApiMethod]:
        """Methods already switched that the stage does not serve switched yet."""

    @abstractmethod
    def warnings(self, spec: AnySpec) -> list[str]:
        """What the operator should know about this API and authorizer."""

    @abstractmethod
    def create_authorizer(self, spec: AnySpec, record: AttachRecord | None) -> str:
        """Create the authorizer (and its record, when given); its id."""

    @abstractmethod
    def write_record(self, authorizer_id: str, record: AttachRecord) -> None:
        """Replace the authorizer's attach record."""

    @abstractmethod
    def switch(self, switch: MethodSwitch, authorizer_id: str) -> None:
        """Put one method or route on the authorizer."""

    @abstractmethod
    def restore(self, restore: Restore) -> None:
        """Put one method or route back as it was before attach."""

    @abstractmethod
    def deploy(self, stage: str, description: str) -> str:
        """Deploy the stage; the deployment's id."""

    @abstractmethod
    def delete_authorizer(self, authorizer_id: str) -> None:
        """Delete the authorizer (and, where it is kept apart, its record)."""

    def orphan_records(self, authorizers: Sequence[Mapping[str, Any]]) -> list[str]:
        """Authorizer ids whose record outlived them (default: records die with them)."""
        del authorizers
        return []

    def forget_records(self, authorizer_ids: Sequence[str]) -> None:
        """Remove the records of deleted authorizers (default: nothing to remove)."""
        del authorizer_ids


def checked_ttl(options: SpecOptions, sources: Sequence[str], default: int) -> int:
    """The result cache TTL for ``options`` (``default`` unless given), refused where a cache
    would be unsafe or impossible, as API Gateway and :mod:`gatehouse.cache_key` say."""
    ttl = default if options.ttl is None else options.ttl
    if ttl > 0 and options.kind == "mtls":
        raise CliError(
            f"--ttl {ttl}: the mtls authorizer cannot be cached; the client certificate is "
            "not an identity source API Gateway can key its cache on",
            hint=MTLS_TTL_HINT,
            code=ExitCode.USAGE,
        )
    if ttl > 0 and not sources:
        raise click.BadParameter(
            f"a {options.kind} authorizer without identity source cannot be cached (API "
            "Gateway caches only on identity sources): keep --ttl 0",
            param_hint="'--ttl'",
        )
    return ttl


def open_api(settings: Settings, api_id: str) -> GatewayApi:
    """The REST or HTTP API with ``api_id`` (ids are unique across both in a region)."""
    # Imported here: each of them imports this module for the base class.
    from gatehouse.http_api import HttpApi  # noqa: PLC0415
    from gatehouse.rest_api import RestApi  # noqa: PLC0415

    rest = RestApi(settings, api_id)
    try:
        rest.describe()
    except CliError as error:
        if error.exit_code != ExitCode.NOT_FOUND:
            raise
    else:
        return rest
    http = HttpApi(settings, api_id)
    http.describe()
    return http
