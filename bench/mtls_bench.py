"""mTLS rows: full certificate inspection (uncached), a repeat of the same certificate (cached by
fingerprint), and revocation lookups in a 100-entry and a 100,000-entry CRL (O(1) after load).

The anchor is the floor: ``cryptography`` loading the PEM and verifying it was issued by the CA.
Targets (issue #5): uncached <= 300 us, cached <= 10 us, CRL lookup independent of CRL size;
(issue #16) the cached path through ``lambda_handler`` at most 8x the hand-written floor.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from itertools import cycle
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from authorizers.core.pipeline import ColdStart, lambda_handler_for
from authorizers.core.request import normalize
from authorizers.mtls.authorizer import MtlsAuthorizer
from authorizers.mtls.certificate import load_trust_anchors
from authorizers.mtls.crl import parse_crl
from bench.harness import CONTEXT, bench, bench_external
from tests.conftest import load_event
from tests.unit.mtls import pki

DAY = 86_400.0


def register() -> None:
    now = time.time()
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = pki.make_ca(pki.name("Bench Issuing CA"), ca_key)
    client_key = ec.generate_private_key(ec.SECP256R1())
    certificate = pki.issue(ca, client_key, not_before=now - DAY, not_after=now + 30 * DAY)
    pem = pki.pem(certificate)
    environ = {
        "GATEHOUSE_MTLS_TRUST_ANCHORS": ca.pem,
        "GATEHOUSE_MTLS_RULES": json.dumps([{"subject_cn": "{cn}", "principal": "{cn}"}]),
        "GATEHOUSE_MTLS_REVOCATION": "off",
    }
    authorizer = MtlsAuthorizer.from_environ(environ)
    event = load_event("rest_request_mtls")
    event["requestContext"]["identity"]["clientCert"]["clientCertPem"] = pem
    request = normalize(event)
    ca_certificate = ca.certificate
    group = "mTLS client certificate (RSA-2048 CA, EC P-256 client)"

    @bench(group, "cryptography: load PEM + verify_directly_issued_by (floor)", anchor=True)
    def _floor() -> object:
        loaded = x509.load_pem_x509_certificate(pem.encode("ascii"))
        loaded.verify_directly_issued_by(ca_certificate)
        return loaded

    @bench(group, "gatehouse decide, uncached (full inspection)", target_us=300)
    def _uncached() -> object:
        authorizer.clear()
        return authorizer.decide(request)

    @bench(group, "gatehouse decide, cached by fingerprint", target_us=10)
    def _cached() -> object:
        return authorizer.decide(request)

    anchor = load_trust_anchors(ca.pem)[0]
    small = parse_crl(pki.make_crl(ca, range(1, 101)), anchor)
    large_crl = pki.make_crl(ca, range(1, 100_001))
    large, load_us = _timed(lambda: parse_crl(large_crl, anchor))
    serials = cycle(range(1, 200_000, 7))
    lookups = "CRL lookup (after load)"

    @bench(lookups, "is_revoked, 100-entry CRL", anchor=True)
    def _small() -> object:
        return small.is_revoked(next(serials))

    @bench(lookups, "is_revoked, 100,000-entry CRL")
    def _large() -> object:
        return large.is_revoked(next(serials))

    bench_external(
        lookups,
        "parse + verify the 100,000-entry CRL (once per refresh)",
        run=lambda: load_us,
    )

    _handler_rows(authorizer, event, pem)


def _handler_rows(authorizer: MtlsAuthorizer, event: dict[str, Any], pem: str) -> None:
    """The cached path through the real entry point, against the hand-written floor: what any
    authorizer must do for a certificate it has seen (hash its DER, look the hash up)."""
    handler = lambda_handler_for(ColdStart("mtls", lambda: authorizer))
    der = x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(Encoding.DER)
    seen = {hashlib.sha256(der).hexdigest(): "device-1"}
    group = "mTLS through the handler (a certificate seen before)"

    @bench(group, "hand-written floor: PEM -> DER, sha256, dict lookup", anchor=True)
    def _floor() -> object:
        pem_text = event["requestContext"]["identity"]["clientCert"]["clientCertPem"]
        body = "".join(line for line in pem_text.splitlines() if not line.startswith("-----"))
        return seen.get(hashlib.sha256(base64.b64decode(body)).hexdigest())

    @bench(group, "gatehouse lambda_handler, cached certificate", target_ratio=8)
    def _handler() -> object:
        return handler(event, CONTEXT)


def _timed(build: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = build()
    return value, (time.perf_counter() - start) * 1e6
