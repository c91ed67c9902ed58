"""Certificate revocation lists: parse, verify against the issuing CA, look up serials.

Pure: bytes and a trust anchor in, a :class:`RevocationList` out; freshness takes ``now``.
Improves on the AWS sample (AWS Security Blog, "How to implement client certificate revocation
list checks at scale with API Gateway") in three ways:

- **Keyed by issuer.** A list belongs to one anchor (by key id); a serial is revoked only for
  the CA that revoked it. Two CAs may issue the same serial.
- **Verified.** The CRL's issuer name must be the anchor's subject and its signature must
  verify with the anchor's public key; a CRL signed by any other key is refused.
- **Freshness enforced here**, not delegated to a processor: past ``nextUpdate`` (plus an
  explicit grace) the list is stale and the caller fails closed. A CRL without ``nextUpdate``
  is refused (RFC 5280 section 5.1.2.5 requires it of conforming CAs).

Errors are :class:`InvalidCrl` or :class:`StaleCrl`, both :class:`UpstreamError` with reason
``UPSTREAM_UNAVAILABLE``: a bad or stale list is the publisher's fault, not the caller's, so
it is a Deny with an ``Error`` metric (an operator must act), never an Allow.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.mtls.certificate import TrustAnchor


class InvalidCrl(UpstreamError):
    """The CRL could not be parsed, or it is not signed by its CA's key."""

    def __init__(self) -> None:
        super().__init__(Reason.UPSTREAM_UNAVAILABLE)


class StaleCrl(UpstreamError):
    """The newest CRL we have is past ``nextUpdate`` plus the configured grace."""

    def __init__(self) -> None:
        super().__init__(Reason.UPSTREAM_UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class RevocationList:
    """The revoked serials of one CA, as of ``this_update``."""

    issuer_key_id: str
    serials: frozenset[int]
    this_update: float
    next_update: float

    def is_revoked(self, serial: int) -> bool:
        return serial in self.serials

    def check_fresh(self, now: float, grace_s: float) -> None:
        """Raise :class:`StaleCrl` once ``now`` is past ``next_update + grace_s``."""
        if now > self.next_update + grace_s:
            raise StaleCrl


def parse_crl(data: bytes, anchor: TrustAnchor) -> RevocationList:
    """A PEM or DER CRL issued by ``anchor`` -> its revoked serials.

    Raises
    ------
    InvalidCrl
        Unparseable, issued under another name, signed by another key, or no ``nextUpdate``.
    """
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            crl = x509.load_pem_x509_crl(data)
        else:
            crl = x509.load_der_x509_crl(data)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidCrl from None
    if crl.issuer != anchor.certificate.subject:
        raise InvalidCrl
    try:
        valid = crl.is_signature_valid(anchor.certificate.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        raise InvalidCrl
    next_update = crl.next_update_utc
    if next_update is None:
        raise InvalidCrl
    try:
        serials = frozenset(entry.serial_number for entry in crl)
    except ValueError:  # an undecodable entry: the list cannot be trusted whole
        raise InvalidCrl from None
    return RevocationList(
        issuer_key_id=anchor.key_id,
        serials=serials,
        this_update=crl.last_update_utc.timestamp(),
        next_update=next_update.timestamp(),
    )
