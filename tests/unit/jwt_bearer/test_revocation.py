"""Revocation denylist in DynamoDB (moto), its cache, and failing closed (row 33)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.jwt_bearer.revocation import DynamoDbRevocationList
from tests.unit.api_key.fixtures import RawDynamoDb

ISS = "https://idp.example.com"


@pytest.fixture
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="revoked",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def revocations(client: Any, clock: ManualClock) -> DynamoDbRevocationList:
    return DynamoDbRevocationList(
        "revoked", clock=clock, cache_ttl_s=30, client_factory=lambda: client
    )


def test_revoked_jti_and_origin_jti_are_found(table, clock):
    table.put_item(TableName="revoked", Item={"pk": {"S": f"{ISS}#origin-1"}})
    denylist = revocations(table, clock)
    assert denylist.is_revoked(ISS, ["jti-9", "origin-1"]) is True
    assert denylist.is_revoked(ISS, ["jti-9"]) is False
    # Keyed by issuer too: the same jti from another issuer is another token.
    assert denylist.is_revoked("https://other.example.com", ["origin-1"]) is False


def test_answers_are_cached_until_the_ttl_then_revocation_takes_effect(table, clock):
    denylist = revocations(table, clock)
    assert denylist.is_revoked(ISS, ["jti-1"]) is False
    table.put_item(TableName="revoked", Item={"pk": {"S": f"{ISS}#jti-1"}})
    assert denylist.is_revoked(ISS, ["jti-1"]) is False  # cached "not revoked"
    clock.advance(31)
    assert denylist.is_revoked(ISS, ["jti-1"]) is True
    denylist.clear()


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def get_item(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
                "GetItem",
            ),
            Reason.UPSTREAM_THROTTLED,
        ),
        (
            ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "x"}}, "GetItem"
            ),
            Reason.UPSTREAM_UNAVAILABLE,
        ),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), Reason.UPSTREAM_UNAVAILABLE),
    ],
    ids=["throttled", "missing-table", "unreachable"],
)
def test_dynamodb_failures_fail_closed_and_are_not_cached(error, reason, clock):
    client = FailingClient(error)
    denylist = revocations(client, clock)
    for _ in range(2):
        with pytest.raises(UpstreamError) as caught:
            denylist.is_revoked(ISS, ["jti-1"])
        assert caught.value.reason is reason
        assert caught.value.__cause__ is None
    assert client.calls == 2  # a failure is never remembered as "not revoked"


def test_no_ids_means_no_lookup(clock):
    client = FailingClient(RuntimeError("must not be called"))
    assert revocations(client, clock).is_revoked(ISS, []) is False
    assert client.calls == 0


@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>", b"", b"[]"], ids=["html", "empty", "list"]
)
def test_a_200_reply_that_is_not_json_cannot_let_a_revoked_token_through(clock, body):
    # GIVEN DynamoDB's endpoint answering 200 with a body botocore alone would parse as {}
    # (no Item: "not revoked")
    wire = RawDynamoDb(body)
    denylist = revocations(wire.client, clock)
    # THEN the lookup is an upstream fault (Deny, Error metric), never "not revoked", and the
    # answer is not cached
    for _ in range(2):
        with pytest.raises(UpstreamError) as caught:
            denylist.is_revoked(ISS, ["jti-1"])
        assert caught.value.reason is Reason.UPSTREAM_UNAVAILABLE
    assert wire.sent == 2
    # AND a proper empty answer is still "not revoked"
    wire.body = b"{}"
    assert denylist.is_revoked(ISS, ["jti-1"]) is False
