"""Gateway responses: the answers API Gateway itself gives (§4.5), and their customizations.

Bodies and ``x-amzn-ErrorType`` as AWS sends them by default (note ``Message`` with a capital M
on the two authorization 403s). Customizations the stage may configure, applied to every
gateway response (DEFAULT_4XX / DEFAULT_5XX): CORS headers for allowed origins (without them a
browser reports a CORS error instead of the 401/403), a 302 to the login page instead of the
UNAUTHORIZED 401 on browser routes, and an ACCESS_DENIED body template with
``$context.authorizer.<key>`` substitution from the Deny's context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
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
    resource_arn: str | None = None,
) -> HttpAnswer:
    """The gateway response ``kind`` with the stage's customizations."""
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind.value.error_type)]
    headers += cors_headers(origin, cors_allow_origins)
    if kind is GatewayResponse.UNAUTHORIZED and login_url is not None:
        return HttpAnswer(302, (*headers[1:], ("Location", login_url)), b"")
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
