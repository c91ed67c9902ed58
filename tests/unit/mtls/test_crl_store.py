"""CRLs from S3 (moto): conditional refresh, no S3 call per request, failing closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from moto import mock_aws

from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.mtls.certificate import load_trust_anchors
from authorizers.mtls.crl import StaleCrl
from authorizers.mtls.crl_store import CrlStore, Fetched, S3Fetcher, S3Location
from tests.unit.mtls.pki import NOW, make_crl, pki

BUCKET = "gatehouse-crls"
CA_LOC = S3Location(BUCKET, "ca.crl")


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


class CountingFetcher:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[S3Location, str | None]] = []
        self.answers: list[str] = []

    def __call__(self, location: S3Location, etag: str | None) -> Fetched:
        self.calls.append((location, etag))
        fetched = self.inner(location, etag)
        self.answers.append("304" if fetched.body is None else "200")
        return fetched


def store_for(s3: Any, *, grace_s: float = 0, wall: ManualClock | None = None, max_bytes=1 << 20):
    anchors = load_trust_anchors(pki().bundle)
    fetcher = CountingFetcher(S3Fetcher(max_bytes=max_bytes, client_factory=lambda: s3))
    monotonic = ManualClock(start=1000.0)
    events: list[tuple[str, str]] = []
    store = CrlStore(
        {pki().ca.key_id: CA_LOC},
        anchors,
        fetch=fetcher,
        clock=monotonic,
        wall_clock=wall or ManualClock(start=NOW),
        refresh_s=300,
        retry_s=30,
        stale_grace_s=grace_s,
        on_event=lambda name, key_id: events.append((name, key_id)),
    )
    return store, fetcher, monotonic, events


def put(s3: Any, body: bytes, key: str = "ca.crl") -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_crl_is_loaded_once_and_not_fetched_per_request(s3):
    put(s3, make_crl(pki().ca, [0x1001]))
    store, fetcher, _, events = store_for(s3)
    for _ in range(5):
        assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)
    assert len(fetcher.calls) == 1
    assert events == [("crl_loaded", pki().ca.key_id)]


def test_refresh_is_a_conditional_get_answered_304_when_unchanged(s3):
    put(s3, make_crl(pki().ca, [0x1001]))
    store, fetcher, clock, _ = store_for(s3)
    store.revocation_list(pki().ca.key_id)
    clock.advance(301)
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)
    assert fetcher.calls[1][1] is not None  # IfNoneMatch with the ETag of the first fetch
    assert fetcher.answers == ["200", "304"]


def test_new_crl_is_picked_up_at_the_next_refresh(s3):
    put(s3, make_crl(pki().ca, []))
    store, _, clock, _ = store_for(s3)
    assert not store.revocation_list(pki().ca.key_id).is_revoked(0x1001)
    put(s3, make_crl(pki().ca, [0x1001], this_update=NOW - 60))
    clock.advance(301)
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)


def test_crl_missing_in_s3_fails_closed(s3):
    store, _, _, events = store_for(s3)
    with pytest.raises(UpstreamError) as caught:
        store.revocation_list(pki().ca.key_id)
    assert caught.value.reason is Reason.UPSTREAM_UNAVAILABLE
    assert events == [("crl_fetch_failed", pki().ca.key_id)]


def test_failed_refresh_keeps_the_last_good_list_and_waits_before_retrying(s3):
    put(s3, make_crl(pki().ca, [0x1001]))
    store, fetcher, clock, _ = store_for(s3)
    store.revocation_list(pki().ca.key_id)
    s3.delete_object(Bucket=BUCKET, Key="ca.crl")
    clock.advance(301)
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)  # failure never evicts
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)
    assert len(fetcher.calls) == 2  # the second request is inside the retry cool-down
    clock.advance(31)
    store.revocation_list(pki().ca.key_id)
    assert len(fetcher.calls) == 3


def test_crl_signed_by_the_wrong_key_never_replaces_a_good_one(s3):
    put(s3, make_crl(pki().ca, [0x1001]))
    store, _, clock, events = store_for(s3)
    store.revocation_list(pki().ca.key_id)
    put(s3, make_crl(pki().ca, [], signer=ec.generate_private_key(ec.SECP256R1())))
    clock.advance(301)
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)
    assert events[-1] == ("crl_invalid", pki().ca.key_id)


def test_crl_signed_by_the_wrong_key_with_nothing_cached_fails_closed(s3):
    put(s3, make_crl(pki().ca, [], signer=ec.generate_private_key(ec.SECP256R1())))
    store, *_ = store_for(s3)
    with pytest.raises(UpstreamError):
        store.revocation_list(pki().ca.key_id)


def test_older_crl_does_not_roll_back_a_newer_one(s3):
    put(s3, make_crl(pki().ca, [0x1001], this_update=NOW - 60))
    store, _, clock, _ = store_for(s3)
    store.revocation_list(pki().ca.key_id)
    put(s3, make_crl(pki().ca, [], this_update=NOW - 7200))  # a replayed, older list
    clock.advance(301)
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)


def test_stale_crl_fails_closed_by_default(s3):
    put(s3, make_crl(pki().ca, [], next_update=NOW - 60))
    store, *_ = store_for(s3)
    with pytest.raises(StaleCrl):
        store.revocation_list(pki().ca.key_id)


def test_stale_crl_is_accepted_within_the_configured_grace(s3):
    put(s3, make_crl(pki().ca, [0x1001], next_update=NOW - 60))
    wall = ManualClock(start=NOW)
    store, *_ = store_for(s3, grace_s=3600, wall=wall)
    assert store.revocation_list(pki().ca.key_id).is_revoked(0x1001)
    wall.advance(3600)
    with pytest.raises(StaleCrl):
        store.revocation_list(pki().ca.key_id)


def test_oversized_crl_is_refused(s3):
    put(s3, make_crl(pki().ca, range(1, 200)))
    store, *_ = store_for(s3, max_bytes=1024)
    with pytest.raises(UpstreamError):
        store.revocation_list(pki().ca.key_id)


def test_unknown_ca_has_no_list_and_fails_closed(s3):
    store, fetcher, *_ = store_for(s3)
    with pytest.raises(UpstreamError):
        store.revocation_list("00")
    assert fetcher.calls == []


def test_sources_for_unknown_cas_are_refused():
    with pytest.raises(ValueError, match="no trust anchor"):
        CrlStore(
            {"00": CA_LOC},
            load_trust_anchors(pki().bundle),
            fetch=lambda _loc, _etag: Fetched(None, None),
            clock=ManualClock(),
            wall_clock=ManualClock(),
        )


def test_clear_forgets_every_list(s3):
    put(s3, make_crl(pki().ca, [1]))
    store, fetcher, *_ = store_for(s3)
    store.revocation_list(pki().ca.key_id)
    store.clear()
    store.revocation_list(pki().ca.key_id)
    assert len(fetcher.calls) == 2


@pytest.mark.parametrize(
    "uri", ["https://b/k", "s3://b", "s3:///k", "s3://b/k?versionId=1", "s3://b/"]
)
def test_s3_location_must_be_a_plain_s3_uri(uri):
    with pytest.raises(ValueError):
        S3Location.parse(uri)


def test_s3_location_parses():
    assert S3Location.parse("s3://bucket/path/to/ca.crl") == S3Location("bucket", "path/to/ca.crl")


def test_throttling_is_reported_as_such():
    from botocore.exceptions import ClientError

    class Throttled:
        def get_object(self, **_params: Any) -> Any:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "x"}}, "GetObject")

    fetcher = S3Fetcher(max_bytes=1024, client_factory=Throttled)
    with pytest.raises(UpstreamError) as caught:
        fetcher(CA_LOC, None)
    assert caught.value.reason is Reason.UPSTREAM_THROTTLED


def test_connection_errors_are_upstream_errors():
    from botocore.exceptions import EndpointConnectionError

    class Down:
        def get_object(self, **_params: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://s3")

    with pytest.raises(UpstreamError):
        S3Fetcher(max_bytes=1024, client_factory=Down)(CA_LOC, None)


class HungFetcher:
    """Answers from ``inner`` until ``hang()``; then every fetch blocks until released."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hung = False
        self.release = threading.Event()
        self.started = threading.Event()  # set when a hung fetch is under way
        self.calls = 0

    def __call__(self, location: S3Location, etag: str | None) -> Fetched:
        self.calls += 1
        if self.hung:
            self.started.set()
            self.release.wait(10)
        return self.inner(location, etag)


def loaded_then_hung(s3) -> tuple[CrlStore, HungFetcher, ManualClock, list]:
    """A store that loaded the CA's CRL, now due for refresh, whose S3 hangs."""
    put(s3, make_crl(pki().ca, [0x1001]))
    store, counting, monotonic, events = store_for(s3)
    hung = HungFetcher(counting.inner)
    store._fetch = hung
    assert store.revocation_list(pki().ca.key_id, Deadline.after(1)).is_revoked(0x1001)
    hung.hung = True
    monotonic.advance(301)
    return store, hung, monotonic, events


def test_a_hung_refresh_answers_from_the_last_good_list_by_the_deadline(s3):
    """Attack: S3 accepting connections and never answering when a loaded CRL is due for
    refresh. The request must not wait past its deadline (Lambda would kill it: a 500): it is
    answered from the list held, and the CA is retried only after ``retry_s``."""
    store, hung, monotonic, events = loaded_then_hung(s3)
    try:
        started = time.monotonic()
        crl = store.revocation_list(pki().ca.key_id, Deadline.after(0.2))
        assert time.monotonic() - started < 0.5
        assert crl.is_revoked(0x1001)  # the last good list, still enforced
        assert events[-1] == ("crl_fetch_failed", pki().ca.key_id)
        monotonic.advance(10)  # within retry_s: no new attempt, no wait
        started = time.monotonic()
        assert store.revocation_list(pki().ca.key_id, Deadline.after(0.2)).is_revoked(0x1001)
        assert time.monotonic() - started < 0.1
        assert hung.calls == 2
    finally:
        hung.release.set()


def test_a_hung_first_load_is_a_timeout_fault_by_the_deadline_until_the_retry(s3):
    store, counting, monotonic, _ = store_for(s3)
    hung = HungFetcher(counting.inner)
    hung.hung = True
    store._fetch = hung
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamError) as caught:
            store.revocation_list(pki().ca.key_id, Deadline.after(0.2))
        assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
        assert time.monotonic() - started < 0.5
        # Within retry_s, no new attempt: the same reason, not a vaguer one.
        monotonic.advance(10)
        with pytest.raises(UpstreamError) as caught:
            store.revocation_list(pki().ca.key_id, Deadline.after(0.2))
        assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
        assert hung.calls == 1
    finally:
        hung.release.set()


def test_a_fetch_never_started_is_not_a_failed_fetch(s3):
    """No time left: S3 is not asked, and the CA is not put in its retry wait."""
    put(s3, make_crl(pki().ca, [0x1001]))
    store, fetcher, _, events = store_for(s3)
    with pytest.raises(UpstreamError) as caught:
        store.revocation_list(pki().ca.key_id, Deadline.after(-1))
    assert caught.value.reason is Reason.UPSTREAM_TIMEOUT
    assert fetcher.calls == [] and events == []
    assert store.revocation_list(pki().ca.key_id, Deadline.after(2)).is_revoked(0x1001)


def test_a_refresh_with_a_list_held_leaves_time_for_what_follows(s3):
    store, hung, _, _ = loaded_then_hung(s3)
    try:
        deadline = Deadline.after(0.6)
        assert store.revocation_list(pki().ca.key_id, deadline).is_revoked(0x1001)
        assert 0.15 < deadline.remaining() < 0.4  # about half is left
    finally:
        hung.release.set()


def test_waiting_on_another_request_s_refresh_ends_by_the_deadline(s3):
    """A request that finds another one's refresh of the same CA in progress (one process
    serving requests on threads) waits for it only until its own deadline, then answers from
    the list held."""
    store, hung, _, _ = loaded_then_hung(s3)
    try:
        first = threading.Thread(
            target=store.revocation_list, args=(pki().ca.key_id, Deadline.after(2))
        )
        first.start()
        assert hung.started.wait(2)  # the first request now holds the refresh
        started = time.monotonic()
        crl = store.revocation_list(pki().ca.key_id, Deadline.after(0.2))
        assert time.monotonic() - started < 0.5
        assert crl.is_revoked(0x1001)
    finally:
        hung.release.set()
        first.join(5)
