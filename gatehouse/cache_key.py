"""Whether an authorizer's result cache is keyed on the credential its function checks.

API Gateway caches a Lambda authorizer's answer under the values of its identity sources and
replays it, for the TTL, to every caller sending the same values (REST: `Configure a Lambda
authorizer <https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html>`_;
HTTP APIs: `Working with AWS Lambda authorizers for HTTP APIs
<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>`_).
Only a key that holds the credential the function verifies is safe: a key without it replays
one caller's Allow to another, and the client certificate can never be a key.

One implementation for everything that configures an authorizer: ``gatehouse attach`` and the
``gatehouse.cdk`` constructs. Pure: no AWS, no CDK.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CLI_WORDS",
    "POLICY_AUTHENTICATOR_VAR",
    "CacheKeyError",
    "CacheKeyWords",
    "accepts_dpop",
    "check_cache_key",
    "credential_header",
    "mtls_ttl_hint",
    "session_cookie",
    "simple_responses",
    "token_binding",
    "visible_issuers",
]

#: The policy function's authenticator (authorizers/policy/config.py), read from its environment.
POLICY_AUTHENTICATOR_VAR: Final = "GATEHOUSE_POLICY_AUTHENTICATOR"
#: authenticator -> (the variable naming the header its credential is read from, its default).
_CREDENTIAL_HEADERS: Final[Mapping[str, tuple[str, str]]] = {
    "jwt_bearer": ("GATEHOUSE_JWT_HEADER", "authorization"),
    "api_key": ("GATEHOUSE_APIKEY_HEADER", "x-api-key"),
}
_ISSUERS_VAR: Final = "GATEHOUSE_JWT_ISSUERS"
#: Authorizer kind -> the authenticator it is (``policy`` says so in its environment).
_KIND_AUTHENTICATOR: Final[Mapping[str, str]] = {"jwt": "jwt_bearer", "apikey": "api_key"}


@dataclass(frozen=True, slots=True)
class CacheKeyWords:
    """How the caller names things in its messages: the TTL option, the identity-source
    option and the prefix of a header identity source (REST ``method.request.header.``,
    HTTP API ``$request.header.``)."""

    ttl: str
    identity_source: str
    header_prefix: str


CLI_WORDS: Final = CacheKeyWords(
    ttl="--ttl", identity_source="--identity-source", header_prefix="method.request.header."
)
"""``gatehouse attach``'s options."""


def mtls_ttl_hint(words: CacheKeyWords) -> str:
    """Why a client-certificate authorizer is never cached, and what to do."""
    return (
        f"keep {words.ttl} 0: API Gateway keys its result cache only on identity sources "
        "(headers, query strings, stage variables, context), never on the client certificate, "
        "so a cached Allow would be replayed to any client that sends the same values, revoked "
        "or unpinned certificates included"
    )


class CacheKeyError(ValueError):
    """Caching this authorizer would replay one caller's decision to others. ``hint``: what
    to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _authenticator(kind: str, environment: Mapping[str, str] | None) -> str | None:
    """How the ``kind`` function authenticates (``policy``: as its environment says)."""
    authenticator = _KIND_AUTHENTICATOR.get(kind)
    if authenticator is None and environment is not None:
        authenticator = (environment.get(POLICY_AUTHENTICATOR_VAR) or "").strip().lower() or None
    return authenticator


def visible_issuers(
    kind: str, environment: Mapping[str, str] | None
) -> list[Mapping[str, object]] | None:
    """The ``kind`` function's JWT issuer entries (none when it does not authenticate JWTs);
    ``None`` when they cannot be seen here: its environment hidden, a settings file
    (``GATEHOUSE_CONFIG_FILE``), a deploy-time value."""
    if environment is None:
        return None if kind == "jwt" else []
    if _authenticator(kind, environment) != "jwt_bearer":
        return []
    text = environment.get(_ISSUERS_VAR)
    if text is None:  # in a settings file, or nowhere (then the function refuses to start)
        return None if "GATEHOUSE_CONFIG_FILE" in environment else []
    try:
        entries = json.loads(text)
    except ValueError:
        return None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def token_binding(kind: str, environment: Mapping[str, str] | None) -> str | None:
    """What the ``kind`` function's JWT issuers bind tokens to, if anything: ``"the client
    certificate"`` (``certificate_binding``, RFC 8705) or ``"a DPoP proof"`` (``dpop``, RFC
    9449), when ``optional`` or ``required`` (docs/jwt.md); ``None``: plain bearer tokens, or
    issuers that cannot be seen."""
    return _binding_of(visible_issuers(kind, environment) or [])


def accepts_dpop(entries: list[Mapping[str, object]]) -> bool:
    """Whether one of these issuer entries takes DPoP tokens (``dpop`` not ``off``)."""
    return any(entry.get("dpop", "off") != "off" for entry in entries)


def _binding_of(entries: list[Mapping[str, object]]) -> str | None:
    if accepts_dpop(entries):
        return "a DPoP proof"
    if any(entry.get("certificate_binding", "off") != "off" for entry in entries):
        return "the client certificate"
    return None


def session_cookie(kind: str, environment: Mapping[str, str] | None) -> bool:
    """Whether the ``kind`` function reads a browser session cookie (docs/login.md)."""
    if environment is None or _authenticator(kind, environment) != "jwt_bearer":
        return False
    return bool((environment.get("GATEHOUSE_JWT_SESSION_COOKIE") or "").strip())


def simple_responses(environment: Mapping[str, str]) -> bool:
    """Whether the function answers HTTP API events with simple ``{"isAuthorized": ...}``
    responses (``GATEHOUSE_HTTP_RESPONSE_FORMAT=simple``) rather than IAM policies."""
    return (environment.get("GATEHOUSE_HTTP_RESPONSE_FORMAT") or "iam").strip().lower() == "simple"


def credential_header(kind: str, environment: Mapping[str, str]) -> str | None:
    """The header (lower case) the ``kind`` function reads its credential from, given its
    settings; ``None`` when it authenticates with the client certificate (or cannot tell)."""
    credential = _CREDENTIAL_HEADERS.get(_authenticator(kind, environment) or "")
    if credential is None:
        return None
    variable, default = credential
    return (environment.get(variable) or default).lower()


def check_cache_key(
    *,
    kind: str,
    function: str,
    token: bool,
    identity_sources: tuple[str, ...],
    ttl: int,
    environment: Mapping[str, str] | None,
    words: CacheKeyWords = CLI_WORDS,
) -> str | None:
    """Whether the result cache of the ``kind`` authorizer invoking ``function`` is safe.

    ``token``: a REST TOKEN authorizer, whose one identity source is the token itself.
    ``environment``: the function's settings, ``None`` when they cannot be seen (an existing
    function Lambda did not show). Raises :class:`CacheKeyError` when the key is known to be
    unsafe; returns a warning when it cannot be told, else ``None``.
    """
    issuers = visible_issuers(kind, environment)
    bound = _binding_of(issuers or [])
    if bound is not None:
        # Bound tokens: the certificate or proof is half the credential. No cache key holds a
        # certificate, and a cached Allow would be replayed to a replayed proof.
        if token:
            raise CacheKeyError(
                f"{function} binds tokens to {bound}, and a TOKEN authorizer is not given it",
                "use a REQUEST authorizer with no cache: the gatehouse.cdk construct's "
                "rest_authorizer() makes one, or create it by hand (docs/jwt.md)",
            )
        if ttl:
            raise CacheKeyError(
                f"{words.ttl} {ttl}: {function} binds tokens to {bound}, which API Gateway "
                "cannot key its cache on: a cached Allow would be replayed to a stolen token "
                "sent without it, or with a proof used before",
                f"keep {words.ttl} 0: every request is checked with its own certificate or proof",
            )
    if ttl and session_cookie(kind, environment):
        # The cache key is the identity sources; CSRF is a property of each request's method
        # and header. A GET's cached Allow would be replayed to a forged POST.
        raise CacheKeyError(
            f"{words.ttl} {ttl}: {function} takes a browser session cookie, whose CSRF proof "
            "is checked per request: a cached Allow would be replayed to a cross-site POST "
            "without it",
            f"keep {words.ttl} 0 for a session-cookie authorizer (docs/login.md)",
        )
    if session_cookie(kind, environment):
        if token:
            raise CacheKeyError(
                f"{function} reads a browser session cookie, which a TOKEN authorizer is not "
                "given: every browser would get API Gateway's own 401",
                "use a REQUEST authorizer with no identity source and no cache: the "
                "gatehouse.cdk construct's rest_authorizer() makes one (docs/login.md)",
            )
        if identity_sources:
            raise CacheKeyError(
                f"{words.identity_source} {','.join(identity_sources)}: {function} takes a "
                "session cookie or a bearer header, and API Gateway answers 401 itself to a "
                "request without an identity source, so one of the two would never reach it",
                f"give no identity source, with {words.ttl} 0 (docs/login.md)",
            )
    if ttl == 0 or token:
        return None
    warning = _check_key(kind, function, identity_sources, ttl, environment, words)
    if warning is None and issuers is None:
        return (
            f"{function}'s JWT issuers are not visible here (hidden environment, a settings "
            f"file or a deploy-time value): if they bind tokens (certificate_binding or dpop) "
            f"or it reads a session cookie, a cached Allow is replayed to a stolen token or a "
            f"forged POST; then pass {words.ttl} 0"
        )
    return warning


def _check_key(  # noqa: PLR0917 - the caller's own arguments, passed on
    kind: str,
    function: str,
    identity_sources: tuple[str, ...],
    ttl: int,
    environment: Mapping[str, str] | None,
    words: CacheKeyWords,
) -> str | None:
    """Whether the identity sources hold the credential header (check_cache_key's rest)."""
    if kind == "mtls":
        raise CacheKeyError(
            f"{words.ttl} {ttl}: the mtls authorizer cannot be cached", mtls_ttl_hint(words)
        )
    prefix = words.header_prefix
    headers = {s[len(prefix) :].lower() for s in identity_sources if s.startswith(prefix)}
    key = ",".join(identity_sources) or "none"
    authenticator = _authenticator(kind, environment)
    if authenticator == "mtls":
        raise CacheKeyError(
            f"{words.ttl} {ttl}: {function} authenticates with the client certificate "
            f"({POLICY_AUTHENTICATOR_VAR}=mtls), which API Gateway cannot cache on",
            mtls_ttl_hint(words),
        )
    credential = _CREDENTIAL_HEADERS.get(authenticator or "")
    if credential is not None:
        variable, default = credential
        header = ((environment or {}).get(variable) or default).lower()
        if header in headers:
            return None
        message = (
            f"the result cache is keyed on {key}, which does not hold the {header} header "
            f"{function} reads its credential from: a cached Allow would be replayed "
            "to any caller sending the same values"
        )
        hint = f"pass {words.identity_source} {prefix}{header} (plus any others), or {words.ttl} 0"
        if environment is None:  # the default header, not seen in the function's settings
            return f"{message}, unless {variable} names another header; {hint}"
        raise CacheKeyError(message, hint)
    # A policy function whose authenticator is not in its environment (or not shown to us).
    known = headers & {"authorization", "x-api-key"}
    if known:
        return (
            f"{function} does not show {POLICY_AUTHENTICATOR_VAR}: the result "
            f"cache is keyed on {key}; that is safe only when the function authenticates "
            f"with the {'/'.join(sorted(known))} header (jwt_bearer or api_key); with the mtls "
            f"authenticator pass {words.ttl} 0"
        )
    return (
        f"{function} does not show {POLICY_AUTHENTICATOR_VAR}, and the result "
        f"cache is keyed on {key}, which holds neither an Authorization nor an x-api-key "
        "header: unless it holds the credential the function checks, a cached Allow is "
        f"replayed to any caller sending the same values; pass {words.ttl} 0"
    )
