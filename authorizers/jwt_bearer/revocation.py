"""Optional revocation: a denylist of (issuer, jti) in DynamoDB, read through a short cache.

Off unless ``GATEHOUSE_JWT_REVOCATION_TABLE`` is set; boto3 is imported only then (it costs
~230 ms of cold start, and a client as much again). The table's partition key is ``pk``
(string) holding ``{iss}#{jti}``; put an item there to revoke a token (and, for Cognito, its
``origin_jti`` to revoke every token of one sign-in). A TTL attribute (``expires_at``) lets
DynamoDB drop entries once the token would have expired anyway.

Keys are (iss, jti) read from a *verified* token, never the raw token text (JWT malleability:
one token has many spellings, docs/jwt-attacks.md row 12). Answers are cached for a short
bounded TTL, so a revocation takes effect within that TTL (plus API Gateway's authorizer cache
TTL).
DynamoDB errors fail closed: ``UpstreamError`` -> Deny, with an ``Error`` metric; so does no
answer by the invocation's deadline (``UPSTREAM_TIMEOUT``). So does an
HTTP 200 whose body is not a JSON object: botocore parses it as ``{}``, which reads as "not
revoked", so a broken reply would let a revoked token through. The raw body is checked before
botocore parses it (a ``before-parse`` hook, as in ``authorizers.api_key.store``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from authorizers.core.cache import BoundedTTLCache
from authorizers.core.clock import Clock
from authorizers.core.deadline import Deadline, call_within
from authorizers.core.upstream import (
    LazyClient,
    aws_upstream_error,
    refuse_unparseable_dynamodb_replies,
)


class RevocationList(Protocol):
    def is_revoked(
        self, issuer: str, ids: Sequence[str], deadline: Deadline | None = None
    ) -> bool: ...


class DynamoDbRevocationList:
    """``is_revoked(iss, [jti, origin_jti])`` against a DynamoDB table, cached."""

    def __init__(
        self,
        table: str,
        *,
        clock: Clock | None = None,
        cache_ttl_s: float = 30,
        client_factory: Callable[[], Any] | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self._table = table
        self._client = LazyClient(
            client_factory or _default_client, prepare=refuse_unparseable_dynamodb_replies
        )
        self._cache: BoundedTTLCache[tuple[str, str], bool] = BoundedTTLCache(
            maxsize=max_entries, ttl_seconds=cache_ttl_s, clock=clock
        )

    def is_revoked(self, issuer: str, ids: Sequence[str], deadline: Deadline | None = None) -> bool:
        """Whether any of ``ids`` is revoked; each uncached ``GetItem`` ends by ``deadline``
        (else ``UpstreamError(UPSTREAM_TIMEOUT)``)."""
        return any(self._lookup(issuer, token_id, deadline) for token_id in ids if token_id)

    def _lookup(self, issuer: str, token_id: str, deadline: Deadline | None) -> bool:
        key = (issuer, token_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pk = f"{issuer}#{token_id}"
        revoked = call_within(deadline, lambda: self._fetch(pk), upstream="dynamodb")
        self._cache.put(key, revoked)
        return revoked

    def _fetch(self, pk: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - lazy

        try:
            item = self._client.get().get_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                ProjectionExpression="pk",
            )
        except (ClientError, BotoCoreError) as error:
            raise aws_upstream_error(error) from None
        return "Item" in item

    def clear(self) -> None:
        self._cache.clear()


def _default_client() -> Any:
    import boto3  # noqa: PLC0415 - only when revocation is on
    from botocore.config import Config  # noqa: PLC0415

    # Short timeouts, no long retry storms: the authorizer must answer well within its budget.
    config = Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("dynamodb", config=config)
