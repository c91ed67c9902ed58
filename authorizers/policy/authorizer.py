"""The policy authorizer, assembled: authenticator -> identity -> Cedar -> Decision.

``PolicyAuthorizer.decide(request)`` authenticates with the configured authorizer (its own
errors pass through: 401 for a bad credential), asks the live policy set
(:class:`~authorizers.policy.store.PolicyStore`, refreshed on an interval with last-known-good
fallback) through the pure :func:`~authorizers.policy.decide.decide`, writes one decision-log
line and counts the policy metrics. ``handler.py`` builds one at cold start; the first policy
load happens then too, so the first request does not pay for it (and a failed load does not
stop the function from starting: requests are denied and the log says why).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from authorizers.core.clock import Clock, MonotonicClock, SystemClock
from authorizers.core.config import CoreConfig, HttpResponseFormat
from authorizers.core.deadline import COLD_START_BUDGET_S, Deadline
from authorizers.core.decision import Decision
from authorizers.core.exceptions import AuthorizerError, ConfigurationError
from authorizers.core.observability import logger
from authorizers.core.request import Request
from authorizers.core.settings_file import read_settings
from authorizers.policy.authenticate import Authenticator, authenticator_from_environ
from authorizers.policy.config import (
    HTTP_FORMAT_VAR,
    Mode,
    PolicyConfig,
    authenticator_environ,
)
from authorizers.policy.decide import decide
from authorizers.policy.engine import PolicySnapshot, compile_bundle
from authorizers.policy.metrics import PolicyMetric, count
from authorizers.policy.store import PolicyStore

KIND: Final = "policy"

_STORE_EVENTS: Final = {
    "loaded": PolicyMetric.RELOADED,
    "reload_failed": PolicyMetric.RELOAD_FAILED,
}


def _log_store_event(name: str, fields: dict[str, object]) -> None:
    count(KIND, _STORE_EVENTS[name])
    log = logger.info if name == "loaded" else logger.error
    log("policy set", extra={"policy_event": name, **fields})


class PolicyAuthorizer:
    """Everything one policy authorizer function needs, built once per cold start.

    Parameters
    ----------
    clock:
        Wall-clock time for ``context.time`` (the store uses its own, monotonic clock).
    """

    def __init__(
        self,
        config: PolicyConfig,
        *,
        authenticator: Authenticator,
        store: PolicyStore,
        clock: Clock,
    ) -> None:
        self.config = config
        self.authenticator = authenticator
        self.store = store
        self._clock = clock

    @property
    def core(self) -> CoreConfig:
        return self.authenticator.core

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        in_lambda: bool,
        load: bool = True,
        fetch: Callable[[str], object] | None = None,
        clock: Clock | None = None,
    ) -> PolicyAuthorizer:
        """Build from ``environ`` and its settings file: the file is resolved once, here, so
        the policy settings and the authenticator's come from the same merged view.
        ``fetch`` and ``clock`` go to the authenticator and the decision (the testing kit);
        the handler passes neither."""
        return read_settings(
            environ,
            lambda resolved: cls._build(
                resolved, in_lambda=in_lambda, load=load, fetch=fetch, clock=clock
            ),
        )

    @classmethod
    def _build(
        cls,
        environ: Mapping[str, str],
        *,
        in_lambda: bool,
        load: bool,
        fetch: Callable[[str], object] | None,
        clock: Clock | None,
    ) -> PolicyAuthorizer:
        config = PolicyConfig.from_environ(environ)
        authenticator = authenticator_from_environ(
            config.authenticator,
            authenticator_environ(environ),
            in_lambda=in_lambda,
            fetch=fetch,
            clock=clock,
        )
        if authenticator.core.http_response_format is HttpResponseFormat.SIMPLE:
            raise ConfigurationError(
                HTTP_FORMAT_VAR,
                "policy decisions need IAM responses: a simple response ({isAuthorized}) is "
                "cached for every route; set it to iam",
            )
        store = PolicyStore(
            config.source,
            lambda data: compile_bundle(
                data, config.table, headers=config.headers, require_cacheable=config.cached
            ),
            clock=MonotonicClock(),
            refresh_s=config.refresh_s,
            on_event=_log_store_event,
        )
        if load:
            store.refresh(Deadline.after(COLD_START_BUDGET_S))
        return cls(config, authenticator=authenticator, store=store, clock=clock or SystemClock())

    @property
    def snapshot(self) -> PolicySnapshot | None:
        return self.store.snapshot

    def decide(self, request: Request) -> Decision:
        identity = self.authenticator.authenticate(request)
        snapshot = self.store.current(request.deadline)
        shadow = self.config.mode is Mode.SHADOW
        try:
            result = decide(
                identity,
                request,
                snapshot=snapshot,
                unavailable=self.store.unavailable,
                table=self.config.table,
                shadow=shadow,
                now=self._clock.now(),
                headers=self.config.headers,
                authorizer_cache=self.config.cached,
            )
        except AuthorizerError as error:
            if snapshot is None:
                count(KIND, PolicyMetric.UNAVAILABLE)
                logger.error(
                    "policy decision",
                    extra=_log_fields(
                        {
                            "decision": "Deny",
                            "principal": identity.id,
                            "why": f"no valid policy set ({self.store.unavailable.why})",
                            "error_reason": error.reason.value,
                        }
                    ),
                )
            raise
        if snapshot is None:
            count(KIND, PolicyMetric.UNAVAILABLE)
        if result.evaluation is not None and result.evaluation.outcome == "error":
            count(KIND, PolicyMetric.EVALUATION_ERROR)
        if result.shadow_deny:
            count(KIND, PolicyMetric.SHADOW_DENY)
        if not shadow and self.config.cached and not result.decision.cache_safe:
            count(KIND, PolicyMetric.NOT_CACHE_SAFE)
        logger.info("policy decision", extra=_log_fields(result.log))
        return result.decision


def _log_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"authorizer": KIND, **fields}
