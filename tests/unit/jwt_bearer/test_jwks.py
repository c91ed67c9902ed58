"""JwksCache: key lifecycle, bounded fetching, failure handling, kid hygiene, discovery.

Row numbers refer to the attack catalogue in docs/jwt-attacks.md. No test touches the
network: time is a ManualClock and the fetcher is a fake that counts its calls. The deadline
tests wait a few tenths of a second of real time, the time their deadline bounds.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from authorizers.core.clock import ManualClock
from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.jwt_bearer.fetch import FetchError, FetchFailure
from authorizers.jwt_bearer.jwks import JwksCache, JwksEvent, JwksStatus
from authorizers.jwt_bearer.keys import VerificationKey

URI = "https://idp.example.com/.well-known/jwks.json"
ISSUER = "https://idp.example.com"
MAX_AGE = 3600.0
COOLDOWN = 60.0
STALE = 1800.0


def _jwk(text: str, kid: str, **extra: Any) -> dict[str, Any]:
    return {**json.loads(text), "kid": kid, **extra}


@pytest.fixture(scope="module")
def jwk() -> dict[str, dict[str, Any]]:
    """Public JWKs by kid: one RSA-2048, one P-256, two Ed25519."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "rsa-1": _jwk(RSAAlgorithm.to_jwk(rsa_key.public_key()), "rsa-1", use="sig"),
        "ec-1": _jwk(
            ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), "ec-1"
        ),
        "ed-1": _jwk(
            OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate().public_key()), "ed-1"
        ),
        "ed-2": _jwk(
            OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate().public_key()), "ed-2"
        ),
    }


def jwks(jwk: dict[str, dict[str, Any]], *kids: str) -> dict[str, Any]:
    return {"keys": [jwk[kid] for kid in kids]}


class FakeFetch:
    """Returns (or raises) ``result``; records every URL it was asked for."""

    def __init__(self, result: object = None) -> None:
        self.result = result
        self.urls: list[str] = []

    @property
    def calls(self) -> int:
        return len(self.urls)

    def __call__(self, url: str) -> object:
        self.urls.append(url)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, name: str, uri: str) -> None:
        self.seen.append((name, uri))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


@pytest.fixture
def fetch() -> FakeFetch:
    return FakeFetch(FetchError(FetchFailure.CONNECT))


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_cache(clock: ManualClock, fetch: FakeFetch, events: Events) -> Callable[..., JwksCache]:
    def build(**options: Any) -> JwksCache:
        values: dict[str, Any] = {
            "fetch": fetch,
            "clock": clock,
            "max_age_s": MAX_AGE,
            "cooldown_s": COOLDOWN,
            "stale_if_error_s": STALE,
            "on_event": events,
        }
        values.update(options)
        return JwksCache(**values)

    return build


@pytest.fixture
def cache(make_cache: Callable[..., JwksCache]) -> JwksCache:
    return make_cache()


def reason_of(call: Callable[[], object]) -> Reason:
    """The reason of the AuthenticationError ``call`` raises (it must raise: never a key)."""
    with pytest.raises(AuthenticationError) as info:
        call()
    return info.value.reason


# -- cold start -------------------------------------------------------------------------------


def test_preload_serves_without_fetching(cache, fetch, jwk):
    # GIVEN a JWKS from configuration (cold start, no network)
    cache.preload(URI, jwks(jwk, "rsa-1", "ec-1", "ed-1"))
    # WHEN keys are asked for
    keys = [cache.get_key(URI, kid) for kid in ("rsa-1", "ec-1", "ed-1")]
    # THEN they are served, typed, and nothing was fetched
    assert [key.kid for key in keys] == ["rsa-1", "ec-1", "ed-1"]
    assert all(isinstance(key, VerificationKey) for key in keys)
    assert keys[0].algorithms >= {"RS256"}
    assert fetch.calls == 0


def test_preload_refuses_a_document_that_is_not_a_usable_jwks(cache):
    # A configuration mistake fails the cold start instead of failing every request later.
    with pytest.raises(ValueError, match="JWKS"):
        cache.preload(URI, {"keys": "nope"})
    with pytest.raises(ValueError, match="no usable key"):
        cache.preload(URI, {"keys": [{"kty": "RSA", "kid": "x", "n": 1, "e": 2}]})


def test_preload_reports_skipped_members(cache, jwk, events):
    broken = {"kty": "RSA", "kid": "x", "n": 1, "e": 2}
    cache.preload(URI, {"keys": [jwk["ed-1"], broken]})
    assert events.seen == [("jwks_members_skipped", URI)]


def test_static_jwks_with_no_usable_key_is_refused_like_a_preload(cache, fetch, jwk, events):
    # GIVEN an issuer whose only keys are in configuration (no jwks_uri: never fetched)
    broken = {"kty": "RSA", "kid": "x", "n": 1, "e": 2}
    # THEN a set in which no member is usable is refused, as a preload would be, and reported
    with pytest.raises(ValueError, match="no usable key"):
        cache.load_static(ISSUER, {"keys": [broken]})
    assert events.seen == [("jwks_members_skipped", ISSUER)]
    # AND so is an empty one: unlike a preload, no fetch could ever add a key to it
    with pytest.raises(ValueError, match="no usable key"):
        cache.load_static(ISSUER, {"keys": []})
    with pytest.raises(ValueError, match="JWKS"):
        cache.load_static(ISSUER, {"keys": "nope"})
    assert fetch.calls == 0


def test_static_jwks_reports_skipped_members_and_keeps_the_good_ones(cache, fetch, jwk, events):
    broken = {"kty": "RSA", "kid": "x", "n": 1, "e": 2}
    keyset = cache.load_static(ISSUER, {"keys": [jwk["ed-1"], broken, {"kty": "oct", "k": "c2"}]})
    assert set(keyset.keys) == {"ed-1"} and keyset.skipped == 2
    assert events.seen == [("jwks_members_skipped", ISSUER)]
    assert fetch.calls == 0 and cache.status(ISSUER) is None  # held by the caller, not cached


def test_the_first_fetch_happens_on_first_use(cache, fetch, jwk, events):
    # GIVEN no preload
    fetch.result = jwks(jwk, "ed-1")
    # THEN the first lookup fetches the configured URI, and only that
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert fetch.urls == [URI]
    assert events.seen == [("jwks_refreshed", URI)]


# -- unknown kids (row 6) ---------------------------------------------------------------------


def test_unknown_kid_flood_fetches_at_most_once_per_cooldown(cache, fetch, jwk, events):
    """Row 6 (JWKS amplification; okta-jwt-verifier-java #30, PyJWT CVE-2026-48524)."""
    # GIVEN a preloaded set and an upstream that knows no more kids than we do
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = jwks(jwk, "ed-1")
    # WHEN 100 tokens with random kids arrive at once
    reasons = {reason_of(lambda: cache.get_key(URI, secrets.token_urlsafe(16))) for _ in range(100)}
    # THEN one refresh in all, every one of them refused, and good tokens still verify
    assert reasons == {Reason.UNKNOWN_KEY}
    assert fetch.calls == 1
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert events.names == ["jwks_refreshed"]


def test_cooldown_expiry_allows_exactly_one_more_refresh(cache, fetch, jwk, clock):
    """Row 6: the cooldown is a rate, not a ban."""
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = jwks(jwk, "ed-1")
    assert reason_of(lambda: cache.get_key(URI, "random-1")) is Reason.UNKNOWN_KEY
    # Just before the cooldown ends: still no refresh
    clock.advance(COOLDOWN - 0.001)
    assert reason_of(lambda: cache.get_key(URI, "random-2")) is Reason.UNKNOWN_KEY
    assert fetch.calls == 1
    # WHEN the cooldown has passed
    clock.advance(0.001)
    for kid in (f"random-3-{i}" for i in range(10)):
        assert reason_of(partial(cache.get_key, URI, kid)) is Reason.UNKNOWN_KEY
    # THEN one more refresh, not ten
    assert fetch.calls == 2


def test_an_unknown_kid_refresh_picks_up_a_rotated_key(cache, fetch, jwk, events):
    # GIVEN the IdP rotated: a new kid appears upstream
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = jwks(jwk, "ed-2")
    # WHEN a token signed with the new key arrives
    assert cache.get_key(URI, "ed-2").kid == "ed-2"
    # THEN the new set replaced the old one entirely (ed-1 is gone upstream, so gone here)
    assert reason_of(lambda: cache.get_key(URI, "ed-1")) is Reason.UNKNOWN_KEY
    assert fetch.calls == 1
    assert events.names == ["jwks_refreshed"]


# -- max age (row 30) -------------------------------------------------------------------------


def test_max_age_refresh_evicts_a_key_removed_upstream(cache, fetch, jwk, clock):
    """Row 30 (revoked key still trusted; aws-jwt-verify K2): the refresh replaces the set."""
    # GIVEN two keys, one of which the IdP then revokes
    cache.preload(URI, jwks(jwk, "ed-1", "ed-2"))
    fetch.result = jwks(jwk, "ed-2")
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert fetch.calls == 0
    # WHEN the set reaches max age
    clock.advance(MAX_AGE)
    # THEN it is refreshed and the revoked key no longer verifies
    assert cache.get_key(URI, "ed-2").kid == "ed-2"
    assert reason_of(lambda: cache.get_key(URI, "ed-1")) is Reason.UNKNOWN_KEY
    assert fetch.calls == 1


def test_an_upstream_with_no_keys_at_all_revokes_everything(cache, fetch, jwk, clock):
    # An empty "keys" list is a valid JWKS: the IdP withdrew every key.
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = {"keys": []}
    clock.advance(MAX_AGE)
    assert reason_of(lambda: cache.get_key(URI, "ed-1")) is Reason.UNKNOWN_KEY
    assert cache.status(URI) == JwksStatus(
        fetched_at=clock.now(), last_attempt=clock.now(), failures=0, key_count=0
    )


# -- upstream failures (CVE-2026-48524, row 30 stale-if-error) --------------------------------


def test_endpoint_down_serves_stale_within_the_window_then_401(cache, fetch, jwk, clock, events):
    # GIVEN a good set and then a JWKS endpoint that is down
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = FetchError(FetchFailure.CONNECT)
    loaded_at = clock.now()
    # WHEN the set has expired: the refresh fails, the stale key is served and counted
    clock.advance(MAX_AGE)
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert cache.stale_serves == 1
    assert events.names == ["jwks_fetch_failed", "jwks_stale_served"]
    # ... up to the end of the stale window, retrying at most once per cooldown
    clock.set(loaded_at + MAX_AGE + STALE - 0.001)
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert fetch.calls == 2
    # THEN past the window: UPSTREAM_UNAVAILABLE (a 401), never a key
    clock.set(loaded_at + MAX_AGE + STALE)
    assert reason_of(lambda: cache.get_key(URI, "ed-1")) is Reason.UPSTREAM_UNAVAILABLE
    assert cache.stale_serves == 2


class HungFetch(FakeFetch):
    """A fetch that blocks until ``release`` is set (a socket that accepts and never answers).
    ``started`` is set once a fetch is under way; ``calls`` counts fetches begun."""

    def __init__(self, result: object = None) -> None:
        super().__init__(result)
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, url: str) -> object:
        self.urls.append(url)
        self.started.set()
        self.release.wait(10)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


def test_a_hung_refresh_serves_the_stale_set_by_the_deadline(make_cache, jwk, clock, events):
    """Attack: a JWKS endpoint that never answers when the set expires. The request must not
    wait past its deadline (real time: the fetch runs on a worker thread, bounded by it)."""
    hung = HungFetch()
    cache = make_cache(fetch=hung)
    cache.preload(URI, jwks(jwk, "ed-1"))
    clock.advance(MAX_AGE)
    try:
        started = time.monotonic()
        assert cache.get_key(URI, "ed-1", Deadline.after(0.2)).kid == "ed-1"
        assert time.monotonic() - started < 0.5
        assert events.names == ["jwks_fetch_failed", "jwks_stale_served"]
        # A second caller in the cooldown neither fetches nor waits.
        started = time.monotonic()
        assert cache.get_key(URI, "ed-1", Deadline.after(0.2)).kid == "ed-1"
        assert time.monotonic() - started < 0.1
    finally:
        hung.release.set()


def test_waiting_on_another_caller_s_refresh_ends_by_the_deadline(make_cache, jwk, clock):
    hung = HungFetch(jwks(jwk, "ed-1"))
    cache = make_cache(fetch=hung)
    outcomes: list[object] = []

    def first_caller() -> None:
        try:
            outcomes.append(cache.get_key(URI, "ed-1", Deadline.after(2)))
        except AuthenticationError as error:
            outcomes.append(error.reason)

    first = threading.Thread(target=first_caller)
    first.start()
    try:
        assert hung.started.wait(2)  # the first caller holds the URI's refresh, its fetch hung
        started = time.monotonic()
        assert (
            reason_of(lambda: cache.get_key(URI, "ed-1", Deadline.after(0.2)))
            is Reason.UPSTREAM_UNAVAILABLE
        )
        assert time.monotonic() - started < 0.5
        assert hung.calls == 1  # the first caller's fetch is the only one, still hung
    finally:
        hung.release.set()
        first.join(5)


def test_a_refresh_with_a_stale_set_leaves_time_for_what_follows(make_cache, jwk, clock):
    """A hung refresh that can fall back on a stale set waits for only part of the time left,
    so a revocation lookup after it (same request) still has some."""
    hung = HungFetch()
    cache = make_cache(fetch=hung)
    cache.preload(URI, jwks(jwk, "ed-1"))
    clock.advance(MAX_AGE)
    deadline = Deadline.after(0.6)
    try:
        assert cache.get_key(URI, "ed-1", deadline).kid == "ed-1"
        assert 0.15 < deadline.remaining() < 0.4  # about half is left
    finally:
        hung.release.set()


def test_a_fetch_never_started_is_not_a_failure(make_cache, jwk, clock, events):
    """No time left: the fetch is not made, and the URI is not put in its cooldown: the next
    request, with time, fetches at once."""
    fetch = FakeFetch(jwks(jwk, "ed-1"))
    cache = make_cache(fetch=fetch)
    spent = Deadline.after(-1)
    assert reason_of(lambda: cache.get_key(URI, "ed-1", spent)) is Reason.UPSTREAM_UNAVAILABLE
    assert fetch.calls == 0
    status = cache.status(URI)
    assert status is not None and status.failures == 0 and status.last_attempt is None
    assert JwksEvent.FETCH_FAILED.value not in events.names
    assert cache.get_key(URI, "ed-1", Deadline.after(2)).kid == "ed-1"


def test_a_stale_set_does_not_serve_a_kid_it_never_had(cache, fetch, jwk, clock):
    cache.preload(URI, jwks(jwk, "ed-1"))
    clock.advance(MAX_AGE)
    assert reason_of(lambda: cache.get_key(URI, "ed-2")) is Reason.UNKNOWN_KEY
    assert cache.stale_serves == 0


def test_after_a_failed_fetch_the_uri_is_not_retried_before_the_cooldown(cache, fetch, jwk, clock):
    cache.preload(URI, jwks(jwk, "ed-1"))
    clock.advance(MAX_AGE)
    # WHEN many requests arrive during an outage
    for _ in range(50):
        assert cache.get_key(URI, "ed-1").kid == "ed-1"
    clock.advance(COOLDOWN - 0.001)
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    # THEN one attempt so far; the next comes only after the cooldown, and recovery replaces
    assert fetch.calls == 1
    assert cache.status(URI).failures == 1
    fetch.result = jwks(jwk, "ed-2")
    clock.advance(0.001)
    assert cache.get_key(URI, "ed-2").kid == "ed-2"
    assert fetch.calls == 2
    assert cache.status(URI).failures == 0


def test_a_failed_fetch_never_evicts_good_keys(cache, fetch, jwk, events):
    """PyJWT CVE-2026-48524: random kids + a failing fetch wiped the cache (auth DoS)."""
    # GIVEN a fresh set, and an attacker's unknown kid that forces a refresh which fails
    cache.preload(URI, jwks(jwk, "ed-1", "ed-2"))
    assert reason_of(lambda: cache.get_key(URI, "attacker")) is Reason.UPSTREAM_UNAVAILABLE
    assert events.names == ["jwks_fetch_failed"]
    # THEN every good key still verifies, from the fresh set (no stale serve)
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert cache.get_key(URI, "ed-2").kid == "ed-2"
    assert cache.status(URI).key_count == 2
    assert cache.stale_serves == 0


def test_no_set_and_a_failing_fetch_is_upstream_unavailable(cache, fetch, jwk, clock):
    # GIVEN nothing cached and the endpoint down
    assert reason_of(lambda: cache.get_key(URI, "ed-1")) is Reason.UPSTREAM_UNAVAILABLE
    assert reason_of(lambda: cache.get_key(URI, "ed-1")) is Reason.UPSTREAM_UNAVAILABLE
    assert fetch.calls == 1  # the second caller did not retry inside the cooldown
    # WHEN the endpoint recovers and the cooldown has passed
    fetch.result = jwks(jwk, "ed-1")
    clock.advance(COOLDOWN)
    assert cache.get_key(URI, "ed-1").kid == "ed-1"


@pytest.mark.parametrize(
    "result",
    [
        FetchError(FetchFailure.NOT_JSON),  # junk JSON (refused by the fetcher)
        FetchError(FetchFailure.TOO_LARGE),  # 5 MB response (row 26; refused by the fetcher)
        FetchError(FetchFailure.DUPLICATE_MEMBER),
        RuntimeError("a fetcher bug"),  # any exception is a failed fetch, never a crash
        [],
        "keys",
        None,
        {},
        {"keys": "not a list"},
        {"keys": {"kid": "x"}},
        {"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]},  # nothing usable
        {"keys": [1, "two", None]},
    ],
    ids=lambda value: type(value).__name__ + ":" + str(value)[:24],
)
def test_a_document_that_is_not_a_usable_jwks_is_a_failed_fetch(
    cache, fetch, jwk, clock, events, result
):
    """Rows 26 and 27: garbage upstream is an outage, not a new (empty) key set."""
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = result
    clock.advance(MAX_AGE)
    # THEN the good key is still served (stale), the failure reported, nothing replaced
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert "jwks_fetch_failed" in events.names
    assert "jwks_refreshed" not in events.names
    assert cache.status(URI).key_count == 1


# -- JWKS content (rows 26, 27) ---------------------------------------------------------------


def test_too_many_keys_are_capped_at_max_keys(make_cache, fetch, jwk, events):
    """Row 26 (huge JWKS): members beyond max_keys are never parsed, and that is reported."""
    member = jwk["ed-1"]
    fetch.result = {"keys": [{**member, "kid": f"k{i}"} for i in range(150)]}
    cache = make_cache(max_keys=100)
    assert cache.get_key(URI, "k99").kid == "k99"
    assert reason_of(lambda: cache.get_key(URI, "k100")) is Reason.UNKNOWN_KEY
    assert cache.status(URI).key_count == 100
    assert events.names == ["jwks_refreshed", "jwks_members_skipped"]


def test_one_malformed_member_is_skipped_and_the_others_stay_usable(cache, fetch, jwk, events):
    """Row 27 (PyJWT CVE-2026-102274): one bad JWK must not take the whole set down."""
    broken = {**jwk["rsa-1"], "kid": "broken", "n": 12345}  # n must be a base64url string
    fetch.result = {"keys": [broken, jwk["rsa-1"], jwk["ed-1"]]}
    assert cache.get_key(URI, "rsa-1").kid == "rsa-1"
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert reason_of(lambda: cache.get_key(URI, "broken")) is Reason.UNKNOWN_KEY
    assert ("jwks_members_skipped", URI) in events.seen


def test_a_preload_with_skipped_members_is_reported(cache, jwk, events):
    cache.preload(URI, {"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, jwk["ed-1"]]})
    assert events.names == ["jwks_members_skipped"]


# -- kid hygiene (row 5) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "",  # blank kid (jwt_tool playbook)
        "' OR 1=1 --",  # SQL injection
        "' UNION SELECT 'key' --",
        "|sleep 10",  # command injection
        "x; rm -rf /",
        "k" * 1024,  # 1 KB kid
        "a\nb",  # log injection
        "a\x00b",
        "\u043a\u043b\u044e\u0447",  # non-ASCII
        None,
        42,
    ],
    ids=repr,
)
def test_injected_kids_are_rejected_before_any_lookup_or_fetch(cache, fetch, kid):
    """Row 5: kid injection. Outside KID_PATTERN -> MALFORMED_CREDENTIALS, nothing else."""
    assert reason_of(lambda: cache.get_key(URI, kid)) is Reason.MALFORMED_CREDENTIALS
    assert fetch.calls == 0
    assert cache.status(URI) is None  # not even a cache entry was made


@pytest.mark.parametrize(
    "kid",
    ["../../dev/null", "/etc/passwd", "..%2F..%2Fjwks", "https://evil.example.com/jwks.json"],
)
def test_path_and_url_shaped_kids_are_opaque_and_never_fetched(cache, fetch, jwk, kid):
    """Rows 4 and 5: a kid that KID_PATTERN admits is only ever a dictionary key.

    The pattern allows '/', '.', ':' (Cognito kids are base64 and contain '/'), so such a kid
    is an unknown kid: at most one refresh of the *configured* URI, and the kid appears in no
    URL.
    """
    cache.preload(URI, jwks(jwk, "ed-1"))
    fetch.result = jwks(jwk, "ed-1")
    assert reason_of(lambda: cache.get_key(URI, kid)) is Reason.UNKNOWN_KEY
    assert reason_of(lambda: cache.get_key(URI, kid)) is Reason.UNKNOWN_KEY
    assert fetch.urls == [URI]


# -- single flight ----------------------------------------------------------------------------


class HeldFetch:
    """A fetcher whose first call blocks until released: a slow JWKS endpoint."""

    def __init__(self, result: object) -> None:
        self.result = result
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, url: str) -> object:
        with self._lock:
            self.calls += 1
        self.entered.set()
        assert self.release.wait(5), "test deadlock guard"
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


def _in_threads(
    count: int, work: Callable[[], object]
) -> tuple[list[threading.Thread], list[object]]:
    results: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            value: object = work()
        except AuthenticationError as error:
            value = error.reason
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run) for _ in range(count)]
    return threads, results


def test_concurrent_unknown_kid_lookups_share_one_fetch(make_cache, jwk, clock):
    """Row 6, single flight: callers wait for the one refresh instead of starting their own."""
    # GIVEN a rotation (ed-2 is new) and a slow JWKS endpoint
    held = HeldFetch(jwks(jwk, "ed-1", "ed-2"))
    cache = make_cache(fetch=held)
    cache.preload(URI, jwks(jwk, "ed-1"))
    # WHEN one caller is inside the fetch and others ask for the same new kid
    first, first_results = _in_threads(1, lambda: cache.get_key(URI, "ed-2").kid)
    first[0].start()
    assert held.entered.wait(5)
    others, other_results = _in_threads(4, lambda: cache.get_key(URI, "ed-2").kid)
    for thread in others:
        thread.start()
    held.release.set()
    for thread in first + others:
        thread.join(5)
    # THEN one fetch, and every caller got the new key (none got UNKNOWN_KEY from the
    # cooldown that the in-flight attempt had already started)
    assert held.calls == 1
    assert first_results + other_results == ["ed-2"] * 5


def test_concurrent_expired_lookups_share_one_failing_fetch(make_cache, jwk, clock):
    # GIVEN an expired set and an endpoint that hangs, then fails
    held = HeldFetch(FetchError(FetchFailure.TIMEOUT))
    cache = make_cache(fetch=held)
    cache.preload(URI, jwks(jwk, "ed-1"))
    clock.advance(MAX_AGE)
    first, first_results = _in_threads(1, lambda: cache.get_key(URI, "ed-1").kid)
    first[0].start()
    assert held.entered.wait(5)
    others, other_results = _in_threads(4, lambda: cache.get_key(URI, "ed-1").kid)
    for thread in others:
        thread.start()
    held.release.set()
    for thread in first + others:
        thread.join(5)
    # THEN one fetch, and everyone was served the stale key
    assert held.calls == 1
    assert first_results + other_results == ["ed-1"] * 5
    assert cache.stale_serves == 5


# -- bounds and housekeeping (row 31) ---------------------------------------------------------


def test_uris_beyond_max_uris_are_a_configuration_error(make_cache, fetch, jwk):
    """Row 31: the cache is keyed on configured URIs only, and bounded."""
    fetch.result = jwks(jwk, "ed-1")
    cache = make_cache(max_uris=2)
    cache.preload("https://a.example.com/jwks", jwks(jwk, "ed-1"))
    cache.get_key("https://b.example.com/jwks", "ed-1")
    with pytest.raises(ValueError, match="max_uris"):
        cache.get_key("https://c.example.com/jwks", "ed-1")
    with pytest.raises(ValueError, match="non-empty"):
        make_cache().get_key("", "ed-1")


def test_clear_forgets_everything(cache, fetch, jwk, clock):
    cache.preload(URI, jwks(jwk, "ed-1"))
    clock.advance(MAX_AGE)
    cache.get_key(URI, "ed-1")
    assert cache.stale_serves == 1
    cache.clear()
    assert cache.status(URI) is None
    assert cache.stale_serves == 0
    fetch.result = jwks(jwk, "ed-1")
    assert cache.get_key(URI, "ed-1").kid == "ed-1"
    assert fetch.calls == 2


@pytest.mark.parametrize(
    "options",
    [
        {"max_age_s": 0},
        {"cooldown_s": -1},
        {"stale_if_error_s": -1},
        {"max_uris": 0},
        {"max_keys": 0},
    ],
)
def test_constructor_rejects_nonsense(make_cache, options):
    with pytest.raises(ValueError):
        make_cache(**options)


def test_event_names_are_a_fixed_set():
    # Dashboards and alarms key on these; renaming one is a breaking change.
    assert {event.value for event in JwksEvent} == {
        "jwks_refreshed",
        "jwks_fetch_failed",
        "jwks_stale_served",
        "jwks_members_skipped",
        "jwks_discovered",
        "jwks_discovery_failed",
    }


def test_works_without_an_event_hook(clock, jwk):
    cache = JwksCache(fetch=FakeFetch(jwks(jwk, "ed-1")), clock=clock)
    assert cache.get_key(URI, "ed-1").kid == "ed-1"


# -- discovery (row 4) ------------------------------------------------------------------------

CONFIG_URL = ISSUER + "/.well-known/openid-configuration"
DISCOVERED = "https://keys.idp.example.com/jwks"


def test_resolve_returns_a_configured_jwks_uri_without_fetching(cache, fetch):
    assert cache.resolve(ISSUER, URI) == URI
    assert fetch.calls == 0


def test_resolve_discovers_once_per_max_age(cache, fetch, clock, events):
    fetch.result = {"issuer": ISSUER, "jwks_uri": DISCOVERED}
    assert cache.resolve(ISSUER, None) == DISCOVERED
    assert cache.resolve(ISSUER, None) == DISCOVERED
    assert fetch.urls == [CONFIG_URL]
    assert events.seen == [("jwks_discovered", ISSUER)]
    clock.advance(MAX_AGE)
    assert cache.resolve(ISSUER, None) == DISCOVERED
    assert fetch.urls == [CONFIG_URL, CONFIG_URL]


def test_resolve_failure_is_upstream_unavailable_with_a_cooldown(cache, fetch, clock, events):
    # GIVEN a discovery document for another issuer (or an outage)
    fetch.result = {"issuer": "https://evil.example.com", "jwks_uri": DISCOVERED}
    assert reason_of(lambda: cache.resolve(ISSUER, None)) is Reason.UPSTREAM_UNAVAILABLE
    assert reason_of(lambda: cache.resolve(ISSUER, None)) is Reason.UPSTREAM_UNAVAILABLE
    assert fetch.calls == 1
    assert events.names == ["jwks_discovery_failed"]
    # WHEN the cooldown has passed and discovery works again
    fetch.result = {"issuer": ISSUER, "jwks_uri": DISCOVERED}
    clock.advance(COOLDOWN)
    assert cache.resolve(ISSUER, None) == DISCOVERED


def test_resolve_keeps_the_last_good_uri_within_the_stale_window(cache, fetch, clock):
    fetch.result = {"issuer": ISSUER, "jwks_uri": DISCOVERED}
    assert cache.resolve(ISSUER, None) == DISCOVERED
    fetch.result = FetchError(FetchFailure.TIMEOUT)
    clock.advance(MAX_AGE)
    assert cache.resolve(ISSUER, None) == DISCOVERED
    clock.advance(STALE)
    assert reason_of(lambda: cache.resolve(ISSUER, None)) is Reason.UPSTREAM_UNAVAILABLE


def test_resolve_refuses_an_http_jwks_uri_unless_local_mode(make_cache, fetch):
    fetch.result = {"issuer": ISSUER, "jwks_uri": "http://127.0.0.1:9000/jwks"}
    assert reason_of(lambda: make_cache().resolve(ISSUER, None)) is Reason.UPSTREAM_UNAVAILABLE
    local = make_cache(allow_loopback_http=True)
    assert local.resolve(ISSUER, None) == "http://127.0.0.1:9000/jwks"
