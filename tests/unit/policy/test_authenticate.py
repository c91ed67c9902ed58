"""The authenticator adapters and the assembled authorizer's metrics."""

from __future__ import annotations

import json
import time

import pytest

from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import AuthenticationError, Reason
from authorizers.core.request import normalize
from authorizers.policy.authenticate import JwtAuthentication
from authorizers.policy.authorizer import PolicyAuthorizer
from authorizers.policy.config import PolicyConfig
from authorizers.policy.engine import compile_bundle
from authorizers.policy.model import PrincipalType
from authorizers.policy.store import PolicyStore
from tests.conftest import load_event
from tests.jwt_fixtures import default_claims
from tests.unit.policy.helpers import ARN, force_policies
from tests.unit.policy.test_config import jwt_environ


class Revoked:
    def __init__(self) -> None:
        self.asked: list[tuple[str, list[str]]] = []

    def is_revoked(self, issuer: str, ids: list[str], deadline: object = None) -> bool:
        self.asked.append((issuer, ids))
        return True


def _event(token: str, method: str = "GET", path: str = "/tenants/acme/orders"):
    event = load_event("rest_request")
    event["methodArn"] = f"{ARN}/{method}{path}"
    event["httpMethod"] = method
    event.pop("resource")
    event["headers"] = {"Authorization": f"Bearer {token}", "X-Channel": "web"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return normalize(event)


def _token(make_token, **claims):
    now = int(time.time())
    return make_token(
        default_claims(iat=now - 60, exp=now + 3600, groups=["readers", "tenant-acme"], **claims)
    )


def _authorizer(keys, **extra):
    authorizer = PolicyAuthorizer.from_environ(jwt_environ(keys, **extra), in_lambda=False)
    assert isinstance(authorizer.authenticator, JwtAuthentication)
    return authorizer


def test_jwt_identity_carries_claims_as_attributes(keys, make_token):
    authorizer = _authorizer(keys)
    identity = authorizer.authenticator.authenticate(
        _event(_token(make_token, client_id="app-1", username="bob"))
    )
    assert identity.type is PrincipalType.USER and identity.id == "user-1"
    assert identity.attributes == {
        "issuer": "https://idp.example.com",
        "client_id": "app-1",
        "username": "bob",
    }
    assert identity.groups == {"readers", "tenant-acme"}
    assert "orders:read" in identity.scopes


def test_a_revoked_jwt_is_refused_before_any_policy(keys, make_token):
    """Attack: a revoked token (jti on the denylist) still reaching Cedar."""
    authorizer = _authorizer(keys)
    revoked = Revoked()
    authorizer.authenticator.authorizer._revocation = revoked  # type: ignore[union-attr]
    with pytest.raises(AuthenticationError) as raised:
        authorizer.decide(_event(_token(make_token)))
    assert raised.value.reason is Reason.REVOKED and revoked.asked[0][1] == ["jti-1"]


def _with_bundle(authorizer: PolicyAuthorizer, data: bytes, headers=()) -> None:
    config: PolicyConfig = authorizer.config
    authorizer.store = PolicyStore(
        type("Source", (), {"description": "test", "fetch": lambda self, tag: _fetched(data)})(),
        lambda document: compile_bundle(document, config.table, headers=headers),
        clock=ManualClock(),
        refresh_s=60,
    )


def _fetched(data: bytes):
    from authorizers.policy.source import Fetched

    return Fetched(data, "t")


def test_metrics_for_errors_shadow_and_not_cache_safe(keys, make_token, capsys):
    authorizer = _authorizer(keys, GATEHOUSE_POLICY_CONTEXT_HEADERS="x-channel")
    header_policy = (
        b"version: 1\ncedar: |\n  permit (principal, action, resource) when "
        b'{ context.headers has x_channel && context.headers.x_channel == "web" };\n'
    )
    _with_bundle(authorizer, header_policy, headers=["x-channel"])
    capsys.readouterr()
    decision = authorizer.decide(_event(_token(make_token)))
    assert decision.effect.value == "Allow" and not decision.cache_safe
    assert '"PolicyNotCacheSafe":1' in capsys.readouterr().out

    snapshot = authorizer.store.current()
    assert snapshot is not None
    force_policies(
        snapshot,
        "permit (principal, action, resource);\n"
        "forbid (principal, action, resource) when { principal.suspended };",
    )
    denied = authorizer.decide(_event(_token(make_token)))
    assert denied.effect.value == "Deny" and denied.reason is Reason.INTERNAL
    out = capsys.readouterr().out
    assert '"PolicyEvaluationError":1' in out and '"errored_policies":["policy1"]' in out


def test_shadow_mode_counts_the_would_be_deny(keys, make_token, capsys):
    authorizer = _authorizer(keys, GATEHOUSE_POLICY_MODE="shadow")
    capsys.readouterr()
    decision = authorizer.decide(_event(_token(make_token), "POST"))
    assert decision.effect.value == "Allow"
    assert '"PolicyShadowDeny":1' in capsys.readouterr().out


def test_shadow_mode_without_a_policy_set_allows_and_counts(keys, make_token, capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    authorizer = _authorizer(
        keys, GATEHOUSE_POLICY_MODE="shadow", GATEHOUSE_POLICY_SOURCE=str(missing)
    )
    capsys.readouterr()
    decision = authorizer.decide(_event(_token(make_token)))
    assert decision.effect.value == "Allow"
    out = capsys.readouterr().out
    assert (
        '"PolicyUnavailable":1' in out and json.dumps("no valid policy set (source)")[1:-1] in out
    )
