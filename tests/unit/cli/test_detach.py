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

from gatehouse.attach_record import MARKER, AttachRecord
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
    """Everything attach may touch, deployments aside (detach deploys the restored API)."""
    methods, authorizers, statements, _deployments = world.snapshot()
    return methods, authorizers, statements


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


def test_a_detach_stopped_before_deploying_is_finished_by_the_next_run(world, monkeypatch):
    before = state(world)
    world.run("--route", "GET /pets")
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
