"""The local PKI: one CA, the gateway's server certificate, client certificates and a CRL.

Made fresh on every start with ``cryptography`` (EC P-256: fast to generate, accepted by the
mTLS authorizer), written under the state directory so curl can use the files. The CA plays
both roles a real deployment separates: the custom domain's truststore (client certificates)
and the issuer of the server certificate (so ``curl --cacert ca.pem`` verifies the gateway).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gatehouse.api_model import MTLS_SAN_URI

ORGANIZATION: Final = "Gatehouse Local"
CA_NAME: Final = "Gatehouse Local CA"
TENANT: Final = "acme"
DEVICE: Final = "device-1"
REVOKED_DEVICE: Final = "device-2"
#: A certificate of the trusted CA whose SAN no mapping rule knows: authenticated, not mapped.
STRANGER: Final = "stranger"
STRANGER_SAN: Final = "spiffe://gatehouse.local/service/billing"
_DAY: Final = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Credential:
    """A certificate and its key, as files."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class LocalPki:
    ca: Path
    ca_key_id: str
    server: Credential
    device: Credential  # valid: spiffe://gatehouse.local/tenant/acme/device/device-1
    revoked: Credential  # on the CRL
    stranger: Credential  # trusted CA, SAN no rule maps
    crl_der: bytes
    revoked_serial: int


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, cert_sign: bool, digital_signature: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, secret: bool = False) -> Path:
    path.write_bytes(data)
    if secret:
        path.chmod(0o600)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _leaf(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    common_name: str,
    serial: int,
    now: dt.datetime,
    sans: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False, digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def make_pki(directory: Path, *, now: dt.datetime | None = None) -> LocalPki:
    """Create the CA, server and client certificates and the CRL under ``directory``."""
    now = now or dt.datetime.now(tz=dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_NAME))
        .issuer_name(_name(CA_NAME))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 365 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True, digital_signature=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path = _write(directory / "ca.pem", ca.public_bytes(pem))

    server, server_key = _leaf(
        ca,
        ca_key,
        common_name="localhost",
        serial=0x5E17,
        now=now,
        sans=[
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    credentials: dict[str, Credential] = {
        "server": Credential(
            _write(directory / "server.pem", server.public_bytes(pem)),
            _write(directory / "server.key", _key_pem(server_key), secret=True),
        )
    }
    serials = {DEVICE: 0x1001, REVOKED_DEVICE: 0x1002, STRANGER: 0x1003}
    for device, serial in serials.items():
        san = (
            STRANGER_SAN
            if device == STRANGER
            else MTLS_SAN_URI.format(tenant=TENANT, device=device)
        )
        certificate, key = _leaf(
            ca,
            ca_key,
            common_name=device,
            serial=serial,
            now=now,
            sans=[x509.UniformResourceIdentifier(san)],
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        )
        credentials[device] = Credential(
            _write(directory / f"{device}.pem", certificate.public_bytes(pem)),
            _write(directory / f"{device}.key", _key_pem(key), secret=True),
        )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + 7 * _DAY)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serials[REVOKED_DEVICE])
            .revocation_date(now - dt.timedelta(minutes=10))
            .build()
        )
        .add_extension(x509.CRLNumber(1), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    crl_der = crl.public_bytes(serialization.Encoding.DER)
    _write(directory / "ca.crl", crl_der)
    return LocalPki(
        ca=ca_path,
        ca_key_id=ski.key_identifier.hex(),
        server=credentials["server"],
        device=credentials[DEVICE],
        revoked=credentials[REVOKED_DEVICE],
        stranger=credentials[STRANGER],
        crl_der=crl_der,
        revoked_serial=serials[REVOKED_DEVICE],
    )
