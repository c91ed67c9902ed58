"""The login function's answers: Lambda proxy responses, with their cookies. Pure.

Every answer is ``Cache-Control: no-store`` (RFC 9111): a redirect carrying a ``state``, or a
``Set-Cookie`` carrying a session, must not be kept by a shared cache. Errors are a short fixed
text naming the refused step (:class:`authorizers.login.flow.LoginFailure`), never an input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from authorizers.jwt_bearer.session import csrf_cookie_name
from authorizers.login.flow import LoginFailure

_STATUS: Final = {
    LoginFailure.NOT_FOUND: 404,
    LoginFailure.METHOD_NOT_ALLOWED: 405,
    LoginFailure.EXCHANGE_FAILED: 502,
    LoginFailure.UNAVAILABLE: 503,
}


def transaction_cookie_name(session_cookie: str) -> str:
    """The cookie holding a started login, next to the session cookie."""
    return f"{session_cookie}-login"


def cookie(
    name: str, value: str, *, max_age: int, http_only: bool = True, same_site: str = "Lax"
) -> str:
    """A ``Set-Cookie`` value: always ``Secure`` and ``Path=/`` with no ``Domain``, as the
    ``__Host-`` prefix demands (RFC 6265bis section 4.1.3.2)."""
    flags = "; HttpOnly" if http_only else ""
    return f"{name}={value}; Path=/; Max-Age={max(0, max_age)}; Secure{flags}; SameSite={same_site}"


def session_cookies(session_cookie: str, token: str, proof: str, *, max_age: int) -> list[str]:
    """The session (HttpOnly, Lax: sent on top-level navigations) and its CSRF proof (readable
    by the page's script, Strict: never sent by another site's request)."""
    return [
        cookie(session_cookie, token, max_age=max_age),
        cookie(
            csrf_cookie_name(session_cookie),
            proof,
            max_age=max_age,
            http_only=False,
            same_site="Strict",
        ),
    ]


def cleared_cookies(session_cookie: str) -> list[str]:
    """``Set-Cookie`` values that delete the session, its proof and any started login."""
    return [
        cookie(session_cookie, "", max_age=0),
        cookie(
            csrf_cookie_name(session_cookie), "", max_age=0, http_only=False, same_site="Strict"
        ),
        cookie(transaction_cookie_name(session_cookie), "", max_age=0),
    ]


def redirect(location: str, cookies: Sequence[str], *, payload_v2: bool) -> dict[str, Any]:
    """A 302 to ``location`` setting ``cookies``."""
    return _response(302, {"Location": location}, cookies, "", payload_v2=payload_v2)


def refused(
    failure: LoginFailure, *, payload_v2: bool, cookies: Sequence[str] = ()
) -> dict[str, Any]:
    """The answer to a refused step: its status and its fixed name."""
    return _response(
        _STATUS.get(failure, 400),
        {"Content-Type": "text/plain; charset=utf-8"},
        cookies,
        f"login refused: {failure.value}\n",
        payload_v2=payload_v2,
    )


def _response(
    status: int, headers: dict[str, str], cookies: Sequence[str], body: str, *, payload_v2: bool
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "statusCode": status,
        "headers": {**headers, "Cache-Control": "no-store"},
        "body": body,
    }
    if cookies:
        # Payload 2.0 takes cookies in their own list; REST and 1.0 as a multi-value header.
        if payload_v2:
            response["cookies"] = list(cookies)
        else:
            response["multiValueHeaders"] = {"Set-Cookie": list(cookies)}
    return response
