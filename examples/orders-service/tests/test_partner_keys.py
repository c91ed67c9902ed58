"""Partner API keys: issued with `gatehouse keys`, checked by Gatehouse's API key authorizer
with the service's settings (orders_service/settings/apikey.json), against moto in-process."""

from __future__ import annotations

import json
import shutil

import boto3
import pytest
from authorizers.core.exceptions import Unauthorized
from click.testing import CliRunner
from gatehouse.cli import main
from moto import mock_aws

from orders_service import SETTINGS
from tests.conftest import API_ARN

REGION = "eu-west-1"
TABLE = json.loads((SETTINGS / "apikey.json").read_text())["GATEHOUSE_APIKEY_TABLE"]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(  # the key table: SHA-256 of the key as partition key
            TableName=TABLE,
            KeySchema=[{"AttributeName": "key_hash", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key_hash", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        apigateway = boto3.client("apigateway", region_name=REGION)
        api_id = apigateway.create_rest_api(name="orders", apiKeySource="AUTHORIZER")["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        apigateway.put_method(
            restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
        apigateway.create_deployment(restApiId=api_id, stageName="prod")
        apigateway.create_usage_plan(
            name="partners", apiStages=[{"apiId": api_id, "stage": "prod"}]
        )
        yield api_id


def issue(api_id: str, *scopes: str) -> str:
    args = ["--region", REGION, "keys", "create", "--tenant", "acme", "--plan", "partners"]
    args += ["--table", TABLE, "--api-id", api_id, "--stage", "prod"]
    if scopes:
        args += ["--scopes", ",".join(scopes)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def key_event(key: str) -> dict:
    return {
        "type": "TOKEN",
        "authorizationToken": key,
        "methodArn": f"{API_ARN}/GET/partner/orders/7",
    }


def test_a_partner_key_reads_partner_orders_on_its_usage_plan(aws, cold_start, tmp_path):
    shutil.copy(SETTINGS / "apikey.json", tmp_path / "gatehouse.json")
    handler = cold_start("api_key", tmp_path)
    response = handler(key_event(issue(aws, "partner:orders:read")))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert response["usageIdentifierKey"]  # API Gateway meters the partner's usage plan


def test_a_key_without_the_scope_is_denied_and_an_unknown_key_is_401(aws, cold_start, tmp_path):
    shutil.copy(SETTINGS / "apikey.json", tmp_path / "gatehouse.json")
    handler = cold_start("api_key", tmp_path)
    denied = handler(key_event(issue(aws)))
    assert denied["context"]["reason"] == "InsufficientScope"
    with pytest.raises(Unauthorized):
        handler(key_event("gk_live_" + "A" * 30 + "AAAAAA"))
