"""The live policy set: loaded once, refreshed on an interval, last-known-good on failure.

:meth:`PolicyStore.current` is called per request and is cheap: it returns the snapshot in
hand unless the refresh interval has passed, and then asks the source whether the document
changed (a conditional fetch). A changed document is compiled and validated *before* it
replaces anything:

- a broken update (bad YAML, Cedar syntax or schema error, or *any* exception while compiling
  it) never replaces a good set: the last-known-good set stays, the failure is logged and
  counted (``PolicyReloadFailed``), and the broken tag is remembered so it is not recompiled
  every interval;
- a source failure (S3/SSM down or throttled, no answer by the request's deadline
  (:mod:`authorizers.core.deadline`), or any unexpected exception while fetching) keeps the
  last-known-good set too, and the request is decided with it;
- :meth:`refresh` never raises: a failed load at cold start leaves the function running with
  no policy set (requests denied, saying why) rather than failing the cold start for good;
- with no good set at all (a cold start whose first load failed), every request is denied,
  the failure (``why``) is logged, and the load is retried every ``retry_s`` seconds.

The clock is injected (monotonic in production, manual in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from authorizers.core.clock import Clock
from authorizers.core.deadline import Deadline, NotAttempted, call_within, with_fallback
from authorizers.core.exceptions import AuthorizerError, Reason
from authorizers.policy.bundle import BundleError
from authorizers.policy.engine import PolicySnapshot
from authorizers.policy.source import Fetched, PolicySource

#: (event, fields) -> None: a log line and a metric, never document content.
OnEvent = Callable[[str, dict[str, object]], None]


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why there is no policy set: ``invalid`` (the document does not compile) or ``source``
    (it could not be fetched)."""

    why: str
    reason: Reason


class PolicyStore:
    def __init__(
        self,
        source: PolicySource,
        compile_document: Callable[[bytes], PolicySnapshot],
        *,
        clock: Clock,
        refresh_s: float,
        retry_s: float = 5.0,
        on_event: OnEvent | None = None,
    ) -> None:
        self._source = source
        self._compile = compile_document
        self._clock = clock
        self._refresh_s = refresh_s
        self._retry_s = min(retry_s, refresh_s)
        self._on_event = on_event or (lambda _name, _fields: None)
        self._snapshot: PolicySnapshot | None = None
        self._tag: str | None = None
        self._next_check = clock.now()
        self._unavailable = Unavailable("not loaded yet", Reason.CONFIGURATION)

    @property
    def snapshot(self) -> PolicySnapshot | None:
        return self._snapshot

    @property
    def unavailable(self) -> Unavailable:
        return self._unavailable

    def current(self, deadline: Deadline | None = None) -> PolicySnapshot | None:
        """The policy set to decide with (refreshing when due, the fetch over by
        ``deadline``); None when there is none."""
        if self._clock.now() >= self._next_check:
            self.refresh(deadline)
        return self._snapshot

    def refresh(self, deadline: Deadline | None = None) -> None:
        """Fetch (conditionally, ending by ``deadline``) and, when the document changed,
        compile and swap."""
        now = self._clock.now()
        tag = self._tag

        def load() -> tuple[object, PolicySnapshot | None, Exception | None]:
            fetched = self._source.fetch(tag)
            if not isinstance(fetched, Fetched):
                return fetched, None, None
            # Compiled here, on the worker: a large bundle's compile is bounded by the deadline
            # as the fetch is. A failure is handed back, not raised: it says the document is
            # invalid, not that the source failed.
            try:
                return fetched, self._compile(fetched.data), None
            except Exception as error:
                return fetched, None, error

        # With a set to fall back on, the refresh leaves time for what follows.
        budget = deadline if self._snapshot is None else with_fallback(deadline)
        try:
            fetched, snapshot, problem = call_within(budget, load, upstream="policy-source")
        except NotAttempted:  # no time was left to ask: not a failed fetch, the next one tries
            return
        except AuthorizerError as error:
            self._failed(now, "source", error.reason, {"error_reason": error.reason.value})
            return
        except Exception as error:  # any fault keeps the last-known-good set
            # Not one of the source's own errors (a bug, an SDK surprise): still only a failed
            # fetch. Logged by type only: the text may quote the document or a credential.
            self._failed(
                now,
                "source",
                Reason.UPSTREAM_UNAVAILABLE,
                {"error_reason": Reason.UPSTREAM_UNAVAILABLE.value, "error_type": _type(error)},
            )
            return
        if not isinstance(fetched, Fetched):  # UNCHANGED (with no good set: still broken)
            wait = self._refresh_s if self._snapshot is not None else self._retry_s
            self._next_check = now + wait
            return
        if snapshot is None:
            # Remember the broken tag: the same document is not recompiled every interval.
            self._tag = fetched.tag
            # A BundleError says what is wrong; anything else (a shape the bundle checks
            # missed, a fault in Cedar) still means this document is not a policy set.
            detail = (
                str(problem)
                if isinstance(problem, BundleError)
                else f"the bundle could not be compiled ({type(problem).__name__})"
            )
            self._failed(now, "invalid", Reason.CONFIGURATION, {"problem": detail})
            return
        previous = self._snapshot.version if self._snapshot is not None else None
        self._snapshot = snapshot
        self._tag = fetched.tag
        self._next_check = now + self._refresh_s
        self._on_event(
            "loaded",
            {
                "policy_version": snapshot.version,
                "previous_version": previous,
                "policies": snapshot.policy_count,
                "source": self._source.description,
            },
        )

    def _failed(self, now: float, why: str, reason: Reason, fields: dict[str, object]) -> None:
        kept = self._snapshot.version if self._snapshot is not None else None
        if self._snapshot is None:
            self._unavailable = Unavailable(why, reason)
            self._next_check = now + self._retry_s
        else:
            self._next_check = now + self._refresh_s
        self._on_event(
            "reload_failed",
            {"why": why, "kept_version": kept, "source": self._source.description, **fields},
        )


def _type(error: BaseException) -> str:
    return type(error).__name__
