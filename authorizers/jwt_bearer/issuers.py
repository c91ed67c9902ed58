"""Trusted issuers: what each configured issuer accepts.

An issuer profile is the whole trust decision for one ``iss`` value: where its keys come from,
which algorithms it may use, which audiences or Cognito app clients it serves, which token use
and ``typ`` it issues. A token is matched to a profile by its (not yet verified) ``iss`` among
the configured ones only; an unknown issuer is refused without any lookup or fetch, and trust
anchors are never derived from the token (aws-jwt-verify #36).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from authorizers.jwt_bearer.binding import CertificateBinding

COGNITO_POOL_ID: Final = re.compile(r"(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)_[A-Za-z0-9]+")


class IssuerKind(StrEnum):
    COGNITO = "cognito"
    OIDC = "oidc"


class TokenUse(StrEnum):
    ACCESS = "access"
    ID = "id"


@dataclass(frozen=True, slots=True)
class IssuerProfile:
    """One trusted issuer (a Cognito pool yields one profile per issuer format)."""

    kind: IssuerKind
    issuer: str
    #: None: discover from ``{issuer}/.well-known/openid-configuration`` (OIDC only).
    jwks_uri: str | None
    algorithms: frozenset[str]
    #: OIDC: accepted ``aud`` values. Cognito: accepted app client ids.
    audiences: frozenset[str]
    token_use: TokenUse | None = None
    #: Accepted ``typ`` header values (lower-case, without ``application/``); None: not checked.
    typ: frozenset[str] | None = None
    required_scopes: frozenset[str] = frozenset()
    required_groups: frozenset[str] = frozenset()
    groups_claim: str = "cognito:groups"
    max_lifetime_s: int | None = None
    #: A JWKS document from configuration: a cold start needs no network.
    preloaded_jwks: dict[str, Any] | None = None
    #: Certificate-bound tokens (RFC 8705): off, optional or required (binding.py).
    certificate_binding: CertificateBinding = CertificateBinding.OFF
    #: DPoP-bound tokens (RFC 9449): off, optional or required (dpop.py).
    dpop: CertificateBinding = CertificateBinding.OFF


def cognito_issuers(pool_id: str, formats: tuple[str, ...]) -> list[tuple[str, str]]:
    """(issuer, jwks_uri) for a user pool, per issuer format.

    ``regional``: ``https://cognito-idp.{region}.amazonaws.com/{pool}``;
    ``multi-region``: ``https://issuer.cognito-idp.{region}.amazonaws.com/{pool}`` (pools with
    multi-region replication). Raises ValueError for a malformed pool id or format.
    """
    match = COGNITO_POOL_ID.fullmatch(pool_id)
    if match is None:
        raise ValueError("user_pool_id looks like eu-west-1_AbCdEf123")
    region = match["region"]
    hosts = {
        "regional": f"cognito-idp.{region}.amazonaws.com",
        "multi-region": f"issuer.cognito-idp.{region}.amazonaws.com",
    }
    out = []
    for fmt in formats:
        if fmt not in hosts:
            raise ValueError("issuer_formats are 'regional' and/or 'multi-region'")
        issuer = f"https://{hosts[fmt]}/{pool_id}"
        out.append((issuer, f"{issuer}/.well-known/jwks.json"))
    return out
