"""The JWT authorizer end to end: event in, response out, through the real handler module.

The handler module builds its authorizer from the environment at import; these tests set the
environment first and (re)import it, with a JWKS preloaded from configuration so no fetch is
needed, and check statuses, metrics and that no log line carries the token.
"""

from __future__ import annotations

import importlib
import json
import string
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizers.core.exceptions import Unauthorized
from tests.conftest import load_event
from tests.jwt_fixtures import AUDIENCE, ISSUER, Keys, default_claims


class Ctx:
    function_name = "gatehouse-jwt"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-jwt"
    aws_request_id = "req-1"


@pytest.fixture
def handler_for(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Callable[[dict[str, Any]], dict[str, Any]]]]:
    def build(routes: list[dict[str, Any]] | None = None, **extra: str):
        issuer = {
            "type": "oidc",
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": ["RS256", "ES256"],
            "jwks": keys.jwks(),
            "groups_claim": "groups",
        }
        monkeypatch.setenv("GATEHOUSE_JWT_ISSUERS", json.dumps([issuer]))
        monkeypatch.setenv("GATEHOUSE_TRACING", "false")
        if routes is not None:
            monkeypatch.setenv("GATEHOUSE_JWT_ROUTES", json.dumps(routes))
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("authorizers.jwt_bearer.handler", None)
        module = importlib.import_module("authorizers.jwt_bearer.handler")
        return lambda event: module.lambda_handler(event, Ctx())

    yield build
    sys.modules.pop("authorizers.jwt_bearer.handler", None)


def live_claims(**overrides: Any) -> dict[str, Any]:
    """Claims valid now: the handler reads the real clock."""
    now = int(time.time())
    return default_claims(**{"iat": now - 60, "exp": now + 3600, **overrides})


def with_token(name: str, token: str) -> dict[str, Any]:
    event = load_event(name)
    if name == "rest_token":
        event["authorizationToken"] = f"Bearer {token}"
    elif name == "http_v2":
        event["headers"]["authorization"] = f"Bearer {token}"
    else:
        event["headers"]["Authorization"] = f"Bearer {token}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


KINDS = ["rest_token", "rest_request", "http_v1", "http_v2", "websocket_connect"]


@pytest.mark.parametrize("kind", KINDS)
def test_valid_token_is_allowed_for_the_whole_stage(handler_for, make_token, kind, capsys):
    handler = handler_for()
    token = make_token(live_claims())
    response = handler(with_token(kind, token))
    assert response["principalId"] == "user-1"
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow" and statement["Resource"][0].endswith("*")
    assert response["context"]["scope"] == "orders:read orders:write"
    out = capsys.readouterr().out
    for segment in token.split("."):
        assert segment not in out  # row 34: no token part in any log line


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
        lambda t: "",
        lambda t: t.split(".")[0] + "..",
    ],
    ids=["bad-signature", "empty", "no-signature"],
)
def test_bad_or_missing_tokens_are_401(handler_for, make_token, kind, tamper, capsys):
    handler = handler_for()
    token = tamper(make_token(live_claims()))
    with pytest.raises(Unauthorized):
        handler(with_token(kind, token))
    out = capsys.readouterr().out
    assert '"Unauthorized"' in out  # the metric
    if token:
        assert token.split(".")[0] not in out or not token.split(".")[0]


def test_expired_token_is_401_with_reason(handler_for, make_token, capsys):
    handler = handler_for()
    with pytest.raises(Unauthorized):
        handler(with_token("rest_request", make_token(live_claims(exp=int(time.time()) - 3600))))
    assert '"Reason":"Expired"' in capsys.readouterr().out.replace(" ", "")


def test_route_rules_deny_with_reason_and_allow_other_routes(handler_for, make_token):
    handler = handler_for(
        routes=[
            {"route": "GET /pets/{petId}", "scopes": ["pets:read"]},
            {"route": "GET /orders", "scopes": ["orders:read"]},
        ]
    )
    response = handler(
        with_token("rest_request", make_token(live_claims()))
    )  # GET /pets/42, no pets:read
    assert response["context"]["reason"] == "InsufficientScope"
    statements = {s["Effect"]: s["Resource"] for s in response["policyDocument"]["Statement"]}
    assert statements["Allow"] == [
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/orders"
    ]


def test_configuration_error_denies_everything_and_logs_the_fix(monkeypatch, capsys):
    monkeypatch.setenv("GATEHOUSE_JWT_ISSUERS", "[]")
    monkeypatch.setenv("GATEHOUSE_TRACING", "false")
    sys.modules.pop("authorizers.jwt_bearer.handler", None)
    module = importlib.import_module("authorizers.jwt_bearer.handler")
    response = module.lambda_handler(load_event("rest_request"), Ctx())
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert response["context"] == {"reason": "Configuration"}
    assert "GATEHOUSE_JWT_ISSUERS: must be a non-empty JSON list" in capsys.readouterr().out
    sys.modules.pop("authorizers.jwt_bearer.handler", None)


def cold_start_with_jwks(monkeypatch: pytest.MonkeyPatch, issuer: dict[str, Any]) -> Any:
    """The handler module, imported with one issuer ``issuer`` (its cold start already ran)."""
    monkeypatch.setenv("GATEHOUSE_JWT_ISSUERS", json.dumps([issuer]))
    monkeypatch.setenv("GATEHOUSE_TRACING", "false")
    sys.modules.pop("authorizers.jwt_bearer.handler", None)
    return importlib.import_module("authorizers.jwt_bearer.handler")


_UNUSABLE = {"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}]}  # 17-bit RSA


@pytest.mark.parametrize(
    ("jwks", "jwks_uri"),
    [
        ({"keys": []}, None),
        (_UNUSABLE, None),
        # An empty preload stays accepted: its URI may publish keys later (docs/jwt.md).
        (_UNUSABLE, "https://idp.example.com/jwks"),
    ],
    ids=["static-empty", "static-no-usable-member", "preload-no-usable-member"],
)
def test_a_configured_jwks_without_a_usable_key_is_a_configuration_error_at_cold_start(
    monkeypatch, capsys, make_token, jwks, jwks_uri
):
    # GIVEN an issuer whose configured keys can verify nothing
    issuer = {"type": "oidc", "issuer": ISSUER, "audiences": [AUDIENCE], "algorithms": ["RS256"]}
    issuer["jwks"] = jwks
    if jwks_uri is not None:
        issuer["jwks_uri"] = jwks_uri
    try:
        module = cold_start_with_jwks(monkeypatch, issuer)
        response = module.lambda_handler(
            with_token("rest_request", make_token(live_claims())), Ctx()
        )
    finally:
        sys.modules.pop("authorizers.jwt_bearer.handler", None)
    # THEN the cold start says which setting is wrong, and every request is a Deny
    # (Configuration, with the alarm metric) rather than a silent 401 UnknownKey
    out = capsys.readouterr().out
    assert "GATEHOUSE_JWT_ISSUERS: issuer https://idp.example.com: 'jwks'" in out
    assert "no usable key" in out
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert response["context"] == {"reason": "Configuration"}


def test_static_jwks_skipped_members_are_logged_at_cold_start(handler_for, make_token, capsys):
    # keys.jwks() holds a 1024-bit RSA key: skipped, and now said so, as for a preload
    handler = handler_for()
    assert "jwks_members_skipped" in capsys.readouterr().out
    assert handler(with_token("rest_request", make_token(live_claims())))["principalId"] == (
        "user-1"
    )


def test_jwks_unreachable_and_nothing_cached_is_401_never_allow(
    handler_for, make_token, monkeypatch
):
    handler = handler_for()
    module = sys.modules["authorizers.jwt_bearer.handler"]
    authorizer = module._COLD_START.get()
    authorizer._static.clear()

    def down(_profile, _kid, _deadline):
        from authorizers.core.exceptions import AuthenticationError, Reason

        raise AuthenticationError(Reason.UPSTREAM_UNAVAILABLE)

    monkeypatch.setattr(authorizer.verifier, "_key_lookup", down)
    with pytest.raises(Unauthorized):
        handler(with_token("rest_request", make_token(live_claims())))


def test_revoked_token_is_401_and_dynamodb_outage_is_deny(handler_for, make_token, monkeypatch):
    from authorizers.core.exceptions import Reason, UpstreamError

    handler = handler_for(GATEHOUSE_JWT_REVOCATION_TABLE="revoked")
    authorizer = sys.modules["authorizers.jwt_bearer.handler"]._COLD_START.get()

    class Denylist:
        def __init__(self, answer):
            self.answer = answer
            self.seen = []

        def is_revoked(self, issuer, ids, deadline=None):
            self.seen.append((issuer, tuple(ids)))
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    revoked = Denylist(True)
    monkeypatch.setattr(authorizer, "_revocation", revoked)
    with pytest.raises(Unauthorized):
        handler(with_token("rest_request", make_token(live_claims())))
    assert revoked.seen == [(ISSUER, ("jti-1",))]  # keyed by (iss, jti), never the token
    monkeypatch.setattr(
        authorizer, "_revocation", Denylist(UpstreamError(Reason.UPSTREAM_THROTTLED))
    )
    response = handler(with_token("rest_request", make_token(live_claims())))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert response["context"] == {"reason": "UpstreamThrottled"}


def test_null_jti_cannot_skip_the_revocation_lookup(handler_for, make_token, monkeypatch, capsys):
    # GIVEN revocation on, and a denylist that would refuse any token it is asked about
    handler = handler_for(GATEHOUSE_JWT_REVOCATION_TABLE="revoked")
    authorizer = sys.modules["authorizers.jwt_bearer.handler"]._COLD_START.get()
    asked: list[tuple[str, tuple[str, ...]]] = []

    class Denylist:
        def is_revoked(self, issuer: str, ids: list[str], deadline: object = None) -> bool:
            asked.append((issuer, tuple(ids)))
            return True

    monkeypatch.setattr(authorizer, "_revocation", Denylist())
    # WHEN a validly signed token carries "jti": null (read as absent, no id would be looked up)
    token = make_token({**live_claims(), "jti": None})
    # THEN it is a 401 InvalidClaims, decided before the denylist is consulted
    with pytest.raises(Unauthorized):
        handler(with_token("rest_request", token))
    assert '"Reason":"InvalidClaims"' in capsys.readouterr().out.replace(" ", "")
    assert asked == []


def test_revocation_off_never_imports_boto3(keys):
    # A static JWKS with one usable key: an empty one is a configuration error at cold start.
    issuers = [
        {
            "type": "oidc",
            "issuer": "https://idp.example.com",
            "audiences": ["a"],
            "algorithms": ["RS256"],
            "jwks": {"keys": keys.jwks()["keys"][:1]},
        }
    ]
    code = (
        "import json, os, sys;"
        f"os.environ['GATEHOUSE_JWT_ISSUERS'] = {json.dumps(issuers)!r};"
        "import authorizers.jwt_bearer.handler as h;"
        "h._COLD_START.get();"
        "print('boto3' in sys.modules, 'botocore.session' in sys.modules)"
    )
    import subprocess

    out = (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == "False False"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(KINDS),
    header=st.one_of(
        st.text(max_size=200),
        st.builds(lambda t: f"Bearer {t}", st.text(alphabet=string.printable, max_size=300)),
        st.builds(
            lambda a, b, c: f"Bearer {a}.{b}.{c}",
            *[st.text(alphabet=string.ascii_letters + string.digits + "-_=", max_size=80)] * 3,
        ),
    ),
)
def test_fuzzed_authorization_headers_give_401_or_a_deny_never_anything_else(
    handler_for, kind, header
):
    # Any header value: the handler raises exactly Unauthorized or answers with a policy;
    # nothing random is ever allowed.
    handler = handler_for()
    event = with_token(kind, "x")
    if kind == "rest_token":
        event["authorizationToken"] = header
    elif kind == "http_v2":
        event["headers"]["authorization"] = header
    else:
        event["headers"]["Authorization"] = header
        event["multiValueHeaders"]["Authorization"] = [header]
    try:
        response = handler(event)
    except Unauthorized:
        return
    assert all(s["Effect"] == "Deny" for s in response["policyDocument"]["Statement"])
