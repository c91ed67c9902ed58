"""Staff browsers sign in to the portal: login.json's login function against a local OpenID
Connect provider, then portal.json's JWT authorizer reading the session cookie it set.

Each refusal names the attack it stops.
"""

from typing import Any

import pytest
from gatehouse.testing import (
    NETWORK,
    LocalOidcProvider,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    browser_login,
    build_event,
    replay,
    settings_from,
)

from orders_service import SETTINGS

LOGIN = settings_from(SETTINGS / "login.json")
COOKIE = settings_from(SETTINGS / "portal.json")["jwt_session_cookie"]


@pytest.fixture(scope="module")
def idp():
    with LocalOidcProvider(
        redirect_uris=[LOGIN["login_redirect_uri"]],
        client_id=LOGIN["login_client_id"],
        audience="orders-portal",
        scope="openid orders:read orders:write",
    ) as provider:
        yield provider


def portal_settings(idp: LocalOidcProvider) -> dict[str, Any]:
    """portal.json with the local provider in place of the company's."""
    settings = settings_from(SETTINGS / "portal.json")
    settings["jwt_issuers"] = [idp.settings()]
    return {**settings, "jwt_allow_loopback_http": True}


def login_for(idp: LocalOidcProvider):
    settings = {
        **LOGIN,
        "login_authorize_url": idp.authorize_url,
        "login_token_url": idp.token_url,
    }
    return browser_login(**settings, **portal_settings(idp), http=NETWORK)


def test_a_staff_member_signs_in_and_uses_the_portal(idp):
    session = login_for(idp).sign_in(idp, return_to="https://portal.example-corp.test/orders")
    assert (session.status, session.location) == (302, "https://portal.example-corp.test/orders")
    assert "HttpOnly" in session.set_cookies[COOKIE]
    gate = authorizer("jwt", **portal_settings(idp), http=NETWORK)
    cookie = [f"{COOKIE}={session.cookie(COOKIE)}"]
    allowed = gate(build_event("http_v2", "GET /portal/orders", cookies=cookie))
    assert_allows(allowed)
    # The token may POST, but a GET's answer never stands in for a POST: its proof is per request
    assert replay(allowed, "POST /portal/orders") == 403
    proof = {"X-CSRF-Token": session.cookie(f"{COOKIE}-csrf") or ""}
    assert_allows(
        gate(build_event("http_v2", "POST /portal/orders", cookies=cookie, headers=proof))
    )


def test_a_forged_post_without_the_csrf_proof_is_refused(idp):
    """Attack: another site's form posting to the portal with the staff member's cookie."""
    session = login_for(idp).sign_in(idp)
    gate = authorizer("jwt", **portal_settings(idp), http=NETWORK)
    cookie = [f"{COOKIE}={session.cookie(COOKIE)}"]
    assert_denies(
        gate(build_event("http_v2", "POST /portal/orders", cookies=cookie)),
        reason="CsrfCheckFailed",
    )
    assert_unauthorized(gate(build_event("http_v2", "GET /portal/orders")))


def test_the_login_never_returns_to_another_site(idp):
    """Attack: an open redirect, /auth/login?return_to=<a phishing page>."""
    refused = login_for(idp).get("/auth/login?return_to=https://evil.example/")
    assert (refused.status, refused.body) == (400, "login refused: ReturnUrlRefused\n")


def test_a_replayed_callback_is_refused(idp):
    """Attack: a captured callback URL (code and state) and transaction cookie sent again."""
    login = login_for(idp)
    started = login.get("/auth/login")
    name = f"{COOKIE}-login"
    callback = idp.sign_in(started.location or "")
    first = login.get(callback, cookies={name: started.cookie(name) or ""})
    again = login.get(callback, cookies={name: started.cookie(name) or ""})
    assert first.status == 302
    assert (again.status, again.body) == (400, "login refused: ReplayedLogin\n")
