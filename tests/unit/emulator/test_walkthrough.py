"""The walkthrough local mode prints and ``--smoke`` runs (no sockets here)."""

from __future__ import annotations

from gatehouse.localmode.walkthrough import Walkthrough, steps_for


def _steps(**options):
    return steps_for(
        policy_available=True, cors_origin="http://localhost:3000", throttle_burst=10, **options
    )


def _profile_refusals(steps) -> set[int]:
    return {s.expect for s in steps if s.path == "/profile" and s.expect in (401, 302)}


def test_the_jwt_refusals_are_401s_and_one_checks_the_challenge():
    assert _profile_refusals(_steps()) == {401}
    challenged = [
        s for s in _steps() if s.expect_header and s.expect_header[0] == "WWW-Authenticate"
    ]
    assert [s.expect_header for s in challenged] == [("WWW-Authenticate", "Bearer")]


def test_policy_routes_expect_500_until_the_policy_authorizer_starts():
    steps = steps_for(policy_available=False, cors_origin=None, throttle_burst=10)
    statuses = {
        s.expect
        for s in steps
        if s.path.startswith("/tenants/") and "Authorization" in dict(s.headers)
    }
    assert statuses == {500}


def test_throttle_step_sends_past_the_burst():
    (throttle,) = [s for s in _steps() if s.expect == 429]
    assert throttle.repeat > 10


def test_curl_uses_variables_not_secrets_and_the_client_certificate_files():
    walkthrough = Walkthrough(steps=_steps(), variables={"BOB": "secret-token"})
    rendered = walkthrough.render()
    assert "secret-token" in rendered.splitlines()[1]  # only on its export line
    assert rendered.count("secret-token") == 1
    assert '-H "Authorization: Bearer $BOB"' in rendered
    assert "--cert $PKI/device-2.pem --key $PKI/device-2.key" in rendered
    assert walkthrough._resolve("Bearer $BOB") == "Bearer secret-token"
