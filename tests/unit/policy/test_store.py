"""Reload with last-known-good: a broken update never replaces a good policy set."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
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


MISTYPED = GOOD.replace(b"match_path: {tenant: tenants}", b"match_path: {tenant: [tenants]}")


class Exploding:
    """A compile step (or source) that fails in a way no one planned for."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __call__(self, *_args):
        raise self.error


def test_a_mistyped_update_keeps_the_last_known_good_and_is_counted(clock: ManualClock):
    """Availability attack: a mistyped update (a list where a name goes) raised TypeError out
    of the store: every request refetched, failed, and no PolicyReloadFailed was counted."""
    events: list = []
    source = FakeSource(GOOD, MISTYPED)
    store = make(source, clock, events)
    good = store.current()
    clock.advance(61)
    for _ in range(3):
        assert store.current() is good
    assert [name for name, _ in events] == ["loaded", "reload_failed"]
    assert "match_path.tenant" in str(events[-1][1]["problem"])
    assert len(source.calls) == 2  # not refetched per request: next check after the interval


@pytest.mark.parametrize("error", [TypeError("boom"), RuntimeError("cedar"), KeyError("k")])
def test_any_exception_while_compiling_is_an_invalid_document(clock: ManualClock, error):
    events: list = []
    table = demo_table()
    steps = iter([lambda data: compile_bundle(data, table), Exploding(error)])

    def compile_next(data: bytes):
        return next(steps)(data)

    store = PolicyStore(
        FakeSource(GOOD, OTHER),
        compile_next,
        clock=clock,
        refresh_s=60,
        on_event=lambda name, fields: events.append((name, fields)),
    )
    good = store.current()
    clock.advance(61)
    assert store.current() is good
    assert events[-1][0] == "reload_failed" and events[-1][1]["why"] == "invalid"
    assert type(error).__name__ in str(events[-1][1]["problem"])
    assert str(error) not in str(events[-1][1])  # the type only, never the text


def test_any_exception_while_fetching_keeps_the_last_known_good(clock: ManualClock):
    events: list = []
    store = make(FakeSource(GOOD, ValueError("sdk surprise")), clock, events)
    good = store.current()
    clock.advance(61)
    assert store.current() is good
    assert events[-1][0] == "reload_failed" and events[-1][1]["why"] == "source"
    assert events[-1][1]["error_type"] == "ValueError"


def test_a_mistyped_bundle_at_cold_start_denies_then_recovers(clock: ManualClock):
    """At cold start the same TypeError escaped the init phase, and the function answered
    Internal until redeployed; now it has no policy set, and retries until the fix lands."""
    source = FakeSource(MISTYPED, MISTYPED, GOOD)
    store = make(source, clock)
    assert store.current() is None and store.unavailable.why == "invalid"
    clock.advance(5)
    assert store.current() is None
    clock.advance(5)
    assert store.current() is not None


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


class HungSource(FakeSource):
    """A source whose fetches block (until released) once ``hung`` is set."""

    def __init__(self, *documents: bytes | Exception) -> None:
        super().__init__(*documents)
        self.hung = False
        self.release = threading.Event()

    def fetch(self, tag):
        if self.hung:
            self.release.wait(10)
        return super().fetch(tag)


def test_a_hung_refresh_decides_with_the_last_known_good_by_the_deadline(clock: ManualClock):
    """Attack: S3 or SSM accepting connections and never answering when the policy set is due
    for refresh. The request gets the last-known-good set before its deadline (not a Lambda
    timeout, a 500) and the source is not asked again before the refresh interval."""
    source = HungSource(GOOD, OTHER)
    events: list = []
    store = make(source, clock, events)
    good = store.current(Deadline.after(1))
    source.hung = True
    clock.advance(61)
    try:
        started = time.monotonic()
        assert store.current(Deadline.after(0.2)) is good
        assert time.monotonic() - started < 0.5
        assert events[-1][0] == "reload_failed"
        assert events[-1][1]["error_reason"] == "UpstreamTimeout"
        assert events[-1][1]["kept_version"] == good.version
        clock.advance(30)  # within the interval: no new attempt, no wait
        started = time.monotonic()
        assert store.current(Deadline.after(0.2)) is good
        assert time.monotonic() - started < 0.1
    finally:
        source.release.set()


def test_a_hung_first_load_is_reported_as_a_source_timeout(clock: ManualClock):
    source = HungSource(GOOD)
    source.hung = True
    store = make(source, clock)
    try:
        store.refresh(Deadline.after(0.2))
        assert store.snapshot is None
        assert store.unavailable.why == "source"
        assert store.unavailable.reason is Reason.UPSTREAM_TIMEOUT
    finally:
        source.release.set()


def test_a_refresh_never_started_is_not_a_failed_reload(clock: ManualClock):
    """No time left: the source is not asked, nothing is reported as a failed reload, and the
    next request (with time) refreshes at once."""
    source = FakeSource(GOOD, OTHER)
    events: list = []
    store = make(source, clock, events)
    good = store.current(Deadline.after(1))
    clock.advance(61)
    assert store.current(Deadline.after(-1)) is good
    assert len(source.calls) == 1
    assert [name for name, _ in events] == ["loaded"]
    replaced = store.current(Deadline.after(1))
    assert replaced is not good and len(source.calls) == 2


def test_a_refresh_with_a_set_held_leaves_time_for_what_follows(clock: ManualClock):
    source = HungSource(GOOD)
    store = make(source, clock)
    good = store.current(Deadline.after(1))
    source.hung = True
    clock.advance(61)
    deadline = Deadline.after(0.6)
    try:
        assert store.current(deadline) is good
        assert 0.15 < deadline.remaining() < 0.4  # about half is left
    finally:
        source.release.set()


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
