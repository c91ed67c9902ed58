"""The stored form of one API key: a DynamoDB item keyed by the key's hash. Pure.

One item per key (``gatehouse keys`` writes them; the authorizer only reads)::

    key_hash              S   partition key: SHA-256 hex of the key (keys.key_hash)
    key_id                S   public id (gkid_...), safe to log and show
    tenant                S   the tenant/client the key belongs to (principalId)
    status                S   "active" or "revoked"; anything else is treated as revoked
    scopes                SS  optional; the key's scopes (DynamoDB sets cannot be empty)
    created_at            N   epoch seconds
    expires_at            N   optional; epoch seconds. Checked in code on every request, and
                              usable as the table's TTL attribute (DynamoDB deletes lazily)
    usage_plan            S   optional; the tenant's usage plan (tier) name
    usage_identifier_key  S   optional; the tenant's internal API Gateway key *value*,
                              returned as usageIdentifierKey and never given to clients

The raw key is never stored. ``usage_identifier_key`` is a secret from the client's point of
view: it is kept out of ``repr`` and never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

PARTITION_KEY: Final = "key_hash"
_INTEGER: Final = re.compile(r"-?[0-9]{1,15}", re.ASCII)


class KeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class MalformedRecord(ValueError):
    """A stored item that does not have the shape above (message names the attribute only)."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_hash: str = field(repr=False)
    key_id: str
    tenant: str
    status: str
    scopes: frozenset[str]
    created_at: int
    expires_at: int | None = None
    usage_plan: str | None = None
    usage_identifier_key: str | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status == KeyStatus.ACTIVE.value

    def to_item(self) -> dict[str, dict[str, Any]]:
        """The DynamoDB item (low-level attribute-value form)."""
        item: dict[str, dict[str, Any]] = {
            PARTITION_KEY: {"S": self.key_hash},
            "key_id": {"S": self.key_id},
            "tenant": {"S": self.tenant},
            "status": {"S": self.status},
            "created_at": {"N": str(self.created_at)},
        }
        if self.scopes:
            item["scopes"] = {"SS": sorted(self.scopes)}
        if self.expires_at is not None:
            item["expires_at"] = {"N": str(self.expires_at)}
        if self.usage_plan is not None:
            item["usage_plan"] = {"S": self.usage_plan}
        if self.usage_identifier_key is not None:
            item["usage_identifier_key"] = {"S": self.usage_identifier_key}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> KeyRecord:
        """Parse a DynamoDB item; raises :class:`MalformedRecord` naming the bad attribute."""
        return cls(
            key_hash=_string(item, PARTITION_KEY),
            key_id=_string(item, "key_id"),
            tenant=_string(item, "tenant"),
            status=_string(item, "status"),
            scopes=_string_set(item, "scopes"),
            created_at=_integer(item, "created_at"),
            expires_at=_optional_integer(item, "expires_at"),
            usage_plan=_optional_string(item, "usage_plan"),
            usage_identifier_key=_optional_string(item, "usage_identifier_key"),
        )


def _attribute(item: Mapping[str, Any], name: str, kind: str) -> object:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {kind}:
        raise MalformedRecord(f"{name} must be of type {kind}")
    return value[kind]


def _optional_string(item: Mapping[str, Any], name: str) -> str | None:
    value = _attribute(item, name, "S")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"{name} must be a non-empty string")
    return value


def _string(item: Mapping[str, Any], name: str) -> str:
    value = _optional_string(item, name)
    if value is None:
        raise MalformedRecord(f"{name} is missing")
    return value


def _string_set(item: Mapping[str, Any], name: str) -> frozenset[str]:
    value = _attribute(item, name, "SS")
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise MalformedRecord(f"{name} must be a set of non-empty strings")
    return frozenset(value)


def _optional_integer(item: Mapping[str, Any], name: str) -> int | None:
    value = _attribute(item, name, "N")
    if value is None:
        return None
    # Written by us as a plain integer string; anything else (fractions, exponents) is refused.
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise MalformedRecord(f"{name} must be a whole number of epoch seconds")
    return int(value)


def _integer(item: Mapping[str, Any], name: str) -> int:
    value = _optional_integer(item, name)
    if value is None:
        raise MalformedRecord(f"{name} is missing")
    return value
