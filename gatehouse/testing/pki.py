"""A test PKI: a CA, client certificates with chosen properties, and CRLs (in moto S3).

>>> pki = Pki()
>>> device = pki.client("device-1", san_uri="spiffe://example.test/device/1")
>>> device.pem.startswith("-----BEGIN CERTIFICATE-----")
True
>>> settings = pki.settings(rules=[{"san_uri": "spiffe://example.test/device/{n}",
...                                 "principal": "device:{n}"}])
>>> sorted(settings)
['mtls_revocation', 'mtls_rules', 'mtls_trust_anchors']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from authorizers.jwt_bearer.binding import certificate_thumbprint

__all__ = ["Certificate", "Pki"]

KeyKind = Literal["ec", "rsa2048", "rsa3072", "rsa1024"]
Usage = Literal["client", "server", "none"]
_DAY = dt.timedelta(days=1)
_USAGES = {"client": ExtendedKeyUsageOID.CLIENT_AUTH, "server": ExtendedKeyUsageOID.SERVER_AUTH}
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _key(kind: KeyKind) -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(kind.removeprefix("rsa")))


def _pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate and its private key."""

    certificate: x509.Certificate = field(repr=False)
    key: PrivateKey = field(repr=False)

    @property
    def pem(self) -> str:
        """The certificate as API Gateway passes it (``clientCertPem``)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_pem(self) -> str:
        return _pem(self.key)

    @property
    def thumbprint(self) -> str:
        """``x5t#S256`` (RFC 8705): what a token bound to this certificate carries in
        ``cnf``, e.g. ``issuer.token(cnf={"x5t#S256": device.thumbprint})``."""
        return certificate_thumbprint(self.pem)

    @property
    def serial(self) -> int:
        return self.certificate.serial_number


class Pki:
    """One issuing CA (self-signed) that signs client certificates and CRLs.

    Parameters
    ----------
    name:
        The CA's common name.
    key:
        ``ec`` (P-256, fast) or ``rsa2048``/``rsa3072``.
    now:
        The time certificates are valid around (default: now).
    """

    def __init__(
        self,
        name: str = "Gatehouse Test CA",
        *,
        key: KeyKind = "ec",
        now: dt.datetime | None = None,
    ) -> None:
        self.now = now or dt.datetime.now(tz=dt.UTC)
        self._key = _key(key)
        self.key_id = x509.SubjectKeyIdentifier.from_public_key(self._key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - _DAY)
            .not_valid_after(self.now + 3650 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(self.key_id, critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self._serial = 0x1000

    @property
    def ca_pem(self) -> str:
        """The trust anchor (``GATEHOUSE_MTLS_TRUST_ANCHORS``)."""
        return self.ca.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_id_hex(self) -> str:
        """The CA's key id, as ``GATEHOUSE_MTLS_CRLS`` and mapping rules name it."""
        return self.key_id.key_identifier.hex()

    def client(
        self,
        common_name: str = "device-1",
        *,
        san_uri: str | None = None,
        san_dns: str | None = None,
        san_email: str | None = None,
        usage: Usage = "client",
        key: KeyKind = "ec",
        valid_from: dt.datetime | None = None,
        valid_days: float = 30,
        ca: bool = False,
    ) -> Certificate:
        """A certificate this CA signs: SANs, extended key usage (``none``: no extension),
        key type and size, and validity window (``valid_days`` negative: already expired)."""
        self._serial += 1
        private = _key(key)
        start = valid_from or self.now - _DAY
        end = start + dt.timedelta(days=valid_days)
        if end <= start:  # an expired certificate: its window ended before now
            start = end - 30 * _DAY
        sans: list[x509.GeneralName] = []
        if san_uri:
            sans.append(x509.UniformResourceIdentifier(san_uri))
        if san_dns:
            sans.append(x509.DNSName(san_dns))
        if san_email:
            sans.append(x509.RFC822Name(san_email))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.ca.subject)
            .public_key(private.public_key())
            .serial_number(self._serial)
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(_key_usage(ca=ca), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if usage != "none":
            builder = builder.add_extension(x509.ExtendedKeyUsage([_USAGES[usage]]), critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return Certificate(builder.sign(self._key, hashes.SHA256()), private)

    def crl(self, revoked: Iterable[Certificate] = (), *, next_update_days: float = 7) -> bytes:
        """A CRL (DER) revoking ``revoked`` (``next_update_days`` negative: already stale)."""
        next_update = self.now + dt.timedelta(days=next_update_days)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.subject)
            .last_update(min(self.now - dt.timedelta(minutes=5), next_update - _DAY))
            .next_update(next_update)
            .add_extension(x509.CRLNumber(1), critical=False)
        )
        for certificate in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(certificate.serial)
                .revocation_date(self.now - dt.timedelta(minutes=10))
                .build()
            )
        return builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def put_crl(
        self,
        s3: Any,
        *,
        bucket: str = "gatehouse-test-pki",
        key: str = "crl/ca.crl",
        revoked: Iterable[Certificate] = (),
        next_update_days: float = 7,
    ) -> str:
        """Upload a CRL to (moto) S3, creating the bucket if needed; returns its ``s3://`` URI."""
        region = s3.meta.region_name
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            location = (
                {}
                if region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            s3.create_bucket(Bucket=bucket, **location)
        s3.put_object(
            Bucket=bucket, Key=key, Body=self.crl(revoked, next_update_days=next_update_days)
        )
        return f"s3://{bucket}/{key}"

    def settings(
        self, *, rules: Sequence[Mapping[str, Any]], crl_uri: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Keyword settings for ``authorizer("mtls", ...)``: this CA as the trust anchor, the
        mapping ``rules``, and its CRL (``crl_uri``) or, without one, revocation off."""
        settings: dict[str, Any] = {"mtls_trust_anchors": self.ca_pem, "mtls_rules": list(rules)}
        if crl_uri is None:
            settings["mtls_revocation"] = "off"
        else:
            settings["mtls_crls"] = {self.key_id_hex: crl_uri}
        return {**settings, **extra}


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
