"""The key table, as the operator sees it: write, find by key id, list, revoke, rotate.

Items are :class:`authorizers.api_key.record.KeyRecord`, written with ``to_item`` and read
with ``from_item``, so the CLI and the authorizer share one schema. The table's only key is
``key_hash``; finding a record by its public ``key_id`` is therefore a Scan with a filter
(fine for an operator command, never done by the authorizer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from authorizers.api_key.record import PARTITION_KEY, KeyRecord, KeyStatus, MalformedRecord
from gatehouse.errors import CliError, ExitCode


class KeyTable:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put_new(self, record: KeyRecord) -> None:
        """Write a new record; never overwrites an existing hash."""
        self._client.put_item(
            TableName=self._table,
            Item=record.to_item(),
            ConditionExpression="attribute_not_exists(#h)",
            ExpressionAttributeNames={"#h": PARTITION_KEY},
        )

    def scan(self, *, tenant: str | None = None, key_id: str | None = None) -> Iterator[KeyRecord]:
        """Every record (optionally one tenant's, or one key id), strongly consistent."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        filters: list[str] = []
        if tenant is not None:
            names["#t"] = "tenant"
            values[":t"] = {"S": tenant}
            filters.append("#t = :t")
        if key_id is not None:
            names["#k"] = "key_id"
            values[":k"] = {"S": key_id}
            filters.append("#k = :k")
        request: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        if filters:
            request |= {
                "FilterExpression": " AND ".join(filters),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        while True:
            page = self._client.scan(**request)
            for item in page.get("Items", []):
                yield _parse(item)
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def find(self, key_id: str) -> KeyRecord:
        """The record with this public key id (a filtered Scan: the table is keyed by hash)."""
        for record in self.scan(key_id=key_id):
            return record
        raise CliError(
            f"no key with id {key_id!r} in table {self._table!r}",
            hint="list the key ids with: gatehouse keys list --table TABLE",
            code=ExitCode.NOT_FOUND,
        )

    def revoke(self, record: KeyRecord) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={PARTITION_KEY: {"S": record.key_hash}},
            UpdateExpression="SET #s = :revoked",
            ConditionExpression="attribute_exists(#h)",
            ExpressionAttributeNames={"#s": "status", "#h": PARTITION_KEY},
            ExpressionAttributeValues={":revoked": {"S": KeyStatus.REVOKED.value}},
        )

    def rotate(self, old: KeyRecord, new: KeyRecord, *, old_expires_at: int) -> None:
        """In one transaction: write ``new`` and cut ``old`` off at ``old_expires_at``,
        provided ``old`` is still active (a concurrent revoke wins)."""
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": new.to_item(),
                        "ConditionExpression": "attribute_not_exists(#h)",
                        "ExpressionAttributeNames": {"#h": PARTITION_KEY},
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {PARTITION_KEY: {"S": old.key_hash}},
                        "UpdateExpression": "SET #e = :e",
                        "ConditionExpression": "#s = :active",
                        "ExpressionAttributeNames": {"#e": "expires_at", "#s": "status"},
                        "ExpressionAttributeValues": {
                            ":e": {"N": str(old_expires_at)},
                            ":active": {"S": KeyStatus.ACTIVE.value},
                        },
                    }
                },
            ]
        )


def _parse(item: dict[str, Any]) -> KeyRecord:
    try:
        return KeyRecord.from_item(item)
    except MalformedRecord as error:
        key_id = item.get("key_id", {}).get("S", "?")
        raise CliError(
            f"the item for key id {key_id!r} is malformed: {error}",
            hint="the authorizer denies it too; fix or delete the item (docs/api-keys.md)",
            code=ExitCode.CONFLICT,
        ) from None
