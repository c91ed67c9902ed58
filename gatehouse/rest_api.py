"""A REST API (API Gateway v1) as ``gatehouse attach`` and ``gatehouse detach`` see it: its
methods, authorizers and stages, the attach record in the authorizer's ``authType``
(:mod:`gatehouse.attach_record`), and each call's failure turned into one CLI error line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from gatehouse.attach_plan import (
    AnySpec,
    ApiMethod,
    AuthorizerSpec,
    MethodSwitch,
    kind_defaults,
    parse_identity_source,
)
from gatehouse.attach_record import MAX_RECORD_CHARS, AttachRecord
from gatehouse.aws import Settings, aws_errors, pages
from gatehouse.gateway_api import GatewayApi, SpecOptions, checked_ttl

if TYPE_CHECKING:
    from gatehouse.detach import Restore

__all__ = ["RestApi"]


class RestApi(GatewayApi):
    """One REST API, read and written with the ``apigateway`` client."""

    label = "REST API"
    max_record_chars = MAX_RECORD_CHARS
    has_api_keys = True

    def __init__(self, settings: Settings, api_id: str) -> None:
        super().__init__(settings, api_id)
        with aws_errors("connecting to AWS"):
            self.apigateway = settings.client("apigateway")

    def describe(self) -> dict[str, Any]:
        with aws_errors(f"reading REST API {self.api_id!r}"):
            return dict(self.apigateway.get_rest_api(restApiId=self.api_id))

    def stages(self) -> list[dict[str, Any]]:
        with aws_errors(f"reading the stages of API {self.api_id}"):
            items = self.apigateway.get_stages(restApiId=self.api_id).get("item", [])
        return [dict(item) for item in items]

    def methods(self) -> list[ApiMethod]:
        with aws_errors(f"reading the resources of API {self.api_id}"):
            resources = pages(
                self.apigateway.get_resources, restApiId=self.api_id, embed=["methods"], limit=500
            )
        return ApiMethod.from_resources(resources)

    def authorizers(self) -> list[dict[str, Any]]:
        with aws_errors(f"reading the authorizers of API {self.api_id}"):
            return pages(self.apigateway.get_authorizers, restApiId=self.api_id, limit=500)

    def spec(self, options: SpecOptions) -> AuthorizerSpec:
        model = kind_defaults(options.kind)
        sources = model.identity_sources
        if options.identity_source is not None:
            try:
                sources = parse_identity_source(
                    options.identity_source, token=model.type == "TOKEN"
                )
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="'--identity-source'") from None
        return AuthorizerSpec(
            name=options.name or f"gatehouse-{options.kind}",
            kind=options.kind,
            type=model.type,
            function=options.function,
            identity_sources=sources,
            validation_regex=model.validation_regex,
            ttl=checked_ttl(options, sources, model.cache_ttl_seconds),
        )

    def record_of(self, authorizer: Mapping[str, Any]) -> AttachRecord | None:
        return AttachRecord.decode(authorizer.get("authType"))

    def auto_deploys(self, stage: Mapping[str, Any]) -> bool:
        del stage
        return False  # a REST API stage serves a deployment, never the API as edited

    def stale(
        self,
        spec: AnySpec,
        guarded: Sequence[ApiMethod],
        stage: Mapping[str, Any],
        record: AttachRecord | None,
    ) -> list[ApiMethod]:
        """Methods already switched but not deployed (an earlier run stopped before deploying).

        Only knowable where API Gateway returns the deployment's ``apiSummary``; it records each
        method's authorizationType and apiKeyRequired, not the authorizer id.
        """
        del record
        deployed = self._deployed_methods(stage)
        if deployed is None:
            return []
        stale = []
        for method in guarded:
            snapshot = (deployed.get(method.path) or {}).get(method.method) or {}
            if snapshot.get("authorizationType") != "CUSTOM" or (
                spec.kind == "apikey" and not snapshot.get("apiKeyRequired")
            ):
                stale.append(method)
        return stale

    def _deployed_methods(self, stage: Mapping[str, Any]) -> dict[str, Any] | None:
        """The methods as the stage serves them (the deployment's ``apiSummary``), if known."""
        deployment_id = stage.get("deploymentId")
        if not deployment_id:
            return None
        with aws_errors(f"reading deployment {deployment_id} of stage {stage.get('stageName')}"):
            deployment = self.apigateway.get_deployment(
                restApiId=self.api_id, deploymentId=deployment_id, embed=["apisummary"]
            )
        summary = deployment.get("apiSummary")
        return summary if isinstance(summary, dict) else None

    def warnings(self, spec: AnySpec) -> list[str]:
        source = self.describe().get("apiKeySource", "HEADER")
        if spec.kind == "apikey" and source != "AUTHORIZER":
            return [
                f"API {self.api_id} has apiKeySource {source}: API Gateway takes the usage-plan "
                "key from the x-api-key header, not from the authorizer's usageIdentifierKey; "
                f"set it with: aws apigateway update-rest-api --rest-api-id {self.api_id} "
                "--patch-operations op=replace,path=/apiKeySource,value=AUTHORIZER"
            ]
        return []

    def create_authorizer(self, spec: AnySpec, record: AttachRecord | None) -> str:
        request = spec.create_request()
        if record is not None:
            request["authType"] = record.encode()  # what detach reads (gatehouse.attach_record)
        with aws_errors(f"creating authorizer {spec.name!r}"):
            created = self.apigateway.create_authorizer(restApiId=self.api_id, **request)
        return str(created["id"])

    def write_record(self, authorizer_id: str, record: AttachRecord) -> None:
        with aws_errors(f"updating authorizer {authorizer_id}"):
            self.apigateway.update_authorizer(
                restApiId=self.api_id,
                authorizerId=authorizer_id,
                patchOperations=[{"op": "replace", "path": "/authType", "value": record.encode()}],
            )

    def switch(self, switch: MethodSwitch, authorizer_id: str) -> None:
        with aws_errors(f"updating method {switch.method.route}"):
            self.apigateway.update_method(
                restApiId=self.api_id,
                resourceId=switch.method.resource_id,
                httpMethod=switch.method.method,
                patchOperations=switch.patch_operations(authorizer_id),
            )

    def restore(self, restore: Restore) -> None:
        operations = [
            {"op": "replace", "path": "/authorizationType", "value": restore.authorization_type}
        ]
        if restore.authorizer_id is not None:
            operations.append(
                {"op": "replace", "path": "/authorizerId", "value": restore.authorizer_id}
            )
        if restore.key_off:
            operations.append({"op": "replace", "path": "/apiKeyRequired", "value": "false"})
        with aws_errors(f"updating method {restore.method.route}"):
            self.apigateway.update_method(
                restApiId=self.api_id,
                resourceId=restore.method.resource_id,
                httpMethod=restore.method.method,
                patchOperations=operations,
            )

    def deploy(self, stage: str, description: str) -> str:
        with aws_errors(f"deploying stage {stage!r}"):
            deployment = self.apigateway.create_deployment(
                restApiId=self.api_id, stageName=stage, description=description
            )
        return str(deployment["id"])

    def delete_authorizer(self, authorizer_id: str) -> None:
        with aws_errors(f"deleting authorizer {authorizer_id}"):
            self.apigateway.delete_authorizer(restApiId=self.api_id, authorizerId=authorizer_id)
