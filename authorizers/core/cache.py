"""Bounded caches with an injected clock and a way to empty them all (tests, rotation).

Every cache in the authorizers is one of these: bounded in size (``maxsize``), bounded in age
(``ttl_seconds``), and registered so that :func:`clear_all` resets every instance. Keys must be
trusted values (a hash, a key id that was checked, an issuer from configuration), never raw
attacker input used as-is: callers are responsible for that, the type cannot check it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

from authorizers.core.clock import Clock, MonotonicClock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_REGISTRY: weakref.WeakSet[BoundedTTLCache[object, object]] = weakref.WeakSet()
_REGISTRY_LOCK = threading.Lock()


class BoundedTTLCache(Generic[K, V]):
    """A size- and age-bounded mapping (cachetools ``TTLCache``) with ``clear()``.

    Parameters
    ----------
    maxsize:
        Most entries kept; the least recently used goes first.
    ttl_seconds:
        Age after which an entry is gone, measured on ``clock``.
    clock:
        Time source; a monotonic clock by default so wall-clock jumps never extend a TTL.
    """

    def __init__(self, *, maxsize: int, ttl_seconds: float, clock: Clock | None = None) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._clock = clock or MonotonicClock()
        self._data: TTLCache[K, V] = TTLCache(
            maxsize=maxsize, ttl=ttl_seconds, timer=self._clock.now
        )
        self._lock = threading.Lock()
        with _REGISTRY_LOCK:
            _REGISTRY.add(self)  # type: ignore[arg-type]

    @property
    def maxsize(self) -> int:
        return int(self._data.maxsize)

    @property
    def ttl_seconds(self) -> float:
        return float(self._data.ttl)

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            self._data.expire()
            return len(self._data)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data


def clear_all() -> None:
    """Empty every live :class:`BoundedTTLCache` (test isolation; operator-triggered resets)."""
    with _REGISTRY_LOCK:
        caches = list(_REGISTRY)
    for cache in caches:
        cache.clear()
