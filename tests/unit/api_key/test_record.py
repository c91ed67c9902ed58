"""The stored item: round trip, optional attributes, and what never shows in repr."""

from __future__ import annotations

import pytest

from authorizers.api_key.keys import key_hash
from authorizers.api_key.record import KeyRecord, MalformedRecord


def full() -> KeyRecord:
    return KeyRecord(
        key_hash=key_hash("k"),
        key_id="gkid_abc",
        tenant="tenant-1",
        status="active",
        scopes=frozenset({"b", "a"}),
        created_at=100,
        expires_at=200,
        usage_plan="gold",
        usage_identifier_key="secret-usage-key",
    )


def test_items_round_trip():
    record = full()
    assert KeyRecord.from_item(record.to_item()) == record
    assert record.to_item()["scopes"] == {"SS": ["a", "b"]}


def test_optional_attributes_are_left_out_and_read_back_as_absent():
    record = KeyRecord(
        key_hash=key_hash("k"),
        key_id="gkid_abc",
        tenant="t",
        status="revoked",
        scopes=frozenset(),
        created_at=1,
    )
    item = record.to_item()
    assert set(item) == {"key_hash", "key_id", "tenant", "status", "created_at"}
    assert KeyRecord.from_item(item) == record
    assert not record.active


def test_repr_hides_the_hash_and_the_usage_key():
    text = repr(full())
    assert "secret-usage-key" not in text and key_hash("k") not in text
    assert "gkid_abc" in text


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"key_hash": {"S": "h"}}, "key_id is missing"),
        ({**full().to_item(), "tenant": "plain"}, "tenant must be of type S"),
        ({**full().to_item(), "tenant": {"S": ""}}, "tenant must be a non-empty string"),
        ({**full().to_item(), "created_at": {"N": "1e9"}}, "created_at must be a whole number"),
        (
            {k: v for k, v in full().to_item().items() if k != "created_at"},
            "created_at is missing",
        ),
        ({**full().to_item(), "scopes": {"L": []}}, "scopes must be of type SS"),
        ({**full().to_item(), "scopes": {"SS": "a"}}, "scopes must be a set"),
    ],
)
def test_malformed_items_name_the_attribute_not_the_value(item, message):
    with pytest.raises(MalformedRecord, match=message) as caught:
        KeyRecord.from_item(item)
    assert "secret-usage-key" not in str(caught.value)
