"""A gateway with stub authorizer functions, driven in-process through WSGI (no sockets)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.test import Client, TestResponse

from authorizers.core.clock import ManualClock
from gatehouse.emulator.config import AuthorizerSpec, GatewayConfig, IdentitySource, Route
from gatehouse.emulator.functions import CallableFunction
from gatehouse.emulator.gateway import AUTHORIZER_HEADER, Gateway
from gatehouse.emulator.usage import Plan, PlanKey, StaticPlans

REGION = "eu-west-1"
ACCOUNT = "123456789012"
API_ID = "api1234567"
STAGE = "dev"
PREFIX = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}"
BEARER_REGEX = r"^Bearer [-0-9A-Za-z._~+/]+=*$"
TOKEN = "Bearer abc.def.ghi"

ROUTES = (
    Route("GET", "/health", None),
    Route("GET", "/", "tok"),
    Route("GET", "/profile", "tok"),
    Route("GET", "/admin/reports", "tok"),
    Route("GET", "/pets/{id}", "req"),
    Route("ANY", "/files/{proxy+}", "nocache"),
    Route("GET", "/reports", "key", api_key_required=True),
    Route("POST", "/reports", "key", api_key_required=True),
)
AUTHORIZERS = {
    "tok": AuthorizerSpec(
        "tok", "TOKEN", (IdentitySource("header", "Authorization"),), 300, BEARER_REGEX
    ),
    "req": AuthorizerSpec(
        "req",
        "REQUEST",
        (IdentitySource("header", "X-Token"), IdentitySource("querystring", "tenant")),
        300,
    ),
    "nocache": AuthorizerSpec("nocache", "REQUEST", (), 0),
    "key": AuthorizerSpec("key", "REQUEST", (IdentitySource("header", "x-api-key"),), 300),
}
PLAN = Plan(id="p1", name="basic", rate_limit=1.0, burst_limit=3, quota_limit=100)
PLAN_KEYS = {
    "usage-key-acme": PlanKey(key_id="k-acme", plan=PLAN),
    "usage-key-off": PlanKey(key_id="k-off", plan=PLAN, enabled=False),
}


def policy(
    effect: str = "Allow",
    *resources: str,
    principal: str = "user-1",
    context: Mapping[str, Any] | None = None,
    usage_key: str | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": list(resources or (f"{PREFIX}/*/*",)),
                }
            ],
        },
    }
    if context is not None:
        response["context"] = dict(context)
    if usage_key is not None:
        response["usageIdentifierKey"] = usage_key
    return response


Handler = Callable[[dict[str, Any]], object]


class Harness:
    def __init__(
        self,
        handlers: Mapping[str, Handler] | None = None,
        **config: Any,
    ) -> None:
        self.clock = ManualClock(1_000.0)
        self.events: dict[str, list[dict[str, Any]]] = {name: [] for name in AUTHORIZERS}
        self.functions = {
            name: CallableFunction(self._recording(name, (handlers or {}).get(name)))
            for name in AUTHORIZERS
        }
        self.backend_events: list[dict[str, Any]] = []
        settings: dict[str, Any] = {
            "api_id": API_ID,
            "stage": STAGE,
            "region": REGION,
            "account": ACCOUNT,
            "routes": ROUTES,
            "authorizers": AUTHORIZERS,
            **config,
        }
        self.gateway = Gateway(
            GatewayConfig(**settings),
            self.functions,
            self._backend,
            plans=StaticPlans(PLAN_KEYS),
            clock=self.clock,
        )
        self.client = Client(self.gateway)

    def _recording(self, name: str, handler: Handler | None) -> Handler:
        def run(event: dict[str, Any]) -> object:
            self.events[name].append(event)
            return (handler or (lambda _e: policy()))(event)

        return run

    def _backend(self, event: dict[str, Any]) -> dict[str, Any]:
        self.backend_events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    def calls(self, name: str) -> int:
        return self.functions[name].calls

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        query: str = "",
        cert: str | None = None,
    ) -> TestResponse:
        environ = {"SSL_CLIENT_CERT": cert} if cert else {}
        return self.client.open(
            path,
            method=method,
            headers=dict(headers or {}),
            query_string=query,
            environ_overrides=environ,
        )


def body(response: TestResponse) -> Any:
    return json.loads(response.get_data(as_text=True)) if response.get_data() else None


def cache_state(response: TestResponse) -> str | None:
    value = response.headers.get(AUTHORIZER_HEADER)
    return None if value is None else value.rsplit("cache=", 1)[-1]
