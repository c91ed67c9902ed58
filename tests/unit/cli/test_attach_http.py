"""`gatehouse attach` and `gatehouse detach` on an HTTP API (API Gateway v2), against moto.

The world: an HTTP API with routes (one on a JWT authorizer with scopes, one on AWS_IAM, an
OPTIONS route and ``$default``), a stage, and a Lambda function. moto's gaps are filled by the
patches local mode installs (``gatehouse.localmode.moto_gaps``), so these runs are the ones a
rehearsal against ``gatehouse local`` makes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from gatehouse.attach_record import MAX_TAG_RECORD_CHARS, AttachRecord, RecordError
from gatehouse.cli import main
from gatehouse.errors import CliError, ExitCode
from gatehouse.http_api import HttpApi
from gatehouse.localmode import moto_gaps

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROUTES = (
    "GET /orders",
    "POST /orders",
    "GET /orders/{id}",
    "OPTIONS /orders/{id}",
    "ANY /files/{proxy+}",
    "GET /admin",
    "GET /reports",
    "$default",
)


@pytest.fixture(autouse=True)
def _moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name, replacement in moto_gaps.patches():
        monkeypatch.setattr(owner, name, replacement, raising=False)


class HttpWorld:
    def __init__(self, *, auto_deploy: bool = True, environment: dict[str, str] | None = None):
        self.v2 = boto3.client("apigatewayv2", region_name=REGION)
        self.lambda_ = boto3.client("lambda", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="authorizer", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.function_arn = self.lambda_.create_function(
            FunctionName="gatehouse-jwt",
            Runtime="python3.12",
            Role=role,
            Handler="authorizers.jwt_bearer.handler.lambda_handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},  # never invoked
            Environment={"Variables": environment or {}},
        )["FunctionArn"]
        self.api_id = self.v2.create_api(Name="orders", ProtocolType="HTTP")["ApiId"]
        self.arn = f"arn:aws:apigateway:{REGION}::/apis/{self.api_id}"
        self.v2.tag_resource(ResourceArn=self.arn, Tags={"team": "orders"})
        self.route_ids = {
            key: self.v2.create_route(ApiId=self.api_id, RouteKey=key)["RouteId"] for key in ROUTES
        }
        # /admin is on a JWT authorizer somebody else made, with scopes; /reports on IAM.
        self.jwt_id = self.v2.create_authorizer(
            ApiId=self.api_id,
            Name="cognito",
            AuthorizerType="JWT",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Audience": ["orders"], "Issuer": "https://issuer.example"},
        )["AuthorizerId"]
        self.v2.update_route(
            ApiId=self.api_id,
            RouteId=self.route_ids["GET /admin"],
            AuthorizationType="JWT",
            AuthorizerId=self.jwt_id,
            AuthorizationScopes=["orders/admin"],
        )
        self.v2.update_route(
            ApiId=self.api_id, RouteId=self.route_ids["GET /reports"], AuthorizationType="AWS_IAM"
        )
        self.stage = "$default" if auto_deploy else "prod"
        self.v2.create_stage(ApiId=self.api_id, StageName=self.stage, AutoDeploy=auto_deploy)

    def cli(self, command: str, *args: str) -> Result:
        return CliRunner().invoke(
            main,
            ["--region", REGION, command, "--api-id", self.api_id, "--stage", self.stage, *args],
            catch_exceptions=False,
        )

    def attach(self, *args: str, kind: str = "jwt") -> Result:
        return self.cli("attach", "--kind", kind, "--function-arn", self.function_arn, *args)

    def detach(self, *args: str) -> Result:
        return self.cli("detach", *(args or ("--kind", "jwt")))

    def routes(self) -> dict[str, dict[str, Any]]:
        items = self.v2.get_routes(ApiId=self.api_id)["Items"]
        return {r["RouteKey"]: r for r in items}

    def authorizers(self) -> dict[str, dict[str, Any]]:
        return {a["Name"]: a for a in self.v2.get_authorizers(ApiId=self.api_id)["Items"]}

    def tags(self) -> dict[str, str]:
        return dict(self.v2.get_tags(ResourceArn=self.arn)["Tags"])

    def deployments(self) -> int:
        return len(self.v2.get_deployments(ApiId=self.api_id)["Items"])

    def statements(self) -> list[dict[str, Any]]:
        try:
            policy = self.lambda_.get_policy(FunctionName=self.function_arn)["Policy"]
        except self.lambda_.exceptions.ResourceNotFoundException:
            return []
        return json.loads(policy)["Statement"]  # type: ignore[no-any-return]

    def state(self) -> tuple[Any, ...]:
        """Everything attach may touch, deployments aside."""
        routes = {
            key: (
                r.get("AuthorizationType"),
                r.get("AuthorizerId"),
                tuple(r.get("AuthorizationScopes") or ()),
            )
            for key, r in self.routes().items()
        }
        return routes, sorted(self.authorizers()), self.tags(), self.statements()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpWorld]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield HttpWorld()


def lines(result: Result) -> list[str]:
    return result.stdout.splitlines()


def failed(result: Result, code: int) -> tuple[str, str]:
    assert result.exit_code == code, result.output
    found = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert [line.split(":")[0] for line in found] == ["error", "hint"], result.stderr
    return found[0], found[1]


# --- attach ------------------------------------------------------------------------------------


def test_attach_creates_a_payload_2_authorizer_switches_the_routes_and_a_rerun_does_nothing(world):
    result = world.attach("--route", "* /orders", "--route", "* /orders/*")
    assert result.exit_code == 0, result.output
    uri = (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{world.function_arn}"
        "/invocations"
    )
    source_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{world.api_id}/authorizers/*"
    assert lines(result) == [
        "+ create authorizer gatehouse-jwt: REQUEST (payload 2.0, IAM policy responses), "
        "identity $request.header.Authorization, ttl 300s, function " + world.function_arn,
        f"+ allow apigateway.amazonaws.com to invoke the function from {source_arn} "
        f"(statement gatehouse-attach-{world.api_id})",
        "~ switch GET /orders: NONE -> CUSTOM gatehouse-jwt",
        "~ switch POST /orders: NONE -> CUSTOM gatehouse-jwt",
        "~ switch GET /orders/{id}: NONE -> CUSTOM gatehouse-jwt",
        "- skip OPTIONS /orders/{id}: OPTIONS is never switched (CORS preflight stays open)",
        "= stage $default deploys automatically",
    ]
    authorizer = world.authorizers()["gatehouse-jwt"]
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["AuthorizerUri"] == uri
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is False
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    routes = world.routes()
    for key in ("GET /orders", "POST /orders", "GET /orders/{id}"):
        assert routes[key]["AuthorizationType"] == "CUSTOM"
        assert routes[key]["AuthorizerId"] == authorizer["AuthorizerId"]
    for key in ("OPTIONS /orders/{id}", "$default", "ANY /files/{proxy+}"):
        assert routes[key]["AuthorizationType"] == "NONE"
    [statement] = world.statements()
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": source_arn}}
    assert world.deployments() == 0  # the stage deploys itself

    again = world.attach("--route", "* /orders", "--route", "* /orders/*")
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.stderr


def test_default_is_switched_only_when_named_never_by_a_glob(world):
    # What it stops: `* /*` quietly putting the catch-all route (and what it serves) behind
    # the authorizer, or `$default` missed when the operator names it.
    assert world.attach("--route", "* /*", "--replace").exit_code == 0
    assert world.routes()["$default"]["AuthorizationType"] == "NONE"
    assert world.attach("--route", "$default").exit_code == 0
    assert world.routes()["$default"]["AuthorizationType"] == "CUSTOM"


def test_a_stage_without_auto_deploy_is_deployed_and_a_stopped_run_is_finished_by_the_next(
    monkeypatch,
):
    with mock_aws():
        world = HttpWorld(auto_deploy=False)
        real = HttpApi.deploy

        def stop(self: HttpApi, stage: str, description: str) -> str:
            raise CliError("deploying: interrupted", hint="retry", code=ExitCode.AWS)

        monkeypatch.setattr(HttpApi, "deploy", stop)
        stopped = world.attach("--route", "GET /orders")
        assert stopped.exit_code == ExitCode.AWS
        assert world.routes()["GET /orders"]["AuthorizationType"] == "CUSTOM"
        assert world.deployments() == 0
        monkeypatch.setattr(HttpApi, "deploy", real)

        # The record says the deployment is owed: the next run makes it, the one after rests.
        resumed = world.attach("--route", "GET /orders")
        assert resumed.exit_code == 0, resumed.output
        assert (
            "+ deploy stage prod of API " + world.api_id + ": it still serves GET /orders "
            "without this authorizer"
        ) in lines(resumed)
        assert world.deployments() == 1
        rest = world.attach("--route", "GET /orders")
        assert "nothing to do" in rest.stderr
        assert world.deployments() == 1


def test_a_jwt_route_replaced_loses_its_scopes_and_detach_gives_them_back(world):
    # What it stops: API Gateway refusing CUSTOM with JWT scopes (the attach fails half way),
    # and a detach that reopens /admin without its scope check.
    refused = world.attach("--route", "GET /admin")
    error, hint = failed(refused, ExitCode.CONFLICT)
    assert "GET /admin (JWT cognito" in error
    assert "--replace" in hint
    before = world.state()
    assert (
        world.attach("--route", "GET /admin", "--route", "GET /reports", "--replace").exit_code == 0
    )
    admin = world.routes()["GET /admin"]
    assert admin["AuthorizationType"] == "CUSTOM"
    assert not admin.get("AuthorizationScopes")

    result = world.detach()
    assert result.exit_code == 0, result.output
    assert any(
        line.startswith("~ restore GET /admin: CUSTOM gatehouse-jwt")
        and line.endswith(f"-> JWT cognito ({world.jwt_id}), scopes orders/admin")
        for line in lines(result)
    ), result.stdout
    assert world.state() == before


def test_detach_leaves_the_api_exactly_as_before_and_a_rerun_does_nothing(world):
    before = world.state()
    assert world.attach("--route", "* /orders", "--route", "$default").exit_code == 0
    assert world.state() != before
    assert any(key.startswith("gatehouse-attach/") for key in world.tags())

    dry = world.detach("--kind", "jwt", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert world.state() != before
    result = world.detach()
    assert result.exit_code == 0, result.output
    assert "= stage $default deploys automatically" in lines(result)
    assert world.state() == before  # routes, authorizers, tags and the resource policy
    again = world.detach()
    assert again.exit_code == 0 and "nothing to do" in again.stderr


def test_simple_responses_follow_the_function_setting(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        world = HttpWorld(environment={"GATEHOUSE_HTTP_RESPONSE_FORMAT": "simple"})
        result = world.attach("--route", "GET /orders")
        assert result.exit_code == 0, result.output
        assert "REQUEST (payload 2.0, simple responses)" in result.stdout
        assert world.authorizers()["gatehouse-jwt"]["EnableSimpleResponses"] is True


def test_a_rest_identity_source_is_refused_with_the_http_spelling(world):
    result = world.attach("--route", "GET /orders", "--identity-source", "method.request.header.X")
    assert result.exit_code == ExitCode.USAGE
    assert "$request.header.X" in result.stderr
    assert world.authorizers().keys() == {"cognito"}


def test_a_cached_mtls_authorizer_is_refused(world):
    # What it stops: a cached Allow for one client certificate replayed to any other client.
    error, hint = failed(world.attach("--route", "GET /orders", "--ttl", "60", kind="mtls"), 2)
    assert "cannot be cached" in error
    assert "--ttl 0" in hint


def test_a_cache_key_without_the_credential_header_is_refused(world):
    # What it stops: caching on a header the function does not check, so one caller's Allow
    # is replayed to everybody sending the same X-Tenant.
    result = world.attach("--route", "GET /orders", "--identity-source", "$request.header.X-Tenant")
    error, hint = failed(result, ExitCode.USAGE)
    assert "does not hold the authorization header" in error
    assert "--identity-source $request.header.authorization" in hint


def test_the_apikey_kind_warns_that_http_apis_have_no_usage_plans(world):
    result = world.attach("--route", "GET /orders", kind="apikey")
    assert result.exit_code == 0, result.output
    assert "warning: HTTP APIs have no API keys or usage plans" in result.stderr
    assert world.authorizers()["gatehouse-apikey"]["IdentitySource"] == [
        "$request.header.x-api-key"
    ]


def test_an_authorizer_is_taken_back_when_its_record_cannot_be_written(world, monkeypatch):
    # What it stops: an authorizer left behind that detach can never undo.
    def refuse(self: HttpApi, authorizer_id: str, record: AttachRecord) -> None:
        raise CliError("tagging: AccessDenied", hint="permissions", code=ExitCode.AWS)

    monkeypatch.setattr(HttpApi, "write_record", refuse)
    result = world.attach("--route", "GET /orders")
    assert result.exit_code == ExitCode.AWS
    assert world.authorizers().keys() == {"cognito"}
    assert world.routes()["GET /orders"]["AuthorizationType"] == "NONE"


def test_a_websocket_api_is_refused(world):
    websocket = world.v2.create_api(
        Name="ws", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )["ApiId"]
    result = CliRunner().invoke(
        main,
        ["--region", REGION, "attach", "--api-id", websocket, "--stage", "prod", "--kind",
         "jwt", "--function-arn", world.function_arn, "--route", "GET /x"],
        catch_exceptions=False,
    )  # fmt: skip
    error, hint = failed(result, ExitCode.USAGE)
    assert error == f"error: API {websocket} is a WEBSOCKET API"
    assert "REST and HTTP APIs" in hint


# --- detach refusals ------------------------------------------------------------------------------


def test_an_authorizer_without_a_record_is_refused(world):
    # What it stops: detach guessing what routes were before, and opening them.
    assert world.attach("--route", "GET /orders").exit_code == 0
    world.v2.untag_resource(
        ResourceArn=world.arn, TagKeys=[k for k in world.tags() if k.startswith("gatehouse")]
    )
    error, _hint = failed(world.detach(), ExitCode.CONFLICT)
    assert "not made by gatehouse attach" in error
    assert world.routes()["GET /orders"]["AuthorizationType"] == "CUSTOM"


def test_a_tampered_record_is_refused_and_nothing_changes(world):
    assert world.attach("--route", "GET /orders").exit_code == 0
    [key] = [k for k in world.tags() if k.startswith("gatehouse-attach/")]
    world.v2.tag_resource(ResourceArn=world.arn, Tags={key: "not base64!"})
    before = world.state()
    error, _hint = failed(world.detach(), ExitCode.CONFLICT)
    assert "unreadable" in error
    assert world.state() == before


def test_a_route_put_on_the_authorizer_by_hand_is_refused_not_opened(world):
    assert world.attach("--route", "GET /orders").exit_code == 0
    authorizer_id = world.authorizers()["gatehouse-jwt"]["AuthorizerId"]
    world.v2.update_route(
        ApiId=world.api_id,
        RouteId=world.route_ids["POST /orders"],
        AuthorizationType="CUSTOM",
        AuthorizerId=authorizer_id,
    )
    error, _hint = failed(world.detach(), ExitCode.CONFLICT)
    assert "POST /orders" in error
    assert world.routes()["POST /orders"]["AuthorizationType"] == "CUSTOM"


def test_the_record_of_an_authorizer_deleted_by_an_earlier_run_is_removed(world):
    record = AttachRecord(kind="jwt", switched=frozenset({"GET /orders"}))
    tags = record.to_tags("gone1234")
    assert tags is not None
    world.v2.tag_resource(ResourceArn=world.arn, Tags=tags)
    result = world.detach()
    assert result.exit_code == 0, result.output
    assert lines(result) == ["x remove the attach record of deleted authorizer gone1234"]
    assert world.tags() == {"team": "orders"}


# --- the record in tags ------------------------------------------------------------------------


def test_a_record_round_trips_through_tags_within_api_gateway_limits():
    record = AttachRecord(
        kind="jwt",
        switched=frozenset({"GET /a/{id}", "$default", "ANY /b/{proxy+}"}),
        was={"GET /a/{id}": "JWT abc123"},
        scopes={"GET /a/{id}": ("orders/read", "orders/write")},
        deployed=frozenset({"prod", "$default"}),
    )
    tags = record.to_tags("auth1")
    assert tags is not None
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/=+-@")
    for key, value in tags.items():
        assert len(key) <= 128 and len(value) <= 256
        assert set(key) <= allowed and set(value) <= allowed
    assert AttachRecord.from_tags({**tags, "team": "x"}, "auth1") == record
    assert AttachRecord.from_tags(tags, "other") is None


def test_a_record_too_long_for_the_tags_is_not_written():
    many = frozenset(f"GET /route-number-{n:04d}" for n in range(MAX_TAG_RECORD_CHARS // 20))
    assert AttachRecord(kind="jwt", switched=many).to_tags("auth1") is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda tags: {k.replace("/0", "/1"): v for k, v in tags.items()},  # a gap
        lambda tags: {k: v[:-4] + "!!!!" for k, v in tags.items()},  # not base64
        lambda tags: dict.fromkeys(tags, "eyJ2IjoxfQ=="),  # base64 of a non-record
    ],
)
def test_broken_record_tags_are_record_errors(mangle):
    tags = AttachRecord(kind="jwt", switched=frozenset({"GET /a"})).to_tags("auth1")
    assert tags is not None
    with pytest.raises(RecordError):
        AttachRecord.from_tags(mangle(tags), "auth1")


def test_malformed_scopes_are_record_errors():
    text = AttachRecord(kind="jwt", switched=frozenset({"GET /a"})).encode()
    bad = text[:-1] + ',"scopes":{"GET /a":["has space"]}}'
    with pytest.raises(RecordError):
        AttachRecord.decode(bad)


# --- from review: reruns settle, every stage is deployed, a stopped run is adopted ----------------


def test_an_apikey_attach_settles_and_never_claims_an_api_key_requirement(world):
    first = world.attach("--route", "GET /orders", kind="apikey")
    assert first.exit_code == 0, first.output
    assert "apiKeyRequired" not in first.stdout  # HTTP APIs have no API keys
    again = world.attach("--route", "GET /orders", kind="apikey")
    assert "nothing to do" in again.stderr, again.output


def test_each_stage_without_auto_deploy_is_deployed_once_whatever_the_order(monkeypatch):
    # What it stops: "nothing to do" while a stage still serves the routes unguarded, because
    # another stage's deployment was taken for this one's.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        world = HttpWorld(auto_deploy=False)
        world.v2.create_stage(ApiId=world.api_id, StageName="dev", AutoDeploy=False)
        real = HttpApi.deploy

        def stop(self: HttpApi, stage: str, description: str) -> str:
            raise CliError("deploying: interrupted", hint="retry", code=ExitCode.AWS)

        monkeypatch.setattr(HttpApi, "deploy", stop)
        assert world.attach("--route", "GET /orders").exit_code == ExitCode.AWS  # prod owed
        monkeypatch.setattr(HttpApi, "deploy", real)
        dev = world.cli("attach", "--kind", "jwt", "--function-arn", world.function_arn,
                        "--route", "GET /orders", "--stage", "dev")  # fmt: skip
        assert "+ deploy stage dev" in dev.stdout, dev.output
        prod = world.attach("--route", "GET /orders")
        assert "+ deploy stage prod" in prod.stdout, prod.output
        assert world.deployments() == 2
        assert "nothing to do" in world.attach("--route", "GET /orders").stderr


def test_an_authorizer_left_without_its_record_by_a_killed_run_is_adopted(world, monkeypatch):
    # What it stops: a run killed between CreateAuthorizer and TagResource leaving routes that
    # detach can never undo.
    def killed(self: HttpApi, authorizer_id: str, record: AttachRecord) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(HttpApi, "write_record", killed)
    assert world.attach("--route", "GET /orders").exit_code != 0  # click: "Aborted!"
    monkeypatch.undo()
    for owner, name, replacement in moto_gaps.patches():
        monkeypatch.setattr(owner, name, replacement, raising=False)
    assert "gatehouse-jwt" in world.authorizers()  # left behind, no record, no route on it
    result = world.attach("--route", "GET /orders")
    assert result.exit_code == 0, result.output
    assert "~ record what the routes were for authorizer gatehouse-jwt (for detach)" in lines(
        result
    )
    before_attach = {"GET /orders": ("NONE", None, ())}
    assert world.detach().exit_code == 0
    assert {k: v for k, v in world.state()[0].items() if k == "GET /orders"} == before_attach


def test_a_route_hardened_after_a_stopped_detach_is_recorded_again_as_it_is(world):
    # What it stops: a re-attach keeping the record's old NONE for a route hardened meanwhile,
    # so the next detach would open it.
    assert world.attach("--route", "GET /orders").exit_code == 0
    route = world.route_ids["GET /orders"]
    world.v2.update_route(ApiId=world.api_id, RouteId=route, AuthorizationType="AWS_IAM")
    assert world.attach("--route", "GET /orders", "--replace").exit_code == 0
    assert world.detach().exit_code == 0
    assert world.routes()["GET /orders"]["AuthorizationType"] == "AWS_IAM"
