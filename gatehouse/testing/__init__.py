"""``gatehouse.testing``: unit test your own authorizer configuration offline, in a few lines.

Build an authorizer from your settings exactly as the Lambda cold start does, send it events
shaped as API Gateway sends them, check the answers, and replay them as API Gateway's
authorizer cache would. Identity comes in-process (an OIDC issuer, a moto Cognito pool, API
keys in moto, a test CA); nothing reaches the network. The pytest plugin (installed with the
``testing`` extra) provides the fixtures; docs/testing.md walks through it.

>>> from gatehouse.testing import OidcIssuer, authorizer, build_event, assert_allows, replay
>>> issuer = OidcIssuer()
>>> gate = authorizer(
...     "jwt",
...     jwt_issuers=[issuer.settings(audiences=["orders-api"])],
...     jwt_routes=[{"route": "GET /orders/{id}", "scopes": ["orders:read"]}],
...     http=issuer,
... )
>>> token = issuer.token(aud="orders-api", scope="orders:read")
>>> answer = gate(build_event("rest_token", "GET /orders/7", authorization=f"Bearer {token}"))
>>> assert_allows(answer)
>>> replay(answer, "DELETE /orders/7")
403
"""

from __future__ import annotations

from authorizers.core.clock import ManualClock
from gatehouse.testing.answers import (
    Answer,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    replay,
)
from gatehouse.testing.build import (
    AUTHORIZER_KINDS,
    NETWORK,
    AuthorizerUnderTest,
    authorizer,
    settings_from,
)
from gatehouse.testing.events import EVENT_KINDS, Api, EventKindError, LambdaContext, build_event
from gatehouse.testing.identity import CognitoPool, DpopKey, OidcIssuer, serve
from gatehouse.testing.login import LoginAnswer, LoginUnderTest, browser_login
from gatehouse.testing.oidc_provider import LocalOidcProvider
from gatehouse.testing.pki import Certificate, Pki

__all__ = [
    "AUTHORIZER_KINDS",
    "EVENT_KINDS",
    "NETWORK",
    "Answer",
    "Api",
    "AuthorizerUnderTest",
    "Certificate",
    "CognitoPool",
    "DpopKey",
    "EventKindError",
    "LambdaContext",
    "LocalOidcProvider",
    "LoginAnswer",
    "LoginUnderTest",
    "ManualClock",
    "OidcIssuer",
    "Pki",
    "assert_allows",
    "assert_denies",
    "assert_unauthorized",
    "authorizer",
    "browser_login",
    "build_event",
    "replay",
    "serve",
    "settings_from",
]
