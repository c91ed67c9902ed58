"""A stored key record and a request -> a Decision. Pure: no IO, no clock, no environment.

- A key that is not ``active`` is ``Revoked`` (401); one past ``expires_at`` is ``Expired``
  (401). Expiry is checked here, on every request, so a cached record never outlives it.
- Without route rules (or on a WebSocket ``$connect``) a valid key may call every route: the
  policy allows the whole stage, which is right for API Gateway's authorizer cache.
- With route rules, the policy allows exactly the rule routes whose scopes the key holds (plus
  every unnamed route when ``unmatched`` is ``allow``), cache-safe as for the JWT authorizer;
  a denied request gets reason ``InsufficientScope`` or ``UnknownRoute``.
- Every answer carries the tenant's usage-plan key as ``usage_identifier_key`` (REST only; the
  renderer drops it for other event kinds). It is never put in the context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from authorizers.api_key.record import KeyRecord
from authorizers.core.context import ContextValue
from authorizers.core.decision import Decision
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.core.request import Request
from authorizers.core.routes import Match, RouteTemplate, satisfied


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """``route`` needs ``scopes`` (all of them by default, or any one with ``Match.ANY``)."""

    route: RouteTemplate
    scopes: frozenset[str] = frozenset()
    match: Match = Match.ALL

    def permits(self, held: frozenset[str]) -> bool:
        return satisfied(self.scopes, held, self.match)


def check_valid(record: KeyRecord, *, now: float) -> None:
    """Raises ``AuthenticationError`` (``Revoked``, ``Expired``) for a key that is not valid."""
    if not record.active:
        raise AuthenticationError(Reason.REVOKED)
    if record.expires_at is not None and now >= record.expires_at:
        raise AuthenticationError(Reason.EXPIRED)


def decide(
    record: KeyRecord,
    request: Request,
    *,
    now: float,
    rules: Sequence[ScopeRule],
    unmatched_allowed: bool,
) -> Decision:
    """Raises ``AuthenticationError`` (``Revoked``, ``Expired``) for a key that is not valid."""
    check_valid(record, now=now)
    context = build_context(record)
    if not rules or request.method is None:
        return Decision.allow_all(
            request,
            record.tenant,
            context=context,
            usage_identifier_key=record.usage_identifier_key,
        )
    return Decision.for_routes(
        request,
        record.tenant,
        allowed=[rule.route for rule in rules if rule.permits(record.scopes)],
        table=[rule.route for rule in rules],
        denied_reason=_reason_for(request, rules, record.scopes),
        others_allowed=unmatched_allowed,
        context=context,
        usage_identifier_key=record.usage_identifier_key,
    )


def _reason_for(request: Request, rules: Sequence[ScopeRule], scopes: frozenset[str]) -> Reason:
    method = request.method or ""
    for rule in rules:
        if rule.route.matches(method, request.path) and not rule.permits(scopes):
            return Reason.INSUFFICIENT_SCOPE
    return Reason.UNKNOWN_ROUTE


def build_context(record: KeyRecord) -> dict[str, ContextValue]:
    """``tenant``, ``key_id``, ``scope`` (space-joined) and ``usage_plan``. Never the key, its
    hash or the usage-plan key value."""
    context: dict[str, ContextValue] = {"tenant": record.tenant, "key_id": record.key_id}
    if record.scopes:
        context["scope"] = " ".join(sorted(record.scopes))
    if record.usage_plan is not None:
        context["usage_plan"] = record.usage_plan
    return context
