"""The API key authorizer end to end: event in, response out, with DynamoDB played by moto.

Most tests go through the real handler module (built from the environment at import). The
cache-TTL flows (revocation within the positive TTL, expiry) and fault injection drive the same
pipeline (``core.pipeline.handle``) with an authorizer whose clock and DynamoDB client are
injected, so time can move and DynamoDB can fail on demand.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.api_key.config import ApiKeyConfig
from authorizers.api_key.keys import Environment, IssuedKey, format_key, generate, key_hash
from authorizers.api_key.record import KeyRecord
from authorizers.api_key.store import DynamoDbKeyStore
from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import Unauthorized
from authorizers.core.observability import logger
from authorizers.core.pipeline import ColdStart, handle
from tests.conftest import load_event
from tests.unit.api_key.fixtures import (
    TABLE,
    USAGE_KEY,
    RawDynamoDb,
    create_table,
    issue,
    record_for,
)

ARN_PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234"
ROUTES = '[{"route": "GET /pets/{petId}", "scopes": ["pets:read"]}, {"route": "GET /orders"}]'


class Ctx:
    function_name = "gatehouse-api-key"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-api-key"
    aws_request_id = "req-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client)
        yield client


@pytest.fixture
def handler_for(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Callable[[dict[str, Any]], dict[str, Any]]]]:
    def build(**extra: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        monkeypatch.setenv("GATEHOUSE_TRACING", "false")
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("authorizers.api_key.handler", None)
        module = importlib.import_module("authorizers.api_key.handler")
        return lambda event: module.lambda_handler(event, Ctx())

    yield build
    sys.modules.pop("authorizers.api_key.handler", None)


@pytest.fixture
def handler(handler_for, dynamodb):
    return handler_for(GATEHOUSE_APIKEY_TABLE=TABLE)


@pytest.fixture
def debug_logs() -> Iterator[None]:
    """Allows are logged at DEBUG: turn it on so the no-secret checks see every line."""
    level = logger.log_level
    logger.setLevel("DEBUG")
    yield
    logger.setLevel(level)


def with_key(name: str, key: str, *, header: str = "X-Api-Key") -> dict[str, Any]:
    event = load_event(name)
    if name == "rest_token":
        event["authorizationToken"] = key
        return event
    for field in ("headers", "multiValueHeaders"):
        if field in event:
            event[field] = {k: v for k, v in event[field].items() if k.lower() != "authorization"}
    event["headers"][header] = key
    if "multiValueHeaders" in event:
        event["multiValueHeaders"][header] = [key]
    return event


def effects(response: dict[str, Any]) -> dict[str, list[str]]:
    return {s["Effect"]: s["Resource"] for s in response["policyDocument"]["Statement"]}


def metric_line(out: str) -> str:
    return out.replace(" ", "")


KINDS = ["rest_token", "rest_request", "http_v1", "http_v2", "websocket_connect"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_issued_key_is_allowed_for_the_whole_stage(handler, dynamodb, kind, capsys, debug_logs):
    # GIVEN a key created as `gatehouse keys create` will (hash + record in DynamoDB)
    issued = issue(dynamodb, scopes=frozenset({"pets:read", "orders:read"}))
    # WHEN the client calls with it
    response = handler(with_key(kind, issued.secret))
    # THEN the tenant is allowed on the whole stage, with its context
    assert response["principalId"] == "tenant-acme"
    assert effects(response)["Allow"][0].endswith("/*")
    assert response["context"] == {
        "tenant": "tenant-acme",
        "key_id": issued.key_id,
        "scope": "orders:read pets:read",
        "usage_plan": "gold",
    }
    # AND the usage-plan key is returned to REST APIs only (HTTP and WebSocket APIs have no
    # usage plans; the core renderer drops it for them)
    if kind in ("rest_token", "rest_request"):
        assert response["usageIdentifierKey"] == USAGE_KEY
    else:
        assert "usageIdentifierKey" not in response
    # AND no log line carries the key, its hash or the usage-plan key
    out = capsys.readouterr().out
    assert '"Allow":1' in metric_line(out)
    for secret in (issued.secret, issued.key_hash, USAGE_KEY):
        assert secret not in out


def test_authorization_apikey_scheme_is_accepted(handler, dynamodb):
    issued = issue(dynamodb)
    event = with_key("rest_request", f"ApiKey {issued.secret}", header="Authorization")
    assert handler(event)["principalId"] == "tenant-acme"


def test_a_configured_header(handler_for, dynamodb):
    issued = issue(dynamodb)
    handler = handler_for(GATEHOUSE_APIKEY_TABLE=TABLE, GATEHOUSE_APIKEY_HEADER="x-client-key")
    response = handler(with_key("rest_request", issued.secret, header="X-Client-Key"))
    assert response["principalId"] == "tenant-acme"
    with pytest.raises(Unauthorized):
        handler(with_key("rest_request", issued.secret))  # x-api-key is not read then


def valid_body_key() -> str:
    return format_key(Environment.LIVE, "A" * 30)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "MissingCredentials"),
        (valid_body_key()[:-1], "MalformedCredentials"),
        (
            valid_body_key()[:-1] + ("B" if valid_body_key()[-1] != "B" else "C"),
            "MalformedCredentials",
        ),
        ("gk_test_" + valid_body_key()[8:], "MalformedCredentials"),
        (valid_body_key()[:10] + "é" + valid_body_key()[11:], "MalformedCredentials"),
        ("gk_live_" + "A" * 10_240, "MalformedCredentials"),
    ],
    ids=["missing", "truncated", "typo-in-checksum", "wrong-environment", "non-ascii", "10kb"],
)
def test_missing_and_malformed_keys_are_401_without_any_lookup(handler_for, key, reason, capsys):
    # GIVEN no DynamoDB at all (any lookup would be a fault, not a 401)
    handler = handler_for(GATEHOUSE_APIKEY_TABLE=TABLE)
    # WHEN a missing or malformed key is presented, THEN it is 401 with its reason
    with pytest.raises(Unauthorized):
        handler(with_key("rest_request", key))
    out = metric_line(capsys.readouterr().out)
    assert f'"Reason":"{reason}"' in out
    assert '"Unauthorized":1' in out


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u3000", "\u0085"])
@pytest.mark.parametrize(
    "wrap",
    [
        lambda key, space: ("X-Api-Key", f"{space}{key}"),
        lambda key, space: ("X-Api-Key", f"{key}{space}"),
        lambda key, space: ("Authorization", f"ApiKey {key}{space}"),
        lambda key, space: ("Authorization", f"ApiKey {space}{key}"),
    ],
    ids=["before", "after", "scheme-after", "scheme-before"],
)
def test_a_key_wrapped_in_non_ascii_whitespace_is_malformed_not_trimmed(
    dynamodb, clock, space, wrap, capsys
):
    # GIVEN a real, active key, and a client that wraps it in a Unicode space
    issued = issue(dynamodb)
    client = SwitchableClient(dynamodb)
    authorize = pipeline_for(client, clock)
    header, value = wrap(issued.secret, space)
    # WHEN it is presented, THEN it is refused as malformed (docs: non-ASCII is rejected),
    # before any lookup, not trimmed into the valid key by str.strip()
    with pytest.raises(Unauthorized):
        authorize(with_key("rest_request", value, header=header))
    assert '"Reason":"MalformedCredentials"' in metric_line(capsys.readouterr().out)
    assert client.calls == 0
    # AND the bare key (ASCII spaces and tabs around it are HTTP's own, still trimmed) works
    assert authorize(with_key("rest_request", f" {issued.secret}\t"))["principalId"] == (
        "tenant-acme"
    )


def test_a_well_formed_unknown_key_is_401(handler, capsys):
    with pytest.raises(Unauthorized):
        handler(with_key("rest_request", valid_body_key()))
    assert '"Reason":"UnknownCredential"' in metric_line(capsys.readouterr().out)


def test_a_revoked_key_is_401(handler, dynamodb, capsys):
    issued = issue(dynamodb, status="revoked")
    with pytest.raises(Unauthorized):
        handler(with_key("rest_request", issued.secret))
    assert '"Reason":"Revoked"' in metric_line(capsys.readouterr().out)


def test_an_expired_key_is_401(handler, dynamodb, capsys):
    issued = issue(dynamodb, expires_at=int(time.time()) - 1)
    with pytest.raises(Unauthorized):
        handler(with_key("rest_request", issued.secret))
    assert '"Reason":"Expired"' in metric_line(capsys.readouterr().out)


def test_a_key_without_the_route_scope_is_denied_with_reason(
    handler_for, dynamodb, capsys, debug_logs
):
    # GIVEN route rules, and a key holding orders:read but not pets:read
    handler = handler_for(GATEHOUSE_APIKEY_TABLE=TABLE, GATEHOUSE_APIKEY_ROUTES=ROUTES)
    issued = issue(dynamodb, scopes=frozenset({"orders:read"}))
    # WHEN it calls GET /pets/42
    response = handler(with_key("rest_request", issued.secret))
    # THEN it is a Deny (403) with the reason, and the cached policy still allows GET /orders
    assert response["context"]["reason"] == "InsufficientScope"
    assert effects(response)["Allow"] == [f"{ARN_PREFIX}/prod/GET/orders"]
    assert response["usageIdentifierKey"] == USAGE_KEY
    out = capsys.readouterr().out
    assert '"Deny":1' in metric_line(out)
    assert USAGE_KEY not in out and issued.secret not in out


def test_missing_configuration_denies_every_request(handler_for, capsys):
    handler = handler_for()
    assert '"configuration error"' in capsys.readouterr().out
    response = handler(with_key("rest_request", valid_body_key()))
    assert effects(response) == {"Deny": [f"{ARN_PREFIX}/prod/*/*"]}
    assert response["context"] == {"reason": "Configuration"}


def test_a_missing_table_fails_closed_with_an_error_metric(handler_for, capsys):
    with mock_aws():  # DynamoDB answers, but the table does not exist
        handler = handler_for(GATEHOUSE_APIKEY_TABLE=TABLE)
        response = handler(with_key("rest_request", valid_body_key()))
    assert effects(response) == {"Deny": [f"{ARN_PREFIX}/prod/*/*"]}
    assert response["context"] == {"reason": "UpstreamUnavailable"}
    assert "usageIdentifierKey" not in response
    out = metric_line(capsys.readouterr().out)
    assert '"Error":1' in out and '"Reason":"UpstreamUnavailable"' in out


# --- Injected clock and DynamoDB client: cache TTLs and fault injection -------------------------


class SwitchableClient:
    """A DynamoDB client that fails while ``error`` is set, and counts GetItem calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.error: Exception | None = None
        self.calls = 0

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.inner.get_item(**kwargs)


def pipeline_for(client: Any, clock: ManualClock, **environ: str):
    config = ApiKeyConfig.from_environ(
        {"GATEHOUSE_APIKEY_TABLE": TABLE, "GATEHOUSE_APIKEY_CACHE_SECONDS": "60", **environ}
    )
    store = DynamoDbKeyStore(
        TABLE,
        positive_ttl_s=config.cache_s,
        negative_ttl_s=config.negative_cache_s,
        clock=clock,
        client_factory=lambda: client,
    )
    cold_start = ColdStart("api_key", lambda: ApiKeyAuthorizer(config, store=store, clock=clock))
    return lambda event: handle(event, cold_start)


def test_revocation_takes_effect_within_the_positive_cache_ttl(dynamodb, clock):
    # GIVEN an issued key that was just used
    issued = issue(dynamodb)
    authorize = pipeline_for(dynamodb, clock)
    event = with_key("rest_request", issued.secret)
    assert authorize(event)["principalId"] == "tenant-acme"
    # WHEN it is revoked (as `gatehouse keys revoke` will: status -> revoked)
    dynamodb.update_item(
        TableName=TABLE,
        Key={"key_hash": {"S": issued.key_hash}},
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "revoked"}},
    )
    # THEN it may still pass until the positive TTL (60 s) runs out, and is refused after it
    clock.advance(59)
    assert authorize(event)["principalId"] == "tenant-acme"
    clock.advance(2)
    with pytest.raises(Unauthorized):
        authorize(event)


def test_expiry_is_not_delayed_by_the_cache(dynamodb, clock):
    issued = issue(dynamodb, expires_at=int(clock.now()) + 10)
    authorize = pipeline_for(dynamodb, clock)
    event = with_key("rest_request", issued.secret)
    assert authorize(event)["principalId"] == "tenant-acme"
    clock.advance(10)
    with pytest.raises(Unauthorized):
        authorize(event)  # the record is still cached; its expires_at is checked anyway


def test_a_key_created_after_a_miss_works_after_the_negative_ttl(dynamodb, clock):
    # GIVEN a key whose hash was looked up (and missed) before its record was written
    key = valid_body_key()
    authorize = pipeline_for(dynamodb, clock)
    with pytest.raises(Unauthorized):
        authorize(with_key("rest_request", key))
    late = IssuedKey(Environment.LIVE, key_id="gkid_late", secret=key, key_hash=key_hash(key))
    dynamodb.put_item(TableName=TABLE, Item=record_for(late).to_item())
    # THEN it is refused from the negative cache for at most its TTL (5 s), then allowed
    with pytest.raises(Unauthorized):
        authorize(with_key("rest_request", key))
    clock.advance(6)
    assert authorize(with_key("rest_request", key))["principalId"] == "tenant-acme"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
                "GetItem",
            ),
            "UpstreamThrottled",
        ),
        (
            ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "GetItem"),
            "UpstreamThrottled",
        ),
        (
            ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "GetItem"),
            "UpstreamUnavailable",
        ),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), "UpstreamUnavailable"),
    ],
    ids=["provisioned-throughput", "throttling", "internal", "unreachable"],
)
def test_dynamodb_faults_deny_with_an_error_metric_and_nothing_is_cached_as_allowed(
    dynamodb, clock, error, reason, capsys
):
    # GIVEN a valid key, and DynamoDB failing
    issued = issue(dynamodb)
    client = SwitchableClient(dynamodb)
    client.error = error
    authorize = pipeline_for(client, clock)
    event = with_key("rest_request", issued.secret)
    # WHEN the key is used, THEN the answer is a Deny of the whole stage (fail closed)
    for _ in range(2):
        response = authorize(event)
        assert effects(response) == {"Deny": [f"{ARN_PREFIX}/prod/*/*"]}
        assert response["context"] == {"reason": reason}
        assert "usageIdentifierKey" not in response
    out = metric_line(capsys.readouterr().out)
    assert '"Error":1' in out and f'"Reason":"{reason}"' in out
    assert issued.secret not in out and USAGE_KEY not in out
    # AND nothing was remembered: every request went to DynamoDB
    assert client.calls == 2
    # AND once DynamoDB recovers, the very next request is looked up and allowed
    client.error = None
    assert authorize(event)["principalId"] == "tenant-acme"
    assert client.calls == 3


def test_a_dynamodb_200_with_a_non_json_body_is_a_fault_deny_and_not_negative_cached(clock, capsys):
    # GIVEN a valid key, and DynamoDB's endpoint answering 200 with an HTML page
    issued = generate(Environment.LIVE)
    wire = RawDynamoDb(b"<html>Service Unavailable</html>")
    authorize = pipeline_for(wire.client, clock)
    event = with_key("rest_request", issued.secret)
    # WHEN the key is used, THEN it is a Deny of the whole stage with UpstreamUnavailable and
    # the Error metric, not a 401 UnknownCredential
    response = authorize(event)
    assert effects(response) == {"Deny": [f"{ARN_PREFIX}/prod/*/*"]}
    assert response["context"] == {"reason": "UpstreamUnavailable"}
    out = metric_line(capsys.readouterr().out)
    assert '"Error":1' in out and '"Reason":"UpstreamUnavailable"' in out
    assert '"Unauthorized"' not in out and issued.secret not in out
    # AND nothing was negative-cached: once the endpoint answers properly, the very next
    # request is looked up and allowed
    wire.reply_with_item(record_for(issued))
    assert authorize(event)["principalId"] == "tenant-acme"
    assert wire.sent == 2


def test_a_malformed_record_fails_closed(dynamodb, clock):
    issued = issue(dynamodb)
    item = record_for(issued).to_item()
    del item["tenant"]
    dynamodb.put_item(TableName=TABLE, Item=item)
    response = pipeline_for(dynamodb, clock)(with_key("rest_request", issued.secret))
    assert response["context"] == {"reason": "Internal"}
    assert effects(response) == {"Deny": [f"{ARN_PREFIX}/prod/*/*"]}


def test_records_round_trip_through_moto(dynamodb):
    issued = issue(dynamodb)
    item = dynamodb.get_item(TableName=TABLE, Key={"key_hash": {"S": issued.key_hash}})["Item"]
    assert KeyRecord.from_item(item) == record_for(issued)
    assert issued.secret not in str(item)
