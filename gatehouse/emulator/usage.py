"""Usage plans for ``apiKeySource = AUTHORIZER``: which key values a stage accepts, and the
throttle (token bucket: rate + burst) and quota of each (§4.9, §6 step 8).

API Gateway meters its *own* keys: the authorizer names one in ``usageIdentifierKey``; it must
be an enabled key attached to a usage plan associated with this API and stage, else 403
``Forbidden``. Then the plan's throttle (``Too Many Requests``) and quota (``Limit Exceeded``)
apply, both 429. Locally the keys and plans are read from moto's API Gateway
(:class:`ApiGatewayPlans`), where ``gatehouse keys`` put them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol

from authorizers.core.clock import Clock, MonotonicClock

_PERIOD_SECONDS: Final = {"DAY": 86_400, "WEEK": 7 * 86_400, "MONTH": 30 * 86_400}


@dataclass(frozen=True, slots=True)
class Plan:
    """A usage plan's limits; ``None`` means that limit is not set."""

    id: str
    name: str
    rate_limit: float | None = None
    burst_limit: int | None = None
    quota_limit: int | None = None
    quota_period: str = "DAY"


@dataclass(frozen=True, slots=True)
class PlanKey:
    """An API key attached to a plan of the stage."""

    key_id: str
    plan: Plan
    enabled: bool = True


class PlanDirectory(Protocol):
    """Finds the plan of an API key *value* on this API stage."""

    def find(self, key_value: str) -> PlanKey | None: ...


@dataclass(frozen=True, slots=True)
class StaticPlans:
    """A fixed directory (tests): key value -> plan key."""

    keys: Mapping[str, PlanKey] = field(repr=False)

    def find(self, key_value: str) -> PlanKey | None:
        return self.keys.get(key_value)


class ApiGatewayPlans:
    """Keys and plans read from an API Gateway (moto) for one API stage, re-read at most every
    ``refresh_seconds`` when a key is not found (a key added by ``gatehouse keys create`` while
    running is seen within that time)."""

    def __init__(
        self,
        client: Any,
        *,
        api_id: str,
        stage: str,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._api_id = api_id
        self._stage = stage
        self._refresh = refresh_seconds
        self._clock = clock
        self._keys: dict[str, PlanKey] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def find(self, key_value: str) -> PlanKey | None:
        with self._lock:
            now = self._clock()
            found = self._keys.get(key_value)
            if found is None and (
                self._loaded_at is None or now - self._loaded_at >= self._refresh
            ):
                self._keys = self._load()
                self._loaded_at = now
                found = self._keys.get(key_value)
            return found

    def _load(self) -> dict[str, PlanKey]:
        keys: dict[str, PlanKey] = {}
        values = {
            k["id"]: (k.get("value"), bool(k.get("enabled", False)))
            for k in self._client.get_api_keys(includeValues=True, limit=500).get("items", [])
        }
        for raw in self._client.get_usage_plans(limit=500).get("items", []):
            stages = raw.get("apiStages", [])
            if not any(
                s.get("apiId") == self._api_id and s.get("stage") == self._stage for s in stages
            ):
                continue
            throttle = raw.get("throttle") or {}
            quota = raw.get("quota") or {}
            plan = Plan(
                id=raw["id"],
                name=raw.get("name", raw["id"]),
                rate_limit=_float(throttle.get("rateLimit")),
                burst_limit=_int(throttle.get("burstLimit")),
                quota_limit=_int(quota.get("limit")),
                quota_period=str(quota.get("period", "DAY")),
            )
            attached = self._client.get_usage_plan_keys(usagePlanId=plan.id, limit=500)
            for item in attached.get("items", []):
                value, enabled = values.get(item["id"], (item.get("value"), True))
                if isinstance(value, str):
                    keys[value] = PlanKey(key_id=item["id"], plan=plan, enabled=enabled)
        return keys


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


class Verdict(StrEnum):
    OK = "ok"
    THROTTLED = "throttled"  # 429 Too Many Requests
    QUOTA_EXCEEDED = "quota"  # 429 Limit Exceeded


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class Meter:
    """Per (plan, key): a token bucket of ``burst`` tokens refilled at ``rate`` per second,
    and a request count per quota period. Best-effort, like API Gateway's."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or MonotonicClock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._quota: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def take_method(self, method: str, rate: float, burst: int) -> Verdict:
        """The stage's per-method throttle, shared by every caller of ``method``."""
        with self._lock:
            now = self._clock.now()
            bucket = self._buckets.setdefault(("method", method), _Bucket(float(burst), now))
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens < 1:
                return Verdict.THROTTLED
            bucket.tokens -= 1
            return Verdict.OK

    def take(self, key: PlanKey) -> Verdict:
        plan = key.plan
        ident = (plan.id, key.key_id)
        with self._lock:
            now = self._clock.now()
            if plan.rate_limit is not None or plan.burst_limit is not None:
                rate = plan.rate_limit if plan.rate_limit is not None else float("inf")
                burst = float(plan.burst_limit if plan.burst_limit is not None else max(rate, 1))
                bucket = self._buckets.setdefault(ident, _Bucket(tokens=burst, updated=now))
                bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
                bucket.updated = now
                if bucket.tokens < 1:
                    return Verdict.THROTTLED
                bucket.tokens -= 1
            if plan.quota_limit is not None:
                window = int(now // _PERIOD_SECONDS.get(plan.quota_period, 86_400))
                used = self._quota.get((*ident, window), 0)
                if used >= plan.quota_limit:
                    return Verdict.QUOTA_EXCEEDED
                self._quota[(*ident, window)] = used + 1
            return Verdict.OK
