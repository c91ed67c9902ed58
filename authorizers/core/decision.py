"""``Decision``: the one output of every authorizer's decide step.

A decision says what happens to *this* request (``effect``), who the caller is, and which
resources the returned policy allows and denies. The resources are chosen for API Gateway's
authorizer cache (see :mod:`authorizers.core.routes`): they must be right for every route that
shares the cache key, not only this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from authorizers.core.context import ContextValue
from authorizers.core.exceptions import Reason
from authorizers.core.iam_match import INVOKE_ACTION, PolicyOutcome, evaluate_policy
from authorizers.core.request import EventKind, Request
from authorizers.core.route_arn import MAX_RESOURCE_CHARS
from authorizers.core.routes import (
    ANY_METHOD,
    NotCacheSafe,
    PolicyResources,
    RouteTemplate,
    all_routes,
    cache_safe_resources,
)

ANONYMOUS = "anonymous"


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorizer's answer. Build it with the class methods, which keep it consistent."""

    effect: Effect
    principal_id: str
    resources: PolicyResources
    context: Mapping[str, ContextValue] = field(default_factory=lambda: MappingProxyType({}))
    #: The API Gateway key value of the caller's usage plan (REST). A secret: never logged.
    usage_identifier_key: str | None = field(default=None, repr=False)
    reason: Reason | None = None
    #: False when the policy is scoped to this request only (see ``routes.NotCacheSafe``).
    cache_safe: bool = True
    #: Set by the class methods, which build the policy so that it gives ``effect`` for the
    #: request; the renderer re-evaluates only decisions built any other way. Not an init
    #: field, so ``dataclasses.replace`` (which may change the effect) always clears it.
    consistent: bool = field(default=False, init=False, repr=False, compare=False)

    def _checked(self) -> Decision:
        object.__setattr__(self, "consistent", True)
        return self

    @classmethod
    def allow_all(
        cls,
        request: Request,
        principal_id: str,
        *,
        context: Mapping[str, ContextValue] | None = None,
        usage_identifier_key: str | None = None,
    ) -> Decision:
        """Allow every route of the API and stage: for decisions that do not depend on the
        route (authentication only)."""
        return cls(
            effect=Effect.ALLOW,
            principal_id=principal_id,
            resources=all_routes(request.arn),
            context=MappingProxyType(dict(context or {})),
            usage_identifier_key=usage_identifier_key,
        )._checked()

    @classmethod
    def for_routes(
        cls,
        request: Request,
        principal_id: str,
        *,
        allowed: Iterable[RouteTemplate],
        table: Sequence[RouteTemplate],
        denied_reason: Reason,
        others_allowed: bool = False,
        context: Mapping[str, ContextValue] | None = None,
        usage_identifier_key: str | None = None,
    ) -> Decision:
        """Allow exactly the routes of ``table`` the principal may call (``allowed``), and,
        with ``others_allowed``, every route the table does not name.

        The effect for this request follows from evaluating the resulting policy against the
        request ARN; when it is a Deny, ``denied_reason`` says why. When no cache-safe policy
        exists the policy covers this request only and ``cache_safe`` is False.

        A request to a route the table does not name (and ``others_allowed`` is off) is denied
        even where an allowed pattern would reach it (``/orders/*`` reaches an unlisted
        ``/orders/7/refunds``): the policy gets an explicit Deny for this ARN and the decision
        is not cache-safe. A cached answer replayed for *another* unlisted route cannot be
        corrected, which is why the table must list every route the authorizer guards.
        """
        allowed = tuple(allowed)
        try:
            resources = cache_safe_resources(
                request.arn, allowed, table, others_allowed=others_allowed
            )
            cache_safe = True
        except NotCacheSafe:
            resources = _this_request_only(request, allowed, table, others_allowed=others_allowed)
            cache_safe = False
        if not others_allowed and not _known_route(request, table):
            resources = _deny_this_request(request, resources)
            cache_safe = False
        if not resources.allow:
            resources = PolicyResources(allow=(), deny=(request.arn.all_routes(),))
        outcome = evaluate_policy(render_policy(resources), request.arn.arn)
        allowed_here = outcome is PolicyOutcome.ALLOW
        return cls(
            effect=Effect.ALLOW if allowed_here else Effect.DENY,
            principal_id=principal_id,
            resources=resources,
            context=MappingProxyType(dict(context or {})),
            # Kept on a Deny too: the cached response may be replayed for a route it allows,
            # where API Gateway needs the key (usage plans).
            usage_identifier_key=usage_identifier_key,
            reason=None if allowed_here else denied_reason,
            cache_safe=cache_safe,
        )._checked()

    @classmethod
    def verified(
        cls,
        request: Request,
        *,
        effect: Effect,
        principal_id: str,
        resources: PolicyResources,
        context: Mapping[str, ContextValue] | None = None,
        usage_identifier_key: str | None = None,
        reason: Reason | None = None,
    ) -> Decision | None:
        """A decision whose policy is ``resources``, when that policy gives ``effect`` for
        ``request``; ``None`` when it does not (the caller then answers for this request
        only). Evaluated here, so the renderer does not evaluate it again. Only this request
        is checked: that ``resources`` are right for every other route the cached answer may
        be replayed for is the caller's to guarantee.

        Raises ``PolicyDocumentError`` for a resource the matcher refuses (over 512
        characters), as the renderer would.
        """
        outcome = evaluate_policy(render_policy(resources), request.arn.arn)
        if (outcome is PolicyOutcome.ALLOW) != (effect is Effect.ALLOW):
            return None
        return cls(
            effect=effect,
            principal_id=principal_id,
            resources=resources,
            context=MappingProxyType(dict(context or {})),
            usage_identifier_key=usage_identifier_key,
            reason=reason,
        )._checked()

    def with_context(self, context: Mapping[str, ContextValue]) -> Decision:
        """This decision with another ``context``; still checked if it was (the context is
        not part of the policy)."""
        changed = replace(self, context=MappingProxyType(dict(context)))
        return changed._checked() if self.consistent else changed

    def for_this_request(self, request: Request) -> Decision:
        """This decision with a policy naming ``request``'s ARN only (not cache-safe): for an
        answer that holds for this request and no other, such as one whose CSRF proof was
        checked for this method only. An Allow for an ARN too long to name is a Deny."""
        arn = request.arn.arn
        if self.effect is Effect.ALLOW and len(arn) > MAX_RESOURCE_CHARS:
            return Decision.deny(request, Reason.UNKNOWN_ROUTE, principal_id=self.principal_id)
        if self.effect is Effect.ALLOW:
            resources = PolicyResources(allow=(arn,))
        else:
            resources = PolicyResources(allow=(), deny=(request.arn.all_routes(),))
        return replace(self, resources=resources, cache_safe=False)._checked()

    @classmethod
    def deny(
        cls,
        request: Request,
        reason: Reason,
        *,
        principal_id: str = ANONYMOUS,
        context: Mapping[str, ContextValue] | None = None,
    ) -> Decision:
        """Deny every route of the API and stage."""
        return cls(
            effect=Effect.DENY,
            principal_id=principal_id or ANONYMOUS,
            resources=PolicyResources(allow=(), deny=(request.arn.all_routes(),)),
            context=MappingProxyType(dict(context or {})),
            reason=reason,
        )._checked()


def render_policy(resources: PolicyResources) -> dict[str, object]:
    """The IAM policy document for ``resources``: one Allow and one Deny statement at most."""
    statements: list[dict[str, object]] = []
    if resources.allow:
        statements.append(
            {"Action": INVOKE_ACTION, "Effect": "Allow", "Resource": list(resources.allow)}
        )
    if resources.deny:
        statements.append(
            {"Action": INVOKE_ACTION, "Effect": "Deny", "Resource": list(resources.deny)}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _known_route(request: Request, table: Sequence[RouteTemplate]) -> bool:
    """Is this request for a route of the table (as the event names it, or by its path)?"""
    named = set(_routed_templates(request))
    if named:
        return bool(named & set(table))
    method = request.method
    return method is not None and any(r.matches(method, request.path) for r in table)


def _deny_this_request(request: Request, resources: PolicyResources) -> PolicyResources:
    arn = request.arn.arn
    if len(arn) > MAX_RESOURCE_CHARS:  # cannot be named in a policy: deny everything instead
        return PolicyResources(allow=(), deny=(request.arn.all_routes(),))
    return PolicyResources(allow=resources.allow, deny=(*resources.deny, arn))


def _this_request_only(
    request: Request,
    allowed: tuple[RouteTemplate, ...],
    table: Sequence[RouteTemplate],
    *,
    others_allowed: bool,
) -> PolicyResources:
    """Allow the exact request ARN when the route API Gateway chose for it is allowed.

    The chosen route comes from the event (REST ``resource``, HTTP ``routeKey``). Without it we
    cannot tell which template applies: with ``others_allowed`` the request is allowed only when
    no table route that is not allowed could match its path; otherwise it is denied.
    """
    if len(request.arn.arn) > MAX_RESOURCE_CHARS:  # cannot be named in a policy
        return PolicyResources(allow=())
    routed = set(_routed_templates(request))
    if routed & set(table) & set(allowed):
        return PolicyResources(allow=(request.arn.arn,))
    if others_allowed and request.method is not None:
        forbidden = [r for r in table if r not in allowed]
        if not routed & set(table) and not any(
            r.matches(request.method, request.path) for r in forbidden
        ):
            return PolicyResources(allow=(request.arn.arn,))
    return PolicyResources(allow=())


def _routed_templates(request: Request) -> tuple[RouteTemplate, ...]:
    """The templates the event says it was routed to (its method, or ``ANY``)."""
    if request.route is None or request.method is None:
        return ()
    if request.kind is EventKind.HTTP_V2:
        method, _, path = request.route.partition(" ")
        if not path:  # "$default" carries no template
            return ()
    else:
        method, path = request.method, request.route
    return (RouteTemplate(method, path), RouteTemplate(ANY_METHOD, path))
