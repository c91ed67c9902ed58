"""An HTTP API (API Gateway v2) as ``gatehouse attach`` and ``gatehouse detach`` see it.

Differences from a REST API that shape what attach does here (API Gateway developer guide,
"Working with AWS Lambda authorizers for HTTP APIs" and the ``apigatewayv2`` API reference):

- the authorizer is a ``REQUEST`` Lambda authorizer with payload format 2.0 (IAM policy
  responses, or simple ones when the function's ``GATEHOUSE_HTTP_RESPONSE_FORMAT`` says
  ``simple``), identity sources spelt ``$request.header.X``; there is no validation regex;
- a route is switched with ``UpdateRoute``; a JWT route's authorization scopes are cleared
  (API Gateway accepts scopes only with JWT and Cognito authorization) and put back by detach;
- a stage with automatic deployment serves each change at once; another needs a deployment;
- an HTTP API authorizer has no free-text field, so the attach record is kept in the API's
  tags (``gatehouse-attach/AUTHORIZER_ID/N``, :meth:`AttachRecord.to_tags`);
- there are no API keys or usage plans.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import click

from gatehouse.attach_plan import (
    AnySpec,
    ApiMethod,
    HttpAuthorizerSpec,
    MethodSwitch,
    http_identity_sources,
    kind_defaults,
    parse_http_identity_source,
)
from gatehouse.attach_record import (
    MAX_TAG_RECORD_CHARS,
    AttachRecord,
    method_key,
    record_owner,
    record_tags,
)
from gatehouse.aws import Settings, aws_errors, pages
from gatehouse.cache_key import simple_responses
from gatehouse.errors import CliError, ExitCode
from gatehouse.gateway_api import GatewayApi, SpecOptions, checked_ttl

if TYPE_CHECKING:
    from gatehouse.detach import Restore

__all__ = ["HttpApi"]

_PAGE: Final = "500"


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _pages(call: Any, **request: Any) -> list[dict[str, Any]]:
    """Every item of a paginated ``apigatewayv2`` list call."""
    return pages(call, items_key="Items", cursor_key="NextToken", MaxResults=_PAGE, **request)


class HttpApi(GatewayApi):
    """One HTTP API, read and written with the ``apigatewayv2`` client."""

    label = "HTTP API"
    max_record_chars = MAX_TAG_RECORD_CHARS
    tracks_deployments = True
    item = "route"
    update_command = "aws apigatewayv2 update-route"

    def __init__(self, settings: Settings, api_id: str) -> None:
        super().__init__(settings, api_id)
        with aws_errors("connecting to AWS"):
            self.apigatewayv2 = settings.client("apigatewayv2")

    @property
    def _arn(self) -> str:
        region = str(self.apigatewayv2.meta.region_name)
        return f"arn:{_partition(region)}:apigateway:{region}::/apis/{self.api_id}"

    def describe(self) -> dict[str, Any]:
        try:
            with aws_errors(f"reading API {self.api_id!r}"):
                api = dict(self.apigatewayv2.get_api(ApiId=self.api_id))
        except CliError as error:
            if error.exit_code != ExitCode.NOT_FOUND:
                raise
            raise CliError(
                f"no REST or HTTP API {self.api_id!r} in {self.apigatewayv2.meta.region_name}",
                hint="check the id and --region (aws apigateway get-rest-apis, aws "
                "apigatewayv2 get-apis)",
                code=ExitCode.NOT_FOUND,
            ) from None
        if api.get("ProtocolType") != "HTTP":
            raise CliError(
                f"API {self.api_id} is a {api.get('ProtocolType')} API",
                hint="attach and detach work on REST and HTTP APIs; a WebSocket API's "
                "authorizer runs on $connect only, which Gatehouse does not support",
                code=ExitCode.USAGE,
            )
        return api

    def stages(self) -> list[dict[str, Any]]:
        with aws_errors(f"reading the stages of API {self.api_id}"):
            items = _pages(self.apigatewayv2.get_stages, ApiId=self.api_id)
        return [{**item, "stageName": item.get("StageName")} for item in items]

    def methods(self) -> list[ApiMethod]:
        with aws_errors(f"reading the routes of API {self.api_id}"):
            routes = _pages(self.apigatewayv2.get_routes, ApiId=self.api_id)
        return ApiMethod.from_routes(routes)

    def authorizers(self) -> list[dict[str, Any]]:
        with aws_errors(f"reading the authorizers of API {self.api_id}"):
            items = _pages(self.apigatewayv2.get_authorizers, ApiId=self.api_id)
        return [
            {
                **item,
                "id": item.get("AuthorizerId"),
                "name": item.get("Name"),
                "authorizerUri": item.get("AuthorizerUri"),
            }
            for item in items
        ]

    def spec(self, options: SpecOptions) -> HttpAuthorizerSpec:
        model = kind_defaults(options.kind)
        sources = http_identity_sources(model.identity_sources)
        if options.identity_source is not None:
            try:
                sources = parse_http_identity_source(options.identity_source)
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="'--identity-source'") from None
        return HttpAuthorizerSpec(
            name=options.name or f"gatehouse-{options.kind}",
            kind=options.kind,
            function=options.function,
            identity_sources=sources,
            ttl=checked_ttl(options, sources, model.cache_ttl_seconds),
        )

    def with_environment(self, spec: AnySpec, environment: Mapping[str, str] | None) -> AnySpec:
        """Simple responses when the function answers them. Unknown settings: IAM policy
        responses, so a function that answers simple ones is refused (500), never opened."""
        if not isinstance(spec, HttpAuthorizerSpec) or environment is None:
            return spec
        return dataclasses.replace(spec, simple_responses=simple_responses(environment))

    def _tags(self) -> dict[str, str]:
        with aws_errors(f"reading the tags of API {self.api_id}"):
            tags = self.apigatewayv2.get_tags(ResourceArn=self._arn).get("Tags") or {}
        return {str(k): str(v) for k, v in tags.items()}

    def record_of(self, authorizer: Mapping[str, Any]) -> AttachRecord | None:
        return AttachRecord.from_tags(self._tags(), str(authorizer["id"]))

    def auto_deploys(self, stage: Mapping[str, Any]) -> bool:
        return bool(stage.get("AutoDeploy"))

    def stale(
        self,
        spec: AnySpec,
        guarded: Sequence[ApiMethod],
        stage: Mapping[str, Any],
        record: AttachRecord | None,
    ) -> list[ApiMethod]:
        """Routes switched since this stage was last deployed (a run that stopped before
        deploying, or an attach made with another --stage): the record says so."""
        del spec
        if record is None or self.auto_deploys(stage):
            return []
        if stage.get("stageName") in record.deployed:
            return []
        return [m for m in guarded if method_key(m) in record.switched]

    def warnings(self, spec: AnySpec) -> list[str]:
        if spec.kind == "apikey":
            return [
                "HTTP APIs have no API keys or usage plans: the apikey authorizer checks each "
                "key against its table, but no per-key quota or throttle applies "
                "(docs/attach.md)"
            ]
        return []

    def create_authorizer(self, spec: AnySpec, record: AttachRecord | None) -> str:
        with aws_errors(f"creating authorizer {spec.name!r}"):
            created = self.apigatewayv2.create_authorizer(
                ApiId=self.api_id, **spec.create_request()
            )
        authorizer_id = str(created["AuthorizerId"])
        if record is None:
            return authorizer_id
        try:
            self.write_record(authorizer_id, record)
        except CliError:
            # Without its record the authorizer could never be detached: take it back.
            with aws_errors(f"deleting authorizer {spec.name!r} whose record was not written"):
                self.apigatewayv2.delete_authorizer(ApiId=self.api_id, AuthorizerId=authorizer_id)
            raise
        return authorizer_id

    def write_record(self, authorizer_id: str, record: AttachRecord) -> None:
        tags = record.to_tags(authorizer_id)
        if tags is None:  # the plan checked the length: never here
            raise CliError(
                f"the attach record of {authorizer_id} is over {MAX_TAG_RECORD_CHARS} characters",
                hint="attach fewer routes per --name",
                code=ExitCode.USAGE,
            )
        extra = [key for key in record_tags(self._tags(), authorizer_id) if key not in tags]
        with aws_errors(f"tagging API {self.api_id} with the attach record"):
            self.apigatewayv2.tag_resource(ResourceArn=self._arn, Tags=tags)
            if extra:
                self.apigatewayv2.untag_resource(ResourceArn=self._arn, TagKeys=extra)

    def switch(self, switch: MethodSwitch, authorizer_id: str) -> None:
        request: dict[str, Any] = {"AuthorizationType": "CUSTOM", "AuthorizerId": authorizer_id}
        if switch.method.scopes:
            request["AuthorizationScopes"] = []  # JWT-only: kept in the record for detach
        with aws_errors(f"updating route {switch.method.route}"):
            self.apigatewayv2.update_route(
                ApiId=self.api_id, RouteId=switch.method.resource_id, **request
            )

    def restore(self, restore: Restore) -> None:
        request: dict[str, Any] = {"AuthorizationType": restore.authorization_type}
        if restore.authorizer_id is not None:
            request["AuthorizerId"] = restore.authorizer_id
        if restore.scopes:
            request["AuthorizationScopes"] = list(restore.scopes)
        with aws_errors(f"updating route {restore.method.route}"):
            self.apigatewayv2.update_route(
                ApiId=self.api_id, RouteId=restore.method.resource_id, **request
            )

    def deploy(self, stage: str, description: str) -> str:
        with aws_errors(f"deploying stage {stage!r}"):
            deployment = self.apigatewayv2.create_deployment(
                ApiId=self.api_id, StageName=stage, Description=description
            )
        return str(deployment["DeploymentId"])

    def delete_authorizer(self, authorizer_id: str) -> None:
        with aws_errors(f"deleting authorizer {authorizer_id}"):
            self.apigatewayv2.delete_authorizer(ApiId=self.api_id, AuthorizerId=authorizer_id)
        self.forget_records([authorizer_id])

    def orphan_records(self, authorizers: Sequence[Mapping[str, Any]]) -> list[str]:
        ids = {str(a.get("id")) for a in authorizers}
        return sorted({record_owner(key) for key in record_tags(self._tags())} - ids)

    def forget_records(self, authorizer_ids: Sequence[str]) -> None:
        tags = self._tags()
        keys = [key for owner in authorizer_ids for key in record_tags(tags, owner)]
        if keys:
            with aws_errors(f"removing attach records from the tags of API {self.api_id}"):
                self.apigatewayv2.untag_resource(ResourceArn=self._arn, TagKeys=keys)
