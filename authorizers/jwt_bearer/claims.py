"""Claim rules, applied only after the signature is verified. Pure: ``now`` is passed in.

Stricter than the anchors where they are weak (docs/jwt-attacks.md: the rows cited below, and
"aws-jwt-verify, probed"): ``exp`` is required
(row 13), ``iat`` may not be in the future (row 15), every consumed claim has its JSON type
checked, never coerced (``"exp": "9999999999"`` is refused; row 16), ``iss`` is compared
exactly (row 17), the audience or Cognito ``client_id`` must be configured (row 18), and
Cognito ``token_use`` and the ``typ`` header are checked per issuer (row 19). Scopes and groups
are exact, case-sensitive sets (row 20).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.jwt_bearer.issuers import IssuerKind, IssuerProfile, TokenUse


class VerifiedToken(NamedTuple):
    """A token whose signature and claims passed: what the decision step may use.

    (A tuple, immutable and cheaper to build per request than a frozen dataclass.)
    """

    profile: IssuerProfile
    claims: Mapping[str, Any]
    principal: str
    scopes: frozenset[str]
    groups: frozenset[str]
    #: Proven bound to its sender: its ``cnf`` certificate matched, or its DPoP proof passed.
    bound: bool = False
    #: Read from the browser's session cookie (session.py): its CSRF proof was checked for
    #: this request's method only, so its answer may not reach any other request.
    session: bool = False

    def __repr__(self) -> str:
        return f"VerifiedToken(issuer={self.profile.issuer!r}, principal={self.principal!r})"


#: Far beyond any real time claim (year ~33,000), small enough for a float.
_MAX_TIME = 10**12
#: Optional claims that are strings when present (revocation keys, Cognito identities).
_STRING_CLAIMS = ("sub", "jti", "origin_jti", "client_id", "username")


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    # Absent is decided by the member's presence, never by its value: ``"nbf": null`` is a
    # claim of the wrong type (refused below), not a missing one.
    if name not in claims:
        if required:
            raise AuthenticationError(Reason.INVALID_CLAIMS)
        return None
    value = claims[name]
    # bool is an int in Python; a JSON true is not a time. A JSON integer too large for a float
    # (10**309) would make float() overflow: refused like any other non-time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    if isinstance(value, int) and not -_MAX_TIME <= value <= _MAX_TIME:
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    if not math.isfinite(value):
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    return float(value)


def _strings(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    return frozenset(value)


def _optional_strings(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    """A list-of-strings claim; absent is empty, present with any other JSON type (``null``
    included) is ``INVALID_CLAIMS``."""
    return _strings(claims[name]) if name in claims else frozenset()


def check_time(
    claims: Mapping[str, Any], profile: IssuerProfile, now: float, leeway: float
) -> None:
    exp = _number(claims, "exp", required=True)
    nbf = _number(claims, "nbf", required=False)
    iat = _number(claims, "iat", required=profile.max_lifetime_s is not None)
    assert exp is not None  # noqa: S101 - required above; narrows the type
    if now > exp + leeway:
        raise AuthenticationError(Reason.EXPIRED)
    if nbf is not None and nbf - leeway > now:
        raise AuthenticationError(Reason.NOT_YET_VALID)
    if iat is not None:
        if iat - leeway > now:
            raise AuthenticationError(Reason.NOT_YET_VALID)
        if profile.max_lifetime_s is not None and exp - iat > profile.max_lifetime_s:
            raise AuthenticationError(Reason.INVALID_CLAIMS)


def check_audience(claims: Mapping[str, Any], profile: IssuerProfile) -> None:
    if profile.kind is IssuerKind.COGNITO:
        token_use = claims.get("token_use")
        if token_use != (profile.token_use or TokenUse.ACCESS).value:
            raise AuthenticationError(Reason.INVALID_CLAIMS)
        # Access tokens name the app client in client_id (no aud); ID tokens in aud.
        name = "client_id" if token_use == TokenUse.ACCESS.value else "aud"
        client = claims.get(name)
        if not isinstance(client, str) or client not in profile.audiences:
            raise AuthenticationError(Reason.INVALID_CLAIMS)
        return
    if "aud" not in claims:
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    aud = claims["aud"]
    values = frozenset([aud]) if isinstance(aud, str) else _strings(aud)
    if not values or values.isdisjoint(profile.audiences):
        raise AuthenticationError(Reason.INVALID_CLAIMS)


def check_typ(header: Mapping[str, Any], profile: IssuerProfile) -> None:
    if profile.typ is None:
        return
    typ = header.get("typ")
    if not isinstance(typ, str):
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    normalized = typ.lower().removeprefix("application/")
    if normalized not in profile.typ:
        raise AuthenticationError(Reason.INVALID_CLAIMS)


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """``scope`` (space-separated string, RFC 8693/9068) or ``scp`` (a list, some IdPs).

    ``scp`` is read only when ``scope`` is absent: a ``"scope": null`` must not hand the
    decision to whatever ``scp`` says, so it is ``INVALID_CLAIMS`` like any non-string.
    """
    if "scope" in claims:
        scope = claims["scope"]
        if not isinstance(scope, str):
            raise AuthenticationError(Reason.INVALID_CLAIMS)
        return frozenset(scope.split())
    return _optional_strings(claims, "scp")


def check_claims(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    profile: IssuerProfile,
    *,
    now: float,
    leeway: float,
    principal_claim: str,
) -> VerifiedToken:
    """Every claim rule for ``profile``; returns what the decision may use.

    Raises ``AuthenticationError`` with ``EXPIRED``, ``NOT_YET_VALID`` or ``INVALID_CLAIMS``.
    """
    if claims.get("iss") != profile.issuer:
        raise AuthenticationError(Reason.UNTRUSTED_ISSUER)
    check_time(claims, profile, now, leeway)
    check_audience(claims, profile)
    check_typ(header, profile)
    # Present means a string: a "jti": null read as absent would skip the revocation lookup.
    for name in _STRING_CLAIMS:
        if name in claims and not isinstance(claims[name], str):
            raise AuthenticationError(Reason.INVALID_CLAIMS)
    principal = claims.get(principal_claim)
    if not isinstance(principal, str) or not principal:
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    return VerifiedToken(
        profile=profile,
        claims=claims,
        principal=principal,
        scopes=scopes_of(claims),
        groups=_optional_strings(claims, profile.groups_claim),
    )
