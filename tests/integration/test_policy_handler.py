"""The policy authorizer end to end: event in, response out, through the real handler module.

JWT authentication (a JWKS preloaded from configuration, no fetch) and the demo policy bundle
from a file. Checks the required demo outcomes, the decision log line and metrics, that no log
line carries the token, and the fail-closed paths (no valid policy, configuration error).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authorizers.core.exceptions import Unauthorized
from tests.conftest import load_event
from tests.jwt_fixtures import AUDIENCE, ISSUER, Keys, default_claims
from tests.unit.policy.helpers import DEMO, DEMO_ROUTES

MODULE = "authorizers.policy.handler"
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"
GROUPS = {
    "alice": ["admins", "tenant-acme"],
    "bob": ["readers", "tenant-acme"],
    "carol": ["readers", "tenant-globex"],
}


class Ctx:
    function_name = "gatehouse-policy"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-policy"
    aws_request_id = "req-1"


Handler = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def handler_for(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Handler]]:
    def build(source: str | None = None, **extra: str) -> Handler:
        issuer = {
            "type": "oidc",
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": ["RS256"],
            "jwks": keys.jwks(),
            "groups_claim": "cognito:groups",
        }
        monkeypatch.setenv("GATEHOUSE_JWT_ISSUERS", json.dumps([issuer]))
        monkeypatch.setenv("GATEHOUSE_POLICY_AUTHENTICATOR", "jwt_bearer")
        monkeypatch.setenv("GATEHOUSE_POLICY_SOURCE", source or str(DEMO))
        monkeypatch.setenv("GATEHOUSE_POLICY_ROUTES", json.dumps(list(DEMO_ROUTES)))
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
        return lambda event: module.lambda_handler(event, Ctx())

    yield build
    sys.modules.pop(MODULE, None)


def token_for(make_token, name: str) -> str:
    now = int(time.time())
    claims = default_claims(sub=name, iat=now - 60, exp=now + 3600, groups=None)
    claims["cognito:groups"] = GROUPS[name]
    return make_token(claims)


def event_for(token: str, method: str, path: str, resource: str | None = None) -> dict[str, Any]:
    event = load_event("rest_request")
    event["methodArn"] = f"{ARN}/{method}{path}"
    event["httpMethod"] = method
    event["path"] = path
    event["resource"] = resource or path
    event["headers"] = {"Authorization": f"Bearer {token}"}
    event["multiValueHeaders"] = {"Authorization": [f"Bearer {token}"]}
    return event


def effect(response: dict[str, Any], method: str, path: str) -> str:
    from authorizers.core.iam_match import evaluate_policy

    outcome = evaluate_policy(response["policyDocument"], f"{ARN}/{method}{path}").value
    return "Allow" if outcome == "Allow" else "Deny"  # implicit or explicit


CASES = [
    ("bob", "GET", "/tenants/acme/orders", "/tenants/{tenant}/orders", "Allow"),
    ("bob", "GET", "/tenants/globex/orders", "/tenants/{tenant}/orders", "Deny"),
    ("bob", "POST", "/tenants/acme/orders", "/tenants/{tenant}/orders", "Deny"),
    ("alice", "POST", "/tenants/acme/orders", "/tenants/{tenant}/orders", "Allow"),
    ("alice", "DELETE", "/tenants/acme/orders/4", "/tenants/{tenant}/orders/{id}", "Allow"),
    ("alice", "GET", "/tenants/globex/orders/4", "/tenants/{tenant}/orders/{id}", "Deny"),
    ("carol", "GET", "/tenants/globex/orders/7", "/tenants/{tenant}/orders/{id}", "Allow"),
    ("carol", "GET", "/tenants/acme/orders/7", "/tenants/{tenant}/orders/{id}", "Deny"),
]


@pytest.mark.parametrize(("who", "method", "path", "resource", "expected"), CASES)
def test_demo_outcomes_through_the_handler(
    handler_for, make_token, capsys, who, method, path, resource, expected
):
    handler = handler_for()
    capsys.readouterr()
    token = token_for(make_token, who)
    response = handler(event_for(token, method, path, resource))
    assert response["principalId"] == who
    assert effect(response, method, path) == expected
    assert response["context"]["policy_version"]
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    decision = [line for line in lines if line.get("message") == "policy decision"]
    assert decision and decision[0]["decision"] == expected
    assert decision[0]["action"] == f"{method} {resource}"
    assert decision[0]["principal"] == who and decision[0]["policy_version"]
    for segment in token.split("."):
        assert segment not in out  # no part of the token in any log line
    assert any(expected in line for line in lines if "_aws" in line)  # the EMF metric


def test_a_missing_token_is_401(handler_for):
    handler = handler_for()
    event = event_for("x", "GET", "/tenants/acme/orders")
    event["headers"] = {}
    event["multiValueHeaders"] = {}
    with pytest.raises(Unauthorized):
        handler(event)


def test_shadow_mode_allows_and_counts_what_would_be_denied(handler_for, make_token, capsys):
    handler = handler_for(GATEHOUSE_POLICY_MODE="shadow")
    capsys.readouterr()
    response = handler(event_for(token_for(make_token, "bob"), "POST", "/tenants/acme/orders"))
    assert effect(response, "POST", "/tenants/acme/orders") == "Allow"
    out = capsys.readouterr().out
    assert '"PolicyShadowDeny":1' in out and '"shadow_decision":"Deny"' in out


def test_no_valid_policy_at_cold_start_denies_everything_and_says_why(
    handler_for, make_token, capsys, tmp_path: Path
):
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ncedar: 'permit (principal, action'\n")
    handler = handler_for(source=str(broken))
    out = capsys.readouterr().out
    assert '"reload_failed"' in out and "Cedar syntax" in out  # the cold-start log says why
    response = handler(event_for(token_for(make_token, "alice"), "GET", "/tenants/acme/orders"))
    assert effect(response, "GET", "/tenants/acme/orders") == "Deny"
    assert response["context"]["reason"] == "Configuration"
    out = capsys.readouterr().out
    assert '"PolicyUnavailable":1' in out and '"Error":1' in out


def test_a_mistyped_bundle_at_cold_start_is_not_fatal(
    handler_for, make_token, capsys, tmp_path: Path
):
    """Availability: a mistyped bundle at cold start used to fail the init for good (reason
    Internal on every request, even after the bundle was fixed). Now requests are denied
    with reason Configuration, the log says why, and fixing the file is picked up on retry."""
    live = tmp_path / "live.yaml"
    live.write_bytes(
        DEMO.read_bytes().replace(
            b"match_path: {tenant: tenants}", b"match_path: {tenant: [tenants]}"
        )
    )
    handler = handler_for(source=str(live))
    out = capsys.readouterr().out
    assert '"reload_failed"' in out and "match_path.tenant" in out
    token = token_for(make_token, "alice")
    route = "/tenants/{tenant}/orders"
    response = handler(event_for(token, "GET", "/tenants/acme/orders", route))
    assert response["context"]["reason"] == "Configuration"
    live.write_bytes(DEMO.read_bytes())
    store = sys.modules[MODULE]._COLD_START.get().store
    store._next_check = 0.0  # the retry interval has passed
    response = handler(event_for(token, "GET", "/tenants/acme/orders", route))
    assert effect(response, "GET", "/tenants/acme/orders") == "Allow"


def test_a_configuration_error_denies_everything(handler_for, make_token, capsys):
    handler = handler_for(GATEHOUSE_JWT_ROUTES="[]")
    assert "GATEHOUSE_JWT_ROUTES" in capsys.readouterr().out
    response = handler(event_for(token_for(make_token, "alice"), "GET", "/tenants/acme/orders"))
    assert effect(response, "GET", "/tenants/acme/orders") == "Deny"


def test_an_unknown_route_is_denied(handler_for, make_token):
    handler = handler_for()
    response = handler(event_for(token_for(make_token, "alice"), "GET", "/admin", "/admin"))
    assert effect(response, "GET", "/admin") == "Deny"
    assert response["context"]["reason"] == "UnknownRoute"


OFFICE_ONLY = """version: 1
cedar: |
  @id("office-only")
  permit (principal, action in Gatehouse::Action::"GET", resource)
  when { context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8")) };
"""


def test_a_source_ip_policy_is_refused_while_the_authorizer_cache_is_on(
    handler_for, make_token, capsys, tmp_path: Path
):
    """Attack: bob's 'office network only' Allow, cached by API Gateway for the TTL, is
    replayed when the same token calls from the internet. With the cache on (the default),
    the bundle does not load, every request is denied, and the log names the setting."""
    bundle = tmp_path / "office.yaml"
    bundle.write_text(OFFICE_ONLY)
    handler = handler_for(source=str(bundle))
    out = capsys.readouterr().out
    assert '"reload_failed"' in out and "GATEHOUSE_POLICY_AUTHORIZER_CACHE=off" in out
    event = event_for(token_for(make_token, "bob"), "GET", "/tenants/acme/orders")
    event["requestContext"]["identity"]["sourceIp"] = "10.1.2.3"
    response = handler(event)
    assert effect(response, "GET", "/tenants/acme/orders") == "Deny"
    assert response["context"]["reason"] == "Configuration"


def test_with_the_cache_declared_off_answers_name_their_request_only(
    handler_for, make_token, capsys, tmp_path: Path
):
    bundle = tmp_path / "office.yaml"
    bundle.write_text(OFFICE_ONLY)
    handler = handler_for(source=str(bundle), GATEHOUSE_POLICY_AUTHORIZER_CACHE="off")
    token = token_for(make_token, "bob")
    route = "/tenants/{tenant}/orders"
    inside = event_for(token, "GET", "/tenants/acme/orders", route)
    inside["requestContext"]["identity"]["sourceIp"] = "10.1.2.3"
    capsys.readouterr()
    response = handler(inside)
    assert response["policyDocument"]["Statement"][0]["Resource"] == [
        f"{ARN}/GET/tenants/acme/orders"
    ]
    assert effect(response, "GET", "/tenants/acme/orders") == "Allow"
    assert "PolicyNotCacheSafe" not in capsys.readouterr().out  # nothing to warn about
    outside = event_for(token, "GET", "/tenants/acme/orders", route)
    outside["requestContext"]["identity"]["sourceIp"] = "198.51.100.9"
    assert effect(handler(outside), "GET", "/tenants/acme/orders") == "Deny"
