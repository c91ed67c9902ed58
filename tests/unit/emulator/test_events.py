"""Checklist §6 step 1: the authorizer event is built as API Gateway builds it."""

from __future__ import annotations

from authorizers.core.request import EventKind, normalize
from authorizers.mtls.certificate import key_id_of  # noqa: F401 - the mTLS module imports
from gatehouse.emulator.events import client_cert
from tests.unit.emulator.harness import PREFIX, TOKEN, Harness
from tests.unit.mtls.pki import pem, pki


def test_token_event_carries_the_raw_header_and_the_concrete_method_arn():
    # GIVEN a TOKEN authorizer WHEN a route with a path is called
    harness = Harness()
    harness.request("/profile", headers={"Authorization": TOKEN})
    # THEN the event holds the header value as sent (Bearer included) and the concrete path
    (event,) = harness.events["tok"]
    assert event == {
        "type": "TOKEN",
        "authorizationToken": TOKEN,
        "methodArn": f"{PREFIX}/GET/profile",
    }


def test_root_path_method_arn_ends_with_a_slash():
    harness = Harness()
    harness.request("/", headers={"Authorization": TOKEN})
    assert harness.events["tok"][0]["methodArn"] == f"{PREFIX}/GET/"


def test_request_event_has_template_path_parameters_headers_and_query():
    harness = Harness()
    harness.request(
        "/pets/42", headers={"X-Token": "t-1", "X-Trace": "a"}, query="tenant=acme&tenant=b"
    )
    (event,) = harness.events["req"]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"{PREFIX}/GET/pets/42"  # concrete path, not the template
    assert event["resource"] == "/pets/{id}"
    assert event["path"] == "/pets/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["headers"]["X-Token"] == "t-1"
    assert event["multiValueHeaders"]["X-Trace"] == ["a"]
    assert event["queryStringParameters"] == {"tenant": "b"}  # the last value, as AWS
    assert event["multiValueQueryStringParameters"] == {"tenant": ["acme", "b"]}
    context = event["requestContext"]
    assert context["resourcePath"] == "/pets/{id}"
    assert context["stage"] == "dev"
    assert context["path"] == "/dev/pets/42"
    assert "clientCert" not in context["identity"]


def test_greedy_path_parameter_and_any_method():
    harness = Harness()
    response = harness.request("/files/a/b/c.txt", method="DELETE")
    assert response.status_code == 200
    (event,) = harness.events["nocache"]
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["methodArn"] == f"{PREFIX}/DELETE/files/a/b/c.txt"


def test_client_certificate_is_handed_over_like_api_gateway():
    # GIVEN a request that arrived over TLS with a verified client certificate
    certificate = pki().leaf()
    harness = Harness()
    harness.request("/files/x", cert=pem(certificate))
    identity = harness.events["nocache"][0]["requestContext"]["identity"]
    # THEN identity.clientCert has the PEM and the facts, in API Gateway's formats
    cert = identity["clientCert"]
    assert cert["clientCertPem"] == pem(certificate)
    assert cert["subjectDN"] == "CN=device-1,O=Example"
    assert cert["serialNumber"] == "10:01"
    assert cert["validity"]["notAfter"].endswith(" GMT")


def test_built_events_are_read_by_the_authorizers_core():
    # The authorizers' own event parser accepts what the emulator sends (shape contract).
    harness = Harness()
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/pets/7", headers={"X-Token": "t"}, query="tenant=acme")
    harness.request("/files/x", cert=pem(pki().leaf()))
    token = normalize(harness.events["tok"][0])
    request = normalize(harness.events["req"][0])
    mtls = normalize(harness.events["nocache"][0])
    assert token.kind is EventKind.REST_TOKEN and token.path == "/profile"
    assert request.kind is EventKind.REST_REQUEST and request.route == "/pets/{id}"
    assert request.path_parameters == {"id": "7"}
    assert mtls.client_cert is not None and mtls.client_cert.serial_number == "10:01"


def test_validity_uses_the_openssl_format_with_a_space_padded_day():
    facts = client_cert(pem(pki().leaf(not_after=1_800_000_000.0)))  # 2027-01-15
    assert facts["validity"]["notAfter"] == "Jan 15 08:00:00 2027 GMT"
