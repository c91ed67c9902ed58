"""An invocation's deadline, and the one way an upstream call is made within it.

A Lambda authorizer that runs past its function timeout is not a Deny: Lambda kills it and API
Gateway answers 500, with no ``Error`` metric from us. The SDK's own timeouts do not prevent
that: a server that accepts a connection and never answers costs each attempt's read timeout
plus the retry backoff (measured: 6.2 s for S3 with a 2 s read timeout and three attempts,
3.1 s for DynamoDB with 1 s), more than the stages' 5 s timeout. So:

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
- A refresh with something to fall back on (a JWKS, CRL or policy set already held) waits for
  only :data:`FALLBACK_SHARE` of the time left (:func:`with_fallback`), so the calls that
  follow it in the same request still have time.
- A call never started, because no time or no worker was left, raises :class:`NotAttempted`:
  nothing is known about the upstream, so a store does not count it as a failed fetch.

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
    "FALLBACK_SHARE",
    "MARGIN_S",
    "MAX_CALLS_IN_FLIGHT",
    "Deadline",
    "NotAttempted",
    "acquire",
    "call_within",
    "with_fallback",
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

#: A refresh with something to fall back on (a JWKS, CRL or policy set already held) waits for
#: at most this share of the time left: the calls that follow it in the same request (a
#: revocation lookup after a JWKS refresh, a policy refresh after a CRL one) keep the rest.
FALLBACK_SHARE: Final = 0.5

#: Lambda's longest function timeout (AWS Lambda quotas): a context that claims more is wrong.
_MAX_REMAINING_MS: Final = 900_000

_workers = threading.BoundedSemaphore(MAX_CALLS_IN_FLIGHT)


class NotAttempted(UpstreamError):
    """The call was never started: no time, or no free worker, was left.

    Nothing is known about the upstream then, so a store does not count it as a failed fetch
    (no cooldown, no ``reload_failed``): the next request simply tries.
    """

    default_reason = Reason.UPSTREAM_TIMEOUT


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
            milliseconds = remaining()
        except Exception:  # a context that cannot say is no context: never a 500 here
            return None
        if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
            return None  # a test double (MagicMock) or a wrong type: not a Lambda context
        if isinstance(milliseconds, float) and math.isnan(milliseconds):
            return None
        # Clamped: a negative value is a spent invocation, more than Lambda allows is not real
        # (and would overflow a thread wait's timeout).
        bounded = min(max(milliseconds, 0), _MAX_REMAINING_MS)
        return cls.after(bounded / 1000 - MARGIN_S)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def share(self, fraction: float) -> Deadline:
        """The deadline that leaves ``1 - fraction`` of the time left for what follows."""
        now = time.monotonic()
        return Deadline(min(self.at, now + max(0.0, self.at - now) * fraction))


def with_fallback(deadline: Deadline | None) -> Deadline | None:
    """The deadline of a refresh that has something to fall back on: :data:`FALLBACK_SHARE`."""
    return None if deadline is None else deadline.share(FALLBACK_SHARE)


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
    if deadline.remaining() <= 0:  # its answer could not be waited for: do not start it
        _timed_out(upstream, "no time left", NotAttempted)
    workers = _workers  # released by the worker: the very semaphore it was taken from
    if not workers.acquire(timeout=deadline.remaining()):
        _timed_out(upstream, "no free worker", NotAttempted)
    outcome: _Outcome[T] = _Outcome()

    def run() -> None:
        try:
            outcome.value = call()
        except BaseException as error:  # handed to the caller as it is
            outcome.error = error
        finally:
            workers.release()
            outcome.done.set()

    try:
        # A daemon: a worker stuck on a hung upstream must not hold up the interpreter's exit.
        threading.Thread(target=run, name=f"gatehouse-{upstream}", daemon=True).start()
    except Exception:  # no thread could be started (resource limits, memory)
        workers.release()
        raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE) from None
    if not outcome.done.wait(deadline.remaining()):
        _timed_out(upstream, "no answer", UpstreamError)
    if outcome.error is not None:
        raise outcome.error
    return cast(T, outcome.value)  # set whenever error is not


def _timed_out(upstream: str, why: str, error: type[UpstreamError]) -> NoReturn:
    logger.warning("upstream call timed out", extra={"upstream": upstream, "why": why})
    raise error(Reason.UPSTREAM_TIMEOUT)
