"""CRLs from S3: one per trust anchor, refreshed with conditional GETs, never per request.

The IO module of the mTLS authorizer (boto3 is imported lazily, when the first CRL is
fetched). For each configured CA the store holds the last good :class:`RevocationList`:

- **No S3 call per request.** A list is revalidated at most every ``refresh_s`` (a
  ``GetObject`` with ``IfNoneMatch`` = the last ETag: an unchanged CRL costs a 304, no body).
  After a failed fetch the CA is not retried for ``retry_s``.
- **Failures never evict.** A fetch error, or a new CRL that does not parse or verify against
  its CA (``crl.InvalidCrl``), leaves the last good list in place. Only a verified CRL
  replaces one.
- **Within the invocation.** A fetch (with the parse and signature check of what it
  brings), and a wait for another request's fetch of the same CA, ends by the request's
  deadline (:mod:`authorizers.core.deadline`). A refresh still running then is a failed
  fetch: the request is answered from the list held (if fresh) and the CA is retried after
  ``retry_s``; with a list held, a refresh waits for only part of the time left. A CA with
  no list at all answers ``UPSTREAM_TIMEOUT``, until its retry.
- **Freshness is separate from fetching.** Whatever list we hold must be within ``nextUpdate``
  plus ``stale_grace_s`` of the *wall* clock, else :class:`crl.StaleCrl`. With no list at all
  (never fetched successfully) the answer is :class:`UpstreamError`: fail closed.
- **Bounded.** Entries are keyed by the anchor key ids of the configuration (at most
  ``MAX_ANCHORS``), never by anything from a request; the CRL body is capped at ``max_bytes``.

Choice (docs/mtls.md): S3 trouble with no usable list is a fault (``UpstreamError`` -> Deny
with an ``Error`` metric and reason ``UpstreamUnavailable``), not a 401: the client did nothing
wrong, and the Error metric is what pages an operator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from authorizers.core.clock import Clock
from authorizers.core.deadline import (
    Deadline,
    NotAttempted,
    acquire,
    call_within,
    with_fallback,
)
from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.core.upstream import LazyClient, aws_upstream_error, error_code
from authorizers.mtls.certificate import TrustAnchor
from authorizers.mtls.crl import InvalidCrl, RevocationList, parse_crl

_NOT_MODIFIED: Final = frozenset({"304", "NotModified"})


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """``s3://bucket/key`` -> location; ``ValueError`` otherwise."""
        parts = urlsplit(uri)
        key = parts.path.lstrip("/")
        if parts.scheme != "s3" or not parts.netloc or not key or parts.query or parts.fragment:
            raise ValueError("must be an s3://bucket/key URI")
        return cls(bucket=parts.netloc, key=key)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A GetObject answer: ``body`` is None when the object is unchanged (304)."""

    body: bytes | None
    etag: str | None


class ObjectFetcher(Protocol):
    def __call__(self, location: S3Location, etag: str | None) -> Fetched: ...


@dataclass(slots=True)
class _Entry:
    crl: RevocationList | None = None
    etag: str | None = None
    checked_at: float | None = None  # last successful fetch or 304 (monotonic)
    failed_at: float | None = None  # last failure (monotonic)
    failure: Reason | None = None  # why it failed, answered until the retry
    # One per CA: a refresh hung for one CA does not hold up the requests of another.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class CrlStore:
    """The revocation list of each configured CA.

    Parameters
    ----------
    sources:
        Anchor key id -> where its CRL lives. Every id must be one of ``anchors``.
    fetch:
        Reads one object (``S3Fetcher`` in production, a fake in tests).
    clock:
        Monotonic clock for refresh and retry ages.
    wall_clock:
        Epoch clock for ``nextUpdate``.
    """

    def __init__(
        self,
        sources: Mapping[str, S3Location],
        anchors: tuple[TrustAnchor, ...],
        *,
        fetch: ObjectFetcher,
        clock: Clock,
        wall_clock: Clock,
        refresh_s: float = 300,
        retry_s: float = 30,
        stale_grace_s: float = 0,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        by_id = {anchor.key_id: anchor for anchor in anchors}
        missing = sorted(set(sources) - set(by_id))
        if missing:
            raise ValueError(f"no trust anchor has key id {missing[0]}")
        self._sources = dict(sources)
        self._anchors = by_id
        self._fetch = fetch
        self._clock = clock
        self._wall = wall_clock
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self._grace_s = stale_grace_s
        self._on_event = on_event or (lambda _name, _key_id: None)
        self._entries: dict[str, _Entry] = {key_id: _Entry() for key_id in sources}

    def revocation_list(self, key_id: str, deadline: Deadline | None = None) -> RevocationList:
        """The fresh list of the CA ``key_id``, refreshing it first when due; the refresh
        (or the wait for another request's) ends by ``deadline``.

        Raises
        ------
        UpstreamError
            No verified list was ever loaded for this CA (``UPSTREAM_UNAVAILABLE``,
            ``UPSTREAM_THROTTLED``, or ``UPSTREAM_TIMEOUT`` when the load did not end by
            ``deadline``); :class:`crl.StaleCrl` when the list held is stale.
        """
        entry = self._entries.get(key_id)
        if entry is None:  # an anchor without a CRL source: configuration prevents this
            raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE)
        error: UpstreamError | None
        if acquire(entry.lock, deadline):
            try:
                error = self._refresh_if_due(key_id, entry, deadline)
            finally:
                entry.lock.release()
        else:  # another request's refresh outlasted our deadline: the list we hold, if any
            error = UpstreamError(Reason.UPSTREAM_TIMEOUT)
        crl = entry.crl
        if crl is None:
            raise error or UpstreamError(entry.failure or Reason.UPSTREAM_UNAVAILABLE)
        crl.check_fresh(self._wall.now(), self._grace_s)
        return crl

    def _refresh_if_due(
        self, key_id: str, entry: _Entry, deadline: Deadline | None
    ) -> UpstreamError | None:
        now = self._clock.now()
        if entry.checked_at is not None and now - entry.checked_at < self._refresh_s:
            return None
        if entry.failed_at is not None and now - entry.failed_at < self._retry_s:
            return None
        location, etag, anchor = self._sources[key_id], entry.etag, self._anchors[key_id]

        def load() -> tuple[Fetched, RevocationList | None]:
            fetched = self._fetch(location, etag)
            # Parsed and verified here, on the worker: a large CRL's parse and signature check
            # is bounded by the deadline as the fetch is.
            body = fetched.body
            return fetched, None if body is None else parse_crl(body, anchor)

        # With a list to fall back on, the refresh leaves time for what follows.
        budget = deadline if entry.crl is None else with_fallback(deadline)
        try:
            fetched, crl = call_within(budget, load, upstream="s3")
            if crl is not None:
                if entry.crl is not None and crl.this_update < entry.crl.this_update:
                    raise InvalidCrl  # an older list must not replace a newer one (rollback)
                entry.crl, entry.etag = crl, fetched.etag
                self._on_event("crl_loaded", key_id)
            entry.checked_at, entry.failed_at, entry.failure = now, None, None
        except NotAttempted as error:  # no time was left to ask: not a failed fetch
            return error
        except UpstreamError as error:
            entry.failed_at, entry.failure = now, error.reason
            event = "crl_invalid" if isinstance(error, InvalidCrl) else "crl_fetch_failed"
            self._on_event(event, key_id)
            return error
        return None

    def clear(self) -> None:
        for key_id in self._entries:
            self._entries[key_id] = _Entry()


class S3Fetcher:
    """``GetObject`` with ``IfNoneMatch``, a size cap and short timeouts; boto3 lazily."""

    def __init__(self, *, max_bytes: int, client_factory: Callable[[], Any] | None = None) -> None:
        self._max_bytes = max_bytes
        self._client = LazyClient(client_factory or _default_client)

    def __call__(self, location: S3Location, etag: str | None) -> Fetched:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - lazy

        client = self._client.get()
        params: dict[str, str] = {"Bucket": location.bucket, "Key": location.key}
        if etag:
            params["IfNoneMatch"] = etag
        try:
            response = client.get_object(**params)
            length = response.get("ContentLength")
            if isinstance(length, int) and length > self._max_bytes:
                response["Body"].close()
                raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE)
            body = response["Body"].read(self._max_bytes + 1)
        except ClientError as error:
            if error_code(error) in _NOT_MODIFIED:
                return Fetched(body=None, etag=etag)
            raise aws_upstream_error(error) from None
        except BotoCoreError as error:
            raise aws_upstream_error(error) from None
        if len(body) > self._max_bytes:
            raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE)
        new_etag = response.get("ETag")
        return Fetched(body=body, etag=new_etag if isinstance(new_etag, str) else None)


def _default_client() -> Any:
    import boto3  # noqa: PLC0415 - only when revocation is on
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("s3", config=config)
