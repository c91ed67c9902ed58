"""Client certificate inspection: PEM -> :class:`CertificateFacts`, or a core exception.

Pure: no IO, no clock (``now`` is passed in), no environment. We use ``cryptography`` for
parsing and signatures; the *policy* (what a client certificate must look like) is ours,
because API Gateway checks only syntax, chaining and the validity window against the
truststore, and leaves further checks, revocation included, to a Lambda authorizer (AWS: "How
to turn on mutual TLS authentication for your REST APIs in API Gateway"), and no library
applies our rules (docs/mtls.md, "What is checked, in order"):

- **Size first.** A PEM over :data:`MAX_PEM_CHARS`, or one that is not exactly one
  ``CERTIFICATE`` block, is refused before parsing (``MALFORMED_CREDENTIALS``).
- **Validity window** with a small leeway for clock skew (``EXPIRED`` / ``NOT_YET_VALID``).
- **An end-entity certificate.** ``BasicConstraints.ca`` must be false: a CA or intermediate
  certificate presented as a client is refused, even when a trusted CA issued it.
- **Strength.** RSA keys of at least ``min_rsa_bits`` (never below 2048), EC keys on P-256,
  P-384 or P-521; signatures with SHA-256, SHA-384 or SHA-512. Anything else (DSA, SHA-1,
  MD5, Ed25519) is refused: API Gateway's own floor, restated for other fronts.
- **Usage.** ``ExtendedKeyUsage`` must list ``clientAuth`` (a server-only certificate is not a
  client credential); a ``KeyUsage`` extension, when present, must allow ``digitalSignature``.
- **Issued directly by a trust anchor, matched by key.** Candidate anchors are found by issuer
  name, then the certificate's signature is verified with the anchor's public key
  (``verify_directly_issued_by``): a certificate that merely *names* a trusted CA as issuer
  fails. Only the CAs of the bundle issue: a leaf under an intermediate that is not itself in
  the bundle is refused (no chain building).

Every failure that concerns the certificate's content is ``UNTRUSTED_CERTIFICATE`` (401):
the caller learns no more than that. No exception carries any part of the PEM.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from authorizers.core.exceptions import AuthenticationError, InvalidRequestError, Reason

#: A client certificate PEM bigger than this did not come from a sane client. API Gateway
#: caps the leaf far lower in practice; 16 KiB leaves room for many SANs.
MAX_PEM_CHARS: Final = 16_384
MIN_RSA_BITS: Final = 2048
ALLOWED_CURVES: Final = frozenset({"secp256r1", "secp384r1", "secp521r1"})
ALLOWED_HASHES: Final = frozenset({"sha256", "sha384", "sha512"})
_PEM_BLOCK: Final = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
#: What ``cryptography`` raises for DER it cannot read, at load or when a name or the
#: extensions are first decoded. Not all are ValueErrors (an unknown version number, a
#: repeated extension, a name attribute of the wrong string type is a TypeError): uncaught,
#: a crafted certificate would end as an internal fault (Deny with the Error alarm), not a 401.
_UNREADABLE: Final = (ValueError, TypeError, x509.InvalidVersion, x509.DuplicateExtension)


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """A CA of the truststore bundle: it may issue client certificates directly."""

    certificate: x509.Certificate
    #: The CA's key identifier (SubjectKeyIdentifier, or RFC 5280 method 1 from its key),
    #: lower-case hex: how CRLs, rules and logs name the CA.
    key_id: str


@dataclass(frozen=True, slots=True)
class CertificatePolicy:
    leeway_s: float = 60
    min_rsa_bits: int = MIN_RSA_BITS
    require_client_auth_eku: bool = True


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What the checks established about one client certificate. Holds no PEM."""

    #: SHA-256 of the DER encoding, lower-case hex (no colons).
    fingerprint: str
    serial: int
    #: Key id of the anchor that issued it (see :attr:`TrustAnchor.key_id`).
    issuer_key_id: str
    subject_cn: str | None
    dns_names: tuple[str, ...]
    uris: tuple[str, ...]
    emails: tuple[str, ...]
    not_before: float
    not_after: float

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")


def _untrusted() -> AuthenticationError:
    return AuthenticationError(Reason.UNTRUSTED_CERTIFICATE)


def parse_pem(pem: str) -> x509.Certificate:
    """Exactly one PEM ``CERTIFICATE`` block -> certificate, else ``MALFORMED_CREDENTIALS``."""
    if len(pem) > MAX_PEM_CHARS:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    blocks = _PEM_BLOCK.findall(pem)
    if blocks != ["CERTIFICATE"]:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (*_UNREADABLE, UnicodeEncodeError, UnsupportedAlgorithm):
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS) from None


_PEM_HEADER: Final = "-----BEGIN CERTIFICATE-----"
_PEM_FOOTER: Final = "-----END CERTIFICATE-----"


def pem_fingerprint(pem: str) -> str | None:
    """SHA-256 of the DER inside a single-block PEM, without parsing the certificate.

    The result cache is keyed by this; a hit is only possible for DER bytes that were fully
    inspected before (the fingerprint is of the exact bytes), so skipping the parse on a hit
    is safe. Anything unusual (other blocks, headers, bad base64) returns None and takes the
    full path, which decides whether it is acceptable.
    """
    if len(pem) > MAX_PEM_CHARS:
        return None
    text = pem.strip()
    if (
        not text.startswith(_PEM_HEADER)
        or not text.endswith(_PEM_FOOTER)
        or text.count("-----") != 4  # exactly one BEGIN and one END line
    ):
        return None
    body = text[len(_PEM_HEADER) : -len(_PEM_FOOTER)].replace("\r", "").replace("\n", "")
    # a2b_base64 raises a plain ValueError (not binascii.Error) for a non-ASCII str.
    if not body.isascii():
        return None
    try:
        der = binascii.a2b_base64(body, strict_mode=True)
    except binascii.Error:
        return None
    return hashlib.sha256(der).hexdigest()


def key_id_of(certificate: x509.Certificate) -> str:
    """The certificate's SubjectKeyIdentifier (computed from its key when absent), as hex."""
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ski.value.key_identifier.hex()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(
            certificate.public_key()
        ).key_identifier.hex()


def load_trust_anchors(bundle: str) -> tuple[TrustAnchor, ...]:
    """A PEM bundle of CA certificates -> anchors. ``ValueError`` names the problem (not the
    content): not PEM, a certificate that is not a CA, or the same CA twice."""
    try:
        certificates = x509.load_pem_x509_certificates(bundle.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError("is not a PEM bundle of CA certificates") from None
    anchors: list[TrustAnchor] = []
    for index, certificate in enumerate(certificates, start=1):
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound:
            raise ValueError(f"certificate {index} has no BasicConstraints; not a CA") from None
        if not constraints.value.ca:
            raise ValueError(f"certificate {index} is not a CA (BasicConstraints ca=false)")
        try:
            key_id = key_id_of(certificate)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError(f"certificate {index} has a key type we cannot use") from None
        anchors.append(TrustAnchor(certificate=certificate, key_id=key_id))
    ids = [a.key_id for a in anchors]
    if len(set(ids)) != len(ids):
        raise ValueError("lists the same CA key twice")
    return tuple(anchors)


def inspect(
    certificate: x509.Certificate,
    anchors: Sequence[TrustAnchor],
    policy: CertificatePolicy,
    now: float,
) -> CertificateFacts:
    """Run every check of the module docstring; return the facts or raise.

    Raises
    ------
    AuthenticationError
        ``EXPIRED``, ``NOT_YET_VALID`` or ``UNTRUSTED_CERTIFICATE``.
    """
    not_before = certificate.not_valid_before_utc.timestamp()
    not_after = certificate.not_valid_after_utc.timestamp()
    check_validity(not_before, not_after, now, policy.leeway_s)
    _check_end_entity(certificate)
    _check_strength(certificate, policy.min_rsa_bits)
    _check_usage(certificate, require_client_auth=policy.require_client_auth_eku)
    anchor = issuing_anchor(certificate, anchors)
    return CertificateFacts(
        fingerprint=hashlib.sha256(
            certificate.public_bytes(serialization.Encoding.DER)
        ).hexdigest(),
        serial=certificate.serial_number,
        issuer_key_id=anchor.key_id,
        subject_cn=_common_name(certificate),
        dns_names=_sans(certificate, x509.DNSName),
        uris=_sans(certificate, x509.UniformResourceIdentifier),
        emails=_sans(certificate, x509.RFC822Name),
        not_before=not_before,
        not_after=not_after,
    )


def check_validity(not_before: float, not_after: float, now: float, leeway_s: float) -> None:
    """``NOT_YET_VALID`` before ``not_before - leeway``, ``EXPIRED`` after ``not_after +
    leeway``."""
    if now + leeway_s < not_before:
        raise AuthenticationError(Reason.NOT_YET_VALID)
    if now - leeway_s > not_after:
        raise AuthenticationError(Reason.EXPIRED)


def issuing_anchor(certificate: x509.Certificate, anchors: Sequence[TrustAnchor]) -> TrustAnchor:
    """The anchor whose key signed ``certificate``, or ``UNTRUSTED_CERTIFICATE``.

    Several anchors may share a name (a CA re-keyed): each is tried, and only a verified
    signature counts.
    """
    issuer = _issuer_name(certificate)
    for anchor in anchors:
        if anchor.certificate.subject != issuer:
            continue
        try:
            certificate.verify_directly_issued_by(anchor.certificate)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            continue
        return anchor
    raise _untrusted()


def _issuer_name(certificate: x509.Certificate) -> x509.Name:
    # Names are decoded lazily: an issuer holding invalid UTF-8 in a UTF8String fails here,
    # and a name we cannot read names no trusted CA.
    try:
        return certificate.issuer
    except _UNREADABLE:
        raise _untrusted() from None


def _extensions(certificate: x509.Certificate) -> x509.Extensions:
    try:
        return certificate.extensions
    except _UNREADABLE:  # duplicate or undecodable extensions
        raise _untrusted() from None


def _check_end_entity(certificate: x509.Certificate) -> None:
    try:
        constraints = _extensions(certificate).get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return
    if constraints.value.ca:
        raise _untrusted()


def _check_strength(certificate: x509.Certificate, min_rsa_bits: int) -> None:
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise _untrusted() from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < max(min_rsa_bits, MIN_RSA_BITS):
            raise _untrusted()
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise _untrusted()
    else:
        raise _untrusted()
    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise _untrusted() from None
    if not isinstance(algorithm, hashes.HashAlgorithm) or algorithm.name not in ALLOWED_HASHES:
        raise _untrusted()


def _check_usage(certificate: x509.Certificate, *, require_client_auth: bool) -> None:
    extensions = _extensions(certificate)
    if require_client_auth:
        try:
            eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            raise _untrusted() from None
        if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
            raise _untrusted()
    try:
        usage = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.digital_signature:
        raise _untrusted()


def _common_name(certificate: x509.Certificate) -> str | None:
    try:
        subject = certificate.subject
    except _UNREADABLE:
        # A trusted CA signed it, but its subject does not decode (invalid UTF-8): every fact
        # comes from the certificate, so one we cannot read is not a credential.
        raise _untrusted() from None
    names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str):
        return None  # none, or ambiguous: rules on the CN then never match
    return names[0].value


_SanType = type[x509.DNSName] | type[x509.UniformResourceIdentifier] | type[x509.RFC822Name]


def _sans(certificate: x509.Certificate, kind: _SanType) -> tuple[str, ...]:
    try:
        san = _extensions(certificate).get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(value) for value in san.value.get_values_for_type(kind))


__all__ = [
    "ALLOWED_CURVES",
    "ALLOWED_HASHES",
    "MAX_PEM_CHARS",
    "CertificateFacts",
    "CertificatePolicy",
    "TrustAnchor",
    "check_validity",
    "inspect",
    "issuing_anchor",
    "key_id_of",
    "load_trust_anchors",
    "parse_pem",
]
