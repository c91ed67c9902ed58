"""The API key authorizer, assembled: configuration -> key store (DynamoDB) and rules.

``ApiKeyAuthorizer.authenticate(request)`` takes the presented key, checks its format and
checksum (no lookup for a malformed key), looks its SHA-256 up in the store and checks the
record is active and unexpired; ``decide(request)`` hands that record to the pure ``decide``
step (the policy authorizer stops at ``authenticate`` and asks Cedar instead).
``handler.py`` builds one at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from authorizers.api_key.config import ApiKeyConfig, UnmatchedRoutes
from authorizers.api_key.credential import presented_key
from authorizers.api_key.decide import check_valid, decide
from authorizers.api_key.keys import parse
from authorizers.api_key.record import KeyRecord
from authorizers.api_key.store import DynamoDbKeyStore, KeyStore
from authorizers.core.clock import Clock, SystemClock
from authorizers.core.config import CoreConfig
from authorizers.core.decision import Decision
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.core.request import Request


class ApiKeyAuthorizer:
    """Everything one API key authorizer function needs, built once per cold start.

    Parameters
    ----------
    clock:
        Wall-clock time for ``expires_at`` (the store's caches use their own monotonic clock).
    """

    def __init__(self, config: ApiKeyConfig, *, store: KeyStore, clock: Clock) -> None:
        self.config = config
        self._store = store
        self._clock = clock

    @property
    def core(self) -> CoreConfig:
        return self.config.core

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, clock: Clock | None = None) -> Self:
        """Build from the settings, as the cold start does; ``clock`` replaces the wall clock
        that key expiry is checked against (the testing kit's time travel)."""
        config = ApiKeyConfig.from_environ(environ)
        store = DynamoDbKeyStore(
            config.table,
            positive_ttl_s=config.cache_s,
            negative_ttl_s=config.negative_cache_s,
            max_entries=config.cache_size,
        )
        return cls(config, store=store, clock=clock or SystemClock())

    def authenticate(self, request: Request) -> KeyRecord:
        """The active, unexpired record of the presented key; raises the core's 401 errors."""
        key = parse(
            presented_key(request, self.config.header), environments=self.config.environments
        )
        record = self._store.lookup(key.hash, request.deadline)
        if record is None:
            raise AuthenticationError(Reason.UNKNOWN_CREDENTIAL)
        check_valid(record, now=self._clock.now())
        return record

    def decide(self, request: Request) -> Decision:
        return decide(
            self.authenticate(request),
            request,
            now=self._clock.now(),
            rules=self.config.rules,
            unmatched_allowed=self.config.unmatched is UnmatchedRoutes.ALLOW,
        )
