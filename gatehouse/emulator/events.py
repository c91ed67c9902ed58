"""Authorizer and integration events, shaped like API Gateway's (REST and HTTP APIs).

AWS: "Input to an API Gateway Lambda authorizer" (docs/local.md, "Emulator semantics", step 1):
``methodArn`` carries the *concrete* path; REQUEST events carry
the resource template, path parameters, single- and multi-value headers and query strings,
stage variables and a ``requestContext`` whose ``identity.clientCert`` is present only when the
caller presented a client certificate over TLS (an mTLS custom domain).

HTTP APIs (AWS: "Working with AWS Lambda authorizers for HTTP APIs", "Working with AWS Lambda
proxy integrations for HTTP APIs"): payload 2.0 lowercases header names and joins repeated
headers and query parameters with commas, moves ``Cookie`` into a ``cookies`` list, and puts
the client certificate in ``requestContext.authentication.clientCert``; payload 1.0 is the
REST REQUEST shape with ``version``, ``identitySource`` and ``authorizationToken`` added.
"""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import serialization

_OPENSSL_TIME = "%b %e %H:%M:%S %Y GMT"  # "Aug  5 09:36:04 2031 GMT": day padded with a space


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """One HTTP request as the gateway received it (names keep the client's spelling)."""

    method: str
    path: str
    headers: Sequence[tuple[str, str]] = field(repr=False)
    query: Sequence[tuple[str, str]] = field(repr=False)
    source_ip: str
    host: str
    client_cert_pem: str | None = field(default=None, repr=False)
    scheme: str = "http"
    body: bytes = field(default=b"", repr=False)
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time_epoch: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), as API Gateway's ``headers``."""
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None

    def query_value(self, name: str) -> str | None:
        found = [v for k, v in self.query if k == name]
        return found[-1] if found else None


def single_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str] | None:
    """Name -> last value (API Gateway's ``headers`` / ``queryStringParameters``); ``None``
    when there are none."""
    return dict(pairs) or None


def multi_values(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]] | None:
    """Name -> every value in order (the ``multiValue*`` maps); ``None`` when there are none."""
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return multi or None


def client_cert(pem: str) -> dict[str, Any]:
    """``requestContext.identity.clientCert`` for a PEM: facts API Gateway reads from it."""
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    serial = f"{certificate.serial_number:x}"
    serial = serial if len(serial) % 2 == 0 else "0" + serial
    return {
        "clientCertPem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "subjectDN": certificate.subject.rfc4514_string(),
        "issuerDN": certificate.issuer.rfc4514_string(),
        "serialNumber": ":".join(serial[i : i + 2] for i in range(0, len(serial), 2)),
        "validity": {
            "notBefore": certificate.not_valid_before_utc.strftime(_OPENSSL_TIME),
            "notAfter": certificate.not_valid_after_utc.strftime(_OPENSSL_TIME),
        },
    }


def request_context(
    request: IncomingRequest,
    *,
    resource: str,
    stage: str,
    account: str,
    api_id: str,
    api_key: str | None = None,
    api_key_id: str | None = None,
) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "apiKey": api_key,
        "apiKeyId": api_key_id,
        "sourceIp": request.source_ip,
        "userAgent": request.header("User-Agent"),
    }
    if request.client_cert_pem is not None:
        identity["clientCert"] = client_cert(request.client_cert_pem)
    return {
        "accountId": account,
        "apiId": api_id,
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0].split(":", 1)[0],
        "extendedRequestId": request.request_id,
        "httpMethod": request.method,
        "identity": identity,
        "path": f"/{stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(request.time_epoch)),
        "requestTimeEpoch": int(request.time_epoch * 1000),
        "resourceId": f"{zlib.crc32(resource.encode()):08x}"[:6],
        "resourcePath": resource,
        "stage": stage,
    }


def token_event(token: str, method_arn: str) -> dict[str, Any]:
    """A REST TOKEN authorizer event: the raw header value, ``Bearer`` prefix included."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}


def request_event(
    request: IncomingRequest,
    *,
    method_arn: str,
    resource: str,
    path_parameters: Mapping[str, str],
    stage_variables: Mapping[str, str],
    context: dict[str, Any],
) -> dict[str, Any]:
    """A REST REQUEST authorizer event."""
    return {
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single_values(request.headers),
        "multiValueHeaders": multi_values(request.headers),
        "queryStringParameters": single_values(request.query),
        "multiValueQueryStringParameters": multi_values(request.query),
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": dict(stage_variables) or None,
        "requestContext": context,
    }


def proxy_event(
    request: IncomingRequest,
    *,
    resource: str,
    path_parameters: Mapping[str, str],
    stage_variables: Mapping[str, str],
    context: dict[str, Any],
) -> dict[str, Any]:
    """The Lambda-proxy integration event the backend receives (``requestContext.authorizer``
    is already in ``context``): the REQUEST event's request fields, plus the body."""
    event = request_event(
        request,
        method_arn="",
        resource=resource,
        path_parameters=path_parameters,
        stage_variables=stage_variables,
        context=context,
    )
    return rest_proxy_event(event, request.body)


def rest_proxy_event(authorizer_event: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    """What a Lambda-proxy integration of a REST API receives for a request whose REQUEST
    authorizer event is ``authorizer_event``: its fields without ``type`` and ``methodArn``,
    plus the body."""
    event = {k: v for k, v in authorizer_event.items() if k not in ("type", "methodArn")}
    event["body"] = body.decode("utf-8", "replace") or None
    event["isBase64Encoded"] = False
    return event


def http_v2_event(
    request: IncomingRequest,
    *,
    route_key: str,
    route_arn: str,
    stage: str,
    account: str,
    api_id: str,
    path_parameters: Mapping[str, str],
    stage_variables: Mapping[str, str] | None,
    identity_source: Sequence[str],
) -> dict[str, Any]:
    """An HTTP API payload 2.0 authorizer event (``routeKey``: ``GET /stock/{sku}``,
    ``$default``...). ``Cookie`` headers become ``cookies``, as API Gateway does."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in request.query:
        query[name] = f"{query[name]},{value}" if name in query else value
    context: dict[str, Any] = {
        "accountId": account,
        "apiId": api_id,
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(request.time_epoch)),
        "timeEpoch": int(request.time_epoch * 1000),
    }
    if request.client_cert_pem is not None:
        context["authentication"] = {"clientCert": client_cert(request.client_cert_pem)}
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn,
        "identitySource": list(identity_source),
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": "&".join(f"{quote(k)}={quote(v)}" for k, v in request.query),
        "headers": headers,
        "requestContext": context,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def http_v1_event(
    request: IncomingRequest,
    *,
    method_arn: str,
    resource: str,
    path_parameters: Mapping[str, str],
    stage_variables: Mapping[str, str],
    context: dict[str, Any],
    identity_source: Sequence[str],
) -> dict[str, Any]:
    """An HTTP API payload 1.0 authorizer event: the REST REQUEST shape, plus ``version``,
    ``identitySource`` (comma-joined) and ``authorizationToken`` (the first source)."""
    event = request_event(
        request,
        method_arn=method_arn,
        resource=resource,
        path_parameters=path_parameters,
        stage_variables=stage_variables,
        context=context,
    )
    event["version"] = "1.0"
    event["identitySource"] = ",".join(identity_source)
    event["authorizationToken"] = identity_source[0] if identity_source else ""
    return event


def http_proxy_event(authorizer_event: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    """What a Lambda integration of an HTTP API receives (payload 2.0) for a request whose
    authorizer event (or the event it would have had) is ``authorizer_event``: the same
    request fields without ``type``, ``routeArn`` and ``identitySource``, plus the body."""
    event = {
        key: value
        for key, value in authorizer_event.items()
        if key not in ("type", "routeArn", "identitySource")
    }
    event["requestContext"] = dict(event["requestContext"])
    event["body"] = body.decode("utf-8", "replace") if body else None
    event["isBase64Encoded"] = False
    return event
