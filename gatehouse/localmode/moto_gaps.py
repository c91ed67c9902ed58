"""Where moto 5.2.5 falls short of the AWS APIs ``gatehouse attach`` uses, filled in.

Local mode installs these into its moto server (:func:`install`), so an attach rehearsed
against ``gatehouse local`` behaves as against AWS; the tests apply the same patches
(:func:`patches`, through ``monkeypatch``) so they exercise exactly what local mode runs.
Each one follows the AWS API reference for the call:

- ``apigateway.UpdateMethod`` is not implemented (moto answers 500): the ``replace`` of
  ``/authorizationType``, ``/authorizerId`` and ``/apiKeyRequired`` (API Gateway's string
  values, ``"true"``), with ``NONE`` clearing the authorizer as API Gateway does.
- ``CreateAuthorizer`` drops ``identityValidationExpression`` (the backend passes it under a
  misspelt keyword): kept.
- ``GetDeployment`` with ``embed=apisummary`` returns no ``apiSummary`` (the methods as the
  deployment serves them): each deployment records it when created.
- ``lambda.AddPermission`` with a statement id that exists appends a second statement: refused
  with ``ResourceConflictException`` (409), as Lambda does.

Anything else a patch does not know is refused (400), never silently accepted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install", "patches"]

Patch = tuple[object, str, Callable[..., Any]]

_installed = False
_lock = threading.Lock()


def patches() -> list[Patch]:
    """``(owner, attribute, replacement)`` for each gap; moto is imported here, lazily."""
    from moto.apigateway import models as apigateway_models  # noqa: PLC0415 - moto is heavy
    from moto.apigateway.exceptions import BadRequestException  # noqa: PLC0415
    from moto.apigateway.responses import APIGatewayResponse  # noqa: PLC0415
    from moto.awslambda.exceptions import LambdaClientError  # noqa: PLC0415
    from moto.awslambda.policy import Policy  # noqa: PLC0415

    def update_method(self: APIGatewayResponse) -> str:
        parts = self.path.split("/")
        method = self.backend.get_method(parts[2], parts[4], parts[6])
        for operation in self._get_param("patchOperations") or []:
            problem = _patch_method(method, operation)
            if problem:
                raise BadRequestException(f"{problem} is not emulated here")
        return json.dumps(method.to_json())

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
        (apigateway_models.Authorizer, "__init__", init_authorizer),
        (apigateway_models.APIGatewayBackend, "create_deployment", create_deployment_with_summary),
        (APIGatewayResponse, "get_deployment", get_deployment_with_summary),
        (Policy, "add_statement", add_unique_statement),
    ]


def _patch_method(method: Any, operation: dict[str, Any]) -> str | None:
    """Apply one ``UpdateMethod`` patch operation; what is not emulated, or None."""
    path, value = operation.get("path"), operation.get("value")
    if operation.get("op") != "replace":
        return f"op {operation.get('op')}"
    if path == "/authorizationType":
        method.authorization_type = value
        if value == "NONE":
            method.authorizer_id = None
    elif path == "/authorizerId":
        method.authorizer_id = value
    elif path == "/apiKeyRequired":
        method.api_key_required = value == "true"
    else:
        return f"path {path}"
    return None


def install() -> None:
    """Apply every patch to this process's moto, once (local mode's moto server)."""
    global _installed  # noqa: PLW0603 - once per process, as moto itself is
    with _lock:
        if _installed:
            return
        for owner, name, replacement in patches():
            setattr(owner, name, replacement)
        _installed = True
