"""Where a request carries its API key: the configured header, or ``Authorization: ApiKey <k>``.

For a REST TOKEN event, the token source value is used (bare, or with the ``ApiKey`` scheme).
A key sent both ways must be the same key; two different keys are ``AmbiguousCredentials``
(which one a backend would honour is not ours to guess). Another scheme in ``Authorization``
(``Bearer ...``) is somebody else's credential and is ignored. The query string is never read:
keys in URLs end up in access logs.
"""

from __future__ import annotations

from typing import Final

from authorizers.core.exceptions import InvalidRequestError, Reason
from authorizers.core.request import EventKind, Request

SCHEME: Final = "apikey"
AUTHORIZATION: Final = "authorization"
#: HTTP's optional whitespace around a field value (RFC 9110 section 5.6.3): space and tab.
#: Only these are trimmed. ``str.strip()`` would also remove U+00A0, U+2003, U+3000, U+0085
#: and other Unicode spaces, so a key wrapped in them was accepted; kept, they make the key
#: non-ASCII and ``keys.parse`` refuses it (MalformedCredentials).
_OWS: Final = " \t"


def _scheme_value(value: str) -> str | None:
    """``ApiKey <k>`` -> ``<k>`` (scheme case-insensitive); None for any other scheme."""
    scheme, sep, rest = value.strip(_OWS).partition(" ")
    if not sep or scheme.lower() != SCHEME:
        return None
    return rest.strip(_OWS)


def presented_key(request: Request, header: str) -> str:
    """The key text the caller presented (not yet checked).

    Raises
    ------
    InvalidRequestError
        ``MISSING_CREDENTIALS`` when there is none; ``AMBIGUOUS_CREDENTIALS`` when the header is
        repeated with different values or two different keys are presented.
    """
    direct = request.credential(header)
    if direct is not None:
        direct = _scheme_value(direct) or direct.strip(_OWS)
    from_authorization = None
    if request.kind is not EventKind.REST_TOKEN and header != AUTHORIZATION:
        authorization = request.headers.single(AUTHORIZATION)
        if authorization is not None:
            from_authorization = _scheme_value(authorization)
    if direct and from_authorization and direct != from_authorization:
        raise InvalidRequestError(Reason.AMBIGUOUS_CREDENTIALS)
    key = direct or from_authorization
    if not key:
        raise InvalidRequestError(Reason.MISSING_CREDENTIALS)
    return key
