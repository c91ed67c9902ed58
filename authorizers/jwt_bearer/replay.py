"""Each DPoP proof is used once (RFC 9449, section 11.1): its ``jti`` is recorded for as
long as the proof would be accepted, per function instance and, with a table, across them.

- :class:`MemoryReplayGuard`: a bounded TTL cache in this instance; enough for one instance,
  not for a fleet (a proof replayed to another instance is accepted there).
- :class:`DynamoDbReplayGuard` (``GATEHOUSE_DPOP_REPLAY_TABLE``): first the instance's memory,
  then a conditional ``PutItem`` (``attribute_not_exists(pk)``) on ``pk`` =
  ``dpop#{key thumbprint}#{jti}`` with the TTL attribute ``expires_at``: the first writer
  wins, every other instance is refused. A DynamoDB error or a timeout fails closed
  (``UpstreamError``), never "first use".

The key is the proof key's thumbprint and the ``jti`` of a *verified* proof: an attacker can
only spend their own proofs' ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from authorizers.core.clock import Clock, SystemClock
from authorizers.core.deadline import Deadline, call_within
from authorizers.core.upstream import (
    LazyClient,
    aws_upstream_error,
    refuse_unparseable_dynamodb_replies,
)

__all__ = ["DynamoDbReplayGuard", "MemoryReplayGuard", "ReplayGuard"]


class ReplayGuard(Protocol):
    def first_use(
        self, thumbprint: str, jti: str, expires_at: float, deadline: Deadline | None = None
    ) -> bool: ...


class MemoryReplayGuard:
    """Proof ids seen by this instance, each kept until its proof expires (``expires_at``, on
    ``clock``: the wall clock the proofs' ``iat`` is read against).

    Bounded: at ``max_entries`` the oldest go first, so a flood of proofs larger than that
    within one window could let an evicted one be replayed to this instance; the table
    (:class:`DynamoDbReplayGuard`) has no such bound. A dict in insertion order, expired
    entries dropped from the front: O(1) per proof (a TTL cache costs several times more on
    the hot path, docs/jwt.md "Performance").
    """

    def __init__(self, *, clock: Clock | None = None, max_entries: int = 50_000) -> None:
        self._clock = clock or SystemClock()
        self._max = max_entries
        self._seen: dict[tuple[str, str], float] = {}

    def first_use(
        self, thumbprint: str, jti: str, expires_at: float, deadline: Deadline | None = None
    ) -> bool:
        del deadline
        key = (thumbprint, jti)
        seen, now = self._seen, self._clock.now()
        expiry = seen.get(key)
        if expiry is not None and expiry > now:
            return False
        for oldest in seen:  # drop what has expired at the front, and keep the bound
            if seen[oldest] > now and len(seen) < self._max:
                break
            del seen[oldest]
            break
        seen.pop(key, None)
        seen[key] = expires_at
        return True

    def clear(self) -> None:
        self._seen.clear()


class DynamoDbReplayGuard:
    """The instance's memory, then a conditional write every instance shares."""

    def __init__(
        self,
        table: str,
        *,
        clock: Clock | None = None,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._table = table
        self._memory = MemoryReplayGuard(clock=clock)
        self._client = LazyClient(
            client_factory or _default_client, prepare=refuse_unparseable_dynamodb_replies
        )

    def first_use(
        self, thumbprint: str, jti: str, expires_at: float, deadline: Deadline | None = None
    ) -> bool:
        if not self._memory.first_use(thumbprint, jti, expires_at):
            return False
        pk = f"dpop#{thumbprint}#{jti}"
        return call_within(deadline, lambda: self._put(pk, expires_at), upstream="dynamodb")

    def _put(self, pk: str, expires_at: float) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - lazy

        try:
            self._client.get().put_item(
                TableName=self._table,
                Item={"pk": {"S": pk}, "expires_at": {"N": str(int(expires_at) + 1)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # another instance saw this proof first
            raise aws_upstream_error(error) from None
        except BotoCoreError as error:
            raise aws_upstream_error(error) from None
        return True

    def clear(self) -> None:
        self._memory.clear()


def _default_client() -> Any:
    import boto3  # noqa: PLC0415 - only when the replay table is on
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("dynamodb", config=config)
