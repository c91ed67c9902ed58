"""mTLS through the gateway's HTTPS listener: a real TLS handshake with client certificates."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]
PATH = "/devices/device-1/telemetry"


def test_device_certificate_is_allowed_and_mapped(local):
    answer = local.call("GET", PATH, tls=True, cert=tuple(local.info["pki"]["device"]))
    assert answer.status == 200
    assert answer.body["principalId"] == "device-1"
    assert answer.body["authorizer"]["tenant"] == "acme"
    assert "CN=device-1" in answer.body["clientCertSubject"]


def test_revoked_certificate_is_refused(local):
    answer = local.call(
        "GET", "/devices/device-2/telemetry", tls=True, cert=tuple(local.info["pki"]["revoked"])
    )
    assert answer.status == 401
    assert answer.header("x-gatehouse-authorizer") == "mtls; cache=miss"


def test_certificate_no_rule_maps_is_403(local):
    answer = local.call("GET", PATH, tls=True, cert=tuple(local.info["pki"]["stranger"]))
    assert answer.status == 403


def test_no_client_certificate_is_401(local):
    assert local.call("GET", PATH, tls=True).status == 401


def test_plain_http_carries_no_certificate(local):
    assert local.call("GET", PATH).status == 401


def test_certificate_of_an_untrusted_ca_fails_the_handshake(local, tmp_path):
    # GIVEN a self-signed client certificate the truststore does not know
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intruder")])
    now = dt.datetime.now(tz=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "intruder.pem", tmp_path / "intruder.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # THEN the TLS handshake fails: no HTTP answer at all, as on API Gateway's mTLS domain
    with pytest.raises((ssl.SSLError, ConnectionError)):
        local.call("GET", PATH, tls=True, cert=(str(cert_path), str(key_path)))
    # and the gateway keeps serving
    assert local.call("GET", "/health").status == 200
