"""API key rows, end to end through the handler pipeline (event in, policy out):

- a malformed key (bad checksum): refused before any lookup (target <= 10 us);
- a valid key found in the positive cache (target <= 15 us);
- a cache miss against moto's in-process DynamoDB (for shape only: not AWS latency).

Anchor: the core pipeline answering a decision that needs no work (``Decision.allow_all``), i.e.
what normalizing the event and rendering the response cost on their own.
"""

from __future__ import annotations

import contextlib
from typing import Any

import boto3
from moto import mock_aws

from authorizers.api_key.authorizer import ApiKeyAuthorizer
from authorizers.api_key.config import ApiKeyConfig
from authorizers.api_key.keys import Environment, generate
from authorizers.api_key.store import DynamoDbKeyStore
from authorizers.core.clock import SystemClock
from authorizers.core.config import CoreConfig
from authorizers.core.decision import Decision
from authorizers.core.exceptions import Unauthorized
from authorizers.core.pipeline import ColdStart, handle
from bench.harness import bench
from tests.conftest import load_event
from tests.unit.api_key.fixtures import TABLE, create_table, record_for

_MOCK: Any = None  # kept alive for the whole run: the rows call moto's DynamoDB


class _NoWork:
    core = CoreConfig()

    def decide(self, request: Any) -> Decision:
        return Decision.allow_all(request, "tenant-acme", context={"tenant": "tenant-acme"})


def _event(key: str) -> dict[str, Any]:
    event = load_event("rest_request")
    event["headers"]["x-api-key"] = key
    event["multiValueHeaders"]["x-api-key"] = [key]
    return event


def register() -> None:
    global _MOCK  # noqa: PLW0603 - one moto context for the whole benchmark process
    _MOCK = mock_aws()
    _MOCK.start()
    client = boto3.client("dynamodb", region_name="eu-west-1")
    create_table(client)
    issued = generate(Environment.LIVE)
    client.put_item(TableName=TABLE, Item=record_for(issued).to_item())
    config = ApiKeyConfig.from_environ({"GATEHOUSE_APIKEY_TABLE": TABLE})
    cached_store = DynamoDbKeyStore(TABLE, client_factory=lambda: client)
    authorizer = ApiKeyAuthorizer(config, store=cached_store, clock=SystemClock())
    cold = ColdStart("api_key", lambda: authorizer)
    uncached_store = DynamoDbKeyStore(TABLE, client_factory=lambda: client)
    uncached = ColdStart(
        "api_key", lambda: ApiKeyAuthorizer(config, store=uncached_store, clock=SystemClock())
    )
    baseline = ColdStart("none", _NoWork)
    good = _event(issued.secret)
    bad = _event(issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"))
    group = "API key, through the handler (REST REQUEST)"

    @bench(group, "core pipeline, decision needing no work", anchor=True)
    def _baseline() -> object:
        return handle(good, baseline)

    @bench(group, "malformed key (checksum) -> 401, no lookup", target_us=10)
    def _malformed() -> object:
        with contextlib.suppress(Unauthorized):
            handle(bad, cold)
        return None

    @bench(group, "valid key, positive cache hit -> Allow + usageIdentifierKey", target_us=15)
    def _cached() -> object:
        return handle(good, cold)

    @bench(group, "valid key, cache miss -> moto DynamoDB GetItem (shape only)")
    def _miss() -> object:
        uncached_store.clear()
        return handle(good, uncached)
