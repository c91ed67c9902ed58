"""`gatehouse detach` against moto: attach, then detach, and the API is exactly as before.

The world (a REST API with resources and methods, one guarded by a legacy authorizer, a stage,
a Lambda function) is the attach tests' own; moto's gaps are filled by the patches local mode
installs (``gatehouse.localmode.moto_gaps``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from moto.apigateway import models as apigateway_models
from moto.apigateway.exceptions import BadRequestException

from gatehouse.attach_record import MARKER, AttachRecord, RecordError
from gatehouse.cli import main
from gatehouse.localmode import moto_gaps
from tests.unit.cli.test_attach import NOW, REGION, World


@pytest.fixture(autouse=True)
def _moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name, replacement in moto_gaps.patches():
        monkeypatch.setattr(owner, name, replacement, raising=False)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield World()


def detach(world: World, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["--region", REGION, "--now", str(NOW), "detach", "--api-id", world.api_id,
         "--stage", "prod", *args],
        catch_exceptions=False,
    )  # fmt: skip


def state(world: World) -> tuple[Any, ...]:
    """Everything attach may touch, deployments aside (detach deploys the restored API): each
    method's authorization, every authorizer with all its fields, the resource policy."""
    methods, _names, statements, _deployments = world.snapshot()
    authorizers = sorted(
        world.apigateway.get_authorizers(restApiId=world.api_id)["items"], key=lambda a: a["id"]
    )
    return methods, authorizers, statements


def set_method(world: World, path: str, verb: str, *operations: tuple[str, str]) -> None:
    world.apigateway.update_method(
        restApiId=world.api_id,
        resourceId=world.resource_ids[path],
        httpMethod=verb,
        patchOperations=[{"op": "replace", "path": p, "value": v} for p, v in operations],
    )


def test_attach_then_detach_leaves_the_api_exactly_as_before_and_a_rerun_does_nothing(world):
    before = state(world)
    assert world.run("--route", "* /pets", "--route", "* /pets/*").exit_code == 0
    assert state(world) != before
    deployments = world.deployments()

    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 0, result.output
    plan = result.stdout.splitlines()
    assert "~ restore GET /pets: CUSTOM gatehouse-jwt" in plan[0] and plan[0].endswith("-> NONE")
    assert any(line.startswith("+ deploy stage prod") for line in plan)
    assert any(line.startswith("x delete authorizer gatehouse-jwt") for line in plan)
    assert any(line.startswith("x remove permission statement gatehouse-attach-") for line in plan)
    assert "done:" in result.stderr
    assert state(world) == before
    assert world.deployments() == deployments + 1  # the stage serves the restored methods

    again = detach(world, "--kind", "jwt")
    assert again.exit_code == 0
    assert "nothing to do" in again.stderr and again.stdout == ""
    assert world.deployments() == deployments + 1


def test_a_dry_run_plans_and_changes_nothing(world):
    world.run("--route", "GET /pets")
    attached = world.snapshot()
    result = detach(world, "--kind", "jwt", "--dry-run")
    assert result.exit_code == 0
    assert "dry run: 4 change(s) planned, nothing applied" in result.stderr
    assert world.snapshot() == attached


def test_a_replaced_method_goes_back_to_its_own_authorizer(world):
    """Attack stopped: detach opening a method that was guarded before attach (--replace took
    it from another authorizer): it goes back to that authorizer, never to NONE."""
    before = state(world)
    assert world.run("--route", "GET /admin", "--replace").exit_code == 0
    assert world.method("/admin", "GET")["authorizerId"] != world.legacy_id
    record = AttachRecord.decode(world.authorizers()["gatehouse-jwt"]["authType"])
    assert record is not None and list(record.was.values()) == [f"CUSTOM {world.legacy_id}"]

    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 0, result.output
    assert f"-> CUSTOM legacy ({world.legacy_id})" in result.stdout
    assert world.method("/admin", "GET")["authorizerId"] == world.legacy_id
    assert state(world) == before


def test_a_method_whose_former_authorizer_is_gone_is_refused_not_opened(world):
    world.run("--route", "GET /admin", "--replace")
    world.apigateway.delete_authorizer(restApiId=world.api_id, authorizerId=world.legacy_id)
    attached = world.snapshot()
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 5
    assert "no longer exist" in result.stderr and "GET /admin" in result.stderr
    assert world.snapshot() == attached  # nothing written


def test_apikey_detach_turns_off_only_the_keys_attach_turned_on(world):
    resource = world.resource_ids["/pets/{petId}"]
    world.apigateway.update_method(
        restApiId=world.api_id,
        resourceId=resource,
        httpMethod="GET",
        patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}],
    )
    before = state(world)
    assert world.run("--route", "* /pets", "--route", "* /pets/*", kind="apikey").exit_code == 0
    assert world.method("/pets", "GET")["apiKeyRequired"] is True
    result = detach(world, "--kind", "apikey")
    assert result.exit_code == 0, result.output
    assert world.method("/pets", "GET")["apiKeyRequired"] is False
    assert world.method("/pets/{petId}", "GET")["apiKeyRequired"] is True  # it was before
    assert state(world) == before


def test_an_authorizer_attach_did_not_make_is_refused(world):
    attached = world.snapshot()
    result = detach(world, "--name", "legacy")
    assert result.exit_code == 5
    assert "not made by gatehouse attach" in result.stderr
    assert world.snapshot() == attached


def test_the_permission_stays_while_another_attached_authorizer_uses_the_function(world):
    world.run("--route", "GET /pets")
    world.run("--route", "GET /health", "--name", "second-jwt")
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 0, result.output
    assert "= keep permission statement" in result.stdout and "second-jwt" in result.stdout
    assert [s["Sid"] for s in world.statements()] == [f"gatehouse-attach-{world.api_id}"]
    assert detach(world, "--name", "second-jwt").exit_code == 0
    assert world.statements() == []


@pytest.mark.parametrize("args", [(), ("--kind", "jwt", "--name", "x")], ids=["none", "both"])
def test_exactly_one_of_kind_and_name(world, args):
    result = detach(world, *args)
    assert result.exit_code == 2
    assert "exactly one of --kind and --name" in result.stderr


def test_an_unreadable_record_is_refused(world):
    world.run("--route", "GET /pets")
    authorizer = world.authorizers()["gatehouse-jwt"]
    world.apigateway.update_authorizer(
        restApiId=world.api_id,
        authorizerId=authorizer["id"],
        patchOperations=[{"op": "replace", "path": "/authType", "value": MARKER + "{broken"}],
    )
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 5
    assert "unreadable" in result.stderr


def test_a_method_put_on_the_authorizer_by_hand_is_refused_not_opened(world):
    """Attack stopped: detach guessing that a method it never switched was NONE before (an
    operator moved GET /health from AWS_IAM onto the authorizer by hand): refused, untouched."""
    world.run("--route", "GET /pets")
    set_method(world, "/health", "GET", ("/authorizationType", "AWS_IAM"))
    authorizer_id = world.authorizers()["gatehouse-jwt"]["id"]
    set_method(
        world, "/health", "GET", ("/authorizationType", "CUSTOM"), ("/authorizerId", authorizer_id)
    )
    attached = world.snapshot()
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 5
    assert "not switched by attach: GET /health" in result.stderr
    assert world.snapshot() == attached


def test_a_method_hardened_after_attach_is_left_as_it_is(world):
    world.run("--route", "GET /pets", "--route", "GET /health")
    set_method(world, "/pets", "GET", ("/authorizationType", "AWS_IAM"))
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 0, result.output
    assert "GET /pets" not in result.stdout
    assert world.method("/pets", "GET")["authorizationType"] == "AWS_IAM"
    assert world.method("/health", "GET")["authorizationType"] == "NONE"


def test_a_method_replaced_from_aws_iam_goes_back_to_aws_iam_exactly(world):
    set_method(world, "/health", "GET", ("/authorizationType", "AWS_IAM"))
    before = state(world)
    assert world.run("--route", "GET /health", "--replace").exit_code == 0
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 0, result.output
    assert "-> AWS_IAM" in result.stdout
    assert state(world) == before


def test_a_record_grown_by_a_second_run_is_undone_whole(world):
    before = state(world)
    assert world.run("--route", "GET /pets").exit_code == 0
    assert world.run("--route", "GET /pets", "--route", "GET /admin", "--replace").exit_code == 0
    record = AttachRecord.decode(world.authorizers()["gatehouse-jwt"]["authType"])
    assert record is not None and record.switched == {"GET /pets", "GET /admin"}
    assert detach(world, "--kind", "jwt").exit_code == 0
    assert state(world) == before


@pytest.mark.parametrize(
    "attached",
    [("GET /pets",), ("GET /admin", "--replace")],
    ids=["was-none", "was-custom"],  # a CUSTOM -> CUSTOM restore is not seen in a summary
)
def test_a_detach_stopped_before_deploying_is_finished_by_the_next_run(
    world, monkeypatch, attached
):
    before = state(world)
    world.run("--route", *attached)
    deploy = apigateway_models.APIGatewayBackend.create_deployment

    def throttled(*_args: Any, **_kwargs: Any) -> None:
        raise BadRequestException("Too many requests")

    monkeypatch.setattr(apigateway_models.APIGatewayBackend, "create_deployment", throttled)
    assert detach(world, "--kind", "jwt").exit_code == 4
    monkeypatch.setattr(apigateway_models.APIGatewayBackend, "create_deployment", deploy)
    deployments = world.deployments()
    result = detach(world, "--kind", "jwt")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("+ deploy stage prod") for line in result.stdout.splitlines())
    assert world.deployments() == deployments + 1
    assert state(world) == before


def test_a_detach_stopped_at_the_permission_finishes_on_the_next_run(world, monkeypatch):
    before = state(world)
    world.run("--route", "GET /pets")
    from moto.awslambda.models import LambdaBackend

    remove = LambdaBackend.remove_permission

    def throttled(*_args: Any, **_kwargs: Any) -> None:
        raise BadRequestException("Too many requests")

    monkeypatch.setattr(LambdaBackend, "remove_permission", throttled)
    assert detach(world, "--kind", "jwt").exit_code == 4
    assert "gatehouse-jwt" in world.authorizers()  # kept: the next run finds it again
    monkeypatch.setattr(LambdaBackend, "remove_permission", remove)
    assert detach(world, "--kind", "jwt").exit_code == 0
    assert state(world) == before


def test_attaching_another_kind_under_a_recorded_name_is_refused(world):
    # The same settings (REQUEST on x-api-key, TTL 300): only the kind differs, and the record
    # of an apikey attach (which keys it turned on) would be wrong for a policy one.
    assert world.run("--route", "GET /pets", "--name", "shared", kind="apikey").exit_code == 0
    result = world.run(
        "--route", "GET /health", "--name", "shared",
        "--identity-source", "method.request.header.x-api-key", kind="policy",
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    assert "was attached as --kind apikey" in result.stderr


def test_other_stages_are_named_in_a_warning(world):
    world.apigateway.create_deployment(restApiId=world.api_id, stageName="staging")
    world.run("--route", "GET /pets")
    result = detach(world, "--kind", "jwt", "--dry-run")
    assert result.exit_code == 0
    assert "warning: other stages (staging) serve their own deployments" in result.stderr


def test_an_unknown_api_id_is_looked_up_as_rest_and_http_api_then_not_found(world):
    result = CliRunner().invoke(
        main,
        ["--region", REGION, "detach", "--api-id", "nosuchapi1", "--stage", "prod",
         "--kind", "jwt"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 3
    assert f"error: no REST or HTTP API 'nosuchapi1' in {REGION}" in result.stderr
    assert "hint: check the id and --region" in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        MARKER + '{"v":1,"kind":[],"switched":[],"was":{},"keyed":[]}',  # unhashable kind
        MARKER + "[" * 100_000,  # deep nesting
        MARKER + "x" * 20_000,  # oversized
        MARKER + '{"v":true,"kind":"jwt","switched":[],"was":{},"keyed":[]}',  # bool version
        MARKER + '{"v":1,"kind":"jwt","switched":["GET /a"],"was":{"GET /a":"CUSTOM"},"keyed":[]}',
        MARKER + '{"v":1,"kind":"jwt","switched":["GET /a"],"was":{"GET /a":"AWS_IAM x"},'
        '"keyed":[]}',
        MARKER + '{"v":1,"kind":"jwt","switched":["not a route"],"was":{},"keyed":[]}',
        MARKER + '{"v":1,"kind":"jwt","switched":[],"was":{"GET /a":"AWS_IAM"},"keyed":[]}',
    ],
    ids=[
        "unhashable-kind", "deep", "oversized", "bool-version", "custom-without-id",
        "iam-with-id", "bad-route", "unswitched-prior",
    ],
)  # fmt: skip
def test_a_hostile_record_is_a_record_error_never_anything_else(text):
    with pytest.raises(RecordError):
        AttachRecord.decode(text)
