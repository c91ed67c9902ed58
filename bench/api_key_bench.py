"""API key rows, end to end through the real entry point (``lambda_handler``: event in, policy
out), against a typical Powertools authorizer with a dict cache (the anchor): the event data
class, the key header, its SHA-256, a dict lookup, Powertools' response builder; a miss raises
``Unauthorized``. It logs nothing per request and sets no logging context, as such an
authorizer usually does not.

- a malformed key (bad checksum): refused before any lookup (target <= 0.6x the anchor);
- a valid key found in the positive cache (target <= 0.8x the anchor);
- the core pipeline with a decision that needs no work (what normalizing and rendering cost);
- a cache miss against moto's in-process DynamoDB (for shape only: not AWS latency).
"""

from __future__ import annotations

import contextlib
import hashlib
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
from authorizers.core.pipeline import ColdStart, lambda_handler_for
from bench.harness import CONTEXT, bench
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
    baseline = lambda_handler_for(ColdStart("none", _NoWork))
    handler = lambda_handler_for(cold)
    uncached_handler = lambda_handler_for(uncached)
    good = _event(issued.secret)
    bad = _event(issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"))
    typical = _typical_authorizer({issued.key_hash: "usage-plan-key-1"})
    group = "API key, through lambda_handler (REST REQUEST)"

    @bench(group, "typical Powertools authorizer, dict cache hit", anchor=True)
    def _typical() -> object:
        return typical(good, CONTEXT)

    @bench(group, "malformed key (checksum) -> 401, no lookup", target_ratio=0.6)
    def _malformed() -> object:
        with contextlib.suppress(Unauthorized):
            handler(bad, CONTEXT)
        return None

    @bench(group, "valid key, positive cache hit -> Allow + usageIdentifierKey", target_ratio=0.8)
    def _cached() -> object:
        return handler(good, CONTEXT)

    @bench(group, "core pipeline, decision needing no work")
    def _baseline() -> object:
        return baseline(good, CONTEXT)

    @bench(group, "valid key, cache miss -> moto DynamoDB GetItem (shape only)")
    def _miss() -> object:
        uncached_store.clear()
        return uncached_handler(good, CONTEXT)


def _typical_authorizer(keys: dict[str, str]) -> Any:
    """An API key authorizer as commonly written with Powertools: the anchor."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerRequestEvent,
        APIGatewayAuthorizerResponse,
    )

    Logger(service="typical")  # built at import, as usual; no line per request

    def lambda_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        request = APIGatewayAuthorizerRequestEvent(event)
        key = request.headers.get("x-api-key") or ""
        usage_key = keys.get(hashlib.sha256(key.encode()).hexdigest())
        if usage_key is None:
            raise Unauthorized
        arn = request.parsed_arn
        policy = APIGatewayAuthorizerResponse(
            principal_id="tenant", region=arn.region, aws_account_id=arn.aws_account_id,
            api_id=arn.api_id, stage=arn.stage, usage_identifier_key=usage_key,
        )  # fmt: skip
        policy.allow_all_routes()
        return policy.asdict()

    return lambda_handler
