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

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final, Protocol

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.api_key.credential import presented_key
from authorizers.api_key.decide import decide as api_key_decide
from authorizers.api_key.keys import parse as parse_key
from authorizers.core.config import CoreConfig
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.core.request import Request
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.jwt_bearer.decide import decide as jwt_decide
from authorizers.jwt_bearer.token import bearer_token
from authorizers.mtls.authorizer import MtlsAuthorizer
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


class JwtAuthentication(JwtAuthorizer):
    """The JWT authorizer, stopping at the verified token."""

    def authenticate(self, request: Request) -> Identity:
        token = bearer_token(request.credential(self.config.header))
        verified = self.verifier.verify(token)
        revocation = self._revocation
        if revocation is not None:
            # As JwtAuthorizer.decide: (iss, jti/origin_jti) on the denylist -> Revoked.
            ids = [
                value
                for name in ("jti", "origin_jti")
                if isinstance(value := verified.claims.get(name), str)
            ]
            if revocation.is_revoked(verified.profile.issuer, ids):
                raise AuthenticationError(Reason.REVOKED)
        # No route rules here (refused in config): this applies the issuer-wide requirements
        # and builds the context, and is otherwise an allow-all.
        decision = jwt_decide(
            verified,
            request,
            rules=(),
            unmatched_allowed=False,
            context_claims=self.config.context_claims,
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


class ApiKeyAuthentication(ApiKeyAuthorizer):
    """The API key authorizer, stopping at the valid key record."""

    def authenticate(self, request: Request) -> Identity:
        key = parse_key(
            presented_key(request, self.config.header), environments=self.config.environments
        )
        record = self._store.lookup(key.hash)
        if record is None:
            raise AuthenticationError(Reason.UNKNOWN_CREDENTIAL)
        # Without rules this checks status and expiry and builds the context.
        decision = api_key_decide(
            record, request, now=self._clock.now(), rules=(), unmatched_allowed=False
        )
        attributes = {"key_id": record.key_id}
        if record.usage_plan is not None:
            attributes["usage_plan"] = record.usage_plan
        return Identity(
            type=PrincipalType.API_CLIENT,
            id=record.tenant,
            tenants=frozenset({record.tenant}),
            scopes=record.scopes,
            attributes=attributes,
            context=decision.context,
            usage_identifier_key=record.usage_identifier_key,
        )


class MtlsAuthentication(MtlsAuthorizer):
    """The mTLS authorizer, reading the identity from the context it builds."""

    def authenticate(self, request: Request) -> Identity:
        # The whole mTLS check (inspection, mapping, validity, revocation); its decision is
        # an allow-all whose context names the certificate (authorizers.mtls.decide).
        context = self.decide(request).context
        attributes = {
            "fingerprint": str(context["fingerprint"]),
            "issuer": str(context["issuer"]),
            "serial": str(context["serial"]),
        }
        if "subject_cn" in context:
            attributes["subject_cn"] = str(context["subject_cn"])
        tenant = context.get("tenant")
        return Identity(
            type=PrincipalType.DEVICE,
            id=str(context["principal"]),
            tenants=frozenset({str(tenant)}) if tenant is not None else frozenset(),
            attributes=attributes,
            context=context,
        )


def authenticator_from_environ(
    kind: AuthenticatorKind, environ: Mapping[str, str], *, in_lambda: bool
) -> Authenticator:
    """The configured authenticator, built through its own settings reader."""
    # Each from_environ builds ``cls(...)``: the adapter subclass, typed as its base.
    built: object
    if kind is AuthenticatorKind.JWT:
        built = JwtAuthentication.from_environ(environ, in_lambda=in_lambda)
    elif kind is AuthenticatorKind.API_KEY:
        built = ApiKeyAuthentication.from_environ(environ)
    else:
        built = MtlsAuthentication.from_environ(environ)
    if not isinstance(built, JwtAuthentication | ApiKeyAuthentication | MtlsAuthentication):
        raise TypeError("an authorizer's from_environ no longer builds cls(...)")
    return built
