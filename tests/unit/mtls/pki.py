"""A test PKI made with ``cryptography``, once per session (RSA keys are slow to generate).

Times are relative to the real clock at session start, so certificates are valid for the
handler (which reads the system clock) and unit tests pass :data:`NOW` explicitly.

Shared by the unit tests and ``tests/integration/test_mtls_handler.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import textwrap
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from authorizers.mtls.certificate import key_id_of

NOW = float(int(time.time()))
DAY = 86_400.0
CA_NAME = "Gatehouse Test CA"
SPIFFE = "spiffe://example.org/tenant/acme/device/d-1"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def name(cn: str, org: str = "Example") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: PrivateKey

    @property
    def key_id(self) -> str:
        return key_id_of(self.certificate)

    @property
    def pem(self) -> str:
        return pem(self.certificate)


def make_ca(
    subject: x509.Name,
    key: PrivateKey,
    *,
    issuer: Authority | None = None,
    serial: int = 1,
) -> Authority:
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(at(NOW - 365 * DAY))
        .not_valid_after(at(NOW + 3650 * DAY))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return Authority(builder.sign(signer_key, hashes.SHA256()), key)


def issue(
    authority: Authority,
    key: PrivateKey,
    *,
    cn: str | None = "device-1",
    uris: Sequence[str] = (SPIFFE,),
    dns: Sequence[str] = ("d-1.devices.example.com",),
    emails: Sequence[str] = (),
    eku: Iterable[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    serial: int = 0x1001,
    not_before: float = NOW - DAY,
    not_after: float = NOW + 30 * DAY,
    algorithm: hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
    digital_signature: bool = True,
    issuer_name: x509.Name | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn) if cn else x509.Name([]))
        .issuer_name(issuer_name or authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(at(not_before))
        .not_valid_after(at(not_after))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature,
                content_commitment=False,
                key_encipherment=not digital_signature,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    sans: list[x509.GeneralName] = [
        *(x509.UniformResourceIdentifier(u) for u in uris),
        *(x509.DNSName(d) for d in dns),
        *(x509.RFC822Name(e) for e in emails),
    ]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(authority.key, algorithm or hashes.SHA256())


def make_crl(
    authority: Authority,
    serials: Iterable[int],
    *,
    this_update: float = NOW - 3600,
    next_update: float = NOW + DAY,
    signer: PrivateKey | None = None,
    encoding: serialization.Encoding = serialization.Encoding.PEM,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.certificate.subject)
        .last_update(at(this_update))
        .next_update(at(next_update))
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(at(this_update - 60))
            .build()
        )
    crl = builder.sign(signer or authority.key, hashes.SHA256())
    return crl.public_bytes(encoding)


@dataclass(frozen=True)
class Pki:
    ca: Authority  # trusted, RSA 2048
    other_ca: Authority  # trusted, EC P-256, different name
    rogue_ca: Authority  # NOT trusted: same name as ``ca``, another key
    intermediate: Authority  # issued by ``ca``, NOT in the bundle
    leaf_key: ec.EllipticCurvePrivateKey
    rsa_key: rsa.RSAPrivateKey  # 2048
    weak_rsa_key: rsa.RSAPrivateKey  # 1024
    k1_key: ec.EllipticCurvePrivateKey  # secp256k1: not an allowed curve

    @property
    def bundle(self) -> str:
        return self.ca.pem + self.other_ca.pem

    def leaf(self, **options: object) -> x509.Certificate:
        return issue(self.ca, self.leaf_key, **options)  # type: ignore[arg-type]


@functools.cache
def pki() -> Pki:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = make_ca(name(CA_NAME), ca_key)
    other = make_ca(name("Other CA"), ec.generate_private_key(ec.SECP256R1()))
    rogue = make_ca(name(CA_NAME), ec.generate_private_key(ec.SECP256R1()))
    intermediate = make_ca(
        name("Gatehouse Intermediate CA"), ec.generate_private_key(ec.SECP256R1()), issuer=ca
    )
    return Pki(
        ca=ca,
        other_ca=other,
        rogue_ca=rogue,
        intermediate=intermediate,
        leaf_key=ec.generate_private_key(ec.SECP256R1()),
        rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        weak_rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505 - the attack under test
        k1_key=ec.generate_private_key(ec.SECP256K1()),
    )


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # OID 1.2.840.113549.1.1.5


def sha1_signed(authority: Authority, key: PrivateKey) -> x509.Certificate:
    """A certificate signed with SHA-1, which ``cryptography`` no longer issues: issue it with
    SHA-256, swap the algorithm OID (same length) and re-sign the TBS with SHA-1."""
    assert isinstance(authority.key, rsa.RSAPrivateKey)
    der = issue(authority, key).public_bytes(serialization.Encoding.DER)
    assert der.count(_SHA256_RSA) == 2
    swapped = x509.load_der_x509_certificate(der.replace(_SHA256_RSA, _SHA1_RSA))
    tbs = swapped.tbs_certificate_bytes
    signature = authority.key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - under test
    rebuilt = swapped.public_bytes(serialization.Encoding.DER)
    assert len(signature) == len(swapped.signature)
    return x509.load_der_x509_certificate(rebuilt[: -len(signature)] + signature)


def resigned(authority: Authority, certificate: x509.Certificate, old: bytes, new: bytes) -> bytes:
    """The DER of ``certificate`` with ``old`` (found once in its TBS) replaced by ``new`` of
    the same length, signed again by ``authority`` (RSA): a certificate a trusted CA really
    issued, holding bytes ``cryptography`` would never build. Returned as DER: it may not load.
    """
    assert isinstance(authority.key, rsa.RSAPrivateKey) and len(old) == len(new)
    der = certificate.public_bytes(serialization.Encoding.DER)
    tbs = certificate.tbs_certificate_bytes
    assert tbs.count(old) == 1 and der.count(tbs) == 1
    forged = tbs.replace(old, new)
    signature = authority.key.sign(forged, padding.PKCS1v15(), hashes.SHA256())
    assert len(signature) == len(certificate.signature)
    return der.replace(tbs, forged)[: -len(signature)] + signature


def der_to_pem(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
