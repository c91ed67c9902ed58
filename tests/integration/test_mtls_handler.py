"""The mTLS authorizer end to end: event in, response out, through the real handler module.

The handler builds its authorizer from the environment at import; these tests set the
environment (trust anchors, rules, CRL sources) first and (re)import it, with CRLs in moto's
in-process S3. They check statuses, context, metrics, and that no log line carries the PEM.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from authorizers.core.exceptions import Unauthorized
from tests.conftest import load_event
from tests.unit.mtls.pki import (
    NOW,
    der_to_pem,
    fingerprint,
    issue,
    make_crl,
    pem,
    pki,
    resigned,
)

BUCKET = "gatehouse-crls"
MODULE = "authorizers.mtls.handler"
RULES = [
    {
        "san_uri": "spiffe://example.org/tenant/{tenant}/device/{device}",
        "principal": "device:{device}",
        "tenant": "{tenant}",
    }
]
KINDS = ["rest_request_mtls", "http_v1_mtls", "http_v2_mtls"]
REVOKED_SERIAL = 0x0BAD


class Ctx:
    function_name = "gatehouse-mtls"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-mtls"
    aws_request_id = "req-1"


Handler = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        client.put_object(Bucket=BUCKET, Key="ca.crl", Body=make_crl(pki().ca, [REVOKED_SERIAL]))
        client.put_object(Bucket=BUCKET, Key="other.crl", Body=make_crl(pki().other_ca, []))
        yield client


@pytest.fixture
def handler_for(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Handler]]:
    def build(rules: list[dict[str, Any]] | None = None, **extra: str) -> Handler:
        monkeypatch.setenv("GATEHOUSE_MTLS_TRUST_ANCHORS", pki().bundle)
        monkeypatch.setenv("GATEHOUSE_MTLS_RULES", json.dumps(rules or RULES))
        monkeypatch.setenv(
            "GATEHOUSE_MTLS_CRLS",
            json.dumps(
                {
                    pki().ca.key_id: f"s3://{BUCKET}/ca.crl",
                    pki().other_ca.key_id: f"s3://{BUCKET}/other.crl",
                }
            ),
        )
        monkeypatch.setenv("GATEHOUSE_TRACING", "false")
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
        return lambda event: module.lambda_handler(event, Ctx())

    yield build
    sys.modules.pop(MODULE, None)


def with_cert(kind: str, certificate: x509.Certificate | str) -> dict[str, Any]:
    event = load_event(kind)
    text = certificate if isinstance(certificate, str) else pem(certificate)
    context = event["requestContext"]
    holder = context["authentication"] if kind == "http_v2_mtls" else context["identity"]
    holder["clientCert"]["clientCertPem"] = text
    return event


def effect(response: dict[str, Any]) -> str:
    return str(response["policyDocument"]["Statement"][0]["Effect"])


def assert_no_pem(out: str, certificate: x509.Certificate) -> None:
    for line in pem(certificate).splitlines()[1:-1]:
        assert line not in out


@pytest.mark.parametrize("kind", KINDS)
def test_valid_certificate_is_allowed_with_identity_context(handler_for, kind, capsys):
    handler = handler_for()
    leaf = pki().leaf()
    response = handler(with_cert(kind, leaf))
    assert effect(response) == "Allow"
    assert response["principalId"] == "device:d-1"
    assert response["context"] == {
        "principal": "device:d-1",
        "tenant": "acme",
        "subject_cn": "device-1",
        "serial": "1001",
        "fingerprint": fingerprint(leaf),
        "issuer": pki().ca.key_id,
        "not_after": int(leaf.not_valid_after_utc.timestamp()),
    }
    assert "BEGIN CERTIFICATE" not in json.dumps(response)
    assert_no_pem(capsys.readouterr().out, leaf)


def test_request_without_certificate_is_401(handler_for, capsys):
    # The default execute-api endpoint bypasses mTLS: no clientCert in the event.
    handler = handler_for()
    with pytest.raises(Unauthorized):
        handler(load_event("rest_request"))
    assert '"Reason":"MissingCredentials"' in capsys.readouterr().out.replace(" ", "")


@pytest.mark.parametrize(
    ("certificate", "reason"),
    [
        (lambda: pki().leaf(not_after=NOW - 86_400 * 2, not_before=NOW - 86_400 * 9), "Expired"),
        (lambda: pki().leaf(not_before=NOW + 86_400, not_after=NOW + 86_400 * 9), "NotYetValid"),
        (lambda: issue(pki().rogue_ca, pki().leaf_key), "UntrustedCertificate"),
        (lambda: issue(pki().intermediate, pki().leaf_key), "UntrustedCertificate"),
        (lambda: pki().leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH]), "UntrustedCertificate"),
        (lambda: issue(pki().ca, pki().weak_rsa_key), "UntrustedCertificate"),
        (lambda: pki().leaf(serial=REVOKED_SERIAL), "Revoked"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-ca",
        "intermediate",
        "server-eku",
        "rsa1024",
        "revoked",
    ],
)
def test_invalid_certificates_are_401_with_reason(handler_for, certificate, reason, capsys):
    handler = handler_for()
    leaf = certificate()
    with pytest.raises(Unauthorized):
        handler(with_cert("rest_request_mtls", leaf))
    out = capsys.readouterr().out
    assert f'"Reason":"{reason}"' in out.replace(" ", "")
    assert_no_pem(out, leaf)


def test_same_serial_from_another_issuer_is_not_revoked(handler_for):
    handler = handler_for()
    leaf = issue(pki().other_ca, pki().leaf_key, serial=REVOKED_SERIAL)
    assert effect(handler(with_cert("http_v2_mtls", leaf))) == "Allow"


@pytest.mark.parametrize(
    "text",
    ["garbage", "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"],
    ids=["text", "bad-der"],
)
def test_garbage_pem_is_401(handler_for, text):
    with pytest.raises(Unauthorized):
        handler_for()(with_cert("rest_request_mtls", text))


def _non_ascii_inside() -> str:
    lines = pem(pki().leaf()).splitlines()
    lines[2] = lines[2][:10] + "\u00e9" + lines[2][11:]
    return "\n".join(lines) + "\n"


def _issuer_with_invalid_utf8() -> str:
    leaf = pki().leaf(issuer_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Zzzzzz")]))
    return der_to_pem(resigned(pki().ca, leaf, b"\x0c\x06Zzzzzz", b"\x0c\x06Z\xff\xfezzz"))


def _unknown_version() -> str:
    return der_to_pem(
        resigned(pki().ca, pki().leaf(), bytes.fromhex("a003020102"), bytes.fromhex("a003020105"))
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_non_ascii_inside, "MalformedCredentials"),
        (_issuer_with_invalid_utf8, "UntrustedCertificate"),
        (_unknown_version, "MalformedCredentials"),
    ],
    ids=["non-ascii-in-pem", "issuer-invalid-utf8", "unknown-x509-version"],
)
def test_crafted_certificates_are_401_and_never_fire_the_error_alarm(
    handler_for, capsys, text, reason
):
    # GIVEN certificates crafted to break the parser, not to pass it
    handler = handler_for()
    # THEN each is a 401 with its documented reason (docs/mtls.md), not Deny(Internal)
    with pytest.raises(Unauthorized):
        handler(with_cert("rest_request_mtls", text()))
    out = capsys.readouterr().out.replace(" ", "")
    assert f'"Reason":"{reason}"' in out
    assert '"Error"' not in out  # the metric that pages an operator


def test_one_megabyte_pem_is_401(handler_for, capsys):
    huge = pem(pki().leaf()) + "Q" * 1_048_576
    with pytest.raises(Unauthorized):
        handler_for()(with_cert("rest_request_mtls", huge))
    assert "Q" * 100 not in capsys.readouterr().out


def test_san_mismatch_is_denied_with_reason(handler_for):
    handler = handler_for()
    leaf = pki().leaf(uris=["spiffe://evil.example/tenant/acme/device/d-1"])
    response = handler(with_cert("rest_request_mtls", leaf))
    assert effect(response) == "Deny"
    assert response["context"] == {"reason": "PolicyDeny"}


def test_fingerprint_mismatch_is_denied(handler_for):
    handler = handler_for(rules=[{**RULES[0], "fingerprints": [fingerprint(pki().leaf())]}])
    assert effect(handler(with_cert("rest_request_mtls", pki().leaf()))) == "Allow"
    other = issue(pki().ca, ec.generate_private_key(ec.SECP256R1()))
    response = handler(with_cert("rest_request_mtls", other))
    assert effect(response) == "Deny"
    assert response["context"] == {"reason": "UntrustedCertificate"}


def test_crl_missing_in_s3_is_a_fault_deny(handler_for, s3, capsys):
    s3.delete_object(Bucket=BUCKET, Key="ca.crl")
    response = handler_for()(with_cert("rest_request_mtls", pki().leaf()))
    assert effect(response) == "Deny"
    assert response["context"] == {"reason": "UpstreamUnavailable"}
    assert '"Error"' in capsys.readouterr().out  # the metric that pages an operator


def test_stale_crl_denies_unless_a_grace_is_configured(handler_for, s3):
    s3.put_object(Bucket=BUCKET, Key="ca.crl", Body=make_crl(pki().ca, [], next_update=NOW - 3600))
    response = handler_for()(with_cert("rest_request_mtls", pki().leaf()))
    assert response["context"] == {"reason": "UpstreamUnavailable"}
    relaxed = handler_for(GATEHOUSE_MTLS_CRL_STALE_HOURS="24")
    assert effect(relaxed(with_cert("rest_request_mtls", pki().leaf()))) == "Allow"


def test_crl_signed_by_the_wrong_key_denies(handler_for, s3):
    forged = make_crl(pki().ca, [], signer=ec.generate_private_key(ec.SECP256R1()))
    s3.put_object(Bucket=BUCKET, Key="ca.crl", Body=forged)
    response = handler_for()(with_cert("rest_request_mtls", pki().leaf()))
    assert response["context"] == {"reason": "UpstreamUnavailable"}


def test_results_are_cached_but_revocation_is_checked_every_time(handler_for):
    handler = handler_for()
    authorizer = sys.modules[MODULE]._COLD_START.get()
    assert effect(handler(with_cert("rest_request_mtls", pki().leaf()))) == "Allow"
    assert len(authorizer._cache) == 1
    assert effect(handler(with_cert("http_v2_mtls", pki().leaf()))) == "Allow"
    assert len(authorizer._cache) == 1


def test_simple_http_responses_say_false_for_a_bad_certificate(handler_for):
    handler = handler_for(GATEHOUSE_HTTP_RESPONSE_FORMAT="simple")
    assert handler(with_cert("http_v2_mtls", "garbage")) == {"isAuthorized": False}
    assert handler(with_cert("http_v2_mtls", pki().leaf()))["isAuthorized"] is True


def test_missing_configuration_imports_and_denies_everything(monkeypatch, capsys):
    for name in ("GATEHOUSE_MTLS_TRUST_ANCHORS", "GATEHOUSE_MTLS_RULES", "GATEHOUSE_MTLS_CRLS"):
        monkeypatch.delenv(name, raising=False)
    sys.modules.pop(MODULE, None)
    module = importlib.import_module(MODULE)
    try:
        response = module.lambda_handler(with_cert("rest_request_mtls", pki().leaf()), Ctx())
    finally:
        sys.modules.pop(MODULE, None)
    assert effect(response) == "Deny"
    assert response["context"] == {"reason": "Configuration"}
    assert "GATEHOUSE_MTLS_TRUST_ANCHORS: required and not set" in capsys.readouterr().out


def test_revocation_off_never_imports_boto3():
    code = (
        "import json, os, sys;"
        "from tests.unit.mtls.pki import pki, pem;"
        "os.environ['GATEHOUSE_MTLS_TRUST_ANCHORS'] = pki().bundle;"
        "os.environ['GATEHOUSE_MTLS_RULES'] = json.dumps([{'subject_cn': '{cn}', "
        "'principal': '{cn}'}]);"
        "os.environ['GATEHOUSE_MTLS_REVOCATION'] = 'off';"
        "import authorizers.mtls.handler as h;"
        "h._COLD_START.get();"
        "print('boto3' in sys.modules, 'botocore.session' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "False False"


_TEXT = st.text(max_size=60)
_VALUE = st.one_of(st.none(), st.integers(), _TEXT, st.lists(_TEXT, max_size=2))
_CERT_FIELD = st.sampled_from(
    ["clientCertPem", "subjectDN", "issuerDN", "serialNumber", "validity", "extra"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(KINDS),
    client_cert=st.one_of(
        _VALUE,
        st.dictionaries(_CERT_FIELD, _VALUE, max_size=6),
        st.builds(
            lambda body: {"clientCertPem": f"-----BEGIN CERTIFICATE-----\n{body}\n-----END "},
            st.text(max_size=300),
        ),
    ),
)
def test_fuzzed_client_cert_shapes_give_401_or_deny_never_allow(handler_for, kind, client_cert):
    # GIVEN any shape where API Gateway puts the client certificate
    handler = handler_for()
    event = load_event(kind)
    context = event["requestContext"]
    holder = context["authentication"] if kind == "http_v2_mtls" else context["identity"]
    holder["clientCert"] = client_cert
    # THEN the handler answers 401 (Unauthorized) or a Deny, and never raises anything else
    try:
        response = handler(event)
    except Unauthorized:
        return
    assert effect(response) == "Deny"
