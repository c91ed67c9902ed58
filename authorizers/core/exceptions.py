"""The one exceptions tree of every authorizer, and the fixed set of reasons it carries.

::

    AuthorizerError
     +-- InvalidRequestError    credential or event missing/malformed       -> 401
     +-- AuthenticationError    credential present but not valid            -> 401
     +-- AccessDeniedError      authenticated, not permitted                -> Deny (403)
     +-- UpstreamError          JWKS / DynamoDB / S3 / policy fetch failed  -> Deny, Error metric
     +-- ConfigurationError     bad or missing settings (cold start)        -> Deny, Error metric

Security contract: an error's message is built only from its :class:`Reason` (and, for
configuration errors, from the *name* of a setting and what it expects). No token, key, PEM or
setting value is ever part of an error, so errors are safe to log and ``Reason`` values are safe
as metric dimensions. Errors are mapped to responses in exactly one place:
:mod:`authorizers.core.pipeline`.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a request was not allowed. Low cardinality: used as a metric dimension."""

    # The request itself
    MALFORMED_EVENT = "MalformedEvent"
    UNSUPPORTED_EVENT = "UnsupportedEvent"
    MISSING_CREDENTIALS = "MissingCredentials"
    MALFORMED_CREDENTIALS = "MalformedCredentials"
    AMBIGUOUS_CREDENTIALS = "AmbiguousCredentials"
    # Authentication
    INVALID_SIGNATURE = "InvalidSignature"
    UNKNOWN_KEY = "UnknownKey"
    UNTRUSTED_ISSUER = "UntrustedIssuer"
    INVALID_CLAIMS = "InvalidClaims"
    EXPIRED = "Expired"
    NOT_YET_VALID = "NotYetValid"
    REVOKED = "Revoked"
    UNBOUND_TOKEN = "UnboundToken"  # noqa: S105 - a reason name, not a secret
    BINDING_MISMATCH = "BindingMismatch"
    REPLAYED_PROOF = "ReplayedProof"
    UNKNOWN_CREDENTIAL = "UnknownCredential"
    UNTRUSTED_CERTIFICATE = "UntrustedCertificate"
    # Authorization
    INSUFFICIENT_SCOPE = "InsufficientScope"
    NOT_IN_GROUP = "NotInGroup"
    POLICY_DENY = "PolicyDeny"
    UNKNOWN_ROUTE = "UnknownRoute"
    CSRF_CHECK_FAILED = "CsrfCheckFailed"
    # Faults (fail closed)
    UPSTREAM_UNAVAILABLE = "UpstreamUnavailable"
    UPSTREAM_THROTTLED = "UpstreamThrottled"
    UPSTREAM_TIMEOUT = "UpstreamTimeout"
    CONFIGURATION = "Configuration"
    INVALID_RESPONSE = "InvalidResponse"
    INTERNAL = "Internal"


class AuthorizerError(Exception):
    """Base of every error an authorizer raises on purpose.

    Parameters
    ----------
    reason:
        The fixed reason; it becomes the message, the log field and the metric dimension.
    """

    default_reason: Reason = Reason.INTERNAL

    def __init__(self, reason: Reason | None = None) -> None:
        self.reason: Reason = reason if reason is not None else self.default_reason
        super().__init__(self.reason.value)


class InvalidRequestError(AuthorizerError):
    """The event or the credential in it is missing or malformed (401)."""

    default_reason = Reason.MALFORMED_EVENT


class AuthenticationError(AuthorizerError):
    """A credential was presented but is not valid: signature, expiry, revocation... (401)."""

    default_reason = Reason.INVALID_CLAIMS


class AccessDeniedError(AuthorizerError):
    """The caller is authenticated but may not call this route (Deny, 403).

    ``principal_id`` is the authenticated principal (safe to log: an id, never a credential).
    """

    default_reason = Reason.POLICY_DENY

    def __init__(self, reason: Reason | None = None, *, principal_id: str = "") -> None:
        super().__init__(reason)
        self.principal_id = principal_id


class UpstreamError(AuthorizerError):
    """A dependency (JWKS endpoint, DynamoDB, S3, SSM) failed or timed out (Deny, fail closed)."""

    default_reason = Reason.UPSTREAM_UNAVAILABLE


class ConfigurationError(AuthorizerError):
    """A setting is missing, malformed or unknown (Deny, fail closed).

    ``setting`` names the variable; ``hint`` says what to put there. Neither carries the value.
    """

    default_reason = Reason.CONFIGURATION

    def __init__(self, setting: str, hint: str) -> None:
        super().__init__(Reason.CONFIGURATION)
        self.setting = setting
        self.hint = hint
        self.args = (f"{setting}: {hint}",)

    def __str__(self) -> str:
        return f"{self.setting}: {self.hint}"


class Unauthorized(Exception):
    """The only exception a handler lets escape.

    API Gateway turns a Lambda error whose message is exactly ``Unauthorized`` into a 401; any
    other message becomes a 500. Raised only by :mod:`authorizers.core.pipeline`.

    ``reason`` is the fixed reason of the 401 (also in the log line and the metric), for
    in-process callers such as ``gatehouse.testing``; the message stays exactly
    ``Unauthorized`` and the Lambda runtime reports nothing else of the exception.
    """

    def __init__(self, reason: Reason | None = None) -> None:
        super().__init__("Unauthorized")
        self.reason = reason
