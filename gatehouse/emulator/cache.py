"""The authorizer result cache, keyed and replayed like API Gateway's (§4.7).

- The key is (authorizer, stage, identity-source values): for TOKEN the token header value,
  for REQUEST every identity source together. Nothing about the route is in it.
- What is stored is the authorizer's whole *response* (policy, principalId, context,
  usageIdentifierKey), not the verdict: the policy is evaluated again against each request's
  methodArn. So a policy scoped to one route, cached, yields 403 on the authorizer's other
  routes within the TTL without invoking it: the classic pitfall, reproduced on purpose.
- Allow and Deny are cached alike; errors, timeouts and malformed responses never are.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authorizers.core.clock import Clock, MonotonicClock

CacheKey = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Entry:
    response: Mapping[str, Any]
    expires_at: float


class ResultCache:
    """Authorizer responses by :data:`CacheKey`, each for its authorizer's TTL."""

    def __init__(self, clock: Clock | None = None, max_entries: int = 10_000) -> None:
        self._clock = clock or MonotonicClock()
        self._entries: dict[CacheKey, _Entry] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> Mapping[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock.now() >= entry.expires_at:
                del self._entries[key]
                return None
            return entry.response

    def put(self, key: CacheKey, response: Mapping[str, Any], ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = _Entry(response, self._clock.now() + ttl_seconds)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
