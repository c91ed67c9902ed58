"""No CLI input produces a traceback: one ``error:`` line, a ``hint:``, a documented exit code.

Each test runs one input found by an outside attack run (issue 17) exactly as a user types it,
with ``catch_exceptions=False`` so that an exception escaping the command fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from moto import mock_aws

from gatehouse.aws import aws_errors
from gatehouse.cli import main
from gatehouse.errors import CliError
from gatehouse.localmode.lock import LOCK_NAME, acquire
from gatehouse.localmode.stack import StackError, _stage_settings
from tests.unit.api_key.fixtures import create_table
from tests.unit.policy.helpers import DEMO, DEMO_ROUTES

REPO = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def error_lines(result: Result) -> list[str]:
    """stderr, checked to be exactly one ``error:`` line and one ``hint:`` line."""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    hints = [line for line in lines if line.startswith("hint: ")]
    assert len(errors) == 1 and len(hints) == 1, result.stderr
    return [errors[0], hints[0]]


# --- global options -------------------------------------------------------------------------


def test_an_endpoint_url_that_is_not_a_url_is_a_usage_error_not_a_traceback():
    result = run("--endpoint-url", "notaurl", "keys", "list", "--table", "t")
    assert result.exit_code == 2
    error, hint = error_lines(result)
    assert error == "error: --endpoint-url 'notaurl' is not a URL"
    assert "http://127.0.0.1:5055" in hint


def test_an_invalid_service_endpoint_from_the_environment_is_a_usage_error(monkeypatch):
    # botocore reads AWS_ENDPOINT_URL_<SERVICE> itself and raises ValueError at client creation.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "notaurl")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # else botocore asks IMDS first
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    result = run("--region", REGION, "keys", "list", "--table", "t")
    assert result.exit_code == 2, result.output
    error, hint = error_lines(result)
    assert error == "error: creating the dynamodb client: Invalid endpoint: notaurl"
    assert "AWS_ENDPOINT_URL_<SERVICE>" in hint


def test_the_aws_options_work_after_the_command_too():
    # As docs/local.md promises: every AWS command takes --endpoint-url (and --region,
    # --profile) after its name, not only before it.
    result = run("keys", "list", "--table", "t", "--endpoint-url", "notaurl")
    assert result.exit_code == 2
    error, _hint = error_lines(result)
    assert error == "error: --endpoint-url 'notaurl' is not a URL"


def test_an_aws_option_after_the_command_wins_over_the_one_before(aws):
    create_table(boto3.client("dynamodb", region_name=REGION), "keys")
    result = run("--region", "us-east-1", "keys", "list", "--table", "keys", "--region", REGION)
    assert result.exit_code == 0, result.output  # the table exists in eu-west-1 only


def test_an_unknown_profile_is_one_error_line():
    result = run("--region", REGION, "keys", "list", "--table", "t", "--profile", "no-such")
    assert result.exit_code == 4
    error, hint = error_lines(result)
    assert "no-such" in error and "--profile" in hint


def test_a_server_fault_is_reported_as_one_not_as_a_permissions_problem():
    """What it stops: an endpoint's HTTP 500 (moto's answer to an operation it does not
    emulate, an AWS outage) read as "check the credentials' permissions", with the first line
    of an HTML page as the message."""
    fault = ClientError(
        {
            "Error": {"Code": "500", "Message": "<!doctype html>\n<title>500</title>"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        },
        "UpdateMethod",
    )
    with pytest.raises(CliError) as caught, aws_errors("updating method GET /orders"):
        raise fault
    assert caught.value.format_message() == "updating method GET /orders: server fault (HTTP 500)"
    assert "permissions" not in caught.value.hint
    assert "5xx" in caught.value.hint


# --- keys create ----------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto with a REST API, a stage and a usage plan on it; yields the API id."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("GATEHOUSE_TRACING", "false")
    with mock_aws():
        apigateway = boto3.client("apigateway", region_name=REGION)
        api_id = apigateway.create_rest_api(name="orders")["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        apigateway.put_method(
            restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
        apigateway.create_deployment(restApiId=api_id, stageName="prod")
        apigateway.create_usage_plan(name="gold", apiStages=[{"apiId": api_id, "stage": "prod"}])
        yield api_id


def test_keys_create_on_a_missing_table_creates_nothing_in_api_gateway(aws):
    result = run(
        "--region", REGION, "keys", "create", "--tenant", "tenant-acme", "--plan", "gold",
        "--table", "no-such-table", "--api-id", aws, "--stage", "prod",
    )  # fmt: skip
    assert result.exit_code == 3
    error, _hint = error_lines(result)
    assert error.startswith("error: checking table 'no-such-table': ")
    assert result.stdout == ""
    apigateway = boto3.client("apigateway", region_name=REGION)
    assert apigateway.get_api_keys()["items"] == []  # no tenant key created, none attached


def test_keys_create_on_an_existing_table_still_works(aws):
    create_table(boto3.client("dynamodb", region_name=REGION), "keys")
    result = run(
        "--region", REGION, "keys", "create", "--tenant", "tenant-acme", "--plan", "gold",
        "--table", "keys", "--api-id", aws, "--stage", "prod",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


# --- policy test / validate -----------------------------------------------------------------


def _tests_file(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / "x.tests.yaml"
    path.write_text(json.dumps({"bundle": str(DEMO), "routes": list(DEMO_ROUTES), **document}))
    return path


BOB = {"bob": {"type": "user", "groups": ["readers", "tenant-acme"]}}


def test_policy_test_refuses_a_misspelt_case_key_instead_of_passing_the_case(tmp_path):
    # "polices" would be ignored and the case would pass without its policies being checked.
    case = {
        "name": "bob reads",
        "identity": "bob",
        "request": "GET /tenants/acme/orders",
        "expect": "allow",
        "polices": ["nothing-like-this"],
    }
    result = run("policy", "test", str(_tests_file(tmp_path, {"identities": BOB, "cases": [case]})))
    assert result.exit_code == 2
    error, hint = error_lines(result)
    assert error == "error: case 'bob reads': unknown key 'polices'; did you mean 'policies'?"
    assert "docs/policies.md" in hint


def test_policy_test_reports_a_misspelt_top_level_key_as_unknown_not_missing(tmp_path):
    path = tmp_path / "x.tests.yaml"
    path.write_text(json.dumps({"bundle": str(DEMO), "route": list(DEMO_ROUTES), "cases": [{}]}))
    result = run("policy", "test", str(path))
    assert result.exit_code == 2
    error, _hint = error_lines(result)
    assert error == f"error: {path}: unknown key 'route'; did you mean 'routes'?"


def test_policy_test_suggests_the_identity_key_meant(tmp_path):
    identities = {"bob": {"type": "user", "group": ["readers"]}}
    result = run("policy", "test", str(_tests_file(tmp_path, {"identities": identities})))
    assert result.exit_code == 2
    error, _hint = error_lines(result)
    assert error == "error: identity 'bob': unknown key 'group'; did you mean 'groups'?"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("headers", ["x-a"], "headers is a mapping"),
        ("time", "noon", "time is a number"),
        ("policies", "rule:x", "policies is a list"),
        ("source_ip", 10, "source_ip is a string"),
    ],
)
def test_policy_test_refuses_a_case_value_of_the_wrong_type(tmp_path, field, value, problem):
    case = {"identity": "bob", "request": "GET /tenants/acme/orders", "expect": "allow"}
    document = {"identities": BOB, "cases": [{**case, field: value}]}
    result = run("policy", "test", str(_tests_file(tmp_path, document)))
    assert result.exit_code == 2
    error, _hint = error_lines(result)
    assert problem in error


def test_policy_test_yaml_errors_give_the_parsers_reason_and_position(tmp_path):
    path = tmp_path / "x.tests.yaml"
    path.write_text("routes:\n  - GET /a\ncases: x: y\n")
    result = run("policy", "test", str(path))
    assert result.exit_code == 2
    error, _hint = error_lines(result)
    assert error == (
        f"error: {path}: not valid YAML: mapping values are not allowed here at line 3, column 9"
    )


def test_policy_validate_yaml_errors_give_the_parsers_reason_and_position(tmp_path):
    bundle = tmp_path / "bad.yaml"
    bundle.write_text("version: 1\ncedar: [unclosed\n")
    result = run("policy", "validate", str(bundle), "--routes", json.dumps(list(DEMO_ROUTES)))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stdout == (
        f"invalid: {bundle}: the bundle is not valid YAML or JSON: expected ',' or ']', but got "
        "'<stream end>' at line 3, column 1 (while parsing a flow sequence started at line 2, "
        "column 8)\n"
    )
    assert "unclosed" not in result.stdout  # the source snippet is not echoed


# --- local ----------------------------------------------------------------------------------


def test_local_refuses_an_info_file_in_a_missing_directory_before_starting(tmp_path):
    state = tmp_path / "state"
    result = run(
        "local", "--info-file", "/missing/dir/info.json", "--state-dir", str(state),
        "--port", "0", "--tls-port", "0", "--moto-port", "0",
    )  # fmt: skip
    assert result.exit_code == 2
    error, hint = error_lines(result)
    assert error == (
        "error: --info-file /missing/dir/info.json: directory /missing/dir does not exist"
    )
    assert "--info-file" in hint
    assert "ready" not in result.output
    assert not state.exists()  # nothing started, nothing written


def test_local_with_an_unknown_stage_prints_the_whole_message(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)  # the Gatehouse cdk.json, with stages dev and prod
    result = run("local", "--stage", "nope", "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 4
    error, hint = error_lines(result)
    assert error == "error: --stage 'nope': cdk.json has no such stage (it has: dev, prod)"
    assert hint == "hint: pass one of them, e.g. --stage dev"


def test_an_invalid_cdk_json_reports_every_problem_on_one_line(tmp_path):
    cdk_json = tmp_path / "cdk.json"
    stages = {"dev": {"region": "eu-west-1", "bogus": 1}, "prod": {"regoin": "eu-west-1"}}
    cdk_json.write_text(json.dumps({"context": {"gatehouse": {"stages": stages}}}))
    with pytest.raises(StackError) as raised:
        _stage_settings(cdk_json, "dev")
    message = str(raised.value)
    assert message.startswith("cdk.json: invalid Gatehouse stage configuration: ")
    assert "\n" not in message
    assert "bogus" in message and "regoin" in message


@pytest.mark.enable_socket
def test_a_taken_moto_port_names_the_option_and_a_hint_that_works(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "local", "--moto-port", str(port), "--port", "0", "--tls-port", "0",
            "--state-dir", str(tmp_path),
        )  # fmt: skip
    assert result.exit_code == 5
    error, hint = error_lines(result)
    assert error == f"error: port {port} on 127.0.0.1 is already in use (--moto-port)"
    assert "make local LOCAL_ARGS='--moto-port 0'" in hint
    assert "--state-dir" in hint


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_local_passes_local_args_to_the_command():
    # The hints say `make local LOCAL_ARGS='...'`: the Makefile must really pass them on.
    result = subprocess.run(
        ["make", "-n", "local", "LOCAL_ARGS=--moto-port 0 --state-dir .local/2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-m gatehouse local --moto-port 0 --state-dir .local/2" in result.stdout


def test_a_second_local_on_the_same_state_dir_is_refused_before_touching_its_pki(tmp_path):
    first = acquire(tmp_path)  # what a running instance holds (a separate open file: flock)
    try:
        result = run(
            "local", "--state-dir", str(tmp_path), "--port", "0", "--tls-port", "0",
            "--moto-port", "0",
        )  # fmt: skip
    finally:
        first.release()
    assert result.exit_code == 5
    error, hint = error_lines(result)
    assert error == (
        f"error: another gatehouse local (pid {os.getpid()}) is running with --state-dir {tmp_path}"
    )
    assert "--state-dir .local/2" in hint and "LOCAL_ARGS=" in hint
    assert not (tmp_path / "pki").exists()  # the first one's certificates are left alone


def test_the_state_dir_lock_is_free_again_once_its_holder_stops(tmp_path):
    # A stopped (or crashed) instance leaves the file with its pid, but no lock.
    (tmp_path / LOCK_NAME).write_text("999999\n")
    lock = acquire(tmp_path)
    assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    lock.release()
    lock.release()  # idempotent
    acquire(tmp_path).release()
