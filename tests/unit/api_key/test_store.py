"""The DynamoDB key store (moto): lookups, the two caches, failing closed, malformed items."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from authorizers.api_key.keys import Environment, generate, key_hash
from authorizers.api_key.record import KeyRecord
from authorizers.api_key.store import DynamoDbKeyStore
from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import Reason, UpstreamError
from tests.unit.api_key.fixtures import (
    TABLE,
    USAGE_KEY,
    RawDynamoDb,
    create_table,
    issue,
    record_for,
)


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client)
        yield client


class CountingClient:
    """Wraps a client and counts GetItem calls (to see what the caches absorb)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.inner.get_item(**kwargs)


def store_for(client: Any, clock: ManualClock, **options: Any) -> DynamoDbKeyStore:
    return DynamoDbKeyStore(
        TABLE,
        clock=clock,
        positive_ttl_s=60,
        negative_ttl_s=5,
        client_factory=lambda: client,
        **options,
    )


def test_a_stored_key_is_found_by_its_hash_with_a_consistent_read(dynamodb, clock):
    issued = issue(dynamodb)
    counting = CountingClient(dynamodb)
    record = store_for(counting, clock).lookup(issued.key_hash)
    assert record == record_for(issued)
    assert record is not None and record.usage_identifier_key == USAGE_KEY
    assert counting.calls[0]["Key"] == {"key_hash": {"S": issued.key_hash}}
    assert counting.calls[0]["ConsistentRead"] is True


def test_an_unknown_hash_is_none(dynamodb, clock):
    assert store_for(dynamodb, clock).lookup(key_hash("nope")) is None


def test_found_records_are_cached_for_the_positive_ttl_so_revocation_lands_within_it(
    dynamodb, clock
):
    # GIVEN an active key that was looked up once
    issued = issue(dynamodb)
    counting = CountingClient(dynamodb)
    store = store_for(counting, clock)
    assert store.lookup(issued.key_hash).active  # type: ignore[union-attr]
    # WHEN it is revoked in the table
    revoked = record_for(issued, status="revoked").to_item()
    dynamodb.put_item(TableName=TABLE, Item=revoked)
    # THEN the cached record is served until the positive TTL passes, then the revocation shows
    clock.advance(59)
    assert store.lookup(issued.key_hash).active  # type: ignore[union-attr]
    clock.advance(2)
    assert not store.lookup(issued.key_hash).active  # type: ignore[union-attr]
    assert len(counting.calls) == 2


def test_unknown_hashes_are_cached_for_the_shorter_negative_ttl(dynamodb, clock):
    counting = CountingClient(dynamodb)
    store = store_for(counting, clock)
    missing = key_hash("gk_live_not-there")
    assert store.lookup(missing) is None
    clock.advance(4)
    assert store.lookup(missing) is None
    assert len(counting.calls) == 1
    clock.advance(2)
    assert store.lookup(missing) is None
    assert len(counting.calls) == 2


def test_negative_entries_cannot_evict_positive_ones(dynamodb, clock):
    # GIVEN a tiny cache holding one found key
    issued = issue(dynamodb)
    counting = CountingClient(dynamodb)
    store = store_for(counting, clock, max_entries=1)
    store.lookup(issued.key_hash)
    # WHEN many unknown keys are tried
    for n in range(5):
        store.lookup(key_hash(f"junk-{n}"))
    # THEN the found key is still served from its cache
    calls = len(counting.calls)
    assert store.lookup(issued.key_hash) is not None
    assert len(counting.calls) == calls


def test_clear_forgets_both_caches(dynamodb, clock):
    issued = issue(dynamodb)
    counting = CountingClient(dynamodb)
    store = store_for(counting, clock)
    store.lookup(issued.key_hash)
    store.lookup(key_hash("junk"))
    store.clear()
    store.lookup(issued.key_hash)
    store.lookup(key_hash("junk"))
    assert len(counting.calls) == 4


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def get_item(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}}, "GetItem")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (client_error("ProvisionedThroughputExceededException"), Reason.UPSTREAM_THROTTLED),
        (client_error("ThrottlingException"), Reason.UPSTREAM_THROTTLED),
        (client_error("RequestLimitExceeded"), Reason.UPSTREAM_THROTTLED),
        (client_error("ResourceNotFoundException"), Reason.UPSTREAM_UNAVAILABLE),
        (client_error("AccessDeniedException"), Reason.UPSTREAM_UNAVAILABLE),
        (client_error("InternalServerError"), Reason.UPSTREAM_UNAVAILABLE),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), Reason.UPSTREAM_UNAVAILABLE),
        (ReadTimeoutError(endpoint_url="https://dynamodb"), Reason.UPSTREAM_UNAVAILABLE),
    ],
    ids=[
        "provisioned-throughput",
        "throttling",
        "request-limit",
        "missing-table",
        "access-denied",
        "internal",
        "unreachable",
        "timeout",
    ],
)
def test_dynamodb_failures_fail_closed_and_nothing_is_cached(error, reason, clock):
    client = FailingClient(error)
    store = store_for(client, clock)
    for _ in range(2):
        with pytest.raises(UpstreamError) as caught:
            store.lookup(key_hash("k"))
        assert caught.value.reason is reason
        assert caught.value.__cause__ is None
    assert client.calls == 2  # a failure is remembered neither as found nor as missing


class HungClient:
    """GetItem blocks (a DynamoDB endpoint that accepts and never answers) until released,
    then answers from ``inner``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.calls = 0

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        self.release.wait(10)
        return self.inner.get_item(**kwargs)


def test_a_hung_lookup_is_a_timeout_by_the_deadline_and_is_not_cached(dynamodb, clock):
    """Attack: DynamoDB never answering a GetItem. The lookup ends by the invocation's
    deadline (UpstreamTimeout, a Deny), and the key is not remembered as unknown: once
    DynamoDB answers, the same key works."""
    issued = issue(dynamodb)
    client = HungClient(dynamodb)
    store = store_for(client, clock)
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamError) as caught:
            store.lookup(issued.key_hash, Deadline.after(0.2))
        assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
        assert time.monotonic() - started < 0.5
    finally:
        client.release.set()
    assert store.lookup(issued.key_hash, Deadline.after(2)) is not None
    assert client.calls == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda item: item.pop("tenant"),
        lambda item: item.update(status={"N": "1"}),
        lambda item: item.update(created_at={"N": "1.5"}),
        lambda item: item.update(expires_at={"S": "tomorrow"}),
        lambda item: item.update(scopes={"SS": [""]}),
    ],
    ids=["no-tenant", "status-not-string", "fractional-created", "expires-string", "empty-scope"],
)
def test_a_malformed_item_fails_closed_uncached_and_logs_no_value(dynamodb, clock, damage, capsys):
    issued = issue(dynamodb)
    item = record_for(issued).to_item()
    damage(item)
    dynamodb.put_item(TableName=TABLE, Item=item)
    counting = CountingClient(dynamodb)
    store = store_for(counting, clock)
    for _ in range(2):
        with pytest.raises(UpstreamError) as caught:
            store.lookup(issued.key_hash)
        assert caught.value.reason is Reason.INTERNAL
    assert len(counting.calls) == 2
    out = capsys.readouterr().out
    assert "malformed api key record" in out
    assert USAGE_KEY not in out and issued.key_hash not in out


def test_an_item_whose_stored_hash_differs_is_refused(clock):
    class Liar:
        def get_item(self, **_kwargs: Any) -> dict[str, Any]:
            other = KeyRecord(
                key_hash=key_hash("other"),
                key_id="gkid_x",
                tenant="t",
                status="active",
                scopes=frozenset(),
                created_at=1,
            )
            return {"Item": other.to_item()}

    with pytest.raises(UpstreamError) as caught:
        store_for(Liar(), clock).lookup(key_hash("mine"))
    assert caught.value.reason is Reason.INTERNAL


def test_the_client_is_built_once_lazily(dynamodb, clock):
    built = []

    def factory():
        built.append(1)
        return dynamodb

    store = DynamoDbKeyStore(TABLE, clock=clock, client_factory=factory)
    assert built == []
    store.lookup(key_hash("a"))
    store.lookup(key_hash("b"))
    assert built == [1]


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b'{"Item": {"key_hash": {"S": "abc"}',
        b"[]",
        b"null",
        b'{"Item": "x"}',
        b"\xff\xfe{}",
    ],
    ids=["html", "empty", "truncated", "list", "null", "item-not-object", "not-utf8"],
)
def test_a_200_reply_that_is_not_a_json_object_is_an_upstream_fault_not_an_unknown_key(
    clock, body, capsys
):
    # GIVEN DynamoDB (or something in front of it) answering HTTP 200 with a broken body,
    # which botocore alone would parse as {} - the very answer for "no such item"
    wire = RawDynamoDb(body)
    store = store_for(wire.client, clock)
    # WHEN a key is looked up, twice
    for _ in range(2):
        with pytest.raises(UpstreamError) as caught:
            store.lookup(key_hash("k"))
        # THEN it is an upstream fault (Deny, Error metric), not None (401 UnknownCredential)
        assert caught.value.reason is Reason.UPSTREAM_UNAVAILABLE
        assert caught.value.__cause__ is None and caught.value.__context__ is None
    # AND it was not negative-cached: both lookups went to the wire
    assert wire.sent == 2
    out = capsys.readouterr().out
    assert "unparseable dynamodb reply" in out
    if body:
        assert body.decode("latin-1") not in out


def test_a_200_empty_object_reply_is_still_no_such_key_and_negative_cached(clock):
    wire = RawDynamoDb(b"{}")
    store = store_for(wire.client, clock)
    assert store.lookup(key_hash("k")) is None
    assert store.lookup(key_hash("k")) is None
    assert wire.sent == 1


def test_a_200_reply_with_an_item_still_parses_through_the_check(clock):
    issued = generate(Environment.LIVE)
    wire = RawDynamoDb(b"")
    wire.reply_with_item(record_for(issued))
    assert store_for(wire.client, clock).lookup(issued.key_hash) == record_for(issued)
