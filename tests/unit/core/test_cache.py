"""Bounded caches: size and age limits on an injected clock, and clear()."""

from __future__ import annotations

import pytest

from authorizers.core.cache import BoundedTTLCache, clear_all
from authorizers.core.clock import ManualClock, MonotonicClock, SystemClock


def test_entries_expire_on_the_injected_clock(clock):
    cache: BoundedTTLCache[str, int] = BoundedTTLCache(maxsize=4, ttl_seconds=10, clock=clock)
    cache.put("a", 1)
    clock.advance(9.9)
    assert cache.get("a") == 1
    clock.advance(0.2)
    assert cache.get("a") is None
    assert len(cache) == 0


def test_size_is_bounded():
    cache: BoundedTTLCache[int, int] = BoundedTTLCache(maxsize=3, ttl_seconds=60)
    for i in range(10):
        cache.put(i, i)
    assert len(cache) == 3
    assert cache.maxsize == 3 and cache.ttl_seconds == 60


def test_clear_and_clear_all_empty_every_cache():
    first: BoundedTTLCache[str, int] = BoundedTTLCache(maxsize=2, ttl_seconds=60)
    second: BoundedTTLCache[str, int] = BoundedTTLCache(maxsize=2, ttl_seconds=60)
    first.put("a", 1)
    second.put("b", 2)
    assert "a" in first
    first.clear()
    assert "a" not in first
    clear_all()
    assert second.get("b") is None
    assert second.pop("b") is None


@pytest.mark.parametrize(("maxsize", "ttl"), [(0, 1), (1, 0), (1, -1)])
def test_unbounded_or_instant_caches_are_refused(maxsize, ttl):
    with pytest.raises(ValueError):
        BoundedTTLCache(maxsize=maxsize, ttl_seconds=ttl)


def test_clocks():
    manual = ManualClock(start=5)
    manual.set(10)
    manual.advance(1)
    assert manual.now() == 11
    with pytest.raises(ValueError):
        manual.advance(-1)
    assert SystemClock().now() > 1_700_000_000
    assert MonotonicClock().now() <= MonotonicClock().now()
