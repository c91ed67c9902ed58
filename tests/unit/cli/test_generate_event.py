"""`gatehouse generate-event` prints what gatehouse.testing.build_event builds."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from authorizers.core.request import normalize
from gatehouse.cli import main
from gatehouse.testing import EVENT_KINDS, Pki

VOLATILE = (
    "requestId",
    "extendedRequestId",
    "requestTime",
    "requestTimeEpoch",
    "time",
    "timeEpoch",
    "connectedAt",
)


def run(*args: str):
    return CliRunner().invoke(main, ["generate-event", *args], catch_exceptions=False)


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_every_kind_prints_an_event_the_runtime_reads(kind):
    result = run(
        kind,
        "GET /orders/7?verbose=true",
        "--resource",
        "/orders/{id}",
        "--authorization",
        "Bearer abc",
        "--header",
        "X-Trace=1",
        "--header",
        "X-Trace=2",
    )
    assert result.exit_code == 0, result.output
    request = normalize(json.loads(result.stdout))
    assert request.path == ("$connect" if kind == "websocket_connect" else "/orders/7")
    if kind not in ("rest_token", "websocket_connect"):
        assert request.path_parameters == {"id": "7"}
        assert request.credential("authorization") == "Bearer abc"


def test_a_client_certificate_file(tmp_path):
    pem = tmp_path / "device.pem"
    pem.write_text(Pki().client("d1", san_uri="spiffe://x.test/d1").pem)
    result = run("http_v2", "GET /", "--client-cert", str(pem))
    event = json.loads(result.stdout)
    assert event["requestContext"]["authentication"]["clientCert"]["subjectDN"] == "CN=d1"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["rest", "GET /"], "is not one of 'rest_token'"),
        (["rest_request", "GET /", "--header", "novalue"], "--header must look like NAME=VALUE"),
        (["rest_request", "GET /a", "--resource", "/b/{x}"], "error: path '/a' does not match"),
        (["rest_request", "orders"], "error: request must look like 'GET /orders/7'"),
        (["http_v2", "GET /", "--client-cert", "/no/such.pem"], "error: cannot read /no/such.pem"),
    ],
)
def test_bad_input_is_one_error_and_exit_2(args, error):
    result = run(*args)
    assert result.exit_code == 2
    assert error in result.output
    assert "Traceback" not in result.output
