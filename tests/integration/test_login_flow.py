"""The browser login, end to end: the login function against a real OpenID Connect provider
on 127.0.0.1 (gatehouse.testing.LocalOidcProvider), its sealing key in moto's Secrets Manager,
and the JWT authorizer reading the session cookie it sets.

Each refusal test names the attack it stops; each asserts that no session cookie was set.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import boto3
import pytest
from moto import mock_aws

from authorizers.core.exceptions import ConfigurationError
from authorizers.jwt_bearer.session import csrf_proof
from authorizers.login.app import LoginApp
from authorizers.login.flow import code_challenge
from gatehouse.emulator.events import IncomingRequest, proxy_event, request_context
from gatehouse.testing import (
    NETWORK,
    AuthorizerUnderTest,
    LocalOidcProvider,
    ManualClock,
    assert_allows,
    assert_denies,
    assert_unauthorized,
    authorizer,
    browser_login,
    build_event,
    replay,
)

pytestmark = pytest.mark.enable_socket  # loopback only: the provider binds 127.0.0.1

API = "https://api.example.test"
CALLBACK = f"{API}/auth/callback"
APP = "https://app.example.test"
SESSION = "__Host-gatehouse-session"
LOGIN_COOKIE = f"{SESSION}-login"


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalOidcProvider]:
    with LocalOidcProvider(redirect_uris=[CALLBACK]) as provider:
        yield provider


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name="login-key", SecretString="k" * 24 + "0123456789abcdef"
        )
        yield


def environ(idp: LocalOidcProvider, **overrides: str) -> dict[str, str]:
    return {
        "GATEHOUSE_JWT_ISSUERS": json.dumps([idp.settings()]),
        "GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP": "true",
        "GATEHOUSE_JWT_SESSION_COOKIE": SESSION,
        "GATEHOUSE_LOGIN_AUTHORIZE_URL": idp.authorize_url,
        "GATEHOUSE_LOGIN_TOKEN_URL": idp.token_url,
        "GATEHOUSE_LOGIN_CLIENT_ID": idp.client_id,
        "GATEHOUSE_LOGIN_REDIRECT_URI": CALLBACK,
        "GATEHOUSE_LOGIN_ALLOWED_ORIGINS": APP,
        "GATEHOUSE_LOGIN_KEY_SECRET": "login-key",
        **overrides,
    }


def app(idp: LocalOidcProvider, clock: ManualClock | None = None, **overrides: str) -> LoginApp:
    return LoginApp.from_environ(environ(idp, **overrides), in_lambda=False, clock=clock)


def session_gate(idp: LocalOidcProvider) -> AuthorizerUnderTest:
    """The JWT authorizer reading the session cookie, keys fetched from the provider."""
    return authorizer(
        "jwt",
        jwt_issuers=[idp.settings()],
        jwt_allow_loopback_http=True,
        jwt_session_cookie=SESSION,
        http=NETWORK,  # the real fetcher, over loopback
    )


def get(target: str, cookies: dict[str, str] | None = None) -> dict[str, Any]:
    """The REST proxy event of a browser's GET (the emulator's own builder)."""
    parts = urlsplit(target)
    headers = [("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))] if cookies else []
    request = IncomingRequest(
        method="GET",
        path=parts.path,
        headers=headers,
        query=parse_qsl(parts.query, keep_blank_values=True),
        source_ip="203.0.113.7",
        host="api.example.test",
        scheme="https",
    )
    context = request_context(
        request, resource=parts.path, stage="prod", account="123456789012", api_id="a1b2c3"
    )
    return proxy_event(
        request, resource=parts.path, path_parameters={}, stage_variables={}, context=context
    )


def set_cookies(response: dict[str, Any]) -> dict[str, str]:
    """name -> the full Set-Cookie value."""
    values = (response.get("multiValueHeaders") or {}).get("Set-Cookie") or response.get(
        "cookies", []
    )
    return {value.split("=", 1)[0]: value for value in values}


def cookie_value(response: dict[str, Any], name: str) -> str:
    return set_cookies(response)[name].split(";", 1)[0].split("=", 1)[1]


def start(login: LoginApp, return_to: str = f"{APP}/orders") -> tuple[str, str]:
    """``/auth/login``: (the provider URL, the sealed transaction cookie)."""
    response = login.handle(get(f"/auth/login?{urlencode({'return_to': return_to})}"))
    assert response["statusCode"] == 302, response
    return response["headers"]["Location"], cookie_value(response, LOGIN_COOKIE)


def login_session(login: LoginApp, idp: LocalOidcProvider) -> dict[str, Any]:
    location, transaction = start(login)
    callback = idp.sign_in(location)
    return login.handle(get(callback, {LOGIN_COOKIE: transaction}))


def assert_no_session(response: dict[str, Any]) -> None:
    assert SESSION not in set_cookies(response)
    assert response["statusCode"] >= 400


def test_login_starts_a_pkce_flow_with_state_and_nonce_in_a_sealed_cookie(idp, aws):
    location, transaction = start(app(idp))
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == idp.authorize_url
    assert query["response_type"] == "code"
    assert query["client_id"] == idp.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) == len(query["nonce"]) == len(query["code_challenge"]) == 43
    assert "openid" in query["scope"].split()
    # Sealed: neither the state, nor the nonce, nor the return URL is readable in the cookie.
    for secret in (query["state"], query["nonce"], "app.example.test"):
        assert secret not in transaction


def test_login_cookie_flags(idp, aws):
    response = app(idp).handle(get("/auth/login"))
    flags = set_cookies(response)[LOGIN_COOKIE].split("; ")[1:]
    assert set(flags) == {"Path=/", "Max-Age=600", "Secure", "HttpOnly", "SameSite=Lax"}
    assert response["headers"]["Cache-Control"] == "no-store"


def test_callback_sets_an_httponly_session_and_returns_to_the_checked_url(idp, aws):
    response = login_session(app(idp), idp)
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == f"{APP}/orders"
    cookies = set_cookies(response)
    session = cookies[SESSION].split("; ")
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= set(session[1:])
    token = session[0].split("=", 1)[1]
    csrf = cookies[f"{SESSION}-csrf"].split("; ")
    assert csrf[0] == f"{SESSION}-csrf={csrf_proof(token)}"
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf  # script reads it; no site sends it
    assert "Max-Age=0" in cookies[LOGIN_COOKIE]  # the transaction is over


def test_the_jwt_authorizer_takes_the_session_cookie_and_demands_csrf_proof_on_post(idp, aws):
    """Attack: cross-site request forgery. The browser attaches the session cookie to a form
    another site posts; without the proof header (which that site cannot read or send) the
    authorizer denies."""
    token = cookie_value(login_session(app(idp), idp), SESSION)
    gate = session_gate(idp)
    cookie = [f"{SESSION}={token}"]
    assert_allows(gate(build_event("rest_request", "GET /orders", cookies=cookie)))
    assert_denies(
        gate(build_event("rest_request", "POST /orders", cookies=cookie)), reason="CsrfCheckFailed"
    )
    forged = {"X-CSRF-Token": csrf_proof(token + "x")}
    assert_denies(
        gate(build_event("rest_request", "POST /orders", cookies=cookie, headers=forged)),
        reason="CsrfCheckFailed",
    )
    proven = {"X-CSRF-Token": csrf_proof(token)}
    assert_allows(gate(build_event("rest_request", "POST /orders", cookies=cookie, headers=proven)))
    assert_allows(gate(build_event("http_v2", "DELETE /orders/1", cookies=cookie, headers=proven)))
    assert_unauthorized(
        gate(build_event("rest_request", "GET /orders")), reason="MissingCredentials"
    )
    # Cookie tossing: two session cookies with different values are not resolved by picking.
    tossed = [*cookie, f"{SESSION}={idp.tokens.token(aud='orders-api')}"]
    assert_unauthorized(
        gate(build_event("rest_request", "GET /orders", cookies=tossed)),
        reason="AmbiguousCredentials",
    )


def test_forged_state_is_refused(idp, aws):
    """Attack: login CSRF / a swapped callback. The attacker sends the victim to the callback
    with the attacker's own code; the state is not the victim's transaction's."""
    login = app(idp)
    location, transaction = start(login)
    callback = idp.sign_in(location)
    parts = urlsplit(callback)
    query = dict(parse_qsl(parts.query))
    query["state"] = "A" * 43
    response = login.handle(get(f"{parts.path}?{urlencode(query)}", {LOGIN_COOKIE: transaction}))
    assert_no_session(response)
    assert response["body"] == "login refused: StateMismatch\n"


def test_a_callback_without_its_transaction_cookie_is_refused(idp, aws):
    """Attack: a callback URL (code and state) leaked or planted in another browser."""
    login = app(idp)
    location, _ = start(login)
    response = login.handle(get(idp.sign_in(location)))
    assert_no_session(response)
    assert response["body"] == "login refused: NoLoginInProgress\n"


def test_an_altered_transaction_cookie_is_refused(idp, aws):
    """Attack: editing the transaction (another return URL, a known verifier)."""
    login = app(idp)
    location, transaction = start(login)
    callback = idp.sign_in(location)
    flipped = transaction[:-2] + ("A" if transaction[-2] != "A" else "B") + transaction[-1]
    response = login.handle(get(callback, {LOGIN_COOKIE: flipped}))
    assert_no_session(response)
    assert response["body"] == "login refused: NoLoginInProgress\n"


def test_a_replayed_code_is_refused(idp, aws, capsys):
    """Attack: replaying a captured callback (code, state and transaction cookie). The same
    instance refuses the spent state; another instance reaches the provider, which refuses
    the spent code."""
    login = app(idp)
    location, transaction = start(login)
    callback = idp.sign_in(location)
    assert login.handle(get(callback, {LOGIN_COOKIE: transaction}))["statusCode"] == 302
    again = login.handle(get(callback, {LOGIN_COOKIE: transaction}))
    assert_no_session(again)
    assert again["body"] == "login refused: ReplayedLogin\n"
    elsewhere = app(idp).handle(get(callback, {LOGIN_COOKIE: transaction}))
    assert_no_session(elsewhere)
    assert elsewhere["body"] == "login refused: ExchangeFailed\n"
    assert elsewhere["statusCode"] == 502
    # The log says why (the provider's 400), with no code, state or token in it
    logs = capsys.readouterr().out
    assert '"fetch_failure":"unexpected http status"' in logs
    parts = dict(parse_qsl(urlsplit(callback).query))
    assert parts["code"] not in logs and parts["state"] not in logs and transaction not in logs


def test_a_code_redeemed_without_its_verifier_is_refused(idp, aws):
    """Attack: a stolen authorization code. Without the PKCE verifier (sealed in the victim's
    cookie) the provider will not redeem it, neither directly nor through another login."""
    login = app(idp)
    victim_location, _ = start(login)
    stolen = dict(parse_qsl(urlsplit(idp.sign_in(victim_location)).query))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": stolen,
        "redirect_uri": CALLBACK,
        "client_id": idp.client_id,
    }
    status, answer = _http_post(idp.token_url, form)
    assert (status, answer) == (400, {"error": "invalid_grant"})
    # Injected into the attacker's own login: the state is the attacker's, the verifier too.
    victim_location, _ = start(login)
    stolen = dict(parse_qsl(urlsplit(idp.sign_in(victim_location)).query))["code"]
    attacker_location, attacker_cookie = start(login)
    attacker_state = dict(parse_qsl(urlsplit(attacker_location).query))["state"]
    response = login.handle(
        get(
            f"/auth/callback?{urlencode({'code': stolen, 'state': attacker_state})}",
            {LOGIN_COOKIE: attacker_cookie},
        )
    )
    assert_no_session(response)
    assert response["body"] == "login refused: ExchangeFailed\n"


def test_the_provider_refuses_plain_pkce_and_unregistered_redirects(idp):
    query = {
        "response_type": "code",
        "client_id": idp.client_id,
        "redirect_uri": CALLBACK,
        "state": "s",
        "code_challenge": code_challenge("v" * 43),
        "code_challenge_method": "plain",
    }
    with pytest.raises(LookupError, match="S256"):
        idp.sign_in(f"{idp.authorize_url}?{urlencode(query)}")
    query.update(code_challenge_method="S256", redirect_uri="https://evil.example/cb")
    with pytest.raises(LookupError, match="redirect_uri"):
        idp.sign_in(f"{idp.authorize_url}?{urlencode(query)}")


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/orders",
        "//evil.example/orders",
        "/\\evil.example/orders",
        "https://app.example.test@evil.example/",
        "https://app.example.test.evil.example/",
        "http://app.example.test/orders",
        "javascript:alert(1)",
        "/orders\r\nSet-Cookie: x=1",
    ],
)
def test_a_return_url_to_another_origin_is_refused(idp, aws, return_to):
    """Attack: an open redirect. /auth/login?return_to=<phishing page> would send the user
    there after a genuine login."""
    response = app(idp).handle(get(f"/auth/login?{urlencode({'return_to': return_to})}"))
    assert response["statusCode"] == 400
    assert response["body"] == "login refused: ReturnUrlRefused\n"
    assert "Location" not in response["headers"]


@pytest.mark.parametrize("return_to", ["/orders?page=2", f"{APP}/", f"{APP}/orders#top"])
def test_a_local_path_or_an_allowed_origin_is_a_return_url(idp, aws, return_to):
    login = app(idp)
    location, transaction = start(login, return_to)
    response = login.handle(get(idp.sign_in(location), {LOGIN_COOKIE: transaction}))
    assert response["headers"]["Location"] == return_to


def test_a_login_older_than_its_window_is_refused(idp, aws):
    """Attack: a transaction cookie kept for later (a shared computer)."""
    clock = ManualClock(__import__("time").time())
    login = app(idp, clock, GATEHOUSE_LOGIN_TRANSACTION_SECONDS="60")
    location, transaction = start(login)
    callback = idp.sign_in(location)
    clock.advance(61)
    response = login.handle(get(callback, {LOGIN_COOKIE: transaction}))
    assert_no_session(response)
    assert response["body"] == "login refused: LoginExpired\n"


def test_a_provider_error_is_refused_with_a_fixed_reason(idp, aws):
    login = app(idp)
    location, transaction = start(login)
    state = dict(parse_qsl(urlsplit(location).query))["state"]
    text = "<script>alert(1)</script>"
    query = urlencode({"state": state, "error": "access_denied", "error_description": text})
    response = login.handle(get(f"/auth/callback?{query}", {LOGIN_COOKIE: transaction}))
    assert_no_session(response)
    assert response["body"] == "login refused: ProviderError\n"  # nothing of the input echoed


def test_logout_clears_every_cookie(idp, aws):
    response = app(idp).handle(get("/auth/logout?return_to=/"))
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "/"
    cookies = set_cookies(response)
    assert set(cookies) == {SESSION, f"{SESSION}-csrf", LOGIN_COOKIE}
    assert all("Max-Age=0" in value for value in cookies.values())
    idp_logout = "https://idp.example.test/logout?client_id=web-app"
    ended = app(idp, GATEHOUSE_LOGIN_LOGOUT_URL=idp_logout).handle(get("/auth/logout"))
    assert ended["headers"]["Location"] == idp_logout


def test_payload_2_0_events_get_cookies_in_their_own_list(idp, aws):
    login = app(idp)
    event = build_event("http_v2", "GET /auth/login")
    event = {k: v for k, v in event.items() if k not in ("type", "routeArn", "identitySource")}
    response = login.handle(event)
    assert response["statusCode"] == 302
    assert [c.split("=", 1)[0] for c in response["cookies"]] == [LOGIN_COOKIE]
    assert "multiValueHeaders" not in response


@pytest.mark.parametrize(
    "event",
    [None, [], {}, {"httpMethod": 5, "path": "/auth/login"}, {"version": "2.0"}],
)
def test_junk_events_are_a_fixed_400(idp, aws, event):
    response = app(idp).handle(event)
    assert response["statusCode"] == 400
    assert response["body"] == "login refused: MalformedRequest\n"


def test_a_duplicated_state_is_refused(idp, aws):
    login = app(idp)
    location, transaction = start(login)
    state = dict(parse_qsl(urlsplit(location).query))["state"]
    event = get(f"/auth/callback?state={state}&state=other&code=c", {LOGIN_COOKIE: transaction})
    assert login.handle(event)["body"] == "login refused: MalformedRequest\n"


def test_other_methods_and_paths(idp, aws):
    login = app(idp)
    post = {**get("/auth/login"), "httpMethod": "POST"}
    assert login.handle(post)["statusCode"] == 405
    assert login.handle(get("/auth/other"))["statusCode"] == 404


def test_an_unreadable_key_secret_fails_closed(idp, aws):
    response = app(idp, GATEHOUSE_LOGIN_KEY_SECRET="missing").handle(get("/auth/login"))
    assert response["statusCode"] == 503
    assert response["body"] == "login refused: Unavailable\n"
    assert SESSION not in set_cookies(response)


def _http_post(url: str, form: dict[str, str]) -> tuple[int, Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request(
            "POST",
            parts.path,
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_session_answer_is_never_replayed_to_another_request(idp, aws):
    """Attack: CSRF through the authorizer cache. Were a session-cookie authorizer cached, a
    GET's Allow replayed to a forged POST would skip the proof; each answer names its own
    request only, so the replay is refused whatever the cache does."""
    token = cookie_value(login_session(app(idp), idp), SESSION)
    gate = session_gate(idp)
    cookie = [f"{SESSION}={token}"]
    for kind in ("rest_request", "http_v1", "http_v2"):
        answer = gate(build_event(kind, "GET /orders", cookies=cookie))
        assert_allows(answer)
        assert replay(answer, "POST /orders") == 403
        assert replay(answer, "GET /orders/7") == 403


def test_a_session_proof_in_another_alphabet_is_a_deny_not_a_fault(idp, aws):
    token = cookie_value(login_session(app(idp), idp), SESSION)
    gate = session_gate(idp)
    event = build_event(
        "rest_request",
        "POST /orders",
        cookies=[f"{SESSION}={token}"],
        headers={"X-CSRF-Token": "\u00e9" * 43},
    )
    assert_denies(gate(event), reason="CsrfCheckFailed")


def test_a_cached_policy_authorizer_with_a_session_cookie_is_refused(idp):
    """Attack: CSRF through the cache of the policy authorizer, whose default is cache on."""
    bundle = Path(__file__).resolve().parents[2] / "policies" / "demo.yaml"
    with pytest.raises(ConfigurationError) as caught:
        authorizer(
            "policy",
            policy_authenticator="jwt_bearer",
            policy_source=str(bundle),
            policy_routes=["GET /tenants/{tenant}/orders"],
            jwt_issuers=[idp.settings()],
            jwt_allow_loopback_http=True,
            jwt_session_cookie=SESSION,
        )
    assert caught.value.setting == "GATEHOUSE_POLICY_AUTHORIZER_CACHE"


def test_a_provider_whose_keys_are_unreachable_is_a_503(idp, aws):
    """Fail closed, and visibly: an outage is Unavailable, not a user's bad token."""
    unreachable = {**idp.settings(), "jwks_uri": "http://127.0.0.1:9/jwks.json"}
    login = app(idp, GATEHOUSE_JWT_ISSUERS=json.dumps([unreachable]))
    location, transaction = start(login)
    response = login.handle(get(idp.sign_in(location), {LOGIN_COOKIE: transaction}))
    assert_no_session(response)
    assert (response["statusCode"], response["body"]) == (503, "login refused: Unavailable\n")


def test_a_session_too_big_for_a_cookie_is_refused_not_looped(aws):
    """A browser drops a cookie over 4 KB: the login would end without a session, and loop."""
    with LocalOidcProvider(redirect_uris=[CALLBACK], scope="openid " + "x" * 4000) as big:
        login = app(big)
        location, transaction = start(login)
        response = login.handle(get(big.sign_in(location), {LOGIN_COOKIE: transaction}))
    assert_no_session(response)
    assert response["body"] == "login refused: SessionTooLarge\n"


def test_a_transaction_cookie_sent_twice_is_malformed(idp, aws):
    login = app(idp)
    location, transaction = start(login)
    callback = urlsplit(idp.sign_in(location))
    event = get(f"{callback.path}?{callback.query}", {LOGIN_COOKIE: transaction})
    # One Cookie header naming the cookie twice, as API Gateway passes it (both fields)
    event["headers"]["Cookie"] += f"; {LOGIN_COOKIE}=other"
    event["multiValueHeaders"]["Cookie"] = [event["headers"]["Cookie"]]
    response = login.handle(event)
    assert_no_session(response)
    assert response["body"] == "login refused: MalformedRequest\n"


def test_only_a_refused_callback_clears_the_login_in_progress(idp, aws):
    """A stray link (/auth/login?return_to=<bad>, /auth/other) must not cancel a login."""
    login = app(idp)
    assert set_cookies(login.handle(get("/auth/login?return_to=//evil.example"))) == {}
    assert set_cookies(login.handle(get("/auth/other"))) == {}
    refused = login.handle(get("/auth/callback?state=x&code=y", {LOGIN_COOKIE: "junk"}))
    assert "Max-Age=0" in set_cookies(refused)[LOGIN_COOKIE]


def test_the_kit_runs_the_whole_login_in_both_payloads(idp):
    login = browser_login(
        jwt_issuers=[idp.settings()],
        jwt_allow_loopback_http=True,
        jwt_session_cookie=SESSION,
        login_authorize_url=idp.authorize_url,
        login_token_url=idp.token_url,
        login_client_id=idp.client_id,
        login_redirect_uri=CALLBACK,
        login_allowed_origins=[APP],
        http=NETWORK,
    )
    session = login.sign_in(idp, return_to=f"{APP}/orders")
    assert (session.status, session.location) == (302, f"{APP}/orders")
    token = session.cookie(SESSION)
    assert token and session.cookie(f"{SESSION}-csrf") == csrf_proof(token)
    started = login.get("/auth/login", payload="http_v2")
    assert started.status == 302 and "cookies" in started.response
    name = f"{SESSION}-login"
    callback = idp.sign_in(started.location or "")
    finished = login.get(callback, cookies={name: started.cookie(name) or ""}, payload="http_v2")
    assert finished.status == 302 and finished.cookie(SESSION)
    assert not any("Set-Cookie" in str(h) for h in finished.response["headers"])
