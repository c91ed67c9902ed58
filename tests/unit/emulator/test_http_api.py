"""The HTTP API (API Gateway v2) emulator: routes, identity sources, simple and IAM responses,
the result cache, throttling, Lambda and HTTP integrations."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from werkzeug.test import Client

from authorizers.core.clock import ManualClock
from gatehouse.emulator.events import IncomingRequest
from gatehouse.emulator.functions import CallableFunction
from gatehouse.emulator.gateway import AUTHORIZER_HEADER
from gatehouse.emulator.http_api import (
    HttpApiConfig,
    HttpAuthorizerSpec,
    HttpGateway,
    HttpRoute,
    Integration,
    _lambda_answer,
)

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:http123456/$default"
LAMBDA = Integration("lambda", function="backend")
STUB = Integration(
    "http",
    uri="http://stock.internal/",
    request_parameters={
        "overwrite:header.x-principal": "$context.authorizer.principalId",
        "append:header.x-request": "req-$context.requestId",
        "remove:header.x-debug": "",
    },
)


def iam(effect: str = "Allow", *resources: str, context: Mapping[str, Any] | None = None) -> Any:
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": list(resources or (f"{PREFIX}/*",)),
                }
            ],
        },
        "context": dict(context or {"tenant": "acme", "admin": True}),
    }


class Api:
    """An HTTP API with stub functions; ``answers`` says what each authorizer returns."""

    def __init__(
        self,
        *,
        routes: Sequence[HttpRoute] | None = None,
        authorizers: Mapping[str, HttpAuthorizerSpec] | None = None,
        answer: Callable[[dict[str, Any]], Any] | None = None,
        throttle: tuple[float, int] | None = None,
    ) -> None:
        self.events: list[dict[str, Any]] = []
        self.backend_events: list[dict[str, Any]] = []
        self.clock = ManualClock(1000.0)

        def authorize(event: dict[str, Any]) -> Any:
            self.events.append(event)
            return (answer or (lambda e: iam()))(event)

        def backend(event: dict[str, Any]) -> Any:
            self.backend_events.append(event)
            return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}

        self.authorizer = CallableFunction(authorize)
        specs = authorizers or {"iam": HttpAuthorizerSpec("iam")}
        config = HttpApiConfig(
            api_id="http123456",
            stage="$default",
            region="eu-west-1",
            account="123456789012",
            routes=tuple(
                routes
                or (
                    HttpRoute("GET /stock/{sku}", LAMBDA, "iam"),
                    HttpRoute("ANY /stock/{proxy+}", LAMBDA, "iam"),
                    HttpRoute("GET /health", LAMBDA),
                    HttpRoute("GET /internal/{sku}", STUB, "iam"),
                )
            ),
            authorizers=specs,
            throttle=throttle,
        )
        self.gateway = HttpGateway(
            config,
            dict.fromkeys(specs, self.authorizer),
            {"backend": CallableFunction(backend)},
            clock=self.clock,
        )

    def get(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: Sequence[tuple[str, str]] = (("Authorization", "Bearer t1"),),
        query: Sequence[tuple[str, str]] = (),
    ) -> Any:
        return self.gateway.handle(
            IncomingRequest(
                method=method,
                path=path,
                headers=list(headers),
                query=list(query),
                source_ip="198.51.100.9",
                host="127.0.0.1:9000",
            )
        )


def tag(answer: Any) -> str | None:
    return next((v for k, v in answer.headers if k == AUTHORIZER_HEADER), None)


def message(answer: Any) -> Any:
    return json.loads(answer.body)["message"]


# --- routes ----------------------------------------------------------------------------------


def test_a_method_and_path_beats_a_greedy_route_and_any() -> None:
    api = Api()
    assert api.get("/stock/sku-1").status == 200
    assert api.backend_events[-1]["routeKey"] == "GET /stock/{sku}"
    assert api.backend_events[-1]["pathParameters"] == {"sku": "sku-1"}
    assert api.get("/stock/sku-1", method="DELETE").status == 200
    assert api.backend_events[-1]["routeKey"] == "ANY /stock/{proxy+}"
    assert api.backend_events[-1]["pathParameters"] == {"proxy": "sku-1"}


def test_no_route_and_no_default_route_is_404_without_invoking_anything() -> None:
    api = Api()
    answer = api.get("/nowhere")
    assert (answer.status, message(answer)) == (404, "Not Found")
    assert api.authorizer.calls == 0


def test_the_default_route_catches_what_no_other_route_matches() -> None:
    api = Api(
        routes=(HttpRoute("GET /health", LAMBDA), HttpRoute("$default", LAMBDA, "iam")),
    )
    assert api.get("/anything/at/all", method="PATCH").status == 200
    assert api.backend_events[-1]["routeKey"] == "$default"
    assert api.events[-1]["routeKey"] == "$default"
    assert api.get("/health", headers=()).status == 200  # the literal route, no authorizer


# --- identity sources, the authorizer and its cache -------------------------------------------


@pytest.mark.parametrize("ttl", [0, 300])
def test_a_missing_or_empty_identity_source_is_401_without_invoking(ttl: int) -> None:
    api = Api(authorizers={"iam": HttpAuthorizerSpec("iam", cache_ttl_seconds=ttl)})
    for headers in ((), (("Authorization", ""),)):
        answer = api.get("/stock/1", headers=headers)
        assert (answer.status, message(answer)) == (401, "Unauthorized")
        assert tag(answer) == "iam; cache=skipped"
    assert api.authorizer.calls == 0


def test_a_payload_2_event_is_what_api_gateway_sends() -> None:
    api = Api()
    api.get(
        "/stock/1",
        headers=(
            ("Authorization", "Bearer t1"),
            ("X-Tag", "a"),
            ("x-tag", "b"),
            ("Cookie", "s=1; t=2"),
        ),
        query=(("q", "1"), ("q", "2")),
    )
    event = api.events[-1]
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["routeArn"] == f"{PREFIX}/GET/stock/1"
    assert event["routeKey"] == "GET /stock/{sku}"
    assert event["identitySource"] == ["Bearer t1"]
    assert event["headers"]["x-tag"] == "a,b"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["queryStringParameters"] == {"q": "1,2"}
    assert event["pathParameters"] == {"sku": "1"}


def test_a_payload_1_event_carries_version_and_identity_source() -> None:
    api = Api(authorizers={"iam": HttpAuthorizerSpec("iam", payload_version="1.0")})
    assert api.get("/stock/1").status == 200
    event = api.events[-1]
    assert (event["version"], event["type"]) == ("1.0", "REQUEST")
    assert event["identitySource"] == "Bearer t1"
    assert event["methodArn"] == f"{PREFIX}/GET/stock/1"
    assert event["headers"]["Authorization"] == "Bearer t1"


def test_an_allow_is_cached_on_the_identity_source_values() -> None:
    api = Api()
    assert tag(api.get("/stock/1")) == "iam; cache=miss"
    assert tag(api.get("/stock/2")) == "iam; cache=hit"
    assert api.authorizer.calls == 1
    api.get("/stock/1", headers=(("Authorization", "Bearer t2"),))
    assert api.authorizer.calls == 2
    api.clock.advance(301)
    assert tag(api.get("/stock/1")) == "iam; cache=miss"


def test_a_cached_policy_scoped_to_one_route_refuses_the_others() -> None:
    """The cache stores the policy, not the verdict: it is evaluated per request's routeArn."""
    api = Api(answer=lambda e: iam("Allow", f"{PREFIX}/GET/stock/1"))
    assert api.get("/stock/1").status == 200
    answer = api.get("/stock/2")
    assert (answer.status, message(answer), tag(answer)) == (403, "Forbidden", "iam; cache=hit")
    assert api.authorizer.calls == 1


def test_an_explicit_deny_is_403() -> None:
    api = Api(answer=lambda e: iam("Deny"))
    assert api.get("/stock/1").status == 403


def test_simple_responses_allow_refuse_and_pass_their_context() -> None:
    spec = {"simple": HttpAuthorizerSpec("simple", simple_responses=True)}
    routes = (HttpRoute("GET /stock/{sku}", LAMBDA, "simple"),)
    verdicts = iter([True, False])
    api = Api(
        routes=routes,
        authorizers=spec,
        answer=lambda e: {"isAuthorized": next(verdicts), "context": {"tenant": "acme"}},
    )
    assert api.get("/stock/1").status == 200
    assert api.backend_events[-1]["requestContext"]["authorizer"] == {"lambda": {"tenant": "acme"}}
    denied = api.get("/stock/1", headers=(("Authorization", "Bearer other"),))
    assert (denied.status, message(denied)) == (403, "Forbidden")


@pytest.mark.parametrize(
    "response",
    [
        {"isAuthorized": "true"},  # a string is not a boolean: no "truthy" Allow
        {"isAuthorized": 1},
        {"context": {"tenant": "acme"}},
        {"isAuthorized": True, "context": ["not", "an", "object"]},
        "yes",
    ],
)
def test_a_malformed_simple_response_is_500_and_never_cached(response: Any) -> None:
    """An authorizer bug must not turn into an Allow, nor be replayed from the cache."""
    spec = {"simple": HttpAuthorizerSpec("simple", simple_responses=True)}
    api = Api(
        routes=(HttpRoute("GET /stock/{sku}", LAMBDA, "simple"),),
        authorizers=spec,
        answer=lambda e: response,
    )
    assert api.get("/stock/1").status == 500
    assert api.get("/stock/1").status == 500
    assert api.authorizer.calls == 2
    assert api.backend_events == []


def test_a_simple_answer_to_an_iam_authorizer_is_500() -> None:
    """An authorizer configured for IAM responses that answers ``isAuthorized`` is refused."""
    api = Api(answer=lambda e: {"isAuthorized": True})
    assert api.get("/stock/1").status == 500


def test_authorizer_errors() -> None:
    def fail(message: str) -> Callable[[dict[str, Any]], Any]:
        def raise_(event: dict[str, Any]) -> Any:
            raise RuntimeError(message)

        return raise_

    assert Api(answer=fail("Unauthorized")).get("/stock/1").status == 401
    assert Api(answer=fail("boom")).get("/stock/1").status == 500

    def timeout(event: dict[str, Any]) -> Any:
        raise TimeoutError

    assert Api(answer=timeout).get("/stock/1").status == 500


# --- throttling --------------------------------------------------------------------------------


def test_the_stage_throttle_applies_per_route() -> None:
    api = Api(throttle=(1.0, 2))
    assert [api.get("/stock/1").status for _ in range(3)] == [200, 200, 429]
    assert message(api.get("/stock/1")) == "Too Many Requests"
    assert api.get("/health", headers=()).status == 200  # another route has its own bucket
    api.clock.advance(1)
    assert api.get("/stock/1").status == 200


# --- integrations ------------------------------------------------------------------------------


def test_a_lambda_integration_gets_the_authorizer_context_and_principal() -> None:
    api = Api()
    answer = api.get("/stock/1")
    assert (answer.status, answer.body) == (200, b"ok")
    event = api.backend_events[-1]
    assert event["version"] == "2.0"
    assert "type" not in event and "routeArn" not in event
    assert event["requestContext"]["authorizer"] == {
        "lambda": {"tenant": "acme", "admin": True},
        "principalId": "user-1",
    }


def test_a_client_cannot_forge_the_header_the_parameter_mapping_sets() -> None:
    """The backend trusts ``x-principal``: the mapping overwrites whatever the caller sent."""
    api = Api()
    answer = api.get(
        "/internal/1",
        headers=(
            ("Authorization", "Bearer secret-token"),
            ("X-Principal", "admin"),
            ("X-Debug", "1"),
        ),
    )
    echoed = json.loads(answer.body)
    assert echoed["mappedHeaders"]["x-principal"] == "user-1"
    assert echoed["mappedHeaders"]["x-request"].startswith("req-")
    assert "x-debug" not in echoed["forwardedHeaders"]
    assert "authorization" in echoed["forwardedHeaders"]
    assert b"secret-token" not in answer.body  # header values are never echoed


def test_payload_2_lambda_results_are_inferred_as_aws_does() -> None:
    plain = _lambda_answer({"stock": 3}, "2.0")
    assert (plain.status, json.loads(plain.body)) == (200, {"stock": 3})
    full = _lambda_answer(
        {"statusCode": 201, "body": "made", "cookies": ["a=1", "b=2"], "headers": {"x": "y"}},
        "2.0",
    )
    assert full.status == 201
    assert [v for k, v in full.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert _lambda_answer({"statusCode": "abc"}, "2.0").status == 500


def test_the_gateway_is_a_wsgi_application() -> None:
    client = Client(Api().gateway)
    response = client.get("/stock/1", headers={"Authorization": "Bearer t1"})
    assert response.status_code == 200
    assert response.headers[AUTHORIZER_HEADER] == "iam; cache=miss"
    assert client.get("/stock/1").status_code == 401


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message_part"),
    [
        (lambda: HttpAuthorizerSpec("a", payload_version="1.0", simple_responses=True), "2.0"),
        (lambda: HttpAuthorizerSpec("a", identity_sources=()), "cache key"),
        (lambda: HttpAuthorizerSpec("a", identity_sources=("header.x",)), "identity source"),
        (lambda: Integration("http", request_parameters={"rewrite:body": "x"}), "mapping"),
        (lambda: Integration("lambda"), "function"),
        (lambda: HttpRoute("stock", LAMBDA), "route key"),
    ],
)
def test_configurations_api_gateway_refuses_are_refused(
    build: Callable[[], object], message_part: str
) -> None:
    with pytest.raises(ValueError, match=message_part):
        build()


def test_a_route_defined_twice_or_with_an_unknown_authorizer_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Api(routes=(HttpRoute("GET /a", LAMBDA), HttpRoute("GET /a", LAMBDA)))
    with pytest.raises(ValueError, match="no authorizer"):
        Api(routes=(HttpRoute("GET /a", LAMBDA, "missing"),))


# --- attacks the review found -------------------------------------------------------------------


def test_a_repeated_header_cannot_plant_a_cached_allow_for_another_value() -> None:
    """Cache poisoning: ``Authorization: good`` + ``Authorization: forged`` reaches the
    authorizer as ``good,forged``; its Allow must be cached under that, not under ``forged``."""
    api = Api(answer=lambda e: iam() if e["identitySource"] == ["good,forged"] else iam("Deny"))
    two = (("Authorization", "good"), ("Authorization", "forged"))
    assert api.get("/stock/1", headers=two).status == 200
    assert api.get("/stock/1", headers=(("Authorization", "forged"),)).status == 403
    assert api.authorizer.calls == 2


def test_a_malformed_iam_response_is_500_and_never_cached() -> None:
    response = iam()
    del response["principalId"]
    api = Api(answer=lambda e: response)
    assert [api.get("/stock/1").status for _ in range(2)] == [500, 500]
    assert api.authorizer.calls == 2


def test_two_apis_sharing_a_cache_never_replay_each_others_answers() -> None:
    first, second = Api(), Api(answer=lambda e: iam("Deny"))
    second.gateway.cache = first.gateway.cache
    object.__setattr__(second.gateway.config, "api_id", "other12345")
    assert first.get("/stock/1").status == 200
    assert second.get("/stock/1").status == 403
    assert second.authorizer.calls == 1


def test_append_keeps_the_callers_header_and_request_values_are_not_echoed() -> None:
    """A backend that trusts an *appended* header can be fed the caller's own value first:
    the stub shows it is still forwarded. Values mapped from the request stay hidden."""
    integration = Integration(
        "http",
        request_parameters={
            "append:header.x-user": "$context.authorizer.principalId",
            "overwrite:header.x-token": "$request.header.Authorization",
            "overwrite:header.x-sku": "$request.path.sku",
        },
    )
    api = Api(routes=(HttpRoute("GET /internal/{sku}", integration, "iam"),))
    answer = api.get(
        "/internal/42", headers=(("Authorization", "Bearer secret-token"), ("X-User", "admin"))
    )
    echoed = json.loads(answer.body)
    assert "x-user" in echoed["forwardedHeaders"]
    assert echoed["mappedHeaders"] == {
        "x-user": "user-1",
        "x-token": "<from the request>",
        "x-sku": "42",
    }
    assert b"secret-token" not in answer.body
    assert b"admin" not in answer.body


@pytest.mark.parametrize(
    ("build", "message_part"),
    [
        (lambda: HttpAuthorizerSpec("a", identity_sources=("$context.nonsense",)), "knows"),
        (
            lambda: HttpAuthorizerSpec("a", identity_sources=("$stageVariables.tenant",)),
            "every caller",
        ),
        (lambda: Integration("http", request_parameters={"remove:path": "x"}), "mapping"),
        (lambda: Integration("http", request_parameters={"append:path": "x"}), "mapping"),
    ],
)
def test_sources_and_mappings_that_would_mislead_are_refused(
    build: Callable[[], object], message_part: str
) -> None:
    with pytest.raises(ValueError, match=message_part):
        build()


def test_an_uncached_authorizer_may_use_stage_variables_alone() -> None:
    spec = HttpAuthorizerSpec(
        "a", identity_sources=("$stageVariables.tenant",), cache_ttl_seconds=0
    )
    assert spec.identity_sources == ("$stageVariables.tenant",)
