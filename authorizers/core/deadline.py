"""An invocation's deadline, and the one way an upstream call is made within it.

A Lambda authorizer that runs past its function timeout is not a Deny: Lambda kills it and API
Gateway answers 500, with no ``Error`` metric from us. The SDK's own timeouts do not prevent
that: a server that accepts a connection and never answers costs ``attempts x (connect + read)``
(6 s with the S3 client's 1 s + 2 s and two attempts), more than the stages' 5 s timeout. So:

- :meth:`Deadline.for_invocation` reads what is left of the invocation from the Lambda context
  (``get_remaining_time_in_millis``, AWS Lambda developer guide, "Lambda context object in
  Python") and keeps :data:`MARGIN_S` of it for answering: rendering, the log line, the metric.
- :func:`call_within` runs an upstream call (DynamoDB, S3, SSM, a JWKS or discovery fetch) on a
  worker thread and waits for it only until the deadline. Past it the caller gets
  ``UpstreamError(UPSTREAM_TIMEOUT)``, which every authorizer turns into its fail-closed answer
  in time, and the worker is left to finish on the client's own timeouts; its result is
  dropped. A thread is the only bound that covers everything, name resolution and SDK retries
  included: neither the standard library nor botocore offers a per-call total deadline.
- Waiting on another request's refresh (a lock) is bounded the same way: :func:`acquire`.

The deadline is real (monotonic) time, not an injected clock: the threads it bounds run on real
time too. With no deadline (``None``: code called outside an invocation, such as the CLI or a
unit test of a store) a call runs inline, bounded only by its client's own timeouts.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, NoReturn, TypeVar, cast

from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.core.observability import logger

__all__ = [
    "COLD_START_BUDGET_S",
    "MARGIN_S",
    "MAX_CALLS_IN_FLIGHT",
    "Deadline",
    "acquire",
    "call_within",
]

T = TypeVar("T")

#: Kept back from the invocation's remaining time: what answering takes after the last upstream
#: call gives up (a render, one log line, one EMF metric line: well under 10 ms), with room for
#: a slow, throttled CPU at 128 MB.
MARGIN_S: Final = 0.3

#: The budget of a load made during the init phase (a policy set): Lambda gives the init phase
#: 10 s, shared with the imports, and an init that overruns is retried inside the first
#: invocation's own timeout.
COLD_START_BUDGET_S: Final = 4.0

#: Upstream calls running at once, abandoned ones included. A hung upstream holds a worker for
#: the client's own timeouts (seconds); past this many the next call waits for one to free up
#: within its deadline, so threads cannot pile up however long the upstream hangs.
MAX_CALLS_IN_FLIGHT: Final = 16

_workers = threading.BoundedSemaphore(MAX_CALLS_IN_FLIGHT)


@dataclass(frozen=True, slots=True)
class Deadline:
    """The monotonic time (``time.monotonic()``) by which upstream work must be over."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_invocation(cls, context: object) -> Deadline | None:
        """The deadline of the invocation ``context`` belongs to, :data:`MARGIN_S` early.

        ``None`` when ``context`` is not a Lambda context (it has no usable
        ``get_remaining_time_in_millis``): the caller is not an invocation.
        """
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return None
        try:
            milliseconds = float(remaining())
        except (TypeError, ValueError):
            return None
        if not math.isfinite(milliseconds):
            return None
        return cls.after(milliseconds / 1000 - MARGIN_S)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())


def acquire(lock: threading.Lock, deadline: Deadline | None) -> bool:
    """Take ``lock`` (held by another request's refresh, say) if that happens by ``deadline``;
    False, and not held, when it does not. With no deadline, wait as long as it takes."""
    if deadline is None:
        return lock.acquire()
    return lock.acquire(timeout=deadline.remaining())


class _Outcome(Generic[T]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def call_within(deadline: Deadline | None, call: Callable[[], T], *, upstream: str) -> T:
    """``call()``, or ``UpstreamError(UPSTREAM_TIMEOUT)`` once ``deadline`` has passed.

    ``upstream`` names what is called (``"dynamodb"``, ``"s3"``...) in the timeout's log line.
    An exception ``call`` raises is raised here, in the caller's thread.
    """
    if deadline is None:
        return call()
    if deadline.remaining() <= 0:  # not even started: its answer could not be waited for
        _timed_out(upstream, "no time left")
    if not _workers.acquire(timeout=deadline.remaining()):
        _timed_out(upstream, "no free worker")
    outcome: _Outcome[T] = _Outcome()

    def run() -> None:
        try:
            outcome.value = call()
        except BaseException as error:  # handed to the caller as it is
            outcome.error = error
        finally:
            _workers.release()
            outcome.done.set()

    try:
        # A daemon: a worker stuck on a hung upstream must not hold up the interpreter's exit.
        threading.Thread(target=run, name=f"gatehouse-{upstream}", daemon=True).start()
    except RuntimeError:  # no thread could be started (resource limits)
        _workers.release()
        raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE) from None
    if not outcome.done.wait(deadline.remaining()):
        _timed_out(upstream, "no answer")
    if outcome.error is not None:
        raise outcome.error
    return cast(T, outcome.value)  # set whenever error is not


def _timed_out(upstream: str, why: str) -> NoReturn:
    logger.warning("upstream call timed out", extra={"upstream": upstream, "why": why})
    raise UpstreamError(Reason.UPSTREAM_TIMEOUT)
