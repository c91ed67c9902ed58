"""The ``WWW-Authenticate`` challenge an API's 401 answers carry.

RFC 9110 section 11.6.1 requires a 401 to carry at least one challenge; RFC 6750 section 3
names the ``Bearer`` one, RFC 9449 section 7.1 the ``DPoP`` one with the proof algorithms
the resource server accepts (``algs``).

A REST API's 401 is API Gateway's own UNAUTHORIZED gateway response, whose headers are
literal strings or request values, never the authorizer's output ("Gateway responses in API
Gateway"): the challenge is one per API, so it carries no ``error`` code. RFC 6750 section 3
allows that (and asks for none when the request had no credentials); the reason of each
refusal is in the authorizer's logs and metrics. An HTTP API's 401 cannot be customized at
all: it has no ``WWW-Authenticate`` (docs/jwt.md).

Pure: used alike by ``gatehouse.cdk`` (the gateway response), the stage and local mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS
from gatehouse.cache_key import accepts_dpop, visible_issuers

__all__ = ["api_challenge", "www_authenticate"]

# RFC 9110 quoted-string content without '"' and '\' (no escapes needed), and no "'",
# which API Gateway's literal header values are quoted with.
_REALM: Final = re.compile(r"[\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]{1,128}")


def www_authenticate(*, realm: str | None = None, dpop: bool = False) -> str:
    """The challenge: ``Bearer``, and ``DPoP`` with its ``algs`` when ``dpop``.

    >>> www_authenticate(realm="orders")
    'Bearer realm="orders"'

    Raises ValueError for a realm that needs escaping or holds a quote.
    """
    if realm is not None and not _REALM.fullmatch(realm):
        raise ValueError("realm: printable ASCII without quotes or backslashes, 1 to 128")
    suffix = f' realm="{realm}"' if realm is not None else ""
    challenges = [f"Bearer{suffix}"]
    if dpop:
        algs = " ".join(sorted(ASYMMETRIC_ALGORITHMS))
        challenges.append(f'DPoP{suffix}{"," if suffix else ""} algs="{algs}"')
    return ", ".join(challenges)


def api_challenge(
    functions: Iterable[tuple[str, Mapping[str, str] | None]], *, realm: str | None = None
) -> str:
    """The challenge of an API whose authorizers are ``functions`` ((kind, environment)
    pairs, as :mod:`gatehouse.cache_key` takes them): ``DPoP`` too when one of their JWT
    issuers accepts DPoP (``dpop`` ``optional`` or ``required``, docs/jwt.md)."""
    dpop = any(
        accepts_dpop(visible_issuers(kind, environment) or []) for kind, environment in functions
    )
    return www_authenticate(realm=realm, dpop=dpop)
