"""A hung upstream answers within the invocation, through each authorizer's real entry point.

Attack stopped: an upstream (DynamoDB, S3, SSM, a JWKS endpoint or an OIDC discovery document)
that accepts connections and never answers. The SDK clients' own timeouts (1 s connect, 1 to 2 s
read, two attempts) add up to 3 to 6 s; with a 5 s function timeout Lambda kills the invocation
and API Gateway answers 500, with no ``Error`` metric. Here every upstream is a real socket on
127.0.0.1 that accepts and stays silent, the real clients (boto3, the JWKS fetcher) talk to it,
and the handler runs with a Lambda context of :data:`TIMEOUT_MS`: the answer must be the
documented fail-closed one (a Deny with ``UpstreamTimeout`` and an ``Error`` metric, or the JWT
authorizer's 401), and it must come before the function's timeout.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from authorizers.api_key.keys import Environment, generate
from authorizers.core import deadline as deadline_module
from authorizers.policy import authorizer as policy_authorizer
from gatehouse.testing import (
    NETWORK,
    AuthorizerUnderTest,
    LambdaContext,
    OidcIssuer,
    Pki,
    authorizer,
    build_event,
)
from gatehouse.testing.answers import Answer

pytestmark = pytest.mark.enable_socket

#: The function timeout the handler is told it has: well under the clients' own 3 to 6 s.
TIMEOUT_MS = 1500
AUDIENCE = "orders-api"
RULES = [{"san_uri": "spiffe://example.org/device/{device}", "principal": "device:{device}"}]


class SilentServer:
    """Accepts every connection on 127.0.0.1 and never sends a byte (nor reads one)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    @property
    def connections(self) -> int:
        return len(self._held)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentServer]:
    server = SilentServer()
    # Every boto3 client the authorizers build reaches the silent server (botocore reads
    # AWS_ENDPOINT_URL for all services).
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    yield server
    server.close()


def answer_in_time(gate: AuthorizerUnderTest, event: dict[str, Any]) -> Answer:
    started = time.monotonic()
    answer = gate(event, LambdaContext(timeout_ms=TIMEOUT_MS))
    elapsed = time.monotonic() - started
    # Answered before Lambda would have killed the invocation...
    assert elapsed < TIMEOUT_MS / 1000, f"answered after {elapsed:.2f} s"
    # ...and not before the deadline: the upstream was really waited for, not skipped.
    assert elapsed >= TIMEOUT_MS / 1000 - deadline_module.MARGIN_S - 0.05
    return answer


def assert_timed_out_deny(answer: Answer, out: str) -> None:
    assert answer.status == 403
    assert answer.reason == "UpstreamTimeout"
    assert '"Error":1' in out and '"Reason":"UpstreamTimeout"' in out


def test_api_key_lookup_on_a_hung_dynamodb_is_a_timely_deny(
    silent: SilentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = authorizer("apikey", apikey_table="gatehouse-keys")
    key = generate(Environment.LIVE)
    event = build_event("rest_request", "GET /orders", headers={"x-api-key": key.secret})
    assert_timed_out_deny(answer_in_time(gate, event), capsys.readouterr().out)
    assert silent.connections >= 1  # the client did reach the upstream


def test_jwt_revocation_check_on_a_hung_dynamodb_is_a_timely_deny(
    silent: SilentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    issuer = OidcIssuer()
    gate = authorizer(
        "jwt",
        jwt_issuers=[issuer.settings(audiences=[AUDIENCE])],
        jwt_revocation_table="gatehouse-revoked",
        http=issuer,
    )
    token = issuer.token(aud=AUDIENCE, jti="token-1")
    event = build_event("rest_token", "GET /orders", authorization=f"Bearer {token}")
    assert_timed_out_deny(answer_in_time(gate, event), capsys.readouterr().out)


@pytest.mark.parametrize("discover", [False, True], ids=["jwks", "discovery"])
def test_jwks_fetch_from_a_hung_endpoint_is_a_timely_401(
    silent: SilentServer, discover: bool
) -> None:
    issuer = OidcIssuer(issuer=silent.url + "/")
    gate = authorizer(
        "jwt",
        jwt_issuers=[issuer.settings(audiences=[AUDIENCE], discover=discover)],
        jwt_allow_loopback_http=True,
        jwt_jwks_timeout_seconds=5,  # longer than the function timeout: the deadline decides
        http=NETWORK,
    )
    event = build_event(
        "rest_token", "GET /orders", authorization=f"Bearer {issuer.token(aud=AUDIENCE)}"
    )
    answer = answer_in_time(gate, event)
    # The JWT authorizer's documented answer when no key can be had (docs/jwt.md).
    assert answer.status == 401
    assert answer.reason == "UpstreamUnavailable"
    assert silent.connections >= 1


def test_crl_fetch_from_a_hung_s3_is_a_timely_deny(
    silent: SilentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = Pki()
    gate = authorizer("mtls", **pki.settings(rules=RULES, crl_uri="s3://gatehouse-crls/ca.crl"))
    device = pki.client("device-1", san_uri="spiffe://example.org/device/d1")
    event = build_event("rest_request", "GET /orders", client_cert_pem=device.pem)
    assert_timed_out_deny(answer_in_time(gate, event), capsys.readouterr().out)


@pytest.mark.parametrize(
    "source", ["s3://gatehouse-policies/bundle.yaml", "ssm:/gatehouse/policies"]
)
def test_policy_load_from_a_hung_source_ends_within_its_budget_and_denies(
    silent: SilentServer,
    source: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The cold-start load has its own budget (Lambda's init phase); shortened to keep this quick.
    monkeypatch.setattr(policy_authorizer, "COLD_START_BUDGET_S", 0.5)
    started = time.monotonic()
    gate = authorizer(
        "policy",
        policy_source=source,
        policy_authenticator="api_key",
        policy_routes=["GET /orders"],
        apikey_table="gatehouse-keys",
    )
    assert time.monotonic() - started < 1.5
    assert "UpstreamTimeout" in capsys.readouterr().out  # the failed load says why
    key = generate(Environment.LIVE)
    event = build_event("rest_request", "GET /orders", headers={"x-api-key": key.secret})
    # The key lookup hangs too: the request still ends in time, denied.
    answer = answer_in_time(gate, event)
    assert answer.status == 403
    assert answer.reason == "UpstreamTimeout"
