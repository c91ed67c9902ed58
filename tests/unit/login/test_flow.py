"""The login transaction's pure parts: PKCE, the sealed cookie, the return-URL rule, the
callback checks, the session cookie and its CSRF proof."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authorizers.core.exceptions import AccessDeniedError, InvalidRequestError
from authorizers.jwt_bearer.session import check_csrf, cookie_value, csrf_proof
from authorizers.login import flow
from authorizers.login.flow import LoginError, LoginFailure, ReturnUrlError

KEY = flow.sealing_key("s" * 64)
ORIGINS = frozenset({"https://app.example.test"})


def counter_random(size: int, _counter=itertools.count()) -> bytes:  # noqa: B008 - a test source
    return next(_counter).to_bytes(size, "big")


def transaction(now: float = 1000.0) -> flow.Transaction:
    return flow.start("/orders", now=now, random=counter_random)


def test_s256_matches_rfc_7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert flow.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_authorize_url_carries_every_parameter_once():
    tx = transaction()
    url = flow.authorize_url(
        "https://idp.example.test/authorize?tenant=a",
        tx,
        client_id="web",
        redirect_uri="https://api.example.test/auth/callback",
        scopes=("openid", "email"),
    )
    query = parse_qs(urlsplit(url).query)
    assert all(len(values) == 1 for values in query.values())
    assert query["tenant"] == ["a"]
    assert query["code_challenge"] == [flow.code_challenge(tx.verifier)]
    assert query["scope"] == ["openid email"]
    assert tx.verifier not in url  # only its hash leaves the function


def test_seal_round_trip_and_secrets_hidden_in_repr():
    tx = transaction()
    assert (
        flow.unseal(KEY, flow.seal(KEY, tx, random=counter_random), now=1001, max_age_s=600) == tx
    )
    assert tx.state not in repr(tx) and tx.verifier not in repr(tx)


def test_a_transaction_sealed_with_another_key_is_refused():
    """Attack: a transaction cookie minted by someone who does not hold the key."""
    sealed = flow.seal(flow.sealing_key("o" * 64), transaction(), random=counter_random)
    with pytest.raises(LoginError) as caught:
        flow.unseal(KEY, sealed, now=1001, max_age_s=600)
    assert caught.value.failure is LoginFailure.NO_LOGIN_IN_PROGRESS


@pytest.mark.parametrize("value", [None, "", "!!!", "AAAA", "A" * 200])
def test_garbage_transaction_cookies_are_no_login(value):
    with pytest.raises(LoginError) as caught:
        flow.unseal(KEY, value, now=1001, max_age_s=600)
    assert caught.value.failure is LoginFailure.NO_LOGIN_IN_PROGRESS


def test_a_transaction_from_the_future_or_too_old_is_expired():
    sealed = flow.seal(KEY, transaction(now=1000), random=counter_random)
    for now in (999.0, 1601.0):
        with pytest.raises(LoginError) as caught:
            flow.unseal(KEY, sealed, now=now, max_age_s=600)
        assert caught.value.failure is LoginFailure.LOGIN_EXPIRED


def test_a_short_sealing_secret_is_refused():
    with pytest.raises(ValueError, match="32"):
        flow.sealing_key("short")


@given(st.text(max_size=80))
def test_every_accepted_return_url_stays_on_the_host_or_an_allowed_origin(value):
    """Property: whatever the input, an accepted return URL is a single-slash path or a URL
    whose origin, as a browser parses it, is allowed."""
    try:
        accepted = flow.check_return_url(value, ORIGINS)
    except ReturnUrlError:
        return
    if accepted.startswith("/"):
        assert not accepted.startswith("//") and "\\" not in accepted
    else:
        parts = urlsplit(accepted)
        assert f"{parts.scheme}://{parts.netloc}" in ORIGINS


@pytest.mark.parametrize(
    "value",
    ["https://APP.example.test/x", "https://app.example.test:443/x"],
)
def test_one_origin_has_one_spelling(value):
    """RFC 6454: the host compares lower-cased, and a default port is no port."""
    assert flow.check_return_url(value, ORIGINS) == value
    with pytest.raises(ReturnUrlError):
        flow.check_return_url(value.replace("/x", ":8443/x").replace(":443:8443", ":8443"), ORIGINS)


def test_callback_checks_state_before_anything_else():
    tx = transaction()
    with pytest.raises(LoginError) as forged:
        flow.check_callback({"state": "x", "code": "c", "error": "e"}, tx)
    assert forged.value.failure is LoginFailure.STATE_MISMATCH
    with pytest.raises(LoginError) as error:
        flow.check_callback({"state": tx.state, "error": "access_denied"}, tx)
    assert error.value.failure is LoginFailure.PROVIDER_ERROR
    with pytest.raises(LoginError) as missing:
        flow.check_callback({"state": tx.state}, tx)
    assert missing.value.failure is LoginFailure.MISSING_CODE
    assert flow.check_callback({"state": tx.state, "code": "c0de"}, tx) == "c0de"


def test_nonce_must_be_the_transactions():
    tx = transaction()
    flow.check_nonce({"nonce": tx.nonce}, tx)
    for claims in ({}, {"nonce": 5}, {"nonce": tx.nonce + "x"}):
        with pytest.raises(LoginError) as caught:
            flow.check_nonce(claims, tx)
        assert caught.value.failure is LoginFailure.NONCE_MISMATCH


def test_cookie_value_parsing():
    header = "a=1; __Host-s=tok; b=2"
    assert cookie_value(header, "__Host-s") == "tok"
    assert cookie_value(header, "__Host-x") is None
    assert cookie_value(None, "__Host-s") is None
    assert cookie_value("__Host-s=tok; __Host-s=tok", "__Host-s") == "tok"
    assert cookie_value("x__Host-s=evil; __Host-s=tok", "__Host-s") == "tok"


def test_a_tossed_second_session_cookie_is_ambiguous():
    """Attack: cookie tossing. A second cookie of the same name (from a sibling domain or a
    path-scoped cookie) is not resolved by picking one."""
    with pytest.raises(InvalidRequestError):
        cookie_value("__Host-s=mine; __Host-s=theirs", "__Host-s")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_need_no_proof(method):
    check_csrf(method, None, "tok", principal="p")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", None, "get"])
def test_unsafe_methods_need_the_tokens_proof(method):
    with pytest.raises(AccessDeniedError):
        check_csrf(method, None, "tok", principal="p")
    with pytest.raises(AccessDeniedError):
        check_csrf(method, csrf_proof("other"), "tok", principal="p")
    check_csrf(method, csrf_proof("tok"), "tok", principal="p")


def test_the_proof_does_not_give_the_token_away():
    assert "tok" not in csrf_proof("tok")
    assert csrf_proof("a") != csrf_proof("b")
