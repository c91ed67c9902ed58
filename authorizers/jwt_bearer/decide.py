"""A verified token and a request -> a Decision. Pure: no IO, no clock, no environment.

- Issuer-wide requirements (``required_scopes`` all-of, ``required_groups`` any-of) fail as
  an authenticated Deny for every route.
- Without route rules (or on a WebSocket ``$connect``), a valid token may call every route:
  the policy allows the whole stage, which is what API Gateway's cache needs.
- With route rules, the policy allows exactly the rule routes the principal satisfies (plus
  every unnamed route when ``unmatched`` is ``allow``), with explicit Denies where IAM's ``*``
  would reach further (see ``authorizers.core.routes``). This request's effect follows from that
  policy; when denied, the reason is the failed requirement of the rule for this route, or
  ``UnknownRoute``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from authorizers.core.context import ContextValue
from authorizers.core.decision import Decision
from authorizers.core.exceptions import AccessDeniedError, Reason
from authorizers.core.request import Request
from authorizers.jwt_bearer.claims import VerifiedToken
from authorizers.jwt_bearer.routes import RouteRule, context_key


def decide(
    token: VerifiedToken,
    request: Request,
    *,
    rules: Sequence[RouteRule],
    unmatched_allowed: bool,
    context_claims: Sequence[str],
) -> Decision:
    decision = _decide(
        token,
        request,
        rules=rules,
        unmatched_allowed=unmatched_allowed,
        context_claims=context_claims,
    )
    # A session cookie's CSRF proof holds for this request's method only: a GET's answer
    # replayed from a cache to a POST would skip it.
    return decision.for_this_request(request) if token.session else decision


def _decide(
    token: VerifiedToken,
    request: Request,
    *,
    rules: Sequence[RouteRule],
    unmatched_allowed: bool,
    context_claims: Sequence[str],
) -> Decision:
    profile = token.profile
    if not profile.required_scopes <= token.scopes:
        raise AccessDeniedError(Reason.INSUFFICIENT_SCOPE, principal_id=token.principal)
    if profile.required_groups and profile.required_groups.isdisjoint(token.groups):
        raise AccessDeniedError(Reason.NOT_IN_GROUP, principal_id=token.principal)
    context = build_context(token, context_claims)
    if not rules or request.method is None:
        return Decision.allow_all(request, token.principal, context=context)
    allowed = [
        r.route for r in rules if r.failure(token.scopes, token.groups, bound=token.bound) is None
    ]
    return Decision.for_routes(
        request,
        token.principal,
        allowed=allowed,
        table=[r.route for r in rules],
        denied_reason=_reason_for(request, rules, token),
        others_allowed=unmatched_allowed,
        context=context,
    )


def _reason_for(request: Request, rules: Sequence[RouteRule], token: VerifiedToken) -> Reason:
    method, path = request.method or "", request.path
    for rule in rules:
        if rule.route.matches(method, path):
            failure = rule.failure(token.scopes, token.groups, bound=token.bound)
            if failure is not None:
                return failure
    return Reason.UNKNOWN_ROUTE


def build_context(token: VerifiedToken, names: Sequence[str]) -> dict[str, ContextValue]:
    """The allow-listed claims, flat: scopes space-joined, groups comma-joined. Never the token.

    Context keys are the claim names with ``:`` and ``-`` turned into ``_``; a listed claim
    that is absent or not a string/number/boolean is left out.
    """
    context: dict[str, ContextValue] = {}
    claims: Mapping[str, Any] = token.claims
    for name in names:
        key = context_key(name)
        if name == "scope":
            if token.scopes:
                context[key] = " ".join(sorted(token.scopes))
        elif name == "groups":
            if token.groups:
                context[key] = ",".join(sorted(token.groups))
        else:
            value = claims.get(name)
            if isinstance(value, str | bool | int) or (
                isinstance(value, float) and math.isfinite(value)
            ):
                context[key] = value
    return context
