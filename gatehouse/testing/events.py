"""Authorizer events shaped as API Gateway sends them, and a Lambda context object.

One builder for every event kind a Gatehouse authorizer receives (REST TOKEN and REQUEST, HTTP
API payload 1.0 and 2.0, WebSocket ``$connect``). REST REQUEST events come from the local
emulator's own builder (:mod:`gatehouse.emulator.events`), so a test and ``gatehouse local``
send the same bytes; the captured events in the repository's ``tests/events/`` are the oracle a
test checks every kind against. The shapes follow the AWS documentation pages "Input to an API
Gateway Lambda authorizer" (REST), "Working with AWS Lambda authorizers for HTTP APIs" and
"Controlling access to WebSocket APIs with AWS Lambda REQUEST authorizers".

>>> event = build_event("rest_request", "GET /orders/7", resource="/orders/{id}",
...                     headers={"Authorization": "Bearer abc"})
>>> event["methodArn"], event["pathParameters"]
('arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/orders/7', {'id': '7'})
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args
from urllib.parse import parse_qsl, urlsplit

from gatehouse.emulator.context import LambdaContext
from gatehouse.emulator.events import (
    IncomingRequest,
    client_cert,
    http_v1_event,
    http_v2_event,
    multi_values,
    request_context,
    request_event,
    single_values,
    token_event,
)

__all__ = ["EVENT_KINDS", "Api", "EventKind", "EventKindError", "LambdaContext", "build_event"]

EventKind = Literal["rest_token", "rest_request", "http_v1", "http_v2", "websocket_connect"]
EVENT_KINDS: Final[tuple[EventKind, ...]] = get_args(EventKind)

HeaderValues = str | Sequence[str]
_METHOD: Final = re.compile(r"[A-Z]+")
_PARAM: Final = re.compile(r"\{([A-Za-z0-9._-]+)(\+?)\}")


class EventKindError(ValueError):
    """An event kind the builder does not know; the message lists the ones it does."""

    def __init__(self, kind: object) -> None:
        super().__init__(f"unknown event kind {kind!r}; use one of {', '.join(EVENT_KINDS)}")


@dataclass(frozen=True, slots=True)
class Api:
    """Which API and stage an event is for (the parts of its execute-api ARN)."""

    region: str = "eu-west-1"
    account: str = "123456789012"
    api_id: str = "abcdef1234"
    stage: str = "prod"

    def arn(self, method: str, path: str) -> str:
        """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD><path>``."""
        return f"{self.prefix}/{method}{path}"

    @property
    def prefix(self) -> str:
        """``arn:aws:execute-api:<region>:<account>:<api>/<stage>``."""
        return f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}"


def build_event(
    kind: EventKind | str,
    request: str = "GET /",
    *,
    resource: str | None = None,
    headers: Mapping[str, HeaderValues] | None = None,
    stage_variables: Mapping[str, str] | None = None,
    client_cert_pem: str | None = None,
    source_ip: str = "203.0.113.7",
    authorization: str | None = None,
    identity_source: Sequence[str] | None = None,
    cookies: Sequence[str] = (),
    api: Api = Api(),
) -> dict[str, Any]:
    """One authorizer event of ``kind``.

    Parameters
    ----------
    kind:
        ``rest_token``, ``rest_request``, ``http_v1``, ``http_v2`` or ``websocket_connect``.
    request:
        ``"METHOD /path?query"`` as the client sent it (WebSocket: ignored, the route is
        ``$connect``). The path is used raw, as API Gateway passes it (percent-escapes kept).
    resource:
        The route template that matched (``/orders/{id}``, ``/{proxy+}``); path parameters are
        read from the path with it. Default: the path itself (no parameters).
    headers:
        Header name -> value, or a list of values for a repeated header (REST and payload 1.0
        carry both ``headers``, last value, and ``multiValueHeaders``; payload 2.0 joins
        repeated values with commas, as API Gateway does).
    authorization:
        For ``rest_token``, the token source's value (``authorizationToken``); for the others a
        shortcut for an ``Authorization`` header.
    identity_source:
        Payload 1.0 and 2.0 ``identitySource``; default: the ``authorization`` value, if any.
    cookies:
        ``name=value`` pairs sent in one ``Cookie`` header (payload 2.0: the ``cookies``
        list, as API Gateway moves them there).
    client_cert_pem:
        A client certificate presented over mTLS (REST and 1.0: ``identity.clientCert``; 2.0:
        ``authentication.clientCert``), with the fields API Gateway derives from it.

    Raises
    ------
    EventKindError
        For a ``kind`` not listed above.
    ValueError
        For a ``request`` that is not ``"METHOD /path"``, or a ``resource`` the path does not
        match.
    """
    if kind not in EVENT_KINDS:
        raise EventKindError(kind)
    method, path, query = _split(request)
    all_headers = [
        (name, value) for name, values in (headers or {}).items() for value in _values(values)
    ]
    if authorization is not None and kind != "rest_token":
        all_headers.append(("Authorization", authorization))
    if cookies:
        all_headers.append(("Cookie", "; ".join(cookies)))
    incoming = IncomingRequest(
        method=method,
        path=path,
        headers=all_headers,
        query=query,
        source_ip=source_ip,
        host=_host(all_headers, api),
        client_cert_pem=client_cert_pem,
        scheme="https",
    )
    template = resource or path
    parameters = _path_parameters(template, path)
    if kind == "rest_token":
        return token_event(authorization or "", api.arn(method, path))
    if kind == "websocket_connect":
        return _websocket(incoming, api, stage_variables or {})
    sources = (
        list(identity_source)
        if identity_source is not None
        else ([authorization] if authorization is not None else [])
    )
    if kind == "http_v2":
        return http_v2_event(
            incoming,
            route_key=f"{method} {template}",
            route_arn=api.arn(method, path),
            stage=api.stage,
            account=api.account,
            api_id=api.api_id,
            path_parameters=parameters,
            stage_variables=stage_variables,
            identity_source=sources,
        )
    context = request_context(
        incoming, resource=template, stage=api.stage, account=api.account, api_id=api.api_id
    )
    fields: dict[str, Any] = {
        "method_arn": api.arn(method, path),
        "resource": template,
        "path_parameters": parameters,
        "stage_variables": stage_variables or {},
        "context": context,
    }
    if kind == "http_v1":
        return http_v1_event(incoming, identity_source=sources, **fields)
    return request_event(incoming, **fields)


def _split(request: str) -> tuple[str, str, list[tuple[str, str]]]:
    method, _, target = request.partition(" ")
    if not _METHOD.fullmatch(method) or not target.startswith("/"):
        raise ValueError(f"request must look like 'GET /orders/7', not {request!r}")
    parts = urlsplit(target)
    return method, parts.path, parse_qsl(parts.query, keep_blank_values=True)


def _values(values: HeaderValues) -> Sequence[str]:
    return [values] if isinstance(values, str) else values


def _host(headers: Sequence[tuple[str, str]], api: Api) -> str:
    for name, value in headers:
        if name.lower() == "host":
            return value
    return f"{api.api_id}.execute-api.{api.region}.amazonaws.com"


def _path_parameters(template: str, path: str) -> dict[str, str]:
    pattern = ""
    position = 0
    for match in _PARAM.finditer(template):
        pattern += re.escape(template[position : match.start()])
        greedy = match.group(2) == "+"
        pattern += f"(?P<{_group(match.group(1))}>{'.+' if greedy else '[^/]+'})"
        position = match.end()
    pattern += re.escape(template[position:])
    found = re.fullmatch(pattern, path)
    if found is None:
        raise ValueError(f"path {path!r} does not match resource {template!r}")
    names = {_group(m.group(1)): m.group(1) for m in _PARAM.finditer(template)}
    return {names[group]: value for group, value in found.groupdict().items()}


def _group(name: str) -> str:
    return "p_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in name)


def _websocket(
    request: IncomingRequest, api: Api, stage_variables: Mapping[str, str]
) -> dict[str, Any]:
    # WebSocket events carry the maps even when empty ({}), unlike REST REQUEST events.
    multi = multi_values(request.headers) or {}
    query_multi = multi_values(request.query) or {}
    now = int(request.time_epoch * 1000)
    identity: dict[str, Any] = {
        "sourceIp": request.source_ip,
        "userAgent": request.header("User-Agent") or "",
    }
    if request.client_cert_pem is not None:
        identity["clientCert"] = client_cert(request.client_cert_pem)
    return {
        "type": "REQUEST",
        "methodArn": f"{api.prefix}/$connect",
        "headers": single_values(request.headers) or {},
        "multiValueHeaders": multi,
        "queryStringParameters": single_values(request.query) or {},
        "multiValueQueryStringParameters": query_multi,
        "stageVariables": dict(stage_variables),
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "extendedRequestId": request.request_id,
            "requestTime": time.strftime(
                "%d/%b/%Y:%H:%M:%S +0000", time.gmtime(request.time_epoch)
            ),
            "messageDirection": "IN",
            "stage": api.stage,
            "connectedAt": now,
            "requestTimeEpoch": now,
            "identity": identity,
            "requestId": request.request_id,
            "domainName": request.host,
            "connectionId": "Cg==",
            "apiId": api.api_id,
        },
    }
