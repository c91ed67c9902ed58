"""`gatehouse attach` end to end against moto: a REST API with resources and methods, a stage,
a Lambda function, and the CLI driven through click's CliRunner with the global options.

moto 5.2.5's gaps are filled by ``gatehouse.localmode.moto_gaps``, the patches local mode
installs into its own moto server (each one is listed in that module's docstring), so the
tests and an offline rehearsal against ``gatehouse local`` run the same emulation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from moto.apigateway import models as apigateway_models
from moto.apigateway.exceptions import BadRequestException

from gatehouse.api_model import (
    API_KEY_HEADER,
    AUTHORIZATION_HEADER,
    AUTHORIZER_HANDLERS,
    TOKEN_VALIDATION_REGEX,
)
from gatehouse.attach_plan import KINDS, RoutePattern, statement_covers
from gatehouse.cli import main
from gatehouse.localmode import moto_gaps

REGION = "eu-west-1"
ACCOUNT = "123456789012"
NOW = 1_750_000_000

# path -> methods; every method gets a MOCK integration so the stage can be deployed.
ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET",),
    "/health": ("GET",),
    "/pets": ("GET", "POST", "OPTIONS"),
    "/pets/{petId}": ("GET", "DELETE", "OPTIONS"),
    "/pets/{petId}/photos": ("GET",),
    "/files": (),
    "/files/{proxy+}": ("ANY",),
    "/admin": ("GET",),
    "/cors": ("OPTIONS",),
}


# --- moto gaps -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gaps local mode's moto fills (gatehouse.localmode.moto_gaps), filled here too."""
    for owner, name, replacement in moto_gaps.patches():
        monkeypatch.setattr(owner, name, replacement, raising=False)


# --- the world ---------------------------------------------------------------------------------


class World:
    def __init__(self, api_key_source: str = "HEADER") -> None:
        self.apigateway = boto3.client("apigateway", region_name=REGION)
        self.lambda_ = boto3.client("lambda", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="authorizer", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        # Never invoked, so moto needs no Docker; the zip only has to exist.
        self.function_arn = self.lambda_.create_function(
            FunctionName="gatehouse-jwt",
            Runtime="python3.12",
            Role=role,
            Handler="authorizers.jwt_bearer.handler.lambda_handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
        )["FunctionArn"]
        self.api_id = self.apigateway.create_rest_api(name="legacy", apiKeySource=api_key_source)[
            "id"
        ]
        self.resource_ids = self._build(ROUTES)
        # /admin is guarded by an authorizer somebody else made.
        self.legacy_id = self.apigateway.create_authorizer(
            restApiId=self.api_id,
            name="legacy",
            type="TOKEN",
            authorizerUri=self.uri("arn:aws:lambda:eu-west-1:123456789012:function:legacy"),
            identitySource=AUTHORIZATION_HEADER,
        )["id"]
        self.apigateway.put_method(
            restApiId=self.api_id,
            resourceId=self.resource_ids["/admin"],
            httpMethod="GET",
            authorizationType="CUSTOM",
            authorizerId=self.legacy_id,
        )
        self.apigateway.create_deployment(restApiId=self.api_id, stageName="prod")

    def _build(self, routes: dict[str, tuple[str, ...]]) -> dict[str, str]:
        ids = {"/": self.apigateway.get_resources(restApiId=self.api_id)["items"][0]["id"]}
        for path, methods in routes.items():
            if path not in ids:
                parent = path.rsplit("/", 1)[0] or "/"
                ids[path] = self.apigateway.create_resource(
                    restApiId=self.api_id, parentId=ids[parent], pathPart=path.rsplit("/", 1)[1]
                )["id"]
            for verb in methods:
                self.apigateway.put_method(
                    restApiId=self.api_id,
                    resourceId=ids[path],
                    httpMethod=verb,
                    authorizationType="NONE",
                )
                self.apigateway.put_integration(
                    restApiId=self.api_id, resourceId=ids[path], httpMethod=verb, type="MOCK"
                )
        return ids

    @staticmethod
    def uri(function_arn: str) -> str:
        return (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )

    def run(self, *args: str, kind: str = "jwt", api_id: str | None = None) -> Result:
        return CliRunner().invoke(
            main,
            [
                "--region", REGION, "--now", str(NOW),
                "attach", "--api-id", api_id or self.api_id, "--stage", "prod",
                "--kind", kind, "--function-arn", self.function_arn, *args,
            ],
            catch_exceptions=False,
        )  # fmt: skip

    def method(self, path: str, verb: str) -> dict[str, Any]:
        return self.apigateway.get_method(  # type: ignore[no-any-return]
            restApiId=self.api_id, resourceId=self.resource_ids[path], httpMethod=verb
        )

    def authorizers(self) -> dict[str, dict[str, Any]]:
        items = self.apigateway.get_authorizers(restApiId=self.api_id)["items"]
        return {a["name"]: a for a in items}

    def deployments(self) -> int:
        return len(self.apigateway.get_deployments(restApiId=self.api_id)["items"])

    def statements(self) -> list[dict[str, Any]]:
        try:
            policy = self.lambda_.get_policy(FunctionName=self.function_arn)["Policy"]
        except self.lambda_.exceptions.ResourceNotFoundException:
            return []
        return json.loads(policy)["Statement"]  # type: ignore[no-any-return]

    def snapshot(self) -> tuple[object, ...]:
        methods = {
            (path, verb): (m.get("authorizationType"), m.get("authorizerId"), m["apiKeyRequired"])
            for path, verbs in ROUTES.items()
            for verb in verbs
            for m in [self.method(path, verb)]
        }
        return methods, sorted(self.authorizers()), self.statements(), self.deployments()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield World()


def plan_of(result: Result) -> list[str]:
    return result.stdout.splitlines()


def failed(result: Result, code: int) -> tuple[str, str]:
    """The error and hint lines of a failed run (stdout stays empty)."""
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], result.stderr
    return lines[0], lines[1]


# --- plan and apply -----------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(world):
    before = world.snapshot()
    # WHEN the jwt authorizer is planned for everything under /pets
    result = world.run("--route", "* /pets", "--route", "GET /pets/*", "--dry-run")
    # THEN the plan is printed, one line per thing, in the order it would be applied
    assert result.exit_code == 0, result.output
    source_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{world.api_id}/authorizers/*"
    assert plan_of(result) == [
        "+ create authorizer gatehouse-jwt: TOKEN, identity "
        f"{AUTHORIZATION_HEADER}, regex {TOKEN_VALIDATION_REGEX}, ttl 300s, "
        f"function {world.function_arn}",
        f"+ allow apigateway.amazonaws.com to invoke the function from {source_arn} "
        f"(statement gatehouse-attach-{world.api_id})",
        "~ switch GET /pets: NONE -> CUSTOM gatehouse-jwt",
        "~ switch POST /pets: NONE -> CUSTOM gatehouse-jwt",
        "~ switch GET /pets/{petId}: NONE -> CUSTOM gatehouse-jwt",
        "~ switch GET /pets/{petId}/photos: NONE -> CUSTOM gatehouse-jwt",
        "- skip OPTIONS /pets: OPTIONS is never switched (CORS preflight stays open)",
        f"+ deploy stage prod of API {world.api_id}",
    ]
    assert "dry run: 7 change(s) planned, nothing applied" in result.stderr
    # AND nothing changed on AWS
    assert world.snapshot() == before


def test_apply_creates_grants_switches_and_deploys(world):
    deployments = world.deployments()
    result = world.run("--route", "* /pets", "--route", "GET /pets/{id}")
    assert result.exit_code == 0, result.output
    # THEN the authorizer has the jwt settings of the demo stage
    authorizer = world.authorizers()["gatehouse-jwt"]
    assert authorizer["type"] == "TOKEN"
    assert authorizer["identitySource"] == AUTHORIZATION_HEADER
    assert authorizer["identityValidationExpression"] == TOKEN_VALIDATION_REGEX
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    assert authorizer["authorizerUri"] == world.uri(world.function_arn)
    # AND exactly the matched methods use it
    for verb, path in (("GET", "/pets"), ("POST", "/pets"), ("GET", "/pets/{petId}")):
        method = world.method(path, verb)
        assert method["authorizationType"] == "CUSTOM"
        assert method["authorizerId"] == authorizer["id"]
        assert method["apiKeyRequired"] is False
    for verb, path in (("DELETE", "/pets/{petId}"), ("GET", "/health"), ("GET", "/")):
        assert world.method(path, verb)["authorizationType"] == "NONE"
    # AND the CORS preflight stays open
    assert world.method("/pets", "OPTIONS")["authorizationType"] == "NONE"
    # AND the stage got one new deployment
    assert world.deployments() == deployments + 1
    stage = world.apigateway.get_stage(restApiId=world.api_id, stageName="prod")
    latest = world.apigateway.get_deployment(
        restApiId=world.api_id, deploymentId=stage["deploymentId"]
    )
    assert latest["description"] == "gatehouse attach: gatehouse-jwt on 3 method(s)"
    assert "done: 6 change(s) applied" in result.stderr
    assert "deploying stage prod ..." in result.stderr


def test_the_permission_is_scoped_to_this_apis_authorizers(world):
    assert world.run("--route", "GET /pets").exit_code == 0
    (statement,) = world.statements()
    assert statement["Sid"] == f"gatehouse-attach-{world.api_id}"
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnLike": {
            "AWS:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{world.api_id}/authorizers/*"
        }
    }


def test_a_second_run_changes_nothing_and_does_not_deploy(world):
    routes = ("--route", "* /pets", "--route", "GET /pets/*")
    assert world.run(*routes).exit_code == 0
    before = world.snapshot()
    # WHEN the same command runs again
    again = world.run(*routes)
    # THEN every line of the plan is "already in place" and nothing is written
    assert again.exit_code == 0, again.output
    assert all(line.startswith(("= ", "- ")) for line in plan_of(again)), again.stdout
    assert plan_of(again)[0].startswith("= reuse authorizer gatehouse-jwt (")
    assert plan_of(again)[1] == f"= reuse permission statement gatehouse-attach-{world.api_id}"
    assert "nothing to do" in again.stderr
    assert world.snapshot() == before  # same methods, one authorizer, one statement, no deploy


def test_a_new_route_on_a_second_run_switches_only_that_method(world):
    assert world.run("--route", "GET /pets").exit_code == 0
    deployments = world.deployments()
    result = world.run("--route", "GET /pets", "--route", "GET /health")
    assert result.exit_code == 0, result.output
    assert "= keep GET /pets (already CUSTOM gatehouse-jwt)" in plan_of(result)
    assert "~ switch GET /health: NONE -> CUSTOM gatehouse-jwt" in plan_of(result)
    assert "~ record on authorizer gatehouse-jwt what the methods were (for detach)" in plan_of(
        result
    )
    # The record (for detach), the method and the deployment.
    assert "done: 3 change(s) applied" in result.stderr
    assert world.deployments() == deployments + 1
    assert len(world.statements()) == 1


def test_a_removed_permission_is_granted_again_without_a_deployment(world):
    assert world.run("--route", "GET /pets").exit_code == 0
    world.lambda_.remove_permission(
        FunctionName=world.function_arn, StatementId=f"gatehouse-attach-{world.api_id}"
    )
    deployments = world.deployments()
    result = world.run("--route", "GET /pets")
    assert result.exit_code == 0, result.output
    assert [line[0] for line in plan_of(result)] == ["=", "+", "="]
    assert len(world.statements()) == 1
    assert world.deployments() == deployments  # the stage serves no method change
    assert "deploying" not in result.stderr


def test_a_run_stopped_before_deploying_is_deployed_by_the_next_run(world, monkeypatch):
    # GIVEN a run that switched the methods but could not deploy (e.g. throttled)
    deploy = apigateway_models.APIGatewayBackend.create_deployment

    def throttled(*_args: Any, **_kwargs: Any) -> None:
        raise BadRequestException("Too many requests")

    monkeypatch.setattr(apigateway_models.APIGatewayBackend, "create_deployment", throttled)
    error, _hint = failed(world.run("--route", "GET /pets"), 4)
    assert "deploying stage 'prod'" in error
    assert world.method("/pets", "GET")["authorizationType"] == "CUSTOM"
    monkeypatch.setattr(apigateway_models.APIGatewayBackend, "create_deployment", deploy)
    deployments = world.deployments()
    # WHEN the command runs again THEN it sees the stage still serves the old method, deploys
    result = world.run("--route", "GET /pets")
    assert result.exit_code == 0, result.output
    assert plan_of(result)[-1] == (
        f"+ deploy stage prod of API {world.api_id}: it still serves GET /pets "
        "without this authorizer"
    )
    assert world.deployments() == deployments + 1
    # AND the run after that has nothing to do
    assert "nothing to do" in world.run("--route", "GET /pets").stderr


# --- reuse and conflicts -----------------------------------------------------------------------


def test_an_existing_authorizer_with_the_same_settings_is_reused(world):
    existing = world.apigateway.create_authorizer(
        restApiId=world.api_id,
        name="gatehouse-jwt",
        type="TOKEN",
        authorizerUri=world.uri(world.function_arn),
        identitySource=AUTHORIZATION_HEADER,
        identityValidationExpression=TOKEN_VALIDATION_REGEX,
        authorizerResultTtlInSeconds=300,
    )["id"]
    result = world.run("--route", "GET /pets")
    assert result.exit_code == 0, result.output
    assert plan_of(result)[0] == f"= reuse authorizer gatehouse-jwt ({existing})"
    assert len(world.authorizers()) == 2  # legacy and the reused one
    assert world.method("/pets", "GET")["authorizerId"] == existing


def test_an_existing_authorizer_with_other_settings_is_a_conflict(world):
    world.apigateway.create_authorizer(
        restApiId=world.api_id,
        name="gatehouse-jwt",
        type="TOKEN",
        authorizerUri=world.uri(world.function_arn),
        identitySource=AUTHORIZATION_HEADER,
        identityValidationExpression=TOKEN_VALIDATION_REGEX,
        authorizerResultTtlInSeconds=60,
    )
    before = world.snapshot()
    error, hint = failed(world.run("--route", "GET /pets"), 5)
    assert "exists with other settings: authorizerResultTtlInSeconds: has 60, wants 300" in error
    assert "another --name" in hint
    assert world.snapshot() == before
    # AND asking for its settings reuses it
    assert world.run("--route", "GET /pets", "--ttl", "60").exit_code == 0


def test_a_method_of_another_authorizer_is_a_conflict_unless_replace(world):
    before = world.snapshot()
    error, hint = failed(world.run("--route", "GET /admin", "--route", "GET /pets"), 5)
    assert error == (
        f"error: 1 matched method(s) use another authorizer: GET /admin "
        f"(CUSTOM legacy ({world.legacy_id}))"
    )
    assert "--replace" in hint
    assert world.snapshot() == before  # not even GET /pets was switched
    # WHEN --replace is given THEN it is switched, and the plan says from what
    result = world.run("--route", "GET /admin", "--replace")
    assert result.exit_code == 0, result.output
    assert (
        f"~ switch GET /admin: CUSTOM legacy ({world.legacy_id}) -> CUSTOM gatehouse-jwt"
        in plan_of(result)
    )
    assert (
        world.method("/admin", "GET")["authorizerId"] == world.authorizers()["gatehouse-jwt"]["id"]
    )


def test_an_existing_statement_that_covers_the_api_is_reused(world):
    world.lambda_.add_permission(
        FunctionName=world.function_arn,
        StatementId="console-added",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{world.api_id}/*",
    )
    result = world.run("--route", "GET /pets")
    assert result.exit_code == 0, result.output
    assert "= reuse permission statement console-added" in plan_of(result)
    assert [s["Sid"] for s in world.statements()] == ["console-added"]


def test_reusing_an_unconditioned_statement_warns(world):
    world.lambda_.add_permission(
        FunctionName=world.function_arn,
        StatementId="wide-open",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    result = world.run("--route", "GET /pets", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "= reuse permission statement wide-open" in plan_of(result)
    assert "warning: statement wide-open of gatehouse-jwt has no condition" in result.stderr


def test_our_statement_id_with_another_scope_is_a_conflict(world):
    world.lambda_.add_permission(
        FunctionName=world.function_arn,
        StatementId=f"gatehouse-attach-{world.api_id}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:otherapi/authorizers/*",
    )
    error, hint = failed(world.run("--route", "GET /pets"), 5)
    assert "does not grant apigateway.amazonaws.com invoke" in error
    assert hint.startswith("hint: remove it: aws lambda remove-permission")


# --- OPTIONS, api keys, other kinds ---------------------------------------------------------------


def test_options_methods_are_never_switched(world):
    result = world.run("--route", "* /pets/{petId}")
    assert result.exit_code == 0, result.output
    assert (
        "- skip OPTIONS /pets/{petId}: OPTIONS is never switched (CORS preflight stays open)"
        in plan_of(result)
    )
    assert world.method("/pets/{petId}", "OPTIONS")["authorizationType"] == "NONE"
    assert world.method("/pets/{petId}", "DELETE")["authorizationType"] == "CUSTOM"


def test_an_options_route_is_refused(world):
    result = world.run("--route", "OPTIONS /pets")
    assert result.exit_code == 2
    assert "OPTIONS methods are never switched (CORS preflight must stay open)" in result.stderr


def test_routes_that_match_only_options_are_refused(world):
    error, hint = failed(world.run("--route", "* /cors"), 2)
    assert error == "error: only OPTIONS methods matched, and they are never switched"
    assert "OPTIONS /cors" in hint


def test_apikey_sets_api_key_required_and_warns_when_the_key_source_is_header(world):
    result = world.run("--route", "GET /pets", kind="apikey")
    assert result.exit_code == 0, result.output
    assert "~ switch GET /pets: NONE -> CUSTOM gatehouse-apikey, apiKeyRequired" in plan_of(result)
    method = world.method("/pets", "GET")
    assert method["apiKeyRequired"] is True
    authorizer = world.authorizers()["gatehouse-apikey"]
    assert (authorizer["type"], authorizer["identitySource"]) == ("REQUEST", API_KEY_HEADER)
    assert "identityValidationExpression" not in authorizer
    assert f"warning: API {world.api_id} has apiKeySource HEADER" in result.stderr
    assert "value=AUTHORIZER" in result.stderr


def test_apikey_on_an_authorizer_key_source_api_does_not_warn(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        world = World(api_key_source="AUTHORIZER")
        result = world.run("--route", "GET /pets", kind="apikey")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


def test_apikey_on_a_method_already_ours_only_requires_the_key(world):
    args = ("--route", "GET /pets", "--name", "shared", "--identity-source", API_KEY_HEADER)
    assert world.run(*args, kind="apikey").exit_code == 0
    world.apigateway.update_method(
        restApiId=world.api_id,
        resourceId=world.resource_ids["/pets"],
        httpMethod="GET",
        patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "false"}],
    )
    result = world.run(*args, kind="apikey")
    assert result.exit_code == 0, result.output
    assert "~ require an API key on GET /pets" in plan_of(result)
    assert world.method("/pets", "GET")["apiKeyRequired"] is True


def test_mtls_is_an_uncached_request_authorizer_without_identity_source(world):
    assert world.run("--route", "GET /pets", kind="mtls").exit_code == 0
    authorizer = world.authorizers()["gatehouse-mtls"]
    assert authorizer["type"] == "REQUEST"
    assert authorizer["authorizerResultTtlInSeconds"] == 0
    assert "identitySource" not in authorizer


@pytest.mark.parametrize(
    "extra",
    [(), ("--identity-source", "method.request.header.X-Device")],
    ids=["no identity source", "a client-chosen header"],
)
def test_a_cached_mtls_authorizer_is_refused(world, extra):
    # A cache keyed on anything but the certificate replays one client's Allow to any other
    # chain-valid client (revoked, unpinned) sending the same values: never cache mTLS.
    result = world.run("--route", "GET /pets", "--ttl", "300", *extra, kind="mtls")
    error, hint = failed(result, 2)
    assert "mtls authorizer cannot be cached" in error
    assert "client certificate" in error
    assert hint.startswith("hint: keep --ttl 0")
    assert "--identity-source" not in hint  # the old hint suggested it: never a fix
    assert world.authorizers().keys() == {"legacy"}


def set_environment(world: World, **variables: str) -> None:
    world.lambda_.update_function_configuration(
        FunctionName=world.function_arn, Environment={"Variables": variables}
    )


def test_a_cached_policy_authorizer_over_an_mtls_authenticator_is_refused(world):
    set_environment(world, GATEHOUSE_POLICY_AUTHENTICATOR="mtls")
    error, hint = failed(world.run("--route", "GET /pets", kind="policy"), 2)
    assert "GATEHOUSE_POLICY_AUTHENTICATOR=mtls" in error
    assert hint.startswith("hint: keep --ttl 0")
    assert world.authorizers().keys() == {"legacy"}
    assert world.run("--route", "GET /pets", "--ttl", "0", kind="policy").exit_code == 0


@pytest.mark.parametrize(
    ("kind", "variables", "source", "header"),
    [
        ("policy", {"GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer"}, "X-Device", "authorization"),
        ("policy", {"GATEHOUSE_POLICY_AUTHENTICATOR": "api_key"}, "Authorization", "x-api-key"),
        ("apikey", {}, "X-Device", "x-api-key"),
        ("apikey", {"GATEHOUSE_APIKEY_HEADER": "X-Key"}, "x-api-key", "x-key"),
    ],
    ids=["policy jwt", "policy api key", "apikey", "apikey custom header"],
)
def test_a_cache_key_without_the_functions_credential_is_refused(
    world, kind, variables, source, header
):
    set_environment(world, **variables)
    result = world.run(
        "--route", "GET /pets", "--identity-source", f"method.request.header.{source}", kind=kind
    )
    error, hint = failed(result, 2)
    assert f"does not hold the {header} header" in error
    assert f"--identity-source method.request.header.{header}" in hint


def test_a_policy_cache_key_on_the_functions_credential_is_accepted_silently(world):
    set_environment(world, GATEHOUSE_POLICY_AUTHENTICATOR="jwt_bearer")
    result = world.run("--route", "GET /pets", kind="policy")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Authorization", "with the mtls authenticator pass --ttl 0"),
        ("X-Device", "holds neither an Authorization nor an x-api-key header"),
    ],
)
def test_a_policy_function_of_unknown_authenticator_is_warned_about(world, source, expected):
    # The function shows no GATEHOUSE_POLICY_AUTHENTICATOR: attach cannot tell; it warns.
    result = world.run(
        "--route", "GET /pets", "--identity-source", f"method.request.header.{source}",
        kind="policy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if "GATEHOUSE_POLICY" in line]
    assert warning.startswith("warning: ")
    assert expected in warning


@pytest.mark.parametrize(
    ("kind", "source"),
    [("jwt", "method.request.querystring.token"), ("policy", "Authorization"), ("jwt", "a,b")],
)
def test_a_bad_identity_source_is_a_usage_error(world, kind, source):
    result = world.run("--route", "GET /pets", "--identity-source", source, kind=kind)
    assert result.exit_code == 2
    assert "--identity-source" in result.stderr


def test_policy_kind_takes_custom_identity_sources(world):
    sources = "method.request.header.Authorization,context.httpMethod"
    result = world.run("--route", "GET /pets", "--identity-source", sources, kind="policy")
    assert result.exit_code == 0, result.output
    assert world.authorizers()["gatehouse-policy"]["identitySource"] == sources
    assert world.run(
        "--route", "GET /pets", "--identity-source", sources, kind="policy"
    ).stderr.endswith("nothing to do: everything is already in place\n")


# --- not found and usage errors ----------------------------------------------------------------


def test_an_unknown_api_is_not_found(world):
    error, _hint = failed(world.run("--route", "GET /pets", api_id="nope000000"), 3)
    assert "nope000000" in error


def test_an_unknown_stage_is_not_found_and_the_hint_lists_the_stages(world):
    result = CliRunner().invoke(
        main,
        ["--region", REGION, "attach", "--api-id", world.api_id, "--stage", "dev", "--kind",
         "jwt", "--function-arn", world.function_arn, "--route", "GET /pets"],
    )  # fmt: skip
    error, hint = failed(result, 3)
    assert error == f"error: REST API {world.api_id} has no stage 'dev'"
    assert hint == "hint: its stages: prod"


def test_an_unknown_function_is_not_found(world):
    world.function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:missing"
    error, _hint = failed(world.run("--route", "GET /pets"), 3)
    assert "function:missing" in error


def test_a_malformed_function_arn_is_a_usage_error(world):
    world.function_arn = "gatehouse-jwt"
    result = world.run("--route", "GET /pets")
    assert result.exit_code == 2
    assert "arn:aws:lambda:REGION:ACCOUNT:function:NAME" in result.stderr


def test_a_route_that_matches_nothing_is_a_usage_error(world):
    before = world.snapshot()
    error, hint = failed(world.run("--route", "GET /pets", "--route", "GET /petz"), 2)
    assert error == f"error: --route 'GET /petz' matched no method of REST API {world.api_id}"
    assert "GET /pets" in hint
    assert world.snapshot() == before


def test_any_matches_only_the_any_method_and_says_so(world):
    _error, hint = failed(world.run("--route", "ANY /pets"), 2)
    assert "'*' matches every method" in hint
    result = world.run("--route", "ANY /files/{path+}")
    assert result.exit_code == 0, result.output
    assert "~ switch ANY /files/{proxy+}: NONE -> CUSTOM gatehouse-jwt" in plan_of(result)


def test_no_aws_call_when_the_options_are_bad(world, monkeypatch):
    monkeypatch.setattr("gatehouse.aws.Settings.client", lambda *_: pytest.fail("AWS called"))
    assert world.run("--route", "GET pets").exit_code == 2


def test_the_kinds_are_the_api_models_authorizers():
    assert set(KINDS) == set(AUTHORIZER_HANDLERS)


def test_the_cli_and_attach_do_not_need_cdk_app():
    # cdk_app is this repository's demo deployment and is not in the wheel: the CLI, attach's
    # authorizer defaults included, must load without it.
    code = (
        "import sys; sys.modules['cdk_app'] = None; import gatehouse.cli; "
        "from gatehouse.attach_plan import kind_defaults; "
        "assert kind_defaults('jwt').type == 'TOKEN'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "route", "hit"),
    [
        ("GET /pets", "GET /pets", True),
        ("GET /pets", "POST /pets", False),
        ("GET /pets/", "GET /pets", True),
        ("get /pets", "GET /pets", True),
        ("GET /pets", "GET /pets/{petId}", False),
        ("GET /pets/{id}", "GET /pets/{petId}", True),
        ("GET /pets/{id}", "GET /pets/cats", False),
        ("GET /pets/cats", "GET /pets/{petId}", False),
        ("GET /pets/{id}", "GET /pets/{proxy+}", False),
        ("GET /pets/{proxy+}", "GET /pets/{any+}", True),
        ("GET /pets/{proxy+}", "GET /pets/{petId}", False),
        ("GET /pets/*", "GET /pets", False),
        ("GET /pets/*", "GET /pets/{petId}", True),
        ("GET /pets/*", "GET /pets/{petId}/photos", True),
        ("GET /pets/*", "GET /pets/{proxy+}", True),
        ("GET /pets/*", "GET /petshop/x", False),
        ("GET /*", "GET /", False),
        ("GET /*", "GET /a/b/c", True),
        ("GET /", "GET /", True),
        ("GET /", "GET /pets", False),
        ("* /pets", "DELETE /pets", True),
        ("* /pets", "ANY /pets", True),
        ("ANY /pets", "ANY /pets", True),
        ("ANY /pets", "GET /pets", False),
        ("GET /{a}/{b}", "GET /{x}/{y}", True),
    ],
)
def test_route_patterns(pattern, route, hit):
    method, path = route.split(" ")
    assert RoutePattern.parse(pattern).matches(method, path) is hit


@pytest.mark.parametrize(
    "pattern",
    ["GET", "GET pets", "FETCH /pets", "GET /pets/*/x", "GET /{proxy+}/x", "GET /pets//x",
     "GET /pe{ts", "OPTIONS /pets", "GET /a b"],
)  # fmt: skip
def test_bad_route_patterns(pattern):
    with pytest.raises(ValueError, match=r"\S"):
        RoutePattern.parse(pattern)


SOURCE = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/authorizers/*"


def _statement(condition: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        **overrides,
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize(
    ("statement", "covers"),
    [
        (_statement({"ArnLike": {"AWS:SourceArn": SOURCE}}), True),
        (_statement({"ArnLike": {"aws:SourceArn": SOURCE.replace("authorizers/*", "*")}}), True),
        (_statement({"ArnLike": {"AWS:SourceArn": SOURCE.replace("abc123", "*")}}), True),
        (_statement({"ArnLike": {"AWS:SourceArn": SOURCE.replace("abc123", "other")}}), False),
        (_statement({"ArnLike": {"AWS:SourceArn": SOURCE.replace("/*", "/x1y2z3")}}), False),
        (
            _statement({"ArnLike": {"AWS:SourceArn": SOURCE.replace(ACCOUNT, "999999999999")}}),
            False,
        ),
        (_statement({"ArnEquals": {"AWS:SourceArn": SOURCE}}), True),
        (_statement({"StringEquals": {"AWS:SourceAccount": ACCOUNT}}), False),
        (_statement(None), True),
        (_statement(None, Effect="Deny"), False),
        (_statement(None, Principal={"Service": "events.amazonaws.com"}), False),
        (_statement(None, Action="lambda:GetFunction"), False),
        (_statement(None, Action=["lambda:GetFunction", "lambda:InvokeFunction"]), True),
    ],
)
def test_statement_covers(statement, covers):
    assert statement_covers(statement, SOURCE) is covers


def test_a_function_binding_tokens_to_certificates_is_not_attached_as_token_or_cached(world):
    """Attack: a bound token stolen and sent without its certificate, let through by a TOKEN
    authorizer (never given the certificate) or by a cached Allow keyed on the token alone."""
    issuers = [
        {
            "type": "oidc",
            "issuer": "https://login.example.test/",
            "audiences": ["a"],
            "algorithms": ["RS256"],
            "certificate_binding": "required",
        }
    ]
    world.lambda_.update_function_configuration(
        FunctionName=world.function_arn,
        Environment={"Variables": {"GATEHOUSE_JWT_ISSUERS": json.dumps(issuers)}},
    )
    error, hint = failed(world.run("--route", "GET /pets"), 2)
    assert "binds tokens to the client certificate, and a TOKEN authorizer is not given it" in error
    assert "REQUEST authorizer" in hint
    assert "gatehouse-jwt" not in world.authorizers()
