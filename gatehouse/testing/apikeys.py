"""API keys in moto: the key table, a REST API stage with usage plans, and keys issued, revoked
and rotated through the ``gatehouse keys`` commands themselves (the same code operators run).

Use under ``moto.mock_aws()`` (the ``gatehouse_api_keys`` fixture does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from authorizers.api_key.keys import key_hash
from authorizers.api_key.record import PARTITION_KEY, KeyRecord

__all__ = ["ApiKeys", "IssuedKey"]


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as ``gatehouse keys create`` printed it, and its record."""

    secret: str = field(repr=False)
    key_id: str
    tenant: str


class ApiKeys:
    """The key table, a REST API with stage ``stage`` and one usage plan per name in ``plans``.

    ``settings()`` gives the keyword settings for ``authorizer("apikey", ...)``.
    """

    def __init__(
        self,
        *,
        region: str = "eu-west-1",
        table: str = "gatehouse-test-keys",
        stage: str = "prod",
        plans: Sequence[str] = ("basic", "premium"),
    ) -> None:
        import boto3  # noqa: PLC0415 - only this fixture needs it

        self.region = region
        self.table = table
        self.stage = stage
        self.dynamodb = boto3.client("dynamodb", region_name=region)
        self.apigateway = boto3.client("apigateway", region_name=region)
        self.dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        api = self.apigateway.create_rest_api(name="gatehouse-test", apiKeySource="AUTHORIZER")
        self.api_id: str = api["id"]
        root = self.apigateway.get_resources(restApiId=self.api_id)["items"][0]["id"]
        self.apigateway.put_method(
            restApiId=self.api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        self.apigateway.put_integration(
            restApiId=self.api_id, resourceId=root, httpMethod="GET", type="MOCK"
        )
        self.apigateway.create_deployment(restApiId=self.api_id, stageName=stage)
        for plan in plans:
            self.apigateway.create_usage_plan(
                name=plan, apiStages=[{"apiId": self.api_id, "stage": stage}]
            )

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Keyword settings for ``authorizer("apikey", ...)``: this table, plus ``extra``."""
        return {"apikey_table": self.table, **extra}

    def issue(
        self,
        tenant: str = "acme",
        *,
        plan: str = "basic",
        scopes: Sequence[str] = (),
        expires_in_days: int | None = None,
        environment: str = "live",
    ) -> IssuedKey:
        """``gatehouse keys create``."""
        args = ["create", "--tenant", tenant, "--plan", plan, "--table", self.table]
        args += ["--api-id", self.api_id, "--stage", self.stage, "--env", environment]
        if scopes:
            args += ["--scopes", ",".join(scopes)]
        if expires_in_days is not None:
            args += ["--expires-in-days", str(expires_in_days)]
        return self._issued(self._run(args), tenant)

    def revoke(self, key: IssuedKey) -> None:
        """``gatehouse keys revoke``."""
        self._run(["revoke", key.key_id, "--table", self.table])

    def rotate(self, key: IssuedKey, *, grace_hours: float = 0) -> IssuedKey:
        """``gatehouse keys rotate``; returns the new key (the old one works ``grace_hours``)."""
        output = self._run(
            ["rotate", key.key_id, "--table", self.table, "--grace-hours", str(grace_hours)]
        )
        return self._issued(output, key.tenant)

    def record(self, key: IssuedKey) -> KeyRecord:
        """The key's record in the table (only the hash is stored)."""
        item = self.dynamodb.get_item(
            TableName=self.table,
            Key={PARTITION_KEY: {"S": key_hash(key.secret)}},
            ConsistentRead=True,
        )["Item"]
        return KeyRecord.from_item(item)

    def _run(self, args: list[str]) -> str:
        from click.testing import CliRunner  # noqa: PLC0415 - the cli extra

        from gatehouse.cli import main  # noqa: PLC0415

        result = CliRunner().invoke(main, ["--region", self.region, "keys", *args])
        if result.exit_code != 0:
            raise RuntimeError(f"gatehouse keys {args[0]} failed: {result.output.strip()}")
        return result.stdout.strip()

    def _issued(self, secret: str, tenant: str) -> IssuedKey:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={PARTITION_KEY: {"S": key_hash(secret)}}, ConsistentRead=True
        )["Item"]
        return IssuedKey(secret=secret, key_id=KeyRecord.from_item(item).key_id, tenant=tenant)
