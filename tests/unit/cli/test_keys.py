"""`gatehouse keys` end to end against moto: DynamoDB table, REST API, stage and usage plans.

The authorizer that checks the keys is built as in tests/integration/test_api_key_handler.py,
against the same moto table, so what the CLI writes is what the authorizer reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.api_key.config import ApiKeyConfig
from authorizers.api_key.keys import Environment, key_hash, parse
from authorizers.api_key.record import KeyRecord
from authorizers.api_key.store import DynamoDbKeyStore
from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import Unauthorized
from authorizers.core.pipeline import ColdStart, handle
from gatehouse.cli import main
from tests.conftest import load_event
from tests.unit.api_key.fixtures import TABLE, create_table

REGION = "eu-west-1"
NOW = 1_750_000_000
HOUR = 3_600


class AwsWorld:
    def __init__(self) -> None:
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.apigateway = boto3.client("apigateway", region_name=REGION)
        create_table(self.dynamodb)
        api = self.apigateway.create_rest_api(name="orders", apiKeySource="AUTHORIZER")
        self.api_id = api["id"]
        root = self.apigateway.get_resources(restApiId=self.api_id)["items"][0]["id"]
        self.apigateway.put_method(
            restApiId=self.api_id,
            resourceId=root,
            httpMethod="GET",
            authorizationType="NONE",
            apiKeyRequired=True,
        )
        self.apigateway.put_integration(
            restApiId=self.api_id, resourceId=root, httpMethod="GET", type="MOCK"
        )
        self.apigateway.create_deployment(restApiId=self.api_id, stageName="prod")
        stage = [{"apiId": self.api_id, "stage": "prod"}]
        self.gold = self.apigateway.create_usage_plan(name="gold", apiStages=stage)["id"]
        self.silver = self.apigateway.create_usage_plan(name="silver", apiStages=stage)["id"]
        # A plan of that name on no stage of this API: not usable for it.
        self.apigateway.create_usage_plan(name="bronze")

    def run(self, *args: str, now: float = NOW) -> Result:
        return CliRunner().invoke(
            main, ["--region", REGION, "--now", str(now), *args], catch_exceptions=False
        )

    def create(self, *extra: str, tenant: str = "tenant-acme", plan: str = "gold") -> Result:
        return self.run(
            "keys", "create", "--tenant", tenant, "--plan", plan, "--table", TABLE,
            "--api-id", self.api_id, "--stage", "prod", *extra,
        )  # fmt: skip

    def record(self, secret: str) -> KeyRecord:
        item = self.dynamodb.get_item(
            TableName=TABLE, Key={"key_hash": {"S": key_hash(secret)}}, ConsistentRead=True
        )
        return KeyRecord.from_item(item["Item"])

    def tenant_keys(self) -> list[dict[str, Any]]:
        return self.apigateway.get_api_keys(includeValues=True)["items"]  # type: ignore[no-any-return]

    def plan_key_ids(self, plan_id: str) -> set[str]:
        return {k["id"] for k in self.apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]}

    def authorizer(self, clock: ManualClock) -> Any:
        config = ApiKeyConfig.from_environ({"GATEHOUSE_APIKEY_TABLE": TABLE})
        store = DynamoDbKeyStore(TABLE, clock=clock, client_factory=lambda: self.dynamodb)
        cold_start = ColdStart(
            "api_key", lambda: ApiKeyAuthorizer(config, store=store, clock=clock)
        )
        return lambda secret: handle(_event(secret), cold_start)


def _event(secret: str) -> dict[str, Any]:
    event = load_event("rest_token")
    event["authorizationToken"] = secret
    return event


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("GATEHOUSE_TRACING", "false")
    with mock_aws():
        yield AwsWorld()


def secret_of(result: Result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, "stdout carries the key and nothing else"
    return lines[0]


def test_create_prints_a_valid_key_once_and_stores_only_its_hash(aws):
    # WHEN a key is created for a tenant on the gold plan
    result = aws.create("--scopes", "orders:read, pets:read", "--expires-in-days", "30")
    secret = secret_of(result)
    # THEN the printed key has the authorizer's format
    assert parse(secret, environments={Environment.LIVE}).text == secret
    # AND its record is stored under its hash, with the tenant's usage-plan key value
    record = aws.record(secret)
    assert record.tenant == "tenant-acme"
    assert record.scopes == {"orders:read", "pets:read"}
    assert record.usage_plan == "gold"
    assert record.created_at == NOW
    assert record.expires_at == NOW + 30 * 86_400
    assert record.active
    # AND the raw key is nowhere in the table
    scan = str(aws.dynamodb.scan(TableName=TABLE)["Items"])
    assert secret not in scan
    # AND the tenant's API Gateway key exists and is attached to the gold plan only
    (tenant_key,) = aws.tenant_keys()
    assert tenant_key["name"] == "gatehouse-tenant-tenant-acme"
    assert record.usage_identifier_key == tenant_key["value"]
    assert aws.plan_key_ids(aws.gold) == {tenant_key["id"]}
    assert aws.plan_key_ids(aws.silver) == set()
    # AND neither the usage-plan key value nor the hash is printed, on stdout or stderr
    for hidden in (tenant_key["value"], key_hash(secret)):
        assert hidden not in result.stdout
        assert hidden not in result.stderr
    assert record.key_id in result.stderr


def test_the_authorizer_accepts_a_created_key_with_the_tenant_usage_key(aws):
    secret = secret_of(aws.create())
    response = aws.authorizer(ManualClock(start=NOW + 1))(secret)
    assert response["principalId"] == "tenant-acme"
    assert response["usageIdentifierKey"] == aws.tenant_keys()[0]["value"]


def test_a_second_create_reuses_the_tenant_key(aws):
    first = aws.record(secret_of(aws.create()))
    second_result = aws.create("--env", "test")
    second = aws.record(secret_of(second_result))
    assert len(aws.tenant_keys()) == 1
    assert first.usage_identifier_key == second.usage_identifier_key
    assert first.key_id != second.key_id
    assert "reused API Gateway key" in second_result.stderr
    # another tenant gets its own key
    aws.create(tenant="tenant-globex")
    assert len(aws.tenant_keys()) == 2


def test_list_and_show_never_print_hashes_or_values(aws):
    secrets = [secret_of(aws.create("--scopes", "a:read")), secret_of(aws.create(tenant="t2"))]
    values = [k["value"] for k in aws.tenant_keys()]
    hidden = [*secrets, *values, *(key_hash(s) for s in secrets)]
    listed = aws.run("keys", "list", "--table", TABLE)
    as_json = aws.run("keys", "list", "--table", TABLE, "--json")
    only_t2 = aws.run("keys", "list", "--table", TABLE, "--tenant", "t2")
    key_id = aws.record(secrets[0]).key_id
    shown = aws.run("keys", "show", key_id, "--table", TABLE)
    for result in (listed, as_json, only_t2, shown):
        assert result.exit_code == 0, result.output
        for text in hidden:
            assert text not in result.output
    assert key_id in listed.stdout
    assert "tenant-acme" in listed.stdout
    assert "a:read" in listed.stdout
    assert len(as_json.stdout.splitlines()) == 2
    assert "tenant-acme" not in only_t2.stdout
    assert "t2" in only_t2.stdout
    assert "usage_plan_key: set" in shown.stdout


def test_revoke_makes_the_authorizer_answer_401(aws):
    secret = secret_of(aws.create())
    key_id = aws.record(secret).key_id
    result = aws.run("keys", "revoke", key_id, "--table", TABLE)
    assert result.exit_code == 0, result.output
    assert not aws.record(secret).active
    with pytest.raises(Unauthorized):
        aws.authorizer(ManualClock(start=NOW + 1))(secret)
    again = aws.run("keys", "revoke", key_id, "--table", TABLE)
    assert again.exit_code == 0
    assert "already revoked" in again.stderr
    listed = aws.run("keys", "list", "--table", TABLE)
    assert "revoked" in listed.stdout


def test_rotate_keeps_the_old_key_until_the_grace_expiry(aws):
    # GIVEN a key with scopes
    old = secret_of(aws.create("--scopes", "orders:read"))
    old_id = aws.record(old).key_id
    # WHEN it is rotated with a 2-hour grace
    rotated = aws.run("keys", "rotate", old_id, "--table", TABLE, "--grace-hours", "2")
    new = secret_of(rotated)
    # THEN the new key has the same tenant, plan, scopes and usage-plan key
    old_record, new_record = aws.record(old), aws.record(new)
    assert (new_record.tenant, new_record.usage_plan, new_record.scopes) == (
        "tenant-acme",
        "gold",
        frozenset({"orders:read"}),
    )
    assert new_record.usage_identifier_key == old_record.usage_identifier_key
    assert new_record.key_id != old_id
    assert old_record.expires_at == NOW + 2 * HOUR
    # AND both keys work before the grace expiry
    before = ManualClock(start=NOW + 2 * HOUR - 1)
    assert aws.authorizer(before)(old)["principalId"] == "tenant-acme"
    assert aws.authorizer(before)(new)["principalId"] == "tenant-acme"
    # AND after it the old one is refused (401) and the new one still works
    after = ManualClock(start=NOW + 2 * HOUR)
    with pytest.raises(Unauthorized):
        aws.authorizer(after)(old)
    assert aws.authorizer(after)(new)["principalId"] == "tenant-acme"
    listed = aws.run("keys", "list", "--table", TABLE, now=NOW + 3 * HOUR)
    assert "expired" in listed.stdout


def test_rotating_a_revoked_key_is_a_conflict(aws):
    key_id = aws.record(secret_of(aws.create())).key_id
    aws.run("keys", "revoke", key_id, "--table", TABLE)
    result = aws.run("keys", "rotate", key_id, "--table", TABLE)
    assert result.exit_code == 5
    assert result.stdout == ""
    assert "hint:" in result.stderr


@pytest.mark.parametrize("plan", ["platinum", "bronze"])
def test_an_unknown_plan_fails_with_a_hint_and_writes_nothing(aws, plan):
    result = aws.create(plan=plan)
    assert result.exit_code == 3
    assert result.stdout == ""
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: ") and plan in error
    assert hint.startswith("hint: ") and "gold" in hint and "silver" in hint
    assert aws.dynamodb.scan(TableName=TABLE)["Items"] == []
    assert aws.tenant_keys() == []


def test_an_unknown_key_id_fails_with_a_hint(aws):
    for command in ("show", "revoke", "rotate"):
        result = aws.run("keys", command, "gkid_0000000000000000", "--table", TABLE)
        assert result.exit_code == 3, command
        assert "hint: " in result.stderr


def test_a_missing_table_is_not_found(aws):
    result = aws.run("keys", "list", "--table", "no-such-table")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: reading table 'no-such-table'")


def test_bad_options_are_usage_errors(aws):
    assert aws.create("--scopes", "a b").exit_code == 2
    assert aws.create(tenant="bad tenant").exit_code == 2
    assert aws.create("--expires-in-days", "0").exit_code == 2


@pytest.mark.parametrize(
    "command",
    [[], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "show"], ["keys", "revoke"],
     ["keys", "rotate"]],
)  # fmt: skip
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: gatehouse")
    assert "--now" not in result.output


def test_rotate_with_no_grace_states_the_cache_bound_it_really_has(aws):
    # GIVEN a key a warm authorizer has just accepted (its record is now in the positive cache)
    old = secret_of(aws.create())
    old_id = aws.record(old).key_id
    clock = ManualClock(start=NOW + 1)
    warm = aws.authorizer(clock)
    assert warm(old)["principalId"] == "tenant-acme"
    # WHEN it is rotated with --grace-hours 0
    rotated = aws.run("keys", "rotate", old_id, "--table", TABLE, "--grace-hours", "0", now=NOW + 1)
    secret_of(rotated)
    # THEN the output does not claim an immediate cut-off: it names the cache bound
    assert f"{old_id} stops at" in rotated.stderr
    assert (
        f"cached answers may still accept {old_id}: for up to GATEHOUSE_APIKEY_CACHE_SECONDS "
        "(the authorizer's cache, default 60 s) from now, plus the API's authorizer cache TTL"
    ) in " ".join(rotated.stderr.split())
    # AND that is the bound: a cold authorizer refuses the old key at once ...
    with pytest.raises(Unauthorized):
        aws.authorizer(ManualClock(start=NOW + 2))(old)
    # ... the warm one serves its cached record until the 60 s TTL runs out, and not after
    clock.advance(59)
    assert warm(old)["principalId"] == "tenant-acme"
    clock.advance(2)
    with pytest.raises(Unauthorized):
        warm(old)


def test_rotate_with_a_long_grace_names_only_the_api_gateway_cache(aws):
    old_id = aws.record(secret_of(aws.create())).key_id
    rotated = aws.run("keys", "rotate", old_id, "--table", TABLE, "--grace-hours", "2")
    assert rotated.exit_code == 0, rotated.output
    assert (
        f"{old_id} is refused from 2025-06-15T17:06:40Z, plus the API's authorizer cache TTL"
        in (" ".join(rotated.stderr.split()))
    )
    assert "GATEHOUSE_APIKEY_CACHE_SECONDS" not in rotated.stderr


def test_revoke_states_how_long_cached_answers_may_still_accept_the_key(aws):
    key_id = aws.record(secret_of(aws.create())).key_id
    result = aws.run("keys", "revoke", key_id, "--table", TABLE)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert f"cached answers may still accept {key_id}" in text
    assert "GATEHOUSE_APIKEY_CACHE_SECONDS (the authorizer's cache, default 60 s)" in text
    assert result.stdout == ""


def test_a_grace_shorter_than_the_longest_cache_ttl_states_the_later_of_the_two(aws):
    # 72 s: a function with GATEHOUSE_APIKEY_CACHE_SECONDS=300 still serves its cached record
    # past the cut-off, one with the default 60 s stops at the cut-off
    old_id = aws.record(secret_of(aws.create())).key_id
    rotated = aws.run("keys", "rotate", old_id, "--table", TABLE, "--grace-hours", "0.02")
    assert rotated.exit_code == 0, rotated.output
    assert (
        "from now or until 2025-06-15T15:07:52Z, whichever is later, plus the API's authorizer "
        "cache TTL"
    ) in " ".join(rotated.stderr.split())
