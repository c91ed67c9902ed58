"""HttpsJsonFetcher and OIDC discovery: the only network IO of the JWT authorizer.

Row numbers refer to the attack catalogue in docs/jwt-attacks.md. Tests that need a server
run a real ``http.server`` on 127.0.0.1 in a thread (``enable_socket``); every other test runs
with sockets disabled, which proves that a refused URL never reaches the network.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from jwt.algorithms import OKPAlgorithm

from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.jwt_bearer.fetch import (
    FetchError,
    FetchFailure,
    HttpsJsonFetcher,
    check_url,
    discover_jwks_uri,
)
from authorizers.jwt_bearer.jwks import JwksCache

Respond = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LocalServer:
    """A loopback HTTP(S) server whose response each test sets with ``respond``."""

    base: str
    paths: list[str]
    headers: list[dict[str, str]]
    release: threading.Event
    handlers: dict[str, Respond] = field(default_factory=dict)

    def respond(self, respond: Respond, path: str = "/jwks") -> str:
        self.handlers[path] = respond
        return self.base + path


def _serve(tls: ssl.SSLContext | None) -> Iterator[LocalServer]:
    release = threading.Event()
    paths: list[str] = []
    headers: list[dict[str, str]] = []
    handlers: dict[str, Respond] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            headers.append(dict(self.headers.items()))
            handlers.get(self.path, _status(404))(self)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests assert on behaviour, not on access logs."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Join handler threads on close, so no thread outlives its test.
    httpd.daemon_threads = False
    # Several tests hang up on purpose (oversize, timeout): the handler's broken pipe is expected.
    httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    scheme = "http"
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield LocalServer(
            base=f"{scheme}://127.0.0.1:{httpd.server_address[1]}",
            paths=paths,
            headers=headers,
            release=release,
            handlers=handlers,
        )
    finally:
        release.set()  # wake any handler still "being slow"
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    yield from _serve(None)


def _json(body: object, status: int = 200) -> Respond:
    return _raw(json.dumps(body).encode(), status=status)


def _raw(
    body: bytes,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    length: bool = True,
) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if length:
            handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def _status(status: int, **headers: str) -> Respond:
    return _raw(b"", status=status, headers=headers)


def _fetcher(**options: Any) -> HttpsJsonFetcher:
    options.setdefault("allow_loopback_http", True)
    return HttpsJsonFetcher(**options)


def _failure(call: Callable[[], object]) -> FetchFailure:
    with pytest.raises(FetchError) as info:
        call()
    # Fixed, credential-free message (row 34): no URL, host, port or body text in it.
    assert str(info.value) == f"fetch failed: {info.value.failure.value}"
    # No chained OS/TLS/parser error (their text may name hosts or echo bytes).
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    return info.value.failure


# -- URL rules (rows 4, 32; PyJWT CVE-2026-48522): refused before any socket exists ---------


@pytest.mark.parametrize(
    ("url", "loopback_flag"),
    [
        ("http://idp.example.com/jwks", False),  # plain http
        ("http://idp.example.com/jwks", True),  # plain http, flag on, but not loopback
        ("http://127.0.0.1/jwks", False),  # loopback, but the flag is off
        ("http://127.0.0.1.nip.io/jwks", True),  # a *name* that resolves anywhere
        ("http://localhost.example.com/jwks", True),
        ("http://[::ffff:127.0.0.1]/jwks", True),  # mapped v4: not the literal ::1
        ("http://127.1/jwks", True),  # shorthand is not an IP literal
        ("file:///etc/passwd", True),
        ("ftp://idp.example.com/jwks", True),
        ("data:application/json,{}", True),
        ("gopher://idp.example.com/", True),
        ("https:///jwks", False),  # no host
        ("https://user:secret@idp.example.com/jwks", False),  # credentials in the URL
        ("https://idp.example.com:99999/jwks", False),  # malformed port
        ("https://idp.example.com/jw ks", False),  # whitespace: request smuggling
        ("https://idp.example.com/jwks\r\nX-Evil: 1", False),  # header injection
        ("https://idp.example.com/j\u00e9ks", False),  # non-ASCII
        ("", False),
    ],
)
def test_refuses_urls_outside_the_rules_without_touching_the_network(url, loopback_flag):
    # GIVEN sockets disabled (a connect attempt would raise SocketBlockedError, not FetchError)
    fetcher = HttpsJsonFetcher(allow_loopback_http=loopback_flag)
    # WHEN / THEN
    assert _failure(lambda: fetcher(url)) is FetchFailure.URL_REFUSED


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/jwks",
        "http://127.9.8.7/jwks",
        "http://[::1]:9000/jwks",
        "http://localhost/jwks",
        "https://idp.example.com/.well-known/jwks.json?x=1",
    ],
)
def test_check_url_accepts_https_and_flagged_loopback_http(url):
    assert check_url(url, allow_loopback_http=True).hostname


def test_constructor_rejects_nonsense_limits():
    with pytest.raises(ValueError, match="timeouts"):
        HttpsJsonFetcher(total_timeout_s=0)
    with pytest.raises(ValueError, match="max_bytes"):
        HttpsJsonFetcher(max_bytes=0)


# -- the happy path ---------------------------------------------------------------------------


@pytest.mark.enable_socket
def test_fetches_json_over_loopback_http_when_allowed(server):
    # GIVEN a JWKS-ish document on a loopback server
    url = server.respond(_json({"keys": [{"kid": "a"}]}))
    # WHEN
    document = _fetcher()(url)
    # THEN the parsed JSON, one request, with the headers we promise
    assert document == {"keys": [{"kid": "a"}]}
    assert server.paths == ["/jwks"]
    sent = {name.lower(): value for name, value in server.headers[0].items()}
    assert sent["accept-encoding"] == "identity"
    assert sent["connection"] == "close"
    assert sent["host"] == server.base.removeprefix("http://")


@pytest.mark.enable_socket
def test_reads_chunked_and_close_delimited_bodies(server):
    # GIVEN a body without Content-Length (ends when the server closes)
    url = server.respond(_raw(b'{"keys": []}', length=False))
    # THEN it is read to the end
    assert _fetcher()(url) == {"keys": []}


@pytest.mark.enable_socket
def test_a_body_of_exactly_max_bytes_is_accepted(server):
    body = b'{"k": "' + b"x" * 91 + b'"}'
    assert len(body) == 100
    url = server.respond(_raw(body))
    assert _fetcher(max_bytes=100)(url) == {"k": "x" * 91}


# -- redirects and status (row 32; PyJWT CVE-2026-102267) -------------------------------------


@pytest.mark.enable_socket
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_never_follows_redirects(server, status):
    # GIVEN an endpoint that redirects to another (attacker-chosen) document
    server.respond(_json({"keys": ["attacker"]}), path="/evil")
    url = server.respond(_status(status, Location=server.base + "/evil"))
    # WHEN / THEN a FetchError, and the Location was never requested
    assert _failure(lambda: _fetcher()(url)) is FetchFailure.REDIRECT
    assert server.paths == ["/jwks"]


@pytest.mark.enable_socket
@pytest.mark.parametrize("status", [201, 204, 404, 500, 503])
def test_only_200_is_accepted(server, status):
    url = server.respond(_json({"keys": []}, status=status))
    assert _failure(lambda: _fetcher()(url)) is FetchFailure.STATUS


# -- one deadline for the whole fetch (rows 26, 32) -------------------------------------------


@pytest.mark.enable_socket
def test_slow_server_fails_at_the_total_deadline(server):
    # GIVEN a server that takes 1.5 s to answer (the wait happens in the server thread)
    def slow(handler: BaseHTTPRequestHandler) -> None:
        server.release.wait(1.5)
        _json({"keys": []})(handler)

    url = server.respond(slow)
    # WHEN fetching with a 0.5 s total budget
    started = time.monotonic()
    failure = _failure(lambda: _fetcher(total_timeout_s=0.5)(url))
    # THEN a timeout, well before the server would have answered
    assert failure is FetchFailure.TIMEOUT
    assert time.monotonic() - started < 1.2


@pytest.mark.enable_socket
def test_a_trickling_server_cannot_stretch_the_deadline(server):
    # GIVEN a server that sends its body one byte every 50 ms (2 s in all): each single read
    # is fast, so per-operation timeouts would never fire; only a total deadline does.
    body = b'{"keys": [], "pad": "' + b"x" * 19 + b'"}'

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        for index in range(len(body)):
            handler.wfile.write(body[index : index + 1])
            handler.wfile.flush()
            if server.release.wait(0.05):
                return

    url = server.respond(trickle)
    started = time.monotonic()
    failure = _failure(lambda: _fetcher(total_timeout_s=0.5)(url))
    assert failure is FetchFailure.TIMEOUT
    assert time.monotonic() - started < 1.2


# -- size caps (row 26) -----------------------------------------------------------------------


@pytest.mark.enable_socket
@pytest.mark.parametrize("length", [True, False], ids=["content-length", "close-delimited"])
def test_a_5_mb_response_is_refused_after_at_most_max_bytes(server, length):
    # GIVEN a 5 MB "JWKS" (with or without a Content-Length announcing it)
    big = b'{"keys": [], "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    url = server.respond(_raw(big, length=length))
    # THEN TOO_LARGE (the announced length fails before any body is read)
    assert _failure(lambda: _fetcher()(url)) is FetchFailure.TOO_LARGE


@pytest.mark.enable_socket
def test_one_byte_over_max_bytes_is_refused(server):
    body = b'{"k": "' + b"x" * 92 + b'"}'
    assert len(body) == 101
    url = server.respond(_raw(body, length=False))
    assert _failure(lambda: _fetcher(max_bytes=100)(url)) is FetchFailure.TOO_LARGE


@pytest.mark.enable_socket
def test_compressed_bodies_are_refused(server):
    # A gzip bomb would defeat the byte cap; we ask for identity and accept only that.
    url = server.respond(_raw(b"\x1f\x8b", headers={"Content-Encoding": "gzip"}))
    assert _failure(lambda: _fetcher()(url)) is FetchFailure.ENCODING


# -- strict JSON (rows 21, 26) ----------------------------------------------------------------


@pytest.mark.enable_socket
@pytest.mark.parametrize(
    "body",
    [
        b'{"keys": [], "keys": [{"kid": "attacker"}]}',
        b'{"keys": [{"kid": "a", "kty": "RSA", "kty": "oct"}]}',
    ],
    ids=["top-level", "nested"],
)
def test_duplicate_json_members_are_refused(server, body):
    # Parser differential (row 21): two parsers could see two different key sets.
    url = server.respond(_raw(body))
    assert _failure(lambda: _fetcher()(url)) is FetchFailure.DUPLICATE_MEMBER


@pytest.mark.enable_socket
@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b"",
        b'{"keys": [',
        b'{"n": NaN}',
        b'{"n": Infinity}',
        b'"\xff\xfe"',  # not UTF-8
        b"[" * 50_000 + b"]" * 50_000,  # deep nesting: RecursionError, not a crash
    ],
    ids=["html", "empty", "truncated", "nan", "infinity", "not-utf8", "deep"],
)
def test_non_json_bodies_are_refused(server, body):
    url = server.respond(_raw(body))
    assert _failure(lambda: _fetcher(max_bytes=200_000)(url)) is FetchFailure.NOT_JSON


# -- transport faults -------------------------------------------------------------------------


@pytest.mark.enable_socket
def test_a_malformed_http_response_is_a_fetch_error(server):
    def garbage(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"SURPRISE\r\n\r\n")

    url = server.respond(garbage)
    assert _failure(lambda: _fetcher()(url)) is FetchFailure.PROTOCOL


@pytest.mark.enable_socket
def test_a_closed_port_is_a_fetch_error():
    # GIVEN a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # THEN a connection failure, not an OSError escaping
    failure = _failure(lambda: _fetcher()(f"http://127.0.0.1:{port}/jwks"))
    assert failure is FetchFailure.CONNECT


# -- TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> _Tls:
    """A self-signed certificate for 127.0.0.1, trusted only by ``client``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatehouse test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    directory: Path = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(cert_pem)
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return _Tls(server=server, client=client)


@pytest.fixture
def tls_server(tls: _Tls) -> Iterator[LocalServer]:
    yield from _serve(tls.server)


@pytest.mark.enable_socket
def test_fetches_over_https_with_a_trusted_certificate(tls_server, tls):
    url = tls_server.respond(_json({"keys": []}))
    fetcher = HttpsJsonFetcher(ssl_context=tls.client)  # no loopback-http flag needed
    assert fetcher(url) == {"keys": []}


@pytest.mark.enable_socket
def test_an_untrusted_certificate_is_a_fetch_error(tls_server):
    # GIVEN the default trust store, which does not know the test certificate
    url = tls_server.respond(_json({"keys": ["attacker"]}))
    # THEN the TLS handshake fails, and nothing is parsed
    assert _failure(lambda: HttpsJsonFetcher()(url)) is FetchFailure.TLS


# -- OIDC discovery (row 4) -------------------------------------------------------------------

ISSUER = "https://idp.example.com"
CONFIG_URL = ISSUER + "/.well-known/openid-configuration"


def _documents(**documents: object) -> tuple[Callable[[str], object], list[str]]:
    asked: list[str] = []

    def fetch(url: str) -> object:
        asked.append(url)
        return documents[url]

    return fetch, asked


def test_discovery_returns_the_jwks_uri_of_the_configured_issuer():
    fetch, asked = _documents(
        **{CONFIG_URL: {"issuer": ISSUER, "jwks_uri": "https://keys.example.com/jwks"}}
    )
    assert discover_jwks_uri(fetch, ISSUER) == "https://keys.example.com/jwks"
    assert asked == [CONFIG_URL]


def test_discovery_does_not_double_a_trailing_slash():
    fetch, asked = _documents(
        **{CONFIG_URL: {"issuer": ISSUER + "/", "jwks_uri": "https://idp.example.com/jwks"}}
    )
    assert discover_jwks_uri(fetch, ISSUER + "/") == "https://idp.example.com/jwks"
    assert asked == [CONFIG_URL]


@pytest.mark.parametrize(
    "document",
    [
        {"issuer": "https://evil.example.com", "jwks_uri": "https://evil.example.com/jwks"},
        {"issuer": ISSUER + "/", "jwks_uri": "https://idp.example.com/jwks"},  # not *exactly*
        {"issuer": ISSUER.upper(), "jwks_uri": "https://idp.example.com/jwks"},
        {"jwks_uri": "https://idp.example.com/jwks"},
    ],
    ids=["other-issuer", "trailing-slash", "case", "missing"],
)
def test_discovery_refuses_a_document_for_another_issuer(document):
    # Row 17/4: a discovery document speaking for someone else must not choose our keys.
    fetch, _ = _documents(**{CONFIG_URL: document})
    assert _failure(lambda: discover_jwks_uri(fetch, ISSUER)) is FetchFailure.DISCOVERY


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "http://idp.example.com/jwks",
        "http://127.0.0.1/jwks",  # loopback http: only with the local-mode flag
        "file:///etc/passwd",
        "https://user:pw@idp.example.com/jwks",
        42,
        None,
    ],
)
def test_discovery_requires_an_https_jwks_uri(jwks_uri):
    fetch, _ = _documents(**{CONFIG_URL: {"issuer": ISSUER, "jwks_uri": jwks_uri}})
    assert _failure(lambda: discover_jwks_uri(fetch, ISSUER)) is FetchFailure.DISCOVERY


def test_discovery_allows_loopback_http_only_with_the_flag():
    issuer = "http://127.0.0.1:8080"
    fetch, _ = _documents(
        **{
            issuer + "/.well-known/openid-configuration": {
                "issuer": issuer,
                "jwks_uri": "http://127.0.0.1:8080/jwks",
            }
        }
    )
    assert discover_jwks_uri(fetch, issuer, allow_loopback_http=True) == (
        "http://127.0.0.1:8080/jwks"
    )


@pytest.mark.parametrize("document", [[], "text", None, 3])
def test_discovery_refuses_a_non_object_document(document):
    fetch, _ = _documents(**{CONFIG_URL: document})
    assert _failure(lambda: discover_jwks_uri(fetch, ISSUER)) is FetchFailure.DISCOVERY


def test_discovery_passes_fetch_errors_through():
    def down(_url: str) -> object:
        raise FetchError(FetchFailure.TIMEOUT)

    assert _failure(lambda: discover_jwks_uri(down, ISSUER)) is FetchFailure.TIMEOUT


# -- end to end: cache + real fetcher ---------------------------------------------------------


@pytest.mark.enable_socket
def test_cache_serves_stale_keys_when_the_endpoint_turns_hostile(server):
    """Rows 26 and 30 together, over a real socket: a JWKS endpoint that starts answering with
    5 MB of junk neither evicts the good keys (CVE-2026-48524) nor gets read past the cap."""
    # GIVEN a cache that fetched a good JWKS from the loopback server
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    jwks = {"keys": [{**json.loads(OKPAlgorithm.to_jwk(public)), "kid": "ed-1"}]}
    url = server.respond(_json(jwks))
    clock = ManualClock()
    events: list[str] = []
    cache = JwksCache(
        fetch=_fetcher(),
        clock=clock,
        max_age_s=3600,
        cooldown_s=60,
        stale_if_error_s=1800,
        on_event=lambda name, _uri: events.append(name),
    )
    assert cache.get_key(url, "ed-1").kid == "ed-1"
    # WHEN the endpoint starts serving 5 MB and the set has expired
    server.respond(_raw(b"[" + b"0," * (5 * 1024 * 1024 // 2) + b"0]"))
    clock.advance(3600)
    # THEN the stale key is served, and the failure is reported
    assert cache.get_key(url, "ed-1").kid == "ed-1"
    assert events == ["jwks_refreshed", "jwks_fetch_failed", "jwks_stale_served"]
    # AND past the stale window the answer is a 401 reason, never a key
    clock.advance(1800)
    with pytest.raises(AuthenticationError) as info:
        cache.get_key(url, "ed-1")
    assert info.value.reason is Reason.UPSTREAM_UNAVAILABLE
