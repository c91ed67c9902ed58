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
from unittest.mock import MagicMock

import pytest

from authorizers.core import deadline as deadline_module
from authorizers.core.deadline import MARGIN_S, Deadline, NotAttempted, acquire, call_within
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


class Context:
    """A context whose ``get_remaining_time_in_millis`` returns (or raises) ``answer``."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def get_remaining_time_in_millis(self) -> object:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    "context",
    [
        None,
        object(),
        Context("x"),
        Context(True),  # a bool is not a number of milliseconds
        Context(float("nan")),
        Context(RuntimeError("no")),  # must not become a 500 in the entry point
        MagicMock(),  # the usual Lambda test double: no deadline, not an expired one
    ],
    ids=["none", "not-a-context", "string", "bool", "nan", "raises", "magicmock"],
)
def test_no_deadline_outside_an_invocation(context: object) -> None:
    assert Deadline.for_invocation(context) is None


@pytest.mark.parametrize(
    ("answer", "low", "high"),
    [
        (-5000, 0.0, 0.0),  # spent
        (float("inf"), 899.0, 900.0),  # clamped to Lambda's longest timeout
        (10**400, 899.0, 900.0),  # an int too big for a float
        (1e300, 899.0, 900.0),  # finite, but past any thread wait's limit
    ],
    ids=["negative", "inf", "huge-int", "huge-float"],
)
def test_out_of_range_remaining_times_are_clamped(answer: object, low: float, high: float) -> None:
    deadline = Deadline.for_invocation(Context(answer))
    assert deadline is not None
    assert low <= deadline.remaining() <= high
    lock = threading.Lock()
    assert acquire(lock, deadline) is True  # no OverflowError from the wait
    lock.release()


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
    with pytest.raises(NotAttempted) as caught:
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
            call_within(Deadline.after(0.05), hang(release), upstream="bounded")
    before = workers_named("gatehouse-bounded")
    started = time.monotonic()
    with pytest.raises(NotAttempted) as caught:
        call_within(Deadline.after(0.2), lambda: "never started", upstream="bounded")
    assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
    assert time.monotonic() - started < 0.5
    assert workers_named("gatehouse-bounded") == before == 2  # no third thread
    release.set()  # the upstream answers at last: the workers are free again
    for _ in range(50):
        if workers_named("gatehouse-bounded") == 0:
            break
        time.sleep(0.02)
    assert call_within(Deadline.after(1), lambda: "ok", upstream="bounded") == "ok"


def workers_named(name: str) -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == name)


def test_a_thread_that_cannot_start_is_a_fault_and_frees_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(deadline_module, "_workers", slots)

    def refuse(_self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(UpstreamError) as caught:
        call_within(Deadline.after(1), lambda: "never", upstream="test")
    assert caught.value.reason is Reason.UPSTREAM_UNAVAILABLE
    monkeypatch.undo()
    assert slots.acquire(blocking=False)  # the one slot was given back


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
