"""An offline rehearsal of ``gatehouse attach`` and ``detach`` against the moto that
``gatehouse local`` runs, on a REST API and on an HTTP API.

What it stops: a rehearsal that fails where AWS would not. Against local mode's moto, applying
an attach used to stop at ``UpdateMethod`` (moto answers 500), reported as a permissions
problem, and a re-run then stopped on a moto gap: local mode's moto now fills those gaps
(``gatehouse.localmode.moto_gaps``). The command runs as a user would run it, in a
subprocess, with the AWS options after the command's name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]

REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def client(local: Any, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=local.info["moto"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # moto's fake credentials
    )


def legacy_api(local: Any) -> tuple[str, str, dict[str, str]]:
    """A REST API made by hand (not by CDK): /orders GET and POST, /orders/{id} GET and
    OPTIONS, a deployed stage ``prod``, and a function to attach."""
    apigateway, lambda_ = client(local, "apigateway"), client(local, "lambda")
    suffix = uuid.uuid4().hex[:8]  # one world per test, in the session's one local mode
    role = client(local, "iam").create_role(
        RoleName=f"authorizer-{suffix}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    function_arn = lambda_.create_function(
        FunctionName=f"gatehouse-jwt-{suffix}",
        Runtime="python3.12",
        Role=role,
        Handler="authorizers.jwt_bearer.handler.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},  # never invoked
    )["FunctionArn"]
    api_id = apigateway.create_rest_api(name="legacy-orders")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    ids = {"/": root}
    ids["/orders"] = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="orders")[
        "id"
    ]
    ids["/orders/{id}"] = apigateway.create_resource(
        restApiId=api_id, parentId=ids["/orders"], pathPart="{id}"
    )["id"]
    for path, verb in (
        ("/orders", "GET"),
        ("/orders", "POST"),
        ("/orders/{id}", "GET"),
        ("/orders/{id}", "OPTIONS"),
    ):
        apigateway.put_method(
            restApiId=api_id, resourceId=ids[path], httpMethod=verb, authorizationType="NONE"
        )
        apigateway.put_integration(
            restApiId=api_id, resourceId=ids[path], httpMethod=verb, type="MOCK"
        )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    return api_id, function_arn, ids


def gatehouse(local: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "gatehouse", *args,
            # The AWS options after the command's name, as a user may write them.
            "--endpoint-url", local.info["moto"], "--region", REGION,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **CREDENTIALS},
    )  # fmt: skip


def attach(local: Any, api_id: str, function_arn: str) -> subprocess.CompletedProcess[str]:
    return gatehouse(
        local, "attach", "--api-id", api_id, "--stage", "prod", "--kind", "jwt",
        "--function-arn", function_arn, "--route", "* /orders", "--route", "* /orders/*",
    )  # fmt: skip


def api_state(local: Any, api_id: str, function_arn: str) -> tuple[Any, ...]:
    """The methods, authorizers and the function's resource policy: what attach touches."""
    apigateway, lambda_ = client(local, "apigateway"), client(local, "lambda")
    resources = apigateway.get_resources(restApiId=api_id, embed=["methods"])["items"]
    methods = sorted(
        (r["path"], verb, body.get("authorizationType"), body.get("authorizerId"))
        for r in resources
        for verb, body in (r.get("resourceMethods") or {}).items()
    )
    authorizers = apigateway.get_authorizers(restApiId=api_id)["items"]
    try:
        policy = lambda_.get_policy(FunctionName=function_arn)["Policy"]
    except lambda_.exceptions.ResourceNotFoundException:
        policy = None
    return methods, authorizers, policy


def test_attach_applies_against_local_mode_and_a_second_run_changes_nothing(local):
    api_id, function_arn, ids = legacy_api(local)
    apigateway = client(local, "apigateway")
    deployments = len(apigateway.get_deployments(restApiId=api_id)["items"])

    first = attach(local, api_id, function_arn)
    assert first.returncode == 0, first.stderr
    assert "done:" in first.stderr
    authorizers = apigateway.get_authorizers(restApiId=api_id)["items"]
    assert [a["name"] for a in authorizers] == ["gatehouse-jwt"]
    # The validation regex is kept (moto used to drop it).
    assert authorizers[0]["identityValidationExpression"].startswith("^Bearer ")
    for path, verb in (("/orders", "GET"), ("/orders", "POST"), ("/orders/{id}", "GET")):
        method = apigateway.get_method(restApiId=api_id, resourceId=ids[path], httpMethod=verb)
        assert method["authorizationType"] == "CUSTOM"
        assert method["authorizerId"] == authorizers[0]["id"]
    preflight = apigateway.get_method(
        restApiId=api_id, resourceId=ids["/orders/{id}"], httpMethod="OPTIONS"
    )
    assert preflight["authorizationType"] == "NONE"
    assert len(apigateway.get_deployments(restApiId=api_id)["items"]) == deployments + 1

    second = attach(local, api_id, function_arn)
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stderr
    assert len(apigateway.get_deployments(restApiId=api_id)["items"]) == deployments + 1


def test_detach_after_attach_leaves_the_api_exactly_as_before(local):
    api_id, function_arn, _ids = legacy_api(local)
    before = api_state(local, api_id, function_arn)
    assert attach(local, api_id, function_arn).returncode == 0
    attached = api_state(local, api_id, function_arn)
    assert attached != before

    dry = gatehouse(local, "detach", "--api-id", api_id, "--stage", "prod", "--kind", "jwt",
                    "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "x delete authorizer gatehouse-jwt" in dry.stdout
    assert api_state(local, api_id, function_arn) == attached  # a dry run changes nothing

    done = gatehouse(local, "detach", "--api-id", api_id, "--stage", "prod", "--kind", "jwt")
    assert done.returncode == 0, done.stderr
    assert api_state(local, api_id, function_arn) == before
    again = gatehouse(local, "detach", "--api-id", api_id, "--stage", "prod", "--kind", "jwt")
    assert again.returncode == 0 and "nothing to do" in again.stderr


# --- HTTP APIs ---------------------------------------------------------------------------------


def legacy_http_api(local: Any, *, auto_deploy: bool) -> tuple[str, str]:
    """An HTTP API made by hand: GET and POST /orders, GET /orders/{id} on an IAM route,
    ``$default``, a stage; and a function to attach."""
    v2, lambda_ = client(local, "apigatewayv2"), client(local, "lambda")
    suffix = uuid.uuid4().hex[:8]
    role = client(local, "iam").create_role(
        RoleName=f"http-authorizer-{suffix}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    function_arn = lambda_.create_function(
        FunctionName=f"gatehouse-jwt-http-{suffix}",
        Runtime="python3.12",
        Role=role,
        Handler="authorizers.jwt_bearer.handler.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},  # never invoked
    )["FunctionArn"]
    api_id = v2.create_api(Name=f"orders-{suffix}", ProtocolType="HTTP")["ApiId"]
    for key in ("GET /orders", "POST /orders", "GET /orders/{id}", "$default"):
        route = v2.create_route(ApiId=api_id, RouteKey=key)
        if key == "GET /orders/{id}":
            v2.update_route(ApiId=api_id, RouteId=route["RouteId"], AuthorizationType="AWS_IAM")
    v2.create_stage(
        ApiId=api_id, StageName="$default" if auto_deploy else "prod", AutoDeploy=auto_deploy
    )
    return api_id, function_arn


def http_state(local: Any, api_id: str, function_arn: str) -> tuple[Any, ...]:
    v2, lambda_ = client(local, "apigatewayv2"), client(local, "lambda")
    routes = sorted(
        (r["RouteKey"], r.get("AuthorizationType"), r.get("AuthorizerId"))
        for r in v2.get_routes(ApiId=api_id)["Items"]
    )
    authorizers = v2.get_authorizers(ApiId=api_id)["Items"]
    tags = v2.get_tags(ResourceArn=f"arn:aws:apigateway:{REGION}::/apis/{api_id}")["Tags"]
    try:
        policy = lambda_.get_policy(FunctionName=function_arn)["Policy"]
    except lambda_.exceptions.ResourceNotFoundException:
        policy = None
    return routes, authorizers, tags, policy


@pytest.mark.parametrize("auto_deploy", [True, False], ids=["auto-deploy", "deployed"])
def test_attach_and_detach_on_an_http_api_leave_it_exactly_as_before(local, auto_deploy):
    api_id, function_arn = legacy_http_api(local, auto_deploy=auto_deploy)
    stage = "$default" if auto_deploy else "prod"
    v2 = client(local, "apigatewayv2")
    before = http_state(local, api_id, function_arn)

    attached = gatehouse(
        local, "attach", "--api-id", api_id, "--stage", stage, "--kind", "jwt",
        "--function-arn", function_arn, "--route", "* /orders", "--route", "$default",
    )  # fmt: skip
    assert attached.returncode == 0, attached.stderr
    routes = {r["RouteKey"]: r for r in v2.get_routes(ApiId=api_id)["Items"]}
    [authorizer] = v2.get_authorizers(ApiId=api_id)["Items"]
    for key in ("GET /orders", "POST /orders", "$default"):
        assert routes[key]["AuthorizationType"] == "CUSTOM"
        assert routes[key]["AuthorizerId"] == authorizer["AuthorizerId"]
    assert routes["GET /orders/{id}"]["AuthorizationType"] == "AWS_IAM"
    deployments = len(v2.get_deployments(ApiId=api_id)["Items"])
    assert deployments == (0 if auto_deploy else 1)

    again = gatehouse(
        local, "attach", "--api-id", api_id, "--stage", stage, "--kind", "jwt",
        "--function-arn", function_arn, "--route", "* /orders", "--route", "$default",
    )  # fmt: skip
    assert again.returncode == 0 and "nothing to do" in again.stderr

    detached = gatehouse(local, "detach", "--api-id", api_id, "--stage", stage, "--kind", "jwt")
    assert detached.returncode == 0, detached.stderr
    assert http_state(local, api_id, function_arn) == before
    rest = gatehouse(local, "detach", "--api-id", api_id, "--stage", stage, "--kind", "jwt")
    assert rest.returncode == 0 and "nothing to do" in rest.stderr
