"""The key store: DynamoDB ``GetItem`` by key hash, behind bounded positive and negative caches.

The only IO module of this authorizer. boto3 is imported on the first lookup, not at import
(it costs ~230 ms of cold start). Lookups use the key's SHA-256 as the partition key, so the
table itself does the matching: no secret is compared in our code, and the one comparison we
do (the stored hash against the requested one, defence in depth) uses
:func:`hmac.compare_digest`.

Caching, both keyed by the hash and never by the raw key:

- *positive* (an item was found, whatever its status): ``positive_ttl_s``. A revocation or a
  scope change therefore takes effect within this TTL (plus API Gateway's own authorizer cache
  TTL). Expiry does not wait for it: ``expires_at`` is checked on every request.
- *negative* (no such item): ``negative_ttl_s``, shorter, in a separate cache so a flood of
  well-formed junk keys cannot evict the positive entries.

Failures fail closed and are never cached: throttling -> ``UpstreamError(UPSTREAM_THROTTLED)``,
no answer by the invocation's deadline -> ``UpstreamError(UPSTREAM_TIMEOUT)``
(:mod:`authorizers.core.deadline`), anything else from DynamoDB ->
``UpstreamError(UPSTREAM_UNAVAILABLE)``; an item that does not parse ->
``UpstreamError(INTERNAL)``. Each becomes a Deny with an ``Error`` metric.

That includes an HTTP 200 whose body is not a JSON object (a proxy's HTML page, a truncated
reply). botocore parses such a body as an empty ``GetItem`` answer, the very answer DynamoDB
gives for "no such item", which would be a 401 ``UnknownCredential``, negative-cached. So the
raw body is checked before botocore parses it (a ``before-parse`` hook on the client):
a reply that is not a JSON object, or whose ``Item`` is not one, is
``UpstreamError(UPSTREAM_UNAVAILABLE)``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Protocol

from authorizers.api_key.record import PARTITION_KEY, KeyRecord, MalformedRecord
from authorizers.core.cache import BoundedTTLCache
from authorizers.core.clock import Clock
from authorizers.core.deadline import Deadline, call_within
from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.core.observability import logger
from authorizers.core.upstream import (
    LazyClient,
    aws_upstream_error,
    refuse_unparseable_dynamodb_replies,
)


class KeyStore(Protocol):
    def lookup(self, key_hash: str, deadline: Deadline | None = None) -> KeyRecord | None: ...


class DynamoDbKeyStore:
    """``lookup(key_hash)`` against a DynamoDB table whose partition key is ``key_hash``.

    Parameters
    ----------
    table:
        The table name.
    clock:
        Time source for both caches (monotonic by default).
    client_factory:
        Builds the low-level DynamoDB client on first use (tests pass moto or failing fakes).
    """

    def __init__(
        self,
        table: str,
        *,
        positive_ttl_s: float = 60,
        negative_ttl_s: float = 5,
        clock: Clock | None = None,
        client_factory: Callable[[], Any] | None = None,
        max_entries: int = 10_000,
        consistent_read: bool = True,
    ) -> None:
        self._table = table
        self._client = LazyClient(
            client_factory or _default_client, prepare=refuse_unparseable_dynamodb_replies
        )
        self._consistent_read = consistent_read
        self._found: BoundedTTLCache[str, KeyRecord] = BoundedTTLCache(
            maxsize=max_entries, ttl_seconds=positive_ttl_s, clock=clock
        )
        self._missing: BoundedTTLCache[str, bool] = BoundedTTLCache(
            maxsize=max_entries, ttl_seconds=negative_ttl_s, clock=clock
        )

    def lookup(self, key_hash: str, deadline: Deadline | None = None) -> KeyRecord | None:
        """The record stored under ``key_hash``, or None when there is none; a ``GetItem``
        (on a cache miss) ends by ``deadline``.

        Raises
        ------
        UpstreamError
            DynamoDB failed, was throttled or did not answer by ``deadline``
            (``UPSTREAM_TIMEOUT``), or the item is malformed. Nothing is cached then.
        """
        record = self._found.get(key_hash)
        if record is not None:
            return record
        if key_hash in self._missing:
            return None
        record = call_within(deadline, lambda: self._fetch(key_hash), upstream="dynamodb")
        if record is None:
            self._missing.put(key_hash, True)
        else:
            self._found.put(key_hash, record)
        return record

    def _fetch(self, key_hash: str) -> KeyRecord | None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - lazy

        try:
            response = self._client.get().get_item(
                TableName=self._table,
                Key={PARTITION_KEY: {"S": key_hash}},
                ConsistentRead=self._consistent_read,
            )
        except (ClientError, BotoCoreError) as error:
            raise aws_upstream_error(error) from None
        item = response.get("Item")
        if item is None:
            return None
        try:
            record = KeyRecord.from_item(item)
        except MalformedRecord as error:
            # The message names the attribute only, never a value.
            logger.error("malformed api key record", extra={"problem": str(error)})
            raise UpstreamError(Reason.INTERNAL) from None
        if not hmac.compare_digest(record.key_hash, key_hash):
            raise UpstreamError(Reason.INTERNAL)
        return record

    def clear(self) -> None:
        self._found.clear()
        self._missing.clear()


def _default_client() -> Any:
    import boto3  # noqa: PLC0415 - only on the first lookup
    from botocore.config import Config  # noqa: PLC0415

    # Short timeouts, no long retry storms: the authorizer must answer well within its budget.
    config = Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("dynamodb", config=config)
