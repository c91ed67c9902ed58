"""The one way the JWT authorizer talks to the network: a small, strict HTTPS JSON GET.

Security contract (docs/jwt-attacks.md rows 4, 26, 32; PyJWT CVE-2026-48522, CVE-2026-102267):

- URLs come from the caller only (configuration, or discovery of a configured issuer), never
  from a token (``jku``/``x5u``) nor from a response (``Location``): redirects are not
  followed, a 3xx is a :class:`FetchError`, and only status 200 is accepted.
- ``https://`` only, with certificate and host name verification (TLS 1.2 or later). Plain
  ``http://`` is allowed solely when the fetcher is built with ``allow_loopback_http=True``
  *and* the host is a loopback IP literal (127.0.0.0/8, ``::1``) or exactly ``localhost``:
  local mode and tests. URLs carrying user info (``user:password@``) are refused.
- One monotonic deadline (``total_timeout_s``) bounds the whole fetch: connect, TLS
  handshake, request, status line, headers and body. Every socket operation gets only the
  time still left, so a server that trickles a byte at a time cannot stretch the fetch.
  ``connect_timeout_s`` additionally caps each connect attempt. Name resolution
  (``getaddrinfo``) cannot be interrupted in the standard library and is outside the bound.
- At most ``max_bytes`` of body are read (``max_bytes + 1`` to detect overflow; a
  ``Content-Length`` above the cap fails before reading). Compressed bodies are refused.
- The body must be UTF-8 JSON with no duplicate object members (a parser differential: row
  21) and no ``NaN``/``Infinity``; deep nesting fails rather than crashing.
- Every failure is a :class:`FetchError` whose message is one of a fixed set
  (:class:`FetchFailure`): no URL, header, body or OS error text, so it is safe to log and to
  use as a metric dimension. The underlying exception is not chained for the same reason.

Why ``http.client`` and not ``urllib.request``: urllib's ``timeout`` applies to each socket
operation separately (no total deadline), and its default opener brings behaviour we would
have to strip again (redirects, ``*_proxy`` environment variables, ``file:``/``data:``
schemes). Here we open the socket ourselves, give each operation the time remaining on one
deadline, and reuse only ``http.client.HTTPResponse`` to parse the status line, headers and
chunked or length-delimited bodies. Proxies are not supported (a VPC function needs a NAT
route or a preloaded JWKS).
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Final, cast
from urllib.parse import SplitResult, urlencode, urlsplit

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "FetchError",
    "FetchFailure",
    "HttpsJsonFetcher",
    "check_url",
    "discover_jwks_uri",
]

_USER_AGENT: Final = "gatehouse-jwt"
_READ_CHUNK: Final = 16 * 1024
_DISCOVERY_PATH: Final = "/.well-known/openid-configuration"


class FetchFailure(StrEnum):
    """Why a fetch failed: a fixed, low-cardinality, credential-free set."""

    URL_REFUSED = "url refused"
    CONNECT = "connection failed"
    TIMEOUT = "timed out"
    TLS = "tls failed"
    PROTOCOL = "malformed http response"
    REDIRECT = "redirect refused"
    STATUS = "unexpected http status"
    TOO_LARGE = "response too large"
    ENCODING = "content encoding refused"
    NOT_JSON = "response is not json"
    DUPLICATE_MEMBER = "duplicate json member"
    DISCOVERY = "invalid discovery document"


class FetchError(Exception):
    """A fetch failed. ``str(error)`` is ``"fetch failed: <failure>"`` and nothing else."""

    def __init__(self, failure: FetchFailure) -> None:
        self.failure = failure
        super().__init__(f"fetch failed: {failure.value}")


def check_url(url: str, *, allow_loopback_http: bool = False) -> SplitResult:
    """Validate a fetch URL; returns its parts or raises ``FetchError(URL_REFUSED)``.

    https with a host, no user info, no whitespace/control/non-ASCII characters; http only
    with ``allow_loopback_http`` and a loopback host (see the module docstring).
    """
    if not isinstance(url, str) or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        raise FetchError(FetchFailure.URL_REFUSED)
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise FetchError(FetchFailure.URL_REFUSED) from None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise FetchError(FetchFailure.URL_REFUSED)
    if parts.scheme == "https":
        return parts
    if parts.scheme == "http" and allow_loopback_http and _is_loopback(parts.hostname):
        return parts
    raise FetchError(FetchFailure.URL_REFUSED)


def _is_loopback(host: str) -> bool:
    # Literals only (plus the one name every resolver maps to loopback): a name like
    # "localhost.example.com" or "127.0.0.1.nip.io" resolves wherever its owner wants.
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


class _Deadline:
    """One monotonic deadline; ``remaining()`` raises TimeoutError once it has passed."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


class _DeadlineReader(io.RawIOBase):
    """Reads from a socket, giving each ``recv`` only the time left on the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``HTTPResponse`` needs from a socket (``makefile("rb")``), deadline-bound.

    The real socket stays owned, and closed, by :meth:`HttpsJsonFetcher._get`.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        if mode != "rb":  # pragma: no cover - HTTPResponse only ever asks for "rb"
            raise ValueError(mode)
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class HttpsJsonFetcher:
    """``fetcher(url) -> object``: GET ``url`` and return its JSON body (see module docstring).

    Parameters
    ----------
    connect_timeout_s:
        Cap on each TCP connect attempt (also bounded by the total deadline).
    total_timeout_s:
        The whole fetch, connect to last body byte, on one monotonic deadline.
    max_bytes:
        Largest accepted body, in bytes.
    allow_loopback_http:
        Allow ``http://`` to loopback hosts (local mode and tests only).
    ssl_context:
        TLS settings; by default ``ssl.create_default_context()`` (system trust store,
        hostname check) with TLS 1.2 as the minimum. Pass one to trust a private CA.

    Raises
    ------
    FetchError
        On any failure, with a fixed message.
    """

    def __init__(
        self,
        *,
        connect_timeout_s: float = 1.0,
        total_timeout_s: float = 2.5,
        max_bytes: int = 64 * 1024,
        allow_loopback_http: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if connect_timeout_s <= 0 or total_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self._connect_timeout = connect_timeout_s
        self._total_timeout = total_timeout_s
        self._max_bytes = max_bytes
        self._allow_loopback_http = allow_loopback_http
        # Built on the first https fetch, not here: loading the CA bundle costs ~20 ms of cold
        # start, and an authorizer with a preloaded JWKS may never fetch at all.
        self._ssl_context = ssl_context

    def __call__(self, url: str) -> object:
        parts = check_url(url, allow_loopback_http=self._allow_loopback_http)
        body = self._send(parts, _request(parts))
        return _parse_json(body)

    def post_form(self, url: str, form: Mapping[str, str]) -> object:
        """POST ``form`` (``application/x-www-form-urlencoded``) and return the JSON answer,
        under the same rules as a GET: an OAuth token request (RFC 6749 section 4.1.3)."""
        parts = check_url(url, allow_loopback_http=self._allow_loopback_http)
        body = urlencode(form).encode("ascii")
        return _parse_json(self._send(parts, _request(parts, body)))

    def _send(self, parts: SplitResult, request: bytes) -> bytes:
        deadline = _Deadline(self._total_timeout)
        try:
            sock = self._open(parts, deadline)
            try:
                sock.settimeout(deadline.remaining())
                # sendall's timeout bounds the whole send (Python >= 3.5), not each chunk.
                sock.sendall(request)
                # HTTPResponse only calls makefile("rb") on what it is given.
                response = http.client.HTTPResponse(
                    cast(socket.socket, _DeadlineSocket(sock, deadline)), method="GET"
                )
                try:
                    response.begin()
                    return self._body(response)
                finally:
                    response.close()
            finally:
                sock.close()
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError(FetchFailure.TIMEOUT) from None
        except ssl.SSLError:
            raise FetchError(FetchFailure.TLS) from None
        except (http.client.HTTPException, ValueError):
            raise FetchError(FetchFailure.PROTOCOL) from None
        except OSError:
            raise FetchError(FetchFailure.CONNECT) from None

    def _open(self, parts: SplitResult, deadline: _Deadline) -> socket.socket:
        host = parts.hostname or ""
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        sock = self._connect(host, port, deadline)
        if not tls:
            return sock
        try:
            # The handshake as a whole is bounded by the socket timeout (CPython's _ssl
            # computes one deadline for do_handshake), so the remaining time is enough.
            sock.settimeout(deadline.remaining())
            if self._ssl_context is None:
                context = ssl.create_default_context()
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                self._ssl_context = context
            return self._ssl_context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise

    def _connect(self, host: str, port: int, deadline: _Deadline) -> socket.socket:
        # socket.create_connection gives *each* resolved address the full timeout; this loop
        # gives each attempt only what is left of the deadline.
        error: OSError = OSError("no address")
        for family, kind, proto, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        ):
            timeout = min(self._connect_timeout, deadline.remaining())
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            return sock
        raise error

    def _body(self, response: http.client.HTTPResponse) -> bytes:
        if 300 <= response.status < 400:
            raise FetchError(FetchFailure.REDIRECT)
        if response.status != 200:
            raise FetchError(FetchFailure.STATUS)
        encoding = response.getheader("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            raise FetchError(FetchFailure.ENCODING)
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self._max_bytes:
            raise FetchError(FetchFailure.TOO_LARGE)
        chunks: list[bytes] = []
        size = 0
        while size <= self._max_bytes:
            chunk = response.read(min(_READ_CHUNK, self._max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > self._max_bytes:
            raise FetchError(FetchFailure.TOO_LARGE)
        return b"".join(chunks)


def _request(parts: SplitResult, form: bytes | None = None) -> bytes:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"{'GET' if form is None else 'POST'} {target} HTTP/1.1",
        f"Host: {host}",
        "Accept: application/json, application/jwk-set+json",
        "Accept-Encoding: identity",
        f"User-Agent: {_USER_AGENT}",
        "Connection: close",
    ]
    if form is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(form)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (form or b"")


class _DuplicateMemberError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateMemberError
        result[name] = value
    return result


def _reject_constant(_name: str) -> object:
    raise ValueError("NaN and Infinity are not JSON")


def _parse_json(body: bytes) -> object:
    try:
        return cast(
            object,
            json.loads(
                body.decode("utf-8"),
                object_pairs_hook=_reject_duplicates,
                parse_constant=_reject_constant,
            ),
        )
    except _DuplicateMemberError:
        raise FetchError(FetchFailure.DUPLICATE_MEMBER) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise FetchError(FetchFailure.NOT_JSON) from None


def discover_jwks_uri(
    fetch: Callable[[str], object], issuer: str, *, allow_loopback_http: bool = False
) -> str:
    """The ``jwks_uri`` of a configured issuer, from its OpenID Connect discovery document.

    GETs ``{issuer}/.well-known/openid-configuration`` (a trailing ``/`` on ``issuer`` is not
    doubled) and requires the document's ``issuer`` to equal ``issuer`` exactly (OpenID
    Connect Discovery 1.0 section 4.3: a mismatch means the document speaks for someone else)
    and ``jwks_uri`` to pass :func:`check_url` (https; ``allow_loopback_http`` as for the
    fetcher, for local mode only).

    Raises
    ------
    FetchError
        When the fetch fails or the document does not satisfy the rules above.
    """
    document = fetch(issuer.rstrip("/") + _DISCOVERY_PATH)
    if not isinstance(document, Mapping) or document.get("issuer") != issuer:
        raise FetchError(FetchFailure.DISCOVERY)
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise FetchError(FetchFailure.DISCOVERY)
    try:
        check_url(jwks_uri, allow_loopback_http=allow_loopback_http)
    except FetchError:
        raise FetchError(FetchFailure.DISCOVERY) from None
    return jwks_uri
