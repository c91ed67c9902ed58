"""The API key authorizer, assembled: configuration -> key store (DynamoDB) and rules.

``ApiKeyAuthorizer.decide(request)`` takes the presented key, checks its format and checksum
(no lookup for a malformed key), looks its SHA-256 up in the store and hands the record to the
pure ``decide`` step. ``handler.py`` builds one at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping

from authorizers.api_key.config import ApiKeyConfig, UnmatchedRoutes
from authorizers.api_key.credential import presented_key
from authorizers.api_key.decide import decide
from authorizers.api_key.keys import parse
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
    def from_environ(cls, environ: Mapping[str, str]) -> ApiKeyAuthorizer:
        config = ApiKeyConfig.from_environ(environ)
        store = DynamoDbKeyStore(
            config.table,
            positive_ttl_s=config.cache_s,
            negative_ttl_s=config.negative_cache_s,
            max_entries=config.cache_size,
        )
        return cls(config, store=store, clock=SystemClock())

    def decide(self, request: Request) -> Decision:
        key = parse(
            presented_key(request, self.config.header), environments=self.config.environments
        )
        record = self._store.lookup(key.hash)
        if record is None:
            raise AuthenticationError(Reason.UNKNOWN_CREDENTIAL)
        return decide(
            record,
            request,
            now=self._clock.now(),
            rules=self.config.rules,
            unmatched_allowed=self.config.unmatched is UnmatchedRoutes.ALLOW,
        )
