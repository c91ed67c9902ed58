"""Shared helpers for API key tests: a moto table, records and keys."""

from __future__ import annotations

from typing import Any

from authorizers.api_key.keys import Environment, IssuedKey, generate
from authorizers.api_key.record import PARTITION_KEY, KeyRecord

TABLE = "gatehouse-api-keys"
#: The tenant's internal API Gateway key value: must never appear in a log line.
USAGE_KEY = "internal-usage-plan-key-value-0123456789abcdef"
CREATED = 1_749_000_000


def create_table(client: Any, name: str = TABLE) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def record_for(issued: IssuedKey, **overrides: Any) -> KeyRecord:
    values: dict[str, Any] = {
        "key_hash": issued.key_hash,
        "key_id": issued.key_id,
        "tenant": "tenant-acme",
        "status": "active",
        "scopes": frozenset({"orders:read"}),
        "created_at": CREATED,
        "expires_at": None,
        "usage_plan": "gold",
        "usage_identifier_key": USAGE_KEY,
    }
    values.update(overrides)
    return KeyRecord(**values)


def issue(client: Any, environment: Environment = Environment.LIVE, **overrides: Any) -> IssuedKey:
    """Generate a key and store its record, as ``gatehouse keys create`` will."""
    issued = generate(environment)
    client.put_item(TableName=TABLE, Item=record_for(issued, **overrides).to_item())
    return issued
