"""JWKS cache: verification keys per trusted JWKS URI, with a bounded life and bounded fetching.

Security contract (docs/jwt-attacks.md rows 4, 5, 6, 26, 27, 30, 31, and its "aws-jwt-verify,
probed" section; PyJWT CVE-2026-48524, CVE-2026-102274):

- **Trusted keys only.** A JWKS URI is a string from configuration, or discovered from a
  configured issuer; never from a token. The cache is keyed on those URIs alone, so it cannot
  grow with attacker input; more than ``max_uris`` distinct URIs is a configuration error.
- **The kid is opaque.** It must match :data:`keys.KID_PATTERN` (else
  ``MALFORMED_CREDENTIALS``, before any lookup or fetch) and is only ever an exact-match
  dictionary key into an already parsed set: never part of a URL, path, query, or a cache key.
- **Bounded fetching (row 6).** A kid missing from a fresh set triggers at most one refresh
  per ``cooldown_s`` per URI; other callers get ``UNKNOWN_KEY`` without a fetch. Refreshes of
  one URI are single-flight: concurrent callers wait on one per-URI lock and then use its
  result. After a failed fetch the URI is not retried before ``cooldown_s``.
- **Within the invocation (authorizers.core.deadline).** A fetch, and a wait for another
  caller's fetch, ends by the request's deadline; one still running then counts as failed
  (what we hold is served if the stale window allows, else 401 ``UPSTREAM_UNAVAILABLE``).
  A refresh with a stale set to fall back on waits for only part of the time left
  (``FALLBACK_SHARE``), so a revocation lookup after it still has time. A fetch never started
  (no time left) is not a failure: no cooldown follows it.
- **Bounded life (row 30).** A set older than ``max_age_s`` is refetched and the new set
  *replaces* the old one, so keys removed upstream stop verifying.
- **Failures never evict (CVE-2026-48524).** A failed fetch, or a document that is not a
  usable JWKS, leaves the last good set in place. While refreshes fail, that set is served for
  up to ``stale_if_error_s`` past ``max_age_s`` (each such serve is counted and reported);
  beyond that window, or with no set at all, :class:`AuthenticationError` with
  ``UPSTREAM_UNAVAILABLE`` is raised: a 401, never an Allow.
- **Bounded content (rows 26, 27).** ``keys.parse_jwks`` keeps at most ``max_keys`` members and
  skips malformed ones one by one (reported as ``jwks_members_skipped``). A non-empty ``keys``
  list in which *no* member is usable counts as a failed fetch (a broken publish must not
  replace working keys); an empty ``keys`` list is accepted as "no keys" (everything revoked).
- **Configured sets are checked at cold start.** A preloaded set (:meth:`JwksCache.preload`)
  and a static one (:meth:`JwksCache.load_static`: ``jwks`` without ``jwks_uri``, never
  fetched) report skipped members and refuse a set with no usable key (a static one also when
  it is empty), so a broken configuration fails the cold start, not every request.

Times come from the injected ``clock``, which must be monotonic-style
(:class:`authorizers.core.clock.MonotonicClock` in production, ``ManualClock`` in tests): a wall
clock stepping back would stretch ages and cool-downs.

Observability: ``on_event(name, uri)`` is called with a name from :class:`JwksEvent` (fixed,
low cardinality) and the URI (for discovery events: the issuer). Neither carries a kid or key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from authorizers.core.clock import Clock
from authorizers.core.deadline import (
    Deadline,
    NotAttempted,
    acquire,
    call_within,
    with_fallback,
)
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.jwt_bearer.fetch import discover_jwks_uri
from authorizers.jwt_bearer.keys import KID_PATTERN, MAX_KEYS, KeySet, VerificationKey, parse_jwks

__all__ = ["JwksCache", "JwksEvent", "JwksStatus"]

T = TypeVar("T")


class JwksEvent(StrEnum):
    """The names ``on_event`` is called with."""

    REFRESHED = "jwks_refreshed"
    FETCH_FAILED = "jwks_fetch_failed"
    STALE_SERVED = "jwks_stale_served"
    MEMBERS_SKIPPED = "jwks_members_skipped"
    DISCOVERED = "jwks_discovered"
    DISCOVERY_FAILED = "jwks_discovery_failed"


@dataclass(frozen=True, slots=True)
class JwksStatus:
    """What the cache holds for one URI (health checks, tests). No key material."""

    fetched_at: float | None
    last_attempt: float | None
    failures: int
    key_count: int


@dataclass(frozen=True, slots=True)
class _Stamped(Generic[T]):
    value: T
    at: float


@dataclass(slots=True)
class _Slot(Generic[T]):
    """One cached value (a key set, a discovered URI) and its fetch bookkeeping.

    ``current`` is replaced as a whole (one reference assignment), so the lock-free fast path
    always sees a value together with its own timestamp.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    current: _Stamped[T] | None = None
    last_attempt: float | None = None
    failures: int = 0

    def cooled_down(self, now: float, cooldown: float) -> bool:
        return self.last_attempt is None or now - self.last_attempt >= cooldown


class JwksCache:
    """Verification keys per trusted JWKS URI; see the module docstring for the contract.

    Parameters
    ----------
    fetch:
        ``fetch(url) -> parsed JSON``; raises on failure (``fetch.HttpsJsonFetcher``).
    clock:
        Monotonic-style time source for ages and cool-downs.
    max_age_s:
        Age after which a set is refetched (and replaced).
    cooldown_s:
        Least time between two refreshes of one URI caused by unknown kids, and between a failed
        fetch and the next attempt.
    stale_if_error_s:
        How long past ``max_age_s`` a set may still be served while refreshes fail.
    max_uris:
        Most distinct JWKS URIs (and, separately, issuers to discover); more is a
        configuration error (``ValueError``).
    max_keys:
        Most JWKS members parsed per document.
    allow_loopback_http:
        Accept an ``http://`` loopback ``jwks_uri`` from discovery (local mode only).
    on_event:
        Called as ``on_event(name, uri)`` with a :class:`JwksEvent` name; must not raise.
    """

    def __init__(
        self,
        *,
        fetch: Callable[[str], object],
        clock: Clock,
        max_age_s: float = 3600,
        cooldown_s: float = 60,
        stale_if_error_s: float = 1800,
        max_uris: int = 32,
        max_keys: int = MAX_KEYS,
        allow_loopback_http: bool = False,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        if max_age_s <= 0 or cooldown_s < 0 or stale_if_error_s < 0:
            raise ValueError("max_age_s must be positive; cooldown_s, stale_if_error_s >= 0")
        if max_uris < 1 or max_keys < 1:
            raise ValueError("max_uris and max_keys must be at least 1")
        self._fetch = fetch
        self._clock = clock
        self._max_age = max_age_s
        self._cooldown = cooldown_s
        self._stale = stale_if_error_s
        self._max_uris = max_uris
        self._max_keys = max_keys
        self._allow_loopback_http = allow_loopback_http
        self._on_event = on_event
        self._lock = threading.Lock()  # guards the two registries and the counter
        self._sets: dict[str, _Slot[KeySet]] = {}
        self._discovered: dict[str, _Slot[str]] = {}
        self._stale_serves = 0

    # -- keys ---------------------------------------------------------------------------------

    def preload(self, uri: str, document: object) -> None:
        """Install a JWKS from configuration as if fetched now: a cold start needs no network.

        No fetch attempt is recorded, so the first unknown kid may refresh at once (a document
        baked in at deploy time may predate a rotation).

        Raises
        ------
        ValueError
            When ``document`` is not a JWKS, or none of its members is usable, or ``uri`` would
            exceed ``max_uris``.
        """
        keyset = parse_jwks(document, max_keys=self._max_keys)
        if keyset.skipped:
            self._emit(JwksEvent.MEMBERS_SKIPPED, uri)
        if _unusable(keyset):
            raise ValueError("the preloaded JWKS has no usable key")
        slot = self._slot(self._sets, uri)
        with slot.lock:
            slot.current = _Stamped(keyset, self._clock.now())
            slot.failures = 0

    def load_static(self, issuer: str, document: object) -> KeySet:
        """Parse the JWKS of an issuer configured with ``jwks`` and no ``jwks_uri``: keys that
        are never fetched, held by the caller. The checks of :meth:`preload` apply, and
        skipped members are reported the same way (``jwks_members_skipped``, named by the
        issuer: there is no URI).

        Stricter than a preload on one point: an empty ``keys`` list is refused too. A
        preloaded set can gain keys from its URI; a static one never can, so it would answer
        every token 401 ``UnknownKey`` until redeployed.

        Raises
        ------
        ValueError
            When ``document`` is not a JWKS or holds no usable key.
        """
        keyset = parse_jwks(document, max_keys=self._max_keys)
        # Reported before the verdict: an operator fixing a refused set needs to know that
        # members were dropped, not only that none is left.
        if keyset.skipped:
            self._emit(JwksEvent.MEMBERS_SKIPPED, issuer)
        if not keyset.keys:
            raise ValueError("the static JWKS has no usable key")
        return keyset

    def get_key(self, uri: str, kid: str, deadline: Deadline | None = None) -> VerificationKey:
        """The key ``kid`` from the JWKS at the trusted ``uri``; a fetch ends by ``deadline``.

        Raises
        ------
        AuthenticationError
            ``MALFORMED_CREDENTIALS`` for a kid outside ``KID_PATTERN`` (nothing looked up or
            fetched); ``UNKNOWN_KEY`` when the (fresh or stale-servable) set lacks the kid;
            ``UPSTREAM_UNAVAILABLE`` when no servable set exists and the fetch fails, times out
            or is cooling down.
        ValueError
            When ``uri`` would exceed ``max_uris`` (URIs come from configuration only).
        """
        # Checked before anything else: an injected kid never reaches a lookup or a fetch.
        if not isinstance(kid, str) or KID_PATTERN.fullmatch(kid) is None:
            raise AuthenticationError(Reason.MALFORMED_CREDENTIALS)
        slot = self._slot(self._sets, uri)
        # Fast path, no lock: a fresh set that has the kid (the common case on a warm function).
        current = slot.current
        if current is not None and self._fresh(current.at, self._clock.now()):
            key = current.value.keys.get(kid)
            if key is not None:
                return key
        if not acquire(slot.lock, deadline):
            # Another request's refresh outlasted our deadline: what we hold, if servable.
            return self._serve_stale(slot.current, uri, kid, self._clock.now())
        try:
            # Re-read under the lock: a caller we waited for may have refreshed the set.
            return self._get_key_locked(slot, uri, kid, self._clock.now(), deadline)
        finally:
            slot.lock.release()

    def _get_key_locked(
        self, slot: _Slot[KeySet], uri: str, kid: str, now: float, deadline: Deadline | None
    ) -> VerificationKey:
        current = slot.current
        if current is not None and self._fresh(current.at, now):
            key = current.value.keys.get(kid)
            if key is not None:
                return key
            # Unknown kid in a fresh set: maybe a rotation, maybe a flood of random kids.
            # At most one refresh per cooldown decides which (row 6).
            if not slot.cooled_down(now, self._cooldown):
                raise AuthenticationError(Reason.UNKNOWN_KEY)
            refreshed = self._refresh_keys(slot, uri, now, deadline)
            if refreshed is None:
                raise AuthenticationError(Reason.UPSTREAM_UNAVAILABLE)
            return _lookup(refreshed, kid)
        # Expired or never loaded. After a failure, wait out the cooldown before retrying.
        if slot.failures == 0 or slot.cooled_down(now, self._cooldown):
            servable = current is not None and self._stale_servable(current.at, now)
            # With a stale set to fall back on, the refresh leaves time for what follows.
            budget = with_fallback(deadline) if servable else deadline
            refreshed = self._refresh_keys(slot, uri, now, budget)
            if refreshed is not None:
                return _lookup(refreshed, kid)
        return self._serve_stale(current, uri, kid, now)

    def _serve_stale(
        self, current: _Stamped[KeySet] | None, uri: str, kid: str, now: float
    ) -> VerificationKey:
        """The key from a set past its max age but within the stale window; else 401."""
        if current is not None and self._stale_servable(current.at, now):
            key = _lookup(current.value, kid)
            if not self._fresh(current.at, now):  # a fresh set reached here is no stale serve
                with self._lock:
                    self._stale_serves += 1
                self._emit(JwksEvent.STALE_SERVED, uri)
            return key
        raise AuthenticationError(Reason.UPSTREAM_UNAVAILABLE)

    def _refresh_keys(
        self, slot: _Slot[KeySet], uri: str, now: float, deadline: Deadline | None
    ) -> KeySet | None:
        def load(name: str) -> KeySet:
            keyset = parse_jwks(self._fetch(name), max_keys=self._max_keys)
            if _unusable(keyset):
                # Reported here, where it is known: the fetch fails anyway.
                self._emit(JwksEvent.MEMBERS_SKIPPED, uri)
                raise ValueError("no usable key in a non-empty JWKS")
            return keyset

        refreshed = self._refresh(slot, uri, now, load, deadline)
        # Reported outside the fetch's try block: the hook cannot turn a good fetch into a
        # failed one. Read from the set the caller got: a fetch abandoned at the deadline
        # reports nothing.
        if refreshed is not None and refreshed.skipped:
            self._emit(JwksEvent.MEMBERS_SKIPPED, uri)
        return refreshed

    # -- discovery ----------------------------------------------------------------------------

    def resolve(self, issuer: str, jwks_uri: str | None, deadline: Deadline | None = None) -> str:
        """The JWKS URI for a configured issuer: ``jwks_uri`` when configured, else discovered.

        Discovery (``fetch.discover_jwks_uri``) runs once per ``max_age_s`` per issuer, single
        flight, with the same cooldown after a failure, the same stale window and the same
        ``deadline`` as key sets.

        Raises
        ------
        AuthenticationError
            ``UPSTREAM_UNAVAILABLE`` when discovery fails and no servable earlier result exists.
        ValueError
            When ``issuer`` would exceed ``max_uris`` issuers.
        """
        if jwks_uri is not None:
            return jwks_uri
        slot = self._slot(self._discovered, issuer)
        current = slot.current
        if current is not None and self._fresh(current.at, self._clock.now()):
            return current.value
        if not acquire(slot.lock, deadline):
            current = slot.current
            if current is not None and self._stale_servable(current.at, self._clock.now()):
                return current.value
            raise AuthenticationError(Reason.UPSTREAM_UNAVAILABLE)
        try:
            now = self._clock.now()
            current = slot.current
            if current is not None and self._fresh(current.at, now):
                return current.value
            if slot.failures == 0 or slot.cooled_down(now, self._cooldown):
                servable = current is not None and self._stale_servable(current.at, now)
                found = self._refresh(
                    slot,
                    issuer,
                    now,
                    self._discover,
                    with_fallback(deadline) if servable else deadline,
                    ok=JwksEvent.DISCOVERED,
                    failed=JwksEvent.DISCOVERY_FAILED,
                )
                if found is not None:
                    return found
            if current is not None and self._stale_servable(current.at, now):
                return current.value
            raise AuthenticationError(Reason.UPSTREAM_UNAVAILABLE)
        finally:
            slot.lock.release()

    def _discover(self, issuer: str) -> str:
        return discover_jwks_uri(self._fetch, issuer, allow_loopback_http=self._allow_loopback_http)

    # -- housekeeping -------------------------------------------------------------------------

    @property
    def stale_serves(self) -> int:
        """How many keys were served from a set past its max age (since the last ``clear``)."""
        return self._stale_serves

    def status(self, uri: str) -> JwksStatus | None:
        """The bookkeeping for ``uri``, or None when the cache has never seen it."""
        slot = self._sets.get(uri)
        if slot is None:
            return None
        current = slot.current
        return JwksStatus(
            fetched_at=current.at if current is not None else None,
            last_attempt=slot.last_attempt,
            failures=slot.failures,
            key_count=len(current.value.keys) if current is not None else 0,
        )

    def clear(self) -> None:
        """Forget every set, discovery result and counter (tests, operator reset)."""
        with self._lock:
            self._sets.clear()
            self._discovered.clear()
            self._stale_serves = 0

    # -- internals ----------------------------------------------------------------------------

    def _slot(self, registry: dict[str, _Slot[T]], name: str) -> _Slot[T]:
        slot = registry.get(name)
        if slot is not None:
            return slot
        with self._lock:
            slot = registry.get(name)
            if slot is None:
                if not isinstance(name, str) or not name:
                    raise ValueError("a JWKS URI or issuer is a non-empty string")
                # Names come from configuration, so this bound is never reached by requests;
                # if it is, configuration is wrong and failing loudly beats growing.
                if len(registry) >= self._max_uris:
                    raise ValueError("more JWKS URIs or issuers than max_uris")
                slot = registry[name] = _Slot()
            return slot

    def _refresh(
        self,
        slot: _Slot[T],
        name: str,
        now: float,
        load: Callable[[str], T],
        deadline: Deadline | None,
        *,
        ok: JwksEvent = JwksEvent.REFRESHED,
        failed: JwksEvent = JwksEvent.FETCH_FAILED,
    ) -> T | None:
        """One fetch attempt, called with ``slot.lock`` held and over by ``deadline``. None
        when it failed.

        On success the new value replaces the old one entirely (keys removed upstream drop
        out). On failure nothing is evicted: only the attempt and the failure are recorded. A
        fetch still running at the deadline counts as failed; its late result is dropped.
        """
        previous, slot.last_attempt = slot.last_attempt, now  # the attempt counts if it raises
        try:
            value = call_within(deadline, lambda: load(name), upstream="jwks")
        except NotAttempted:  # no time was left to ask: nothing is known of the upstream
            slot.last_attempt = previous
            return None
        except Exception:  # any failure (network, JSON, not a JWKS, a fetcher's own bug)
            slot.failures += 1
            self._emit(failed, name)
            return None
        slot.current = _Stamped(value, now)
        slot.failures = 0
        self._emit(ok, name)
        return value

    def _fresh(self, at: float, now: float) -> bool:
        return now - at < self._max_age

    def _stale_servable(self, at: float, now: float) -> bool:
        return now - at < self._max_age + self._stale

    def _emit(self, event: JwksEvent, name: str) -> None:
        if self._on_event is not None:
            self._on_event(event.value, name)


def _lookup(keyset: KeySet, kid: str) -> VerificationKey:
    key = keyset.keys.get(kid)
    if key is None:
        raise AuthenticationError(Reason.UNKNOWN_KEY)
    return key


def _unusable(keyset: KeySet) -> bool:
    """Members were present but none survived parsing: a broken document, not a rotation."""
    return not keyset.keys and keyset.skipped > 0
