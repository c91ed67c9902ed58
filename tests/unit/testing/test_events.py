"""gatehouse.testing's event builder against the captured events (tests/events): the same
shape, and the runtime reads the same request from both."""

from __future__ import annotations

import pytest

from authorizers.core.request import normalize
from gatehouse.testing import EVENT_KINDS, Api, EventKindError, LambdaContext, build_event
from gatehouse.testing.pki import Pki
from tests.conftest import load_event

TOKEN = "Bearer eyJ.fixture.token"


def built(kind: str, **extra) -> dict:
    if kind == "websocket_connect":
        return build_event(
            kind,
            "GET /?room=7",
            headers={"Authorization": TOKEN, "Host": "ws.example.com"},
            source_ip="203.0.113.9",
            **extra,
        )
    return build_event(
        kind,
        "GET /pets/42?verbose=true",
        resource="/pets/{petId}",
        headers={"Authorization": TOKEN, "Host": "api.example.com", "X-Request-Trace": "t-1"},
        authorization=TOKEN if kind == "rest_token" else None,
        identity_source=[TOKEN] if kind in ("http_v1", "http_v2") else None,
        stage_variables={"env": "prod"},
        api=Api(stage="$default" if kind in ("http_v1", "http_v2") else "prod"),
        **extra,
    )


def keys(value: object, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, inner in value.items():
        found.add(prefix + key)
        if key not in ("headers", "multiValueHeaders", "pathParameters", "stageVariables"):
            found |= keys(inner, f"{prefix}{key}.")
    return found


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_every_field_of_the_captured_event_is_built(kind):
    captured = load_event(kind)
    missing = keys(captured) - keys(built(kind)) - {"cookies"}
    assert not missing


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_the_runtime_reads_the_same_request_from_both(kind):
    ours, theirs = normalize(built(kind)), normalize(load_event(kind))
    assert ours.kind == theirs.kind
    assert (ours.method, ours.path, ours.stage) == (theirs.method, theirs.path, theirs.stage)
    assert ours.path_parameters == theirs.path_parameters
    assert ours.source_ip == theirs.source_ip
    assert ours.route == theirs.route
    assert ours.token == theirs.token
    assert ours.credential("authorization") == theirs.credential("authorization")
    assert dict(ours.query) == dict(theirs.query)


@pytest.mark.parametrize("kind", ["rest_request", "http_v1", "http_v2", "websocket_connect"])
def test_a_client_certificate_reaches_the_runtime(kind):
    device = Pki().client("device-1", san_uri="spiffe://example.test/d/1")
    request = normalize(built(kind, client_cert_pem=device.pem))
    assert request.client_cert is not None
    assert request.client_cert.pem == device.pem


def test_repeated_headers_are_multi_valued_in_rest_and_joined_in_http_v2():
    headers = {"X-Forwarded-For": ["198.51.100.1", "198.51.100.2"]}
    rest = build_event("rest_request", "GET /", headers=headers)
    assert rest["multiValueHeaders"]["X-Forwarded-For"] == ["198.51.100.1", "198.51.100.2"]
    assert rest["headers"]["X-Forwarded-For"] == "198.51.100.2"
    v2 = build_event("http_v2", "GET /", headers=headers)
    assert v2["headers"]["x-forwarded-for"] == "198.51.100.1,198.51.100.2"


def test_greedy_and_plain_path_parameters():
    event = build_event("rest_request", "GET /files/a/b.txt", resource="/files/{proxy+}")
    assert event["pathParameters"] == {"proxy": "a/b.txt"}
    with pytest.raises(ValueError, match="does not match resource"):
        build_event("rest_request", "GET /orders", resource="/orders/{id}")


def test_bad_input_names_what_is_wrong():
    with pytest.raises(EventKindError, match="unknown event kind 'rest'; use one of rest_token"):
        build_event("rest", "GET /")
    with pytest.raises(ValueError, match="request must look like 'GET /orders/7'"):
        build_event("rest_token", "/orders/7")


def test_the_lambda_context_counts_down():
    context = LambdaContext(timeout_ms=3000)
    assert 0 < context.get_remaining_time_in_millis() <= 3000
