"""Policy sources against moto (S3 conditional GET, SSM versions), reload through the store,
and the API key and mTLS authenticators composed with Cedar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from authorizers.core.clock import ManualClock
from authorizers.core.decision import Effect, render_policy
from authorizers.core.exceptions import AuthenticationError, Reason, UpstreamError
from authorizers.core.iam_match import PolicyOutcome, evaluate_policy
from authorizers.core.request import normalize
from authorizers.policy.authorizer import PolicyAuthorizer
from authorizers.policy.engine import compile_bundle
from authorizers.policy.model import PrincipalType
from authorizers.policy.source import UNCHANGED, Fetched, S3Source, SsmSource
from authorizers.policy.store import PolicyStore
from tests.conftest import load_event
from tests.unit.api_key.fixtures import TABLE, USAGE_KEY, create_table, issue
from tests.unit.mtls.pki import pem, pki
from tests.unit.policy.helpers import DEMO, DEMO_ROUTES, demo_table

BUCKET = "gatehouse-policies"
GOOD = DEMO.read_bytes()
BROKEN = b"version: 1\ncedar: 'forbid (principal, action'\n"
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_s3_source_fetches_then_answers_unchanged(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=BUCKET, Key="p.yaml", Body=GOOD)
    source = S3Source(BUCKET, "p.yaml")
    fetched = source.fetch(None)
    assert isinstance(fetched, Fetched) and fetched.data == GOOD
    assert source.fetch(fetched.tag) is UNCHANGED  # IfNoneMatch -> 304
    s3.put_object(Bucket=BUCKET, Key="p.yaml", Body=BROKEN)
    changed = source.fetch(fetched.tag)
    assert isinstance(changed, Fetched) and changed.data == BROKEN


def test_s3_failures_are_upstream_errors(aws):
    with pytest.raises(UpstreamError) as raised:
        S3Source("no-such-bucket", "p.yaml").fetch(None)
    assert raised.value.reason is Reason.UPSTREAM_UNAVAILABLE


def test_s3_refuses_an_oversized_document(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=BUCKET, Key="big", Body=b"#" * 1_048_577)
    with pytest.raises(UpstreamError) as raised:
        S3Source(BUCKET, "big").fetch(None)
    assert raised.value.reason is Reason.INVALID_RESPONSE


def test_ssm_source_uses_the_parameter_version(aws):
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/gatehouse/policy", Value=GOOD.decode(), Type="String")
    source = SsmSource("/gatehouse/policy")
    fetched = source.fetch(None)
    assert isinstance(fetched, Fetched) and fetched.data == GOOD and fetched.tag == "1"
    assert source.fetch("1") is UNCHANGED
    ssm.put_parameter(Name="/gatehouse/policy", Value="x", Type="String", Overwrite=True)
    assert isinstance(source.fetch("1"), Fetched)
    with pytest.raises(UpstreamError):
        SsmSource("/missing").fetch(None)


def test_a_broken_s3_update_keeps_the_last_known_good(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=BUCKET, Key="p.yaml", Body=GOOD)
    clock = ManualClock()
    table = demo_table()
    events: list[tuple[str, dict[str, object]]] = []
    store = PolicyStore(
        S3Source(BUCKET, "p.yaml"),
        lambda data: compile_bundle(data, table),
        clock=clock,
        refresh_s=60,
        on_event=lambda name, fields: events.append((name, fields)),
    )
    good = store.current()
    assert good is not None
    s3.put_object(Bucket=BUCKET, Key="p.yaml", Body=BROKEN)
    clock.advance(61)
    assert store.current() is good
    assert [name for name, _ in events] == ["loaded", "reload_failed"]
    assert BROKEN.decode() not in json.dumps(events, default=str)  # no document content logged


# --- the other authenticators ----------------------------------------------------------


def _environ(**extra: str) -> dict[str, str]:
    return {
        "GATEHOUSE_POLICY_SOURCE": str(DEMO),
        "GATEHOUSE_POLICY_ROUTES": json.dumps(list(DEMO_ROUTES)),
        **extra,
    }


def _event(method: str, path: str, **headers: str) -> dict[str, Any]:
    event = load_event("rest_request")
    event["methodArn"] = f"{ARN}/{method}{path}"
    event["httpMethod"] = method
    event.pop("resource")
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return event


def _allows(decision, method: str, path: str) -> bool:
    policy = render_policy(decision.resources)
    return evaluate_policy(policy, f"{ARN}/{method}{path}") is PolicyOutcome.ALLOW


API_KEY_BUNDLE = b"""version: 1
rules:
  - id: clients-read-own-tenant
    routes: ["GET /tenants/{tenant}/orders"]
    scopes: [orders:read]
    match_path: {tenant: tenants}
"""


def test_api_key_principals_are_api_clients_with_their_tenant(aws, tmp_path):
    dynamodb = boto3.client("dynamodb")
    create_table(dynamodb)
    issued = issue(dynamodb, tenant="acme")
    bundle = tmp_path / "keys.yaml"
    bundle.write_bytes(API_KEY_BUNDLE)
    authorizer = PolicyAuthorizer.from_environ(
        _environ(
            GATEHOUSE_POLICY_AUTHENTICATOR="api_key",
            GATEHOUSE_POLICY_SOURCE=str(bundle),
            GATEHOUSE_APIKEY_TABLE=TABLE,
        ),
        in_lambda=False,
    )
    identity = authorizer.authenticator.authenticate(
        normalize(_event("GET", "/tenants/acme/orders", **{"x-api-key": issued.secret}))
    )
    assert identity.type is PrincipalType.API_CLIENT and identity.tenants == {"acme"}
    allowed = authorizer.decide(
        normalize(_event("GET", "/tenants/acme/orders", **{"x-api-key": issued.secret}))
    )
    assert allowed.effect is Effect.ALLOW and allowed.usage_identifier_key == USAGE_KEY
    denied = authorizer.decide(
        normalize(_event("GET", "/tenants/globex/orders", **{"x-api-key": issued.secret}))
    )
    assert denied.effect is Effect.DENY
    with pytest.raises(AuthenticationError):
        revoked = issue(dynamodb, tenant="acme", status="revoked")
        authorizer.decide(
            normalize(_event("GET", "/tenants/acme/orders", **{"x-api-key": revoked.secret}))
        )


def test_mtls_principals_are_devices_with_their_tenant():
    authority = pki()
    environ = _environ(
        GATEHOUSE_POLICY_AUTHENTICATOR="mtls",
        GATEHOUSE_MTLS_TRUST_ANCHORS=authority.bundle,
        GATEHOUSE_MTLS_RULES=json.dumps(
            [
                {
                    "san_uri": "spiffe://example.org/tenant/{tenant}/device/{device}",
                    "principal": "device:{device}",
                    "tenant": "{tenant}",
                }
            ]
        ),
        GATEHOUSE_MTLS_REVOCATION="off",
    )
    authorizer = PolicyAuthorizer.from_environ(environ, in_lambda=False)
    event = load_event("rest_request_mtls")
    event["methodArn"] = f"{ARN}/DELETE/tenants/globex/orders/1"
    event["httpMethod"] = "DELETE"
    event.pop("resource", None)
    event["requestContext"]["identity"]["clientCert"]["clientCertPem"] = pem(authority.leaf())
    request = normalize(event)
    identity = authorizer.authenticator.authenticate(request)
    assert identity.type is PrincipalType.DEVICE and identity.id == "device:d-1"
    assert identity.tenants == {"acme"} and len(identity.attributes["fingerprint"]) == 64
    decision = authorizer.decide(request)
    assert decision.effect is Effect.DENY  # a device of acme never reaches globex
    assert not _allows(decision, "GET", "/tenants/globex/orders")
