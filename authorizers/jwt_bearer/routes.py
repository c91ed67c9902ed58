"""Route rules: which scopes and groups each route needs. Pure."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from authorizers.core.exceptions import Reason
from authorizers.core.routes import Match, RouteTemplate, satisfied


@dataclass(frozen=True, slots=True)
class RouteRule:
    """``route`` needs ``scopes`` (all-of by default) and ``groups`` (any-of by default);
    ``sender_constrained``: and a token proven bound to its sender (RFC 8705 certificate or
    RFC 9449 DPoP key), where the issuer's own mode may be ``optional``."""

    route: RouteTemplate
    scopes: frozenset[str] = frozenset()
    scopes_match: Match = Match.ALL
    groups: frozenset[str] = frozenset()
    groups_match: Match = Match.ANY
    sender_constrained: bool = False

    def failure(
        self, scopes: frozenset[str], groups: frozenset[str], *, bound: bool
    ) -> Reason | None:
        """Why a principal with ``scopes`` and ``groups`` (its token ``bound`` or not) may not
        call the route, or None."""
        if self.sender_constrained and not bound:
            return Reason.UNBOUND_TOKEN
        if not satisfied(self.scopes, scopes, self.scopes_match):
            return Reason.INSUFFICIENT_SCOPE
        if not satisfied(self.groups, groups, self.groups_match):
            return Reason.NOT_IN_GROUP
        return None


@functools.lru_cache(maxsize=256)  # claim names come from the settings: a handful, trusted
def context_key(claim: str) -> str:
    """The context key a claim is returned under: ``cognito:groups`` -> ``cognito_groups``."""
    return claim.replace(":", "_").replace("-", "_")
