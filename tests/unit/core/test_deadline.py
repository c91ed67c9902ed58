"""The invocation deadline and ``call_within``: upstream calls end before the function's timeout.

Attack stopped: an upstream that accepts and never answers holding an invocation past its
Lambda timeout (API Gateway then answers 500, no ``Error`` metric). These tests use real time
with budgets of a few tenths of a second: the waits they bound are real thread waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from authorizers.core import deadline as deadline_module
from authorizers.core.deadline import MARGIN_S, Deadline, acquire, call_within
from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.core.request import normalize
from gatehouse.testing import LambdaContext, build_event


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown: hung calls started by a test end then."""
    event = threading.Event()
    yield event
    event.set()


def hang(release: threading.Event) -> Any:
    def call() -> str:
        release.wait(10)
        return "late"

    return call


def test_deadline_is_the_context_remaining_time_minus_the_margin() -> None:
    deadline = Deadline.for_invocation(LambdaContext(timeout_ms=2000))
    assert deadline is not None
    assert 2.0 - MARGIN_S - 0.05 < deadline.remaining() <= 2.0 - MARGIN_S


@pytest.mark.parametrize(
    "context",
    [None, object(), type("Broken", (), {"get_remaining_time_in_millis": lambda _self: "x"})()],
    ids=["none", "not-a-context", "unreadable"],
)
def test_no_deadline_outside_an_invocation(context: object) -> None:
    assert Deadline.for_invocation(context) is None


def test_an_almost_spent_invocation_has_no_time_left() -> None:
    deadline = Deadline.for_invocation(LambdaContext(timeout_ms=100))
    assert deadline is not None and deadline.remaining() == 0.0


def test_call_within_returns_the_answer_and_raises_the_call_s_own_error() -> None:
    deadline = Deadline.after(2)
    assert call_within(deadline, lambda: 42, upstream="test") == 42

    def fails() -> None:
        raise UpstreamError(Reason.UPSTREAM_THROTTLED)

    with pytest.raises(UpstreamError) as caught:
        call_within(deadline, fails, upstream="test")
    assert caught.value.reason is Reason.UPSTREAM_THROTTLED


def test_a_hung_call_is_abandoned_at_the_deadline(release: threading.Event) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        call_within(Deadline.after(0.2), hang(release), upstream="test")
    elapsed = time.monotonic() - started
    assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
    assert 0.18 <= elapsed < 0.5


def test_a_spent_deadline_makes_no_call() -> None:
    calls: list[int] = []
    with pytest.raises(UpstreamError) as caught:
        call_within(Deadline.after(-1), lambda: calls.append(1), upstream="test")
    assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
    time.sleep(0.05)
    assert calls == []


def test_without_a_deadline_the_call_runs_inline() -> None:
    assert call_within(None, threading.current_thread, upstream="test") is (
        threading.current_thread()
    )


def test_abandoned_calls_are_bounded_and_free_their_worker_when_they_end(
    release: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Attack: a hung upstream under load piling up one thread per request without bound.
    monkeypatch.setattr(deadline_module, "_workers", threading.BoundedSemaphore(2))
    for _ in range(2):
        with pytest.raises(UpstreamError):
            call_within(Deadline.after(0.05), hang(release), upstream="test")
    before = threading.active_count()
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        call_within(Deadline.after(0.2), lambda: "never started", upstream="test")
    assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
    assert time.monotonic() - started < 0.5
    assert threading.active_count() == before  # no third thread was started
    release.set()  # the upstream answers at last: the workers are free again
    time.sleep(0.1)
    assert call_within(Deadline.after(1), lambda: "ok", upstream="test") == "ok"


def test_acquire_gives_up_at_the_deadline() -> None:
    lock = threading.Lock()
    lock.acquire()
    try:
        started = time.monotonic()
        assert acquire(lock, Deadline.after(0.1)) is False
        assert time.monotonic() - started < 0.4
    finally:
        lock.release()
    assert acquire(lock, Deadline.after(0.1)) is True
    lock.release()
    assert acquire(lock, None) is True
    lock.release()


def test_the_request_carries_the_invocation_deadline() -> None:
    deadline = Deadline.after(1)
    request = normalize(build_event("rest_request", "GET /orders"), deadline)
    assert request.deadline is deadline
    assert "deadline" not in repr(request)
