"""Reload with last-known-good: a broken update never replaces a good policy set."""

from __future__ import annotations

from pathlib import Path

import pytest

from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.policy.engine import compile_bundle
from authorizers.policy.source import UNCHANGED, Fetched, FileSource, SourceError, parse_source
from authorizers.policy.store import PolicyStore
from tests.unit.policy.helpers import DEMO, demo_table

GOOD = DEMO.read_bytes()
OTHER = b"version: 1\ncedar: 'permit (principal, action, resource);'\n"
BROKEN = b"version: 1\ncedar: 'permit (principal, action, resource'\n"


class FakeSource:
    description = "fake"

    def __init__(self, *documents: bytes | Exception) -> None:
        self.documents = list(documents)
        self.calls: list[str | None] = []
        self.current: bytes | Exception = documents[0]

    def fetch(self, tag):
        self.calls.append(tag)
        if self.documents:
            self.current = self.documents.pop(0)
        if isinstance(self.current, Exception):
            raise self.current
        new_tag = str(hash(self.current))
        return UNCHANGED if new_tag == tag else Fetched(self.current, new_tag)


def make(source, clock, events=None):
    table = demo_table()
    return PolicyStore(
        source,
        lambda data: compile_bundle(data, table),
        clock=clock,
        refresh_s=60,
        retry_s=5,
        on_event=(lambda name, fields: events.append((name, fields)))
        if events is not None
        else None,
    )


def test_loads_then_checks_only_after_the_interval(clock: ManualClock):
    source = FakeSource(GOOD)
    events: list = []
    store = make(source, clock, events)
    first = store.current()
    assert first is not None and events[0][0] == "loaded"
    assert store.current() is first and len(source.calls) == 1  # within the interval
    clock.advance(61)
    assert store.current() is first and len(source.calls) == 2  # unchanged: same snapshot
    assert source.calls[1] is not None  # a conditional fetch with the tag


def test_a_broken_update_keeps_the_last_known_good(clock: ManualClock):
    """Attack/accident: a half-written or malicious update must not replace the good set
    (and must not become 'no policy', which would be deny-all or, in shadow, allow-all)."""
    events: list = []
    store = make(FakeSource(GOOD, BROKEN), clock, events)
    good = store.current()
    clock.advance(61)
    assert store.current() is good
    assert events[-1][0] == "reload_failed"
    assert events[-1][1]["kept_version"] == good.version and events[-1][1]["why"] == "invalid"
    assert "Cedar syntax" in str(events[-1][1]["problem"])


def test_a_good_update_replaces_it(clock: ManualClock):
    store = make(FakeSource(GOOD, OTHER), clock)
    first = store.current()
    clock.advance(61)
    second = store.current()
    assert second is not None and second.version != first.version


def test_a_source_outage_keeps_the_last_known_good(clock: ManualClock):
    store = make(FakeSource(GOOD, UpstreamError(Reason.UPSTREAM_THROTTLED)), clock)
    good = store.current()
    clock.advance(61)
    assert store.current() is good


def test_a_cold_start_without_a_valid_policy_denies_and_retries(clock: ManualClock):
    source = FakeSource(BROKEN, BROKEN, GOOD)
    store = make(source, clock)
    assert store.current() is None and store.unavailable.why == "invalid"
    clock.advance(1)
    assert store.current() is None and len(source.calls) == 1  # retry after retry_s
    clock.advance(5)
    assert store.current() is None and len(source.calls) == 2
    clock.advance(5)
    assert store.current() is not None


def test_an_outage_at_cold_start_is_reported_as_source(clock: ManualClock):
    store = make(FakeSource(UpstreamError()), clock)
    assert store.current() is None
    assert store.unavailable.why == "source"
    assert store.unavailable.reason is Reason.UPSTREAM_UNAVAILABLE


def test_file_source(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_bytes(GOOD)
    source = FileSource(path)
    fetched = source.fetch(None)
    assert isinstance(fetched, Fetched) and fetched.data == GOOD
    assert source.fetch(fetched.tag) is UNCHANGED
    path.write_bytes(b" " * 2_000_000)
    with pytest.raises(UpstreamError):
        source.fetch(None)
    with pytest.raises(UpstreamError):
        FileSource(tmp_path / "missing").fetch(None)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("/opt/p.yaml", "FileSource"),
        ("s3://bucket/key.yaml", "S3Source"),
        ("ssm:/a/b", "SsmSource"),
    ],
)
def test_parse_source(text, kind):
    assert type(parse_source(text)).__name__ == kind


@pytest.mark.parametrize("text", ["relative.yaml", "s3://B/key", "s3://bucket", "ssm:", "ssm:a b"])
def test_parse_source_refuses(text):
    with pytest.raises(SourceError):
        parse_source(text)
