"""Gateway responses: the answers API Gateway itself gives (§4.5), and their customizations.

Bodies and ``x-amzn-ErrorType`` as AWS sends them by default (note ``Message`` with a capital M
on the two authorization 403s). Customizations the stage may configure, applied to every
gateway response (DEFAULT_4XX / DEFAULT_5XX): CORS headers for allowed origins (without them a
browser reports a CORS error instead of the 401/403), the UNAUTHORIZED 401's
``WWW-Authenticate`` challenge (:mod:`gatehouse.challenge`) or a 302 to the login page instead
of that 401, and an ACCESS_DENIED body template with
``$context.authorizer.<key>`` substitution from the Deny's context.

A template's own ``AWS::ApiGateway::GatewayResponse`` resources (:class:`CustomResponse`) apply
as API Gateway applies them ("Gateway responses in API Gateway", "Gateway response types"): a
customization of the response's own type wins, else one of ``DEFAULT_4XX`` or ``DEFAULT_5XX``
by status; it may set the status code, headers (a quoted literal, or a request header, query
string, path parameter, stage variable or ``$context`` value) and an ``application/json`` body
template (``$context.error.message``, ``$context.error.messageString``,
``$context.authorizer.<key>``, ``$context.requestId``... substituted as raw text, as API
Gateway does; another ``$context`` value empty; ``$util``, ``$input`` and ``$stageVariables``
are not evaluated). A request path parameter is empty here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final
from urllib.parse import quote

_CONTEXT_VAR = re.compile(r"\$context\.authorizer\.([A-Za-z0-9_]+)")


@dataclass(frozen=True, slots=True)
class _Kind:
    status: int
    error_type: str
    body: Mapping[str, Any]


class GatewayResponse(Enum):
    """API Gateway's gateway response types that the emulator produces."""

    MISSING_AUTHENTICATION_TOKEN = _Kind(
        403, "MissingAuthenticationTokenException", {"message": "Missing Authentication Token"}
    )
    UNAUTHORIZED = _Kind(401, "UnauthorizedException", {"message": "Unauthorized"})
    ACCESS_DENIED = _Kind(
        403, "AccessDeniedException", {"Message": "User is not authorized to access this resource"}
    )
    ACCESS_DENIED_EXPLICIT = _Kind(
        403,
        "AccessDeniedException",
        {"Message": "User is not authorized to access this resource with an explicit deny"},
    )
    RESOURCE_POLICY_DENY = _Kind(403, "AccessDeniedException", {"Message": ""})
    AUTHORIZER_CONFIGURATION_ERROR = _Kind(
        500, "AuthorizerConfigurationException", {"message": None}
    )
    INVALID_API_KEY = _Kind(403, "ForbiddenException", {"message": "Forbidden"})
    THROTTLED = _Kind(429, "TooManyRequestsException", {"message": "Too Many Requests"})
    QUOTA_EXCEEDED = _Kind(429, "LimitExceededException", {"message": "Limit Exceeded"})
    REQUEST_TOO_LARGE = _Kind(414, "RequestTooLongException", {"message": "Request-URI Too Long"})

    @property
    def status(self) -> int:
        return self.value.status

    @property
    def response_type(self) -> str:
        """The ``ResponseType`` API Gateway names it by (``AWS::ApiGateway::GatewayResponse``)."""
        return _RESPONSE_TYPES.get(self.name, self.name)


_RESPONSE_TYPES: Final[Mapping[str, str]] = {
    "ACCESS_DENIED_EXPLICIT": "ACCESS_DENIED",
    "RESOURCE_POLICY_DENY": "ACCESS_DENIED",
}  # every other kind is named as its ResponseType
#: Every ``ResponseType`` API Gateway documents ("Gateway response types for API Gateway").
RESPONSE_TYPES: Final = frozenset(
    {
        "ACCESS_DENIED", "API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR",
        "AUTHORIZER_FAILURE", "BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY", "DEFAULT_4XX",
        "DEFAULT_5XX", "EXPIRED_TOKEN", "INVALID_SIGNATURE", "INTEGRATION_FAILURE",
        "INTEGRATION_TIMEOUT", "INVALID_API_KEY", "MISSING_AUTHENTICATION_TOKEN",
        "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "THROTTLED",
        "UNAUTHORIZED", "UNSUPPORTED_MEDIA_TYPE", "WAF_FILTERED",
    }
)  # fmt: skip
_HEADER_SOURCE: Final = re.compile(
    r"method\.request\.(?:header|querystring|path)\.[^\s]+|stageVariables\.[A-Za-z0-9_]+"
    r"|context\.[A-Za-z0-9_.]+"
)
_TEMPLATE_VAR: Final = re.compile(r"\$context\.([A-Za-z0-9_.]+)")
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 token
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CustomResponse:
    """One ``AWS::ApiGateway::GatewayResponse``: status, headers and a JSON body template.

    ``headers``: (name, value) where value is ``'literal'`` (quoted, as API Gateway takes it)
    or a request value (``method.request.header.X`` ...). Raises ValueError for a value API
    Gateway would refuse.
    """

    status_code: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    template: str | None = None

    def __post_init__(self) -> None:
        for name, value in self.headers:
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name!r} is not a token")
            literal = len(value) >= 2 and value[0] == value[-1] == "'"
            if not literal and not _HEADER_SOURCE.fullmatch(value):
                raise ValueError(
                    f"header {name}: {value!r} is neither a quoted literal nor a request value"
                )
        if self.status_code is not None and not 200 <= self.status_code <= 599:
            raise ValueError(f"status code {self.status_code} is not an HTTP status")


@dataclass(frozen=True, slots=True)
class ResponseValues:
    """What a customization may read of the request being refused."""

    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    query: Mapping[str, str] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)  # flat: "requestId", "stage"...

    def lookup(self, source: str) -> str:
        prefix, _, name = source.partition(".")
        if prefix == "stageVariables":
            return self.stage_variables.get(name, "")
        if prefix == "context":
            value = self.context.get(name)
            return "" if value is None else str(value)
        kind, _, key = name.removeprefix("request.").partition(".")
        table = {"header": self.headers, "querystring": self.query, "path": self.path}[kind]
        return table.get(key.lower() if kind == "header" else key, "")


def customize(
    answer: HttpAnswer,
    kind: GatewayResponse,
    customizations: Mapping[str, CustomResponse],
    values: ResponseValues,
) -> HttpAnswer:
    """``answer`` (the gateway response ``kind``) as the API's customizations make it."""
    default = "DEFAULT_5XX" if answer.status >= 500 else "DEFAULT_4XX"
    custom = customizations.get(kind.response_type) or customizations.get(default)
    if custom is None:
        return answer
    headers = list(answer.headers)
    for name, value in custom.headers:
        text = value[1:-1] if value.startswith("'") else values.lookup(value)
        # A request value copied into a header must not split the response (CR LF).
        text = _CONTROL.sub("", text)
        headers = [(n, v) for n, v in headers if n.lower() != name.lower()]
        headers.append((name, text))
    body = answer.body
    if custom.template is not None:
        message = _message(answer.body)
        context = {**values.context, "error.message": message}
        context["error.responseType"] = kind.response_type
        quoted = json.dumps(message)  # $context.error.messageString: already a JSON string

        def substitute(found: re.Match[str]) -> str:
            # As API Gateway does: raw text (a JSON template quotes it, or uses messageString).
            name = found[1]
            if name == "error.messageString":
                return quoted
            value = context.get(name)
            if isinstance(value, bool):
                return "true" if value else "false"
            return "" if value is None else str(value)

        body = _TEMPLATE_VAR.sub(substitute, custom.template).encode("utf-8")
    return HttpAnswer(custom.status_code or answer.status, tuple(headers), body)


def _message(body: bytes) -> str:
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    value = document.get("message", document.get("Message"))
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A status, headers and body to send (the WSGI layer writes it)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def cors_headers(origin: str | None, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    """``Access-Control-Allow-*`` for ``origin`` when it (or ``*``) is allowed."""
    if not allowed or origin is None:
        return []
    if "*" in allowed:
        value = "*"
    elif origin in allowed:
        value = origin
    else:
        return []
    headers = [("Access-Control-Allow-Origin", value)]
    if value != "*":
        headers.append(("Vary", "Origin"))
    return headers


def preflight(origin: str | None, allowed: tuple[str, ...]) -> HttpAnswer:
    """An unauthenticated CORS preflight (CDK ``default_cors_preflight_options``)."""
    headers = cors_headers(origin, allowed)
    if headers:
        headers += [
            ("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,OPTIONS"),
            ("Access-Control-Allow-Headers", "Authorization,Content-Type,X-Api-Key"),
            ("Access-Control-Max-Age", "600"),
        ]
    return HttpAnswer(204, tuple(headers), b"")


def gateway_response(
    kind: GatewayResponse,
    *,
    origin: str | None = None,
    cors_allow_origins: tuple[str, ...] = (),
    context: Mapping[str, Any] | None = None,
    access_denied_template: str | None = None,
    login_url: str | None = None,
    challenge: str | None = None,
    resource_arn: str | None = None,
) -> HttpAnswer:
    """The gateway response ``kind`` with the stage's customizations."""
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind.value.error_type)]
    headers += cors_headers(origin, cors_allow_origins)
    if kind is GatewayResponse.UNAUTHORIZED and login_url is not None:
        return HttpAnswer(302, (*headers[1:], ("Location", login_url)), b"")
    if kind is GatewayResponse.UNAUTHORIZED and challenge is not None:
        headers.append(("WWW-Authenticate", challenge))
    body = dict(kind.value.body)
    if kind is GatewayResponse.RESOURCE_POLICY_DENY:
        body["Message"] = (
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
            f"{resource_arn} with an explicit deny"
        )
    text = json.dumps(body)
    denied = kind in (GatewayResponse.ACCESS_DENIED, GatewayResponse.ACCESS_DENIED_EXPLICIT)
    if denied and access_denied_template is not None:
        values = context or {}
        text = _CONTEXT_VAR.sub(lambda m: _template_value(values.get(m[1])), access_denied_template)
    return HttpAnswer(kind.status, tuple(headers), text.encode("utf-8"))


def _template_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # Gateway-response templates substitute raw text; keep JSON templates well-formed.
    return json.dumps(str(value))[1:-1]


def login_redirect(login_url: str, return_to: str) -> str:
    """The login URL with where to come back to (``redirect_uri`` is appended if absent)."""
    if "redirect_uri=" in login_url:
        return login_url
    separator = "&" if "?" in login_url else "?"
    return f"{login_url}{separator}redirect_uri={quote(return_to, safe='')}"
