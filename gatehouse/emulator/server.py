"""HTTP and HTTPS listeners for the gateway, on werkzeug's threaded WSGI server.

HTTPS asks for a client certificate (``CERT_OPTIONAL``) and verifies it against the truststore
(the local CA), as an API Gateway custom domain with mutual TLS does: a certificate from
another CA fails the handshake. Unlike that domain, which requires a certificate in every
handshake, no certificate is fine here (the other routes work over HTTPS, and the mTLS
authorizer answers 401; docs/local.md "Known differences"). Werkzeug puts
the verified leaf in ``environ["SSL_CLIENT_CERT"]`` (PEM), which the gateway hands to REQUEST
authorizers as ``requestContext.identity.clientCert``.

Why the handshake is moved off the accept loop: werkzeug wraps the *listening* socket, so the
TLS handshake runs inside ``accept()`` on the serving thread, and one idle client would stall
everyone (measured: one idle TCP connection held a trusted request for 3 s; with the
handshake in the request thread it answered in 0.02 s; see the ``ssl`` module documentation,
``do_handshake_on_connect``). Here the listening socket stays plain and each accepted
connection is wrapped in its own request thread.

Request logging is off: a request line can hold credentials in its query string.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class PortInUse(OSError):
    """The port is taken by another program."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is already in use")
        self.host = host
        self.port = port


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class _Server(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(
        self, host: str, port: int, app: WSGIApplication, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(host, port, app, handler=_QuietHandler)
        # Set after binding: werkzeug reads it for the URL scheme and the peer certificate.
        self.ssl_context = tls
        self.tls = tls

    def server_bind(self) -> None:
        try:
            super().server_bind()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(str(self.server_address[0]), int(self.server_address[1])) from None
            raise

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                with contextlib.suppress(OSError):
                    request.close()
                return  # a failed handshake (untrusted certificate): no HTTP at all
            request.settimeout(None)
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with contextlib.suppress(OSError):
            super().shutdown_request(request)


def server_tls_context(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    """TLS 1.2+ with the server certificate; client certificates optional, verified by the CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=client_ca)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


class Listener:
    """One bound server, served on a daemon thread until :meth:`stop`."""

    def __init__(
        self, app: WSGIApplication, *, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> None:
        self._server = _Server(host, port, app, tls)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`PortInUse` when ``port`` cannot be bound (0 is always free)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            raise
