"""The browser login under test: the login function built from settings as its cold start
builds it, called with the proxy events API Gateway sends it (docs/login.md).

>>> from gatehouse.testing import LocalOidcProvider, NETWORK, browser_login
>>> with LocalOidcProvider(redirect_uris=["https://portal.example.test/auth/callback"]) as idp:
...     login = browser_login(
...         jwt_issuers=[idp.settings()],
...         jwt_allow_loopback_http=True,
...         jwt_session_cookie="__Host-portal",
...         login_authorize_url=idp.authorize_url,
...         login_token_url=idp.token_url,
...         login_client_id=idp.client_id,
...         login_redirect_uri="https://portal.example.test/auth/callback",
...         http=NETWORK,
...     )
...     session = login.sign_in(idp, return_to="/orders")
...     session.status, session.location, "__Host-portal" in session.set_cookies
(302, '/orders', True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode, urlsplit

from authorizers.core.clock import Clock
from authorizers.jwt_bearer.fetch import FetchError, FetchFailure
from gatehouse.emulator.events import http_proxy_event, rest_proxy_event
from gatehouse.testing.build import NETWORK, _Network, environ_from
from gatehouse.testing.events import Api, build_event
from gatehouse.testing.identity import FetchSource, serve
from gatehouse.testing.oidc_provider import LocalOidcProvider

if TYPE_CHECKING:
    from authorizers.login.app import LoginApp

__all__ = ["LoginAnswer", "LoginUnderTest", "browser_login"]

#: A sealing key for tests only (the deployed function reads its key from Secrets Manager).
TEST_SEALING_SECRET = "gatehouse-testing-sealing-secret-not-for-production"  # noqa: S105 - tests only


@dataclass(frozen=True, slots=True)
class LoginAnswer:
    """One response of the login function."""

    status: int
    #: The ``Location`` of a 302, else ``None``.
    location: str | None
    body: str
    #: Cookie name -> the whole ``Set-Cookie`` value (flags included).
    set_cookies: Mapping[str, str]
    response: Mapping[str, Any]

    def cookie(self, name: str) -> str | None:
        """The value ``Set-Cookie`` gives cookie ``name`` (``""`` when it clears it)."""
        header = self.set_cookies.get(name)
        return None if header is None else header.split(";", 1)[0].split("=", 1)[1]


class LoginUnderTest:
    """A built login function: :meth:`get` sends it one browser request."""

    def __init__(self, app: LoginApp, api: Api) -> None:
        #: The login function's app (``app.handle(event)`` is its handler's answer).
        self.app = app
        self._api = api

    def get(
        self,
        target: str,
        *,
        cookies: Mapping[str, str] | None = None,
        payload: Literal["rest", "http_v2"] = "rest",
    ) -> LoginAnswer:
        """``GET target`` (``/auth/callback?code=...``, or a whole URL: its path and query) as
        a browser with ``cookies`` sends it, in a REST or HTTP API (payload 2.0) proxy event."""
        parts = urlsplit(target)
        request = f"GET {parts.path}" + (f"?{parts.query}" if parts.query else "")
        pairs = [f"{name}={value}" for name, value in (cookies or {}).items()]
        # The emulator's own builders: the authorizer event of the request, as a proxy event.
        if payload == "http_v2":
            event = http_proxy_event(
                build_event("http_v2", request, cookies=pairs, api=self._api), b""
            )
        else:
            event = rest_proxy_event(
                build_event("rest_request", request, cookies=pairs, api=self._api), b""
            )
        response = self.app.handle(event)
        values = response.get("cookies") or (response.get("multiValueHeaders") or {}).get(
            "Set-Cookie", []
        )
        return LoginAnswer(
            status=response["statusCode"],
            location=response["headers"].get("Location"),
            body=response["body"],
            set_cookies={value.split("=", 1)[0]: value for value in values},
            response=response,
        )

    def sign_in(
        self,
        provider: LocalOidcProvider,
        *,
        return_to: str | None = None,
        payload: Literal["rest", "http_v2"] = "rest",
    ) -> LoginAnswer:
        """The whole login: ``/auth/login``, the provider (the user signs in at once), and
        ``/auth/callback`` with the transaction cookie. Returns the callback's answer; raises
        ``AssertionError`` when ``/auth/login`` refuses to start."""
        query = "" if return_to is None else "?" + urlencode({"return_to": return_to})
        started = self.get(f"/auth/login{query}", payload=payload)
        names = [n for n in started.set_cookies if n.endswith("-login")]
        if started.status != 302 or started.location is None or len(names) != 1:
            raise AssertionError(f"/auth/login refused: {started.body.strip()}")
        transaction = started.cookie(names[0]) or ""
        return self.get(
            provider.sign_in(started.location), cookies={names[0]: transaction}, payload=payload
        )


def browser_login(
    *,
    settings_file: str | PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    http: FetchSource | Iterable[FetchSource] | _Network | None = None,
    clock: Clock | None = None,
    api: Api | None = None,
    **settings: Any,
) -> LoginUnderTest:
    """Build the login function from settings, as :func:`gatehouse.testing.authorizer` builds
    an authorizer (the same ``settings_file``, ``environ``, ``clock`` and ``name=value``
    settings: ``login_client_id=`` is ``GATEHOUSE_LOGIN_CLIENT_ID``).

    ``http``: what the JWKS fetches and the token request reach; default nothing (no socket);
    :data:`NETWORK` for a :class:`LocalOidcProvider`. The sealing key is a fixed test key,
    never Secrets Manager, so ``GATEHOUSE_LOGIN_KEY_SECRET`` is filled in when absent (a
    deployed function without it refuses to start: the constructs always set it). ``clock``
    ages the login's transaction and the tokens' checks; the provider stamps its tokens
    with the real time.

    Raises ``ConfigurationError`` for a setting the function would refuse at cold start.
    """
    from authorizers.login.app import LoginApp  # noqa: PLC0415 - as the handler does

    merged = environ_from(environ, settings_file, settings, where="the browser_login() arguments")
    merged.setdefault("GATEHOUSE_LOGIN_KEY_SECRET", "gatehouse-testing")
    if http is NETWORK:
        app = LoginApp.from_environ(
            merged, in_lambda=False, clock=clock, secret=lambda: TEST_SEALING_SECRET
        )
    else:
        fetch = serve(() if http is None else http)  # type: ignore[arg-type]
        app = LoginApp.from_environ(
            merged,
            in_lambda=False,
            fetch=fetch,
            post=_no_post,
            clock=clock,
            secret=lambda: TEST_SEALING_SECRET,
        )
    return LoginUnderTest(app, api or Api())


def _no_post(url: str, form: Mapping[str, str]) -> object:
    del url, form
    raise FetchError(FetchFailure.CONNECT)  # as an unreachable provider: pass http=NETWORK
