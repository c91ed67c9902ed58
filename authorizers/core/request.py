"""One normalized, read-only view of every event API Gateway sends to a Lambda authorizer.

Kinds: REST ``TOKEN``, REST ``REQUEST``, HTTP API payload ``1.0`` and ``2.0``, WebSocket
``$connect`` (a ``REQUEST`` event without ``httpMethod``). Fields are read from the event as
Powertools' event data classes read them (the same keys, ``pathParameters`` and
``authentication`` null-tolerant), but not through them: importing any data class imports the
whole ``data_classes`` package, ~45 ms of every cold start (``make bench``). Added here:
multi-value headers (to refuse a duplicated credential header), WebSocket detection, ``null``
tolerance, and strict type checks. Anything malformed becomes :class:`InvalidRequestError`
(401); nothing else escapes :func:`normalize`.

Security: ``Request`` never shows headers, the token or the client certificate PEM in its
``repr``, so logging a request by mistake leaks no credential.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from authorizers.core.deadline import Deadline
from authorizers.core.exceptions import InvalidRequestError, Reason
from authorizers.core.route_arn import RouteArn, parse_route_arn

#: A REST API accepts at most 10,240 bytes of headers; anything bigger did not come from it.
MAX_HEADER_BYTES: Final = 10_240 * 2


class EventKind(StrEnum):
    REST_TOKEN = "rest-token"  # noqa: S105 - an event kind, not a secret
    REST_REQUEST = "rest-request"
    HTTP_V1 = "http-1.0"
    HTTP_V2 = "http-2.0"
    WEBSOCKET = "websocket"

    @property
    def is_http_api(self) -> bool:
        return self in (EventKind.HTTP_V1, EventKind.HTTP_V2)


class Headers(Mapping[str, tuple[str, ...]]):
    """Case-insensitive, immutable headers: lower-cased name -> every value received.

    HTTP API payload 2.0 joins duplicates with commas before we see them, so there a duplicated
    header shows up as one value; REST and payload 1.0 keep them apart (``multiValueHeaders``).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._values: dict[str, tuple[str, ...]] = {
            name.lower(): tuple(vals) for name, vals in (values or {}).items()
        }

    @classmethod
    def _lowered(cls, values: dict[str, tuple[str, ...]]) -> Headers:
        # normalize's own: names already lower-cased, values already tuples (not copied again).
        headers = cls.__new__(cls)
        headers._values = values
        return headers

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def single(self, name: str) -> str | None:
        """The header's one value, ``None`` when absent.

        Raises ``InvalidRequestError(AMBIGUOUS_CREDENTIALS)`` when it was sent more than once
        with different values: which one a proxy or backend would honour is not ours to guess.
        """
        values = self._values.get(name.lower())
        if not values:
            return None
        if len(set(values)) > 1:
            raise InvalidRequestError(Reason.AMBIGUOUS_CREDENTIALS)
        return values[0]

    def __repr__(self) -> str:
        return f"Headers(<{len(self._values)} headers>)"


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """The mTLS client certificate API Gateway verified and handed to the authorizer."""

    pem: str = field(repr=False)
    subject_dn: str
    issuer_dn: str
    serial_number: str
    not_before: str
    not_after: str


@dataclass(frozen=True, slots=True)
class Request:
    """What an authorizer needs from one API Gateway event, whatever its kind."""

    kind: EventKind
    arn: RouteArn
    headers: Headers = field(repr=False)
    query: Mapping[str, tuple[str, ...]] = field(repr=False)
    path_parameters: Mapping[str, str]
    source_ip: str | None
    request_id: str | None
    #: REST REQUEST resource template (``/pets/{id}``) or HTTP v2 route key (``GET /pets/{id}``).
    route: str | None
    client_cert: ClientCertificate | None = field(repr=False)
    #: REST TOKEN only: the raw value of the token source header, as the client sent it.
    token: str | None = field(repr=False)
    #: The URL as the client sent it, without query: ``https://`` + API Gateway's
    #: ``requestContext.domainName`` + the path (REST ``requestContext.path``, HTTP API
    #: ``rawPath``), for a DPoP proof's ``htu``; ``None`` where the event lacks either.
    url: str | None = field(default=None, repr=False)
    #: When the invocation's upstream calls must be over (``None`` outside an invocation).
    #: Not part of the request's identity: two requests differing only here are equal.
    deadline: Deadline | None = field(default=None, repr=False, compare=False)

    @property
    def method(self) -> str | None:
        """The HTTP verb; ``None`` on WebSocket ``$connect``."""
        return self.arn.method

    @property
    def path(self) -> str:
        """The concrete request path (WebSocket: the route key)."""
        return self.arn.path

    @property
    def stage(self) -> str:
        return self.arn.stage

    def credential(self, header: str) -> str | None:
        """The credential header's single value; for TOKEN events, the token source value.

        A TOKEN authorizer receives only the configured token source, so ``header`` names it
        only for the other kinds.
        """
        if self.kind is EventKind.REST_TOKEN:
            return self.token
        return self.headers.single(header)


def normalize(event: object, deadline: Deadline | None = None) -> Request:
    """Turn a raw authorizer event into a :class:`Request` with the invocation's ``deadline``.

    Raises
    ------
    InvalidRequestError
        ``UNSUPPORTED_EVENT`` for an event that is not an authorizer event we know, and
        ``MALFORMED_EVENT`` for one whose fields have the wrong shape.
    """
    if not isinstance(event, dict):
        raise InvalidRequestError(Reason.UNSUPPORTED_EVENT)
    try:
        return _normalize(event, deadline)
    except InvalidRequestError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError):
        # Fields are indexed straight out of the event; any shape surprise lands here.
        raise InvalidRequestError(Reason.MALFORMED_EVENT) from None


def _normalize(event: dict[str, Any], deadline: Deadline | None) -> Request:
    kind = _kind_of(event)
    if kind is EventKind.REST_TOKEN:
        token = event.get("authorizationToken")
        if token is not None and not isinstance(token, str):
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        return Request(
            kind=kind,
            arn=parse_route_arn(event["methodArn"]),
            headers=Headers(),
            query={},
            path_parameters={},
            source_ip=None,
            request_id=None,
            route=None,
            client_cert=None,
            token=token,
            deadline=deadline,
        )
    if kind is EventKind.HTTP_V2:
        context_v2 = event["requestContext"]
        if not isinstance(context_v2, dict):
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        http = _mapping(context_v2.get("http"))
        authentication = _mapping(context_v2.get("authentication") or None)
        cert_v2 = authentication.get("clientCert")
        return Request(
            kind=kind,
            arn=parse_route_arn(event["routeArn"]),
            headers=event_headers(event),
            query=event_query(event),
            path_parameters=_str_map(event.get("pathParameters") or None),
            source_ip=_opt_str(http.get("sourceIp")),
            request_id=_opt_str(context_v2.get("requestId")),
            route=_opt_str(event.get("routeKey")),
            client_cert=None if cert_v2 is None else _client_cert(cert_v2),
            token=None,
            url=_url(context_v2.get("domainName"), event.get("rawPath")),
            deadline=deadline,
        )
    context = _mapping(event.get("requestContext"))
    identity = _mapping(context.get("identity"))
    cert = identity.get("clientCert")
    websocket = kind is EventKind.WEBSOCKET
    return Request(
        kind=kind,
        arn=parse_route_arn(event["methodArn"], websocket=websocket),
        headers=event_headers(event),
        query=event_query(event),
        path_parameters=_str_map(event.get("pathParameters")),
        source_ip=_opt_str(identity.get("sourceIp")),
        request_id=_opt_str(context.get("requestId")),
        route=_opt_str(context.get("routeKey") if websocket else event.get("resource")),
        client_cert=None if cert is None else _client_cert(cert),
        token=None,
        url=_url(context.get("domainName"), context.get("path")),
        deadline=deadline,
    )


def event_headers(event: Mapping[str, Any]) -> Headers:
    """The headers of an API Gateway event, authorizer or Lambda proxy: ``headers`` with the
    ``multiValueHeaders`` of REST and payload 1.0, or payload 2.0's ``headers`` with its
    ``cookies`` put back as ``cookie``. Raises ``InvalidRequestError(MALFORMED_EVENT)``."""
    if event.get("version") == "2.0":
        return _headers(_with_cookies(_str_map(event.get("headers")), event), None)
    return _headers(_str_map(event.get("headers")), event.get("multiValueHeaders"))


def event_query(event: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The query parameters of an API Gateway event, each with every value received (payload
    2.0 joins a repeated one with commas). Raises ``InvalidRequestError(MALFORMED_EVENT)``."""
    single = _str_map(event.get("queryStringParameters"))
    if event.get("version") == "2.0":
        return {name: (value,) for name, value in single.items()}
    return _multi(single, event.get("multiValueQueryStringParameters"))


def _with_cookies(headers: dict[str, str], event: Mapping[str, Any]) -> dict[str, str]:
    # Payload 2.0 moves the Cookie header into a ``cookies`` list; put it back, so a cookie
    # reads the same from every kind of event.
    cookies = event.get("cookies")
    if cookies is None:
        return headers
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    if cookies:
        headers["cookie"] = "; ".join([*filter(None, [headers.pop("cookie", "")]), *cookies])
    return headers


def _url(domain: object, path: object) -> str | None:
    if isinstance(domain, str) and domain and isinstance(path, str) and path.startswith("/"):
        return f"https://{domain}{path}"
    return None


def _kind_of(event: dict[str, Any]) -> EventKind:
    event_type = event.get("type")
    if event_type == "TOKEN" and "version" not in event:
        return EventKind.REST_TOKEN
    if event_type != "REQUEST":
        raise InvalidRequestError(Reason.UNSUPPORTED_EVENT)
    version = event.get("version")
    if version == "2.0" and "routeArn" in event:
        return EventKind.HTTP_V2
    if version == "1.0" and "methodArn" in event:
        return EventKind.HTTP_V1
    if version is not None or "methodArn" not in event:
        raise InvalidRequestError(Reason.UNSUPPORTED_EVENT)
    context = event.get("requestContext")
    if isinstance(context, dict) and context.get("eventType") == "CONNECT":
        return EventKind.WEBSOCKET
    return EventKind.REST_REQUEST


def _mapping(value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    return value


def _str_map(value: object) -> dict[str, str]:
    mapping = _mapping(value)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    return dict(mapping)


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    return value


def _multi(single: dict[str, str], multi: object) -> dict[str, tuple[str, ...]]:
    combined: dict[str, tuple[str, ...]] = {name: (value,) for name, value in single.items()}
    for name, values in _mapping(multi).items():
        if not isinstance(name, str) or not isinstance(values, list):
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        if not all(isinstance(v, str) for v in values):
            raise InvalidRequestError(Reason.MALFORMED_EVENT)
        if values:
            combined[name] = tuple(values)
    return combined


def _headers(single: dict[str, str], multi: object) -> Headers:
    merged: dict[str, tuple[str, ...]] = {}
    size = 0
    for name, received in _multi(single, multi).items():
        size += len(name) + sum(map(len, received))
        lowered = name.lower()
        # Two spellings of one name ("Authorization", "authorization") are one header sent twice.
        previous = merged.get(lowered)
        values = received if previous is None else previous + received
        # ``headers`` repeats the last of ``multiValueHeaders``; keep each distinct value once.
        merged[lowered] = values if len(values) == 1 else tuple(dict.fromkeys(values))
    if size > MAX_HEADER_BYTES:
        raise InvalidRequestError(Reason.MALFORMED_EVENT)
    return Headers._lowered(merged)


def _client_cert(cert: object) -> ClientCertificate:
    raw = _mapping(cert)
    validity = _mapping(raw.get("validity"))
    pem = raw.get("clientCertPem")
    if not isinstance(pem, str) or not pem:
        raise InvalidRequestError(Reason.MALFORMED_CREDENTIALS)
    return ClientCertificate(
        pem=pem,
        subject_dn=_opt_str(raw.get("subjectDN")) or "",
        issuer_dn=_opt_str(raw.get("issuerDN")) or "",
        serial_number=_opt_str(raw.get("serialNumber")) or "",
        not_before=_opt_str(validity.get("notBefore")) or "",
        not_after=_opt_str(validity.get("notAfter")) or "",
    )
