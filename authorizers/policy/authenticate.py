"""Authenticate with one of the other authorizers, and turn what it proves into an Identity.

Each adapter reuses its authorizer as it is (configuration, key caches, verification,
revocation): nothing of the verification is written twice here. What differs is the end: the
authorizer would decide alone; here we stop at *who the caller is* and hand that to Cedar.

- ``jwt_bearer``: the verified token -> ``User`` (principal claim as id, groups as ``Group``
  parents, scopes, issuer, client_id, username). Issuer-wide ``required_scopes`` and
  ``required_groups`` still apply (an authenticated Deny), as does the revocation list.
- ``api_key``: the stored key record (active, not expired) -> ``ApiClient`` (tenant as id and
  tenant, key scopes, key id, usage plan); the tenant's usage-plan key is passed through.
- ``mtls``: the inspected, mapped, revocation-checked certificate -> ``Device`` (mapped
  principal, tenant, fingerprint, issuing CA, serial, subject CN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Final, Protocol

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.api_key.decide import build_context as api_key_context
from authorizers.core.clock import Clock
from authorizers.core.config import CoreConfig
from authorizers.core.request import Request
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.jwt_bearer.decide import decide as jwt_decide
from authorizers.mtls.authorizer import MtlsAuthorizer
from authorizers.mtls.decide import build_context as mtls_context
from authorizers.policy.model import Identity, PrincipalType


class AuthenticatorKind(StrEnum):
    JWT = "jwt_bearer"
    API_KEY = "api_key"
    MTLS = "mtls"


#: The settings an authenticator uses to decide routes alone: refused here (Cedar decides).
ROUTE_SETTINGS: Final[Mapping[AuthenticatorKind, tuple[str, ...]]] = {
    AuthenticatorKind.JWT: ("GATEHOUSE_JWT_ROUTES", "GATEHOUSE_JWT_UNMATCHED_ROUTES"),
    AuthenticatorKind.API_KEY: ("GATEHOUSE_APIKEY_ROUTES", "GATEHOUSE_APIKEY_UNMATCHED_ROUTES"),
    AuthenticatorKind.MTLS: (),
}


class Authenticator(Protocol):
    """Proves who the caller is; raises the core's InvalidRequest/Authentication/AccessDenied
    errors exactly as the authorizer it wraps does."""

    @property
    def core(self) -> CoreConfig: ...

    def authenticate(self, request: Request) -> Identity: ...


class JwtAuthentication:
    """The JWT authorizer's ``authenticate`` step, as a ``User``."""

    def __init__(self, authorizer: JwtAuthorizer) -> None:
        self.authorizer = authorizer

    @property
    def core(self) -> CoreConfig:
        return self.authorizer.core

    def authenticate(self, request: Request) -> Identity:
        verified = self.authorizer.authenticate(request)
        # No route rules here (refused in config): this applies the issuer-wide requirements
        # and builds the context, and is otherwise an allow-all.
        decision = jwt_decide(
            verified,
            request,
            rules=(),
            unmatched_allowed=False,
            context_claims=self.authorizer.config.context_claims,
        )
        claims: Mapping[str, Any] = verified.claims
        attributes = {"issuer": verified.profile.issuer}
        for name in ("client_id", "username"):
            value = claims.get(name)
            if isinstance(value, str) and value:
                attributes[name] = value
        return Identity(
            type=PrincipalType.USER,
            id=verified.principal,
            groups=verified.groups,
            scopes=verified.scopes,
            attributes=attributes,
            claims=claims,
            context=decision.context,
        )


class ApiKeyAuthentication:
    """The API key authorizer's ``authenticate`` step, as an ``ApiClient``."""

    def __init__(self, authorizer: ApiKeyAuthorizer) -> None:
        self.authorizer = authorizer

    @property
    def core(self) -> CoreConfig:
        return self.authorizer.core

    def authenticate(self, request: Request) -> Identity:
        record = self.authorizer.authenticate(request)
        attributes = {"key_id": record.key_id}
        if record.usage_plan is not None:
            attributes["usage_plan"] = record.usage_plan
        return Identity(
            type=PrincipalType.API_CLIENT,
            id=record.tenant,
            tenants=frozenset({record.tenant}),
            scopes=record.scopes,
            attributes=attributes,
            context=api_key_context(record),
            usage_identifier_key=record.usage_identifier_key,
        )


class MtlsAuthentication:
    """The mTLS authorizer's ``authenticate`` step, as a ``Device``."""

    def __init__(self, authorizer: MtlsAuthorizer) -> None:
        self.authorizer = authorizer

    @property
    def core(self) -> CoreConfig:
        return self.authorizer.core

    def authenticate(self, request: Request) -> Identity:
        # The whole mTLS check: inspection, mapping, validity, revocation.
        facts, mapped = self.authorizer.authenticate(request)
        attributes = {
            "fingerprint": facts.fingerprint,
            "issuer": facts.issuer_key_id,
            "serial": facts.serial_hex,
        }
        if facts.subject_cn is not None:
            attributes["subject_cn"] = facts.subject_cn
        return Identity(
            type=PrincipalType.DEVICE,
            id=mapped.principal,
            tenants=frozenset({mapped.tenant}) if mapped.tenant is not None else frozenset(),
            attributes=attributes,
            context=mtls_context(facts, mapped),
        )


def authenticator_from_environ(
    kind: AuthenticatorKind,
    environ: Mapping[str, str],
    *,
    in_lambda: bool,
    fetch: Callable[[str], object] | None = None,
    clock: Clock | None = None,
) -> Authenticator:
    """The configured authenticator, built through its own settings reader (``fetch`` and
    ``clock``: see :meth:`JwtAuthorizer.from_environ`)."""
    if kind is AuthenticatorKind.JWT:
        return JwtAuthentication(
            JwtAuthorizer.from_environ(environ, in_lambda=in_lambda, fetch=fetch, clock=clock)
        )
    if kind is AuthenticatorKind.API_KEY:
        return ApiKeyAuthentication(ApiKeyAuthorizer.from_environ(environ, clock=clock))
    return MtlsAuthentication(MtlsAuthorizer.from_environ(environ, clock=clock))
