"""The shared core of every Gatehouse authorizer.

Normalized requests (:mod:`.request`), decisions (:mod:`.decision`), rendering
(:mod:`.responses`), the error tree (:mod:`.exceptions`) and the one error-to-response mapping
(:mod:`.pipeline`); plus ARNs, route templates, the IAM matcher, context rules, settings,
clocks, bounded caches and observability. Importing it never imports boto3.
"""

from authorizers.core.config import CoreConfig, HttpResponseFormat, Settings
from authorizers.core.decision import Decision, Effect
from authorizers.core.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    AuthorizerError,
    ConfigurationError,
    InvalidRequestError,
    Reason,
    Unauthorized,
    UpstreamError,
)
from authorizers.core.request import ClientCertificate, EventKind, Request, normalize
from authorizers.core.route_arn import RouteArn, parse_route_arn
from authorizers.core.routes import RouteTemplate

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "AuthorizerError",
    "ClientCertificate",
    "ConfigurationError",
    "CoreConfig",
    "Decision",
    "Effect",
    "EventKind",
    "HttpResponseFormat",
    "InvalidRequestError",
    "Reason",
    "Request",
    "RouteArn",
    "RouteTemplate",
    "Settings",
    "Unauthorized",
    "UpstreamError",
    "normalize",
    "parse_route_arn",
]
