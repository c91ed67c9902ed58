"""Shared helpers for API key tests: a moto table, records and keys."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

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


class _Body:
    """The raw stream botocore reads a response body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Any:
        yield self._body


class RawDynamoDb:
    """A real botocore DynamoDB client whose HTTP layer answers ``status`` and ``body``.

    moto cannot answer HTTP 200 with a body that is not JSON; a ``before-send`` handler
    returning a response is botocore's own way to skip the network (moto uses it too), so
    everything after the wire (parsing, the store's reply check) runs as in production.
    ``sent`` counts the requests that reached the "wire".
    """

    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status, self.sent = body, status, 0
        self.client = boto3.client(
            "dynamodb",
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

        def answer(request: Any, **_kwargs: Any) -> AWSResponse:
            self.sent += 1
            headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "r-1"}
            return AWSResponse(request.url, self.status, headers, _Body(self.body))

        self.client.meta.events.register("before-send.dynamodb.GetItem", answer)

    def reply_with_item(self, record: KeyRecord) -> None:
        self.body = json.dumps({"Item": record.to_item()}).encode()
