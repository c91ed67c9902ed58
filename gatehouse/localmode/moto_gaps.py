"""Where moto 5.2.5 falls short of the AWS APIs ``gatehouse attach`` uses, filled in.

Local mode installs these into its moto server (:func:`install`), so an attach rehearsed
against ``gatehouse local`` behaves as against AWS; the tests apply the same patches
(:func:`patches`, through ``monkeypatch``) so they exercise exactly what local mode runs.
Each one follows the AWS API reference for the call:

- ``apigateway.UpdateMethod`` is not implemented (moto answers 500): the ``replace`` of
  ``/authorizationType``, ``/authorizerId`` and ``/apiKeyRequired`` (API Gateway's string
  values, ``"true"``). The whole request is checked first: an unknown type or value, and
  ``CUSTOM`` or ``COGNITO_USER_POOLS`` without an authorizer of the API, are refused (400). An
  authorizer id counts only with those two types: with any other it is dropped (an
  assumption from public reports, e.g. aws-cdk PR #14424 and LocalStack PR #7860: setting the
  type is what detaches an authorizer).
- ``DeleteAuthorizer`` deletes an authorizer still used by a method: refused with
  ``ConflictException`` (409), as API Gateway does ("Cannot delete authorizer ..., is
  referenced in method", terraform-provider-aws issue #14812).
- ``CreateAuthorizer`` drops ``identityValidationExpression`` (the backend passes it under a
  misspelt keyword): kept.
- ``GetDeployment`` with ``embed=apisummary`` returns no ``apiSummary`` (the methods as the
  deployment serves them): each deployment records it when created.
- ``lambda.AddPermission`` with a statement id that exists appends a second statement: refused
  with ``ResourceConflictException`` (409), as Lambda does.

HTTP APIs (``apigatewayv2``):

- ``GetAuthorizers`` is not implemented: listed.
- ``CreateDeployment``, ``GetDeployments`` and ``GetDeployment`` are not implemented: kept per
  API (a deployment of a stage that does not exist is refused, 404).
- ``UpdateRoute`` keeps a route's authorizer when its type becomes ``NONE`` or ``AWS_IAM``, and
  cannot clear its scopes: the authorization fields are checked whole first, as API Gateway
  does (the type is one of ``NONE``, ``AWS_IAM``, ``CUSTOM``, ``JWT``; ``CUSTOM`` names a
  Lambda authorizer of the API and ``JWT`` a JWT one; scopes only with ``JWT``, "Authorization
  Scopes are only valid for COGNITO_USER_POOLS and JWT authorization types", aws-cdk PR
  #27576); an authorizer id counts only with ``CUSTOM`` or ``JWT`` (setting the type to
  ``NONE`` is what removes it, cloudformation-coverage-roadmap issue #2184), and an empty
  scope list clears them.
- ``DeleteAuthorizer`` deletes an authorizer still used by a route: refused with
  ``ConflictException`` (409), as for REST APIs.

An operation a patch does not know is refused (400), never silently accepted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install", "patches"]

Patch = tuple[object, str, object]  # (owner, attribute, replacement)

_installed = False
_lock = threading.Lock()


def patches() -> list[Patch]:
    """``(owner, attribute, replacement)`` for each gap; moto is imported here, lazily."""
    from moto.apigateway import models as apigateway_models  # noqa: PLC0415 - moto is heavy
    from moto.apigateway.exceptions import BadRequestException, ConflictException  # noqa: PLC0415
    from moto.apigateway.responses import APIGatewayResponse  # noqa: PLC0415
    from moto.awslambda.exceptions import LambdaClientError  # noqa: PLC0415
    from moto.awslambda.policy import Policy  # noqa: PLC0415

    v2_patches = _v2_patches()

    def update_method(self: APIGatewayResponse) -> str:
        parts = self.path.split("/")
        api_id = parts[2]
        method = self.backend.get_method(api_id, parts[4], parts[6])
        known = set(self.backend.get_rest_api(api_id).authorizers)
        # The whole request is checked before any of it applies, as API Gateway does.
        updated, problem = _patched(method, self._get_param("patchOperations") or [], known)
        if problem:
            raise BadRequestException(problem)
        method.authorization_type, method.authorizer_id, method.api_key_required = updated
        return json.dumps(method.to_json())

    delete_authorizer = apigateway_models.APIGatewayBackend.delete_authorizer

    def delete_unused_authorizer(self: Any, restapi_id: str, authorizer_id: str) -> None:
        used = _referenced_in(self.get_rest_api(restapi_id), authorizer_id)
        if used:
            raise ConflictException(
                f"Cannot delete authorizer '{authorizer_id}', is referenced in method: {used}"
            )
        delete_authorizer(self, restapi_id, authorizer_id)

    authorizer_init = apigateway_models.Authorizer.__init__

    def init_authorizer(self: Any, *args: Any, **kwargs: Any) -> None:
        authorizer_init(self, *args, **kwargs)
        if self.identity_validation_expression is None:
            self.identity_validation_expression = kwargs.get("identiy_validation_expression")

    create_deployment = apigateway_models.APIGatewayBackend.create_deployment

    def create_deployment_with_summary(
        self: Any, function_id: str, *args: Any, **kwargs: Any
    ) -> Any:
        deployment = create_deployment(self, function_id, *args, **kwargs)
        deployment.api_summary = {  # type: ignore[attr-defined]  # our own attribute
            resource.get_path(): {
                verb: {
                    "authorizationType": method.authorization_type,
                    "apiKeyRequired": bool(method.api_key_required),
                }
                for verb, method in resource.resource_methods.items()
            }
            for resource in self.get_resources(function_id)
            if resource.resource_methods
        }
        return deployment

    get_deployment = APIGatewayResponse.get_deployment

    def get_deployment_with_summary(self: APIGatewayResponse) -> str:
        body = json.loads(get_deployment(self))
        if "apisummary" in self.querystring.get("embed", []):
            parts = self.path.split("/")
            deployment = self.backend.get_deployment(parts[2], parts[4])
            body["apiSummary"] = getattr(deployment, "api_summary", {})
        return json.dumps(body)

    add_statement = Policy.add_statement

    def add_unique_statement(self: Policy, raw: str, qualifier: str | None = None) -> Any:
        sid = json.loads(raw).get("Sid")
        if any(statement.get("Sid") == sid for statement in self.statements):
            error = LambdaClientError(
                "ResourceConflictException", f"The statement id ({sid}) provided already exists"
            )
            error.code = 409
            raise error
        return add_statement(self, raw, qualifier)

    return [
        (APIGatewayResponse, "update_method", update_method),
        (apigateway_models.APIGatewayBackend, "delete_authorizer", delete_unused_authorizer),
        (apigateway_models.Authorizer, "__init__", init_authorizer),
        (apigateway_models.APIGatewayBackend, "create_deployment", create_deployment_with_summary),
        (APIGatewayResponse, "get_deployment", get_deployment_with_summary),
        (Policy, "add_statement", add_unique_statement),
        *v2_patches,
    ]


def _v2_patches() -> list[Patch]:
    """The HTTP API (``apigatewayv2``) gaps."""

    from moto.apigatewayv2 import models as v2_models  # noqa: PLC0415
    from moto.apigatewayv2.exceptions import BadRequestException  # noqa: PLC0415
    from moto.apigatewayv2.responses import ApiGatewayV2Response  # noqa: PLC0415
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

    def api_of(response: ApiGatewayV2Response) -> Any:
        return response.apigatewayv2_backend.get_api(response.path.split("/")[3])

    def get_authorizers(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
        items = [a.to_json() for a in api_of(self).authorizers.values()]
        return 200, {}, json.dumps({"items": items})

    update_route = ApiGatewayV2Response.update_route

    def update_route_authorization(
        self: ApiGatewayV2Response,
    ) -> tuple[int, dict[str, str], str]:
        api = api_of(self)
        route = api.get_route(self.path.split("/")[-1])
        params = json.loads(self.body or "{}")
        kind = params.get("authorizationType", route.authorization_type) or "NONE"
        authorizer_id = params.get("authorizerId", route.authorizer_id)
        scopes = params.get("authorizationScopes", route.authorization_scopes) or []
        problem = _v2_authorization_problem(kind, authorizer_id, scopes, api.authorizers)
        if problem:
            raise BadRequestException(problem)
        # The rest of the request as moto does it; then the authorization fields, whole.
        status, headers, _ = update_route(self)
        route.authorization_type = kind
        route.authorizer_id = authorizer_id if kind in ("CUSTOM", "JWT") else None
        route.authorization_scopes = list(scopes)
        return status, headers, json.dumps(route.to_json())

    delete_authorizer = v2_models.Api.delete_authorizer

    def delete_unused_authorizer(self: Any, authorizer_id: str) -> None:
        used = [r.route_key for r in self.routes.values() if r.authorizer_id == authorizer_id]
        if used:
            error = JsonRESTError(
                "ConflictException",
                f"Cannot delete authorizer '{authorizer_id}', is referenced in route: {used[0]}",
            )
            error.code = 409
            raise error
        delete_authorizer(self, authorizer_id)

    return [
        (ApiGatewayV2Response, "get_authorizers", get_authorizers),
        (ApiGatewayV2Response, "update_route", update_route_authorization),
        (v2_models.Api, "delete_authorizer", delete_unused_authorizer),
        *_v2_deployments(api_of),
    ]


def _v2_deployments(api_of: Callable[[Any], Any]) -> list[Patch]:
    """HTTP API deployments, kept per API, and the URL moto lacks for them."""
    import datetime  # noqa: PLC0415
    import secrets  # noqa: PLC0415

    from moto.apigatewayv2 import urls as v2_urls  # noqa: PLC0415
    from moto.apigatewayv2.exceptions import StageNotFound  # noqa: PLC0415
    from moto.apigatewayv2.responses import ApiGatewayV2Response  # noqa: PLC0415

    def deployments(api: Any) -> list[dict[str, Any]]:
        if not hasattr(api, "gatehouse_deployments"):
            api.gatehouse_deployments = []
        return api.gatehouse_deployments  # type: ignore[no-any-return]

    def create_deployment(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
        api = api_of(self)
        params = json.loads(self.body or "{}")
        stage_name = params.get("stageName")
        if stage_name is not None and stage_name not in api.stages:
            raise StageNotFound
        deployment = {
            "deploymentId": secrets.token_hex(3),
            "deploymentStatus": "DEPLOYED",
            "autoDeployed": False,
            "createdDate": datetime.datetime.now(datetime.UTC).isoformat(),
        }
        if params.get("description"):
            deployment["description"] = params["description"]
        deployments(api).append(deployment)
        return 201, {}, json.dumps(deployment)

    def get_deployments(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps({"items": deployments(api_of(self))})

    paths = dict(v2_urls.url_paths)
    paths["{0}/v2/apis/(?P<api_id>[^/]+)/deployments$"] = ApiGatewayV2Response.dispatch
    return [
        (ApiGatewayV2Response, "create_deployment", create_deployment),
        (ApiGatewayV2Response, "get_deployments", get_deployments),
        (v2_urls, "url_paths", paths),
    ]


def _v2_authorization_problem(
    kind: str, authorizer_id: str | None, scopes: list[str], authorizers: dict[str, Any]
) -> str | None:
    """Why API Gateway would refuse a route's authorization fields (None: it would not)."""
    if kind not in ("NONE", "AWS_IAM", "CUSTOM", "JWT"):
        return f"Invalid authorization type {kind}"
    if kind in ("CUSTOM", "JWT"):
        authorizer = authorizers.get(authorizer_id or "")
        wanted = "REQUEST" if kind == "CUSTOM" else "JWT"
        if authorizer is None or authorizer.authorizer_type != wanted:
            return f"Invalid authorizer ID specified for authorization type {kind}"
    if scopes and kind != "JWT":
        return (
            "Invalid Route authorization type specified. Authorization Scopes are only valid "
            "for COGNITO_USER_POOLS and JWT authorization types"
        )
    return None


def _referenced_in(api: Any, authorizer_id: str) -> str | None:
    """The first method of ``api`` that uses the authorizer, as API Gateway names it."""
    for resource in api.resources.values():
        for verb, method in resource.resource_methods.items():
            if method.authorizer_id == authorizer_id:
                return f"{verb}/{resource.get_path()}"
    return None


_AUTHORIZATION_TYPES = frozenset({"NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"})
_WITH_AUTHORIZER = frozenset({"CUSTOM", "COGNITO_USER_POOLS"})


def _patched(
    method: Any, operations: list[dict[str, Any]], authorizers: set[str]
) -> tuple[tuple[str, str | None, bool], str | None]:
    """The method's (authorizationType, authorizerId, apiKeyRequired) after ``operations``,
    or the reason API Gateway would refuse them (then nothing applies)."""
    kind, authorizer_id = method.authorization_type, method.authorizer_id
    key = bool(method.api_key_required)
    for operation in operations:
        path, value = operation.get("path"), operation.get("value")
        if operation.get("op") != "replace":
            return (kind, authorizer_id, key), f"op {operation.get('op')} is not emulated here"
        if path == "/authorizationType":
            if value not in _AUTHORIZATION_TYPES:
                return (kind, authorizer_id, key), f"Invalid authorization type {value}"
            kind = value
        elif path == "/authorizerId":
            authorizer_id = value
        elif path == "/apiKeyRequired":
            if value not in ("true", "false"):
                return (kind, authorizer_id, key), f"Invalid apiKeyRequired value {value}"
            key = value == "true"
        else:
            return (kind, authorizer_id, key), f"path {path} is not emulated here"
    if kind in _WITH_AUTHORIZER:
        if authorizer_id not in authorizers:
            return (kind, authorizer_id, key), "Invalid authorizer ID specified"
    else:
        authorizer_id = None  # an authorizer id counts only with CUSTOM or COGNITO_USER_POOLS
    return (kind, authorizer_id, key), None


def install() -> None:
    """Apply every patch to this process's moto, once (local mode's moto server)."""
    global _installed  # noqa: PLW0603 - once per process, as moto itself is
    with _lock:
        if _installed:
            return
        for owner, name, replacement in patches():
            setattr(owner, name, replacement)
        _installed = True
