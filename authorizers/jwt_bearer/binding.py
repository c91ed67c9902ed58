"""Certificate-bound access tokens (RFC 8705, section 3): the token holds, in its ``cnf``
claim, the SHA-256 thumbprint (``x5t#S256``) of the client certificate it was issued to, and
is accepted only over an mTLS connection with that certificate.

Pure: the client certificate is the one API Gateway passed in the event (REST
``identity.clientCert``, HTTP API ``authentication.clientCert``), already verified by the
domain's truststore. Per issuer (``certificate_binding``):

- ``off``: tokens are bearer tokens; one that says it is bound (``cnf``) is refused, since
  RFC 8705 section 3 asks the resource server to check what it cannot check here;
- ``optional``: a token with ``cnf.x5t#S256`` needs that certificate; one without ``cnf`` is
  a bearer token;
- ``required``: every token needs ``cnf.x5t#S256`` and that certificate.

In every mode a ``cnf`` is never skipped: a DPoP key (``cnf.jkt``, RFC 9449) needs its
checked proof (``dpop_proven``), and any other confirmation method (RFC 7800 ``jwk``,
``jku``, ``kid``...) is refused (a stolen bound token sent as Bearer stays stolen).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.jwt_bearer.token import b64url

__all__ = ["CertificateBinding", "certificate_thumbprint", "check_certificate_binding"]

_THUMBPRINT: Final = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, no padding
# One character class between the markers (no overlapping repeats: linear time).
_PEM: Final = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----"
)
_MAX_PEM: Final = 16_384
_CONFIRMATIONS: Final = frozenset({"x5t#S256", "jkt"})


class CertificateBinding(StrEnum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


def certificate_thumbprint(pem: str) -> str:
    """``x5t#S256`` of a PEM certificate: base64url (no padding) of the SHA-256 of its DER.

    Raises ValueError when ``pem`` is not one PEM certificate (RFC 7468).
    """
    text = pem.strip()
    match = _PEM.fullmatch(text) if len(text) <= _MAX_PEM else None
    if match is None:
        raise ValueError("not one PEM certificate")
    try:
        der = base64.b64decode("".join(match["body"].split()), validate=True)
    except binascii.Error:
        raise ValueError("not one PEM certificate") from None
    digest = hashlib.sha256(der).digest()
    return b64url(digest)


def check_certificate_binding(
    claims: Mapping[str, Any],
    mode: CertificateBinding,
    certificate_pem: str | None,
    *,
    dpop_proven: bool = False,
) -> bool:
    """Raises AuthenticationError unless the token may be used with this certificate;
    returns whether it is bound to its sender (its certificate matched, or its DPoP key's
    proof was checked: ``dpop_proven``).

    ``UnboundToken``: ``required`` and the token names no certificate; a bound token this
    mode cannot check (``off``), a DPoP key without its proof, or another confirmation
    method. ``BindingMismatch``: no client certificate, or another one. ``InvalidClaims``: a
    malformed ``cnf`` (``null`` included, as for every claim).
    """
    if "cnf" not in claims:
        if mode is CertificateBinding.REQUIRED:
            raise AuthenticationError(Reason.UNBOUND_TOKEN)
        return False
    cnf = claims["cnf"]
    if not isinstance(cnf, dict) or not cnf:
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    if not _CONFIRMATIONS.issuperset(cnf):
        raise AuthenticationError(Reason.UNBOUND_TOKEN)  # a confirmation method not checked
    if "jkt" in cnf and not dpop_proven:
        raise AuthenticationError(Reason.UNBOUND_TOKEN)  # DPoP-bound, and not proven
    if "x5t#S256" not in cnf:
        if mode is CertificateBinding.REQUIRED:
            raise AuthenticationError(Reason.UNBOUND_TOKEN)
        return True  # DPoP-bound, proven
    if mode is CertificateBinding.OFF:
        raise AuthenticationError(Reason.UNBOUND_TOKEN)  # bound to a certificate not checked
    _check_thumbprint(cnf["x5t#S256"], certificate_pem)
    return True


def _check_thumbprint(expected: object, certificate_pem: str | None) -> None:
    if not isinstance(expected, str) or not _THUMBPRINT.fullmatch(expected):
        raise AuthenticationError(Reason.INVALID_CLAIMS)
    if certificate_pem is None:
        raise AuthenticationError(Reason.BINDING_MISMATCH)
    try:
        presented = certificate_thumbprint(certificate_pem)
    except ValueError:
        raise AuthenticationError(Reason.BINDING_MISMATCH) from None
    if not hmac.compare_digest(expected, presented):
        raise AuthenticationError(Reason.BINDING_MISMATCH)
