"""Normalizing every authorizer event kind into one Request."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizers.core.exceptions import AuthorizerError, InvalidRequestError, Reason
from authorizers.core.request import EventKind, normalize
from tests.conftest import EVENT_NAMES, load_event

TOKEN = "Bearer eyJ.fixture.token"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("rest_token", EventKind.REST_TOKEN),
        ("rest_request", EventKind.REST_REQUEST),
        ("rest_request_mtls", EventKind.REST_REQUEST),
        ("http_v1", EventKind.HTTP_V1),
        ("http_v1_mtls", EventKind.HTTP_V1),
        ("http_v2", EventKind.HTTP_V2),
        ("http_v2_mtls", EventKind.HTTP_V2),
        ("websocket_connect", EventKind.WEBSOCKET),
    ],
)
def test_every_event_kind_is_recognized_and_yields_its_credential(name, kind):
    request = normalize(load_event(name))
    assert request.kind is kind
    assert request.credential("authorization") == TOKEN


def test_fixture_list_covers_every_kind_with_and_without_certificates():
    assert set(EVENT_NAMES) >= {
        "rest_token",
        "rest_request",
        "rest_request_mtls",
        "http_v1",
        "http_v1_mtls",
        "http_v2",
        "http_v2_mtls",
        "websocket_connect",
    }


def test_rest_request_fields():
    request = normalize(load_event("rest_request"))
    assert (request.method, request.path, request.stage) == ("GET", "/pets/42", "prod")
    assert request.route == "/pets/{petId}"
    assert request.path_parameters == {"petId": "42"}
    assert request.query == {"verbose": ("true",)}
    assert request.source_ip == "203.0.113.7"
    assert request.request_id == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert request.client_cert is None


def test_http_v2_fields():
    request = normalize(load_event("http_v2"))
    assert (request.method, request.path, request.stage) == ("GET", "/pets/42", "$default")
    assert request.route == "GET /pets/{petId}"
    assert request.source_ip == "203.0.113.7"
    assert request.request_id == "id-v2-1"
    assert request.query == {"verbose": ("true",)}


def test_websocket_connect_has_route_key_and_no_method():
    request = normalize(load_event("websocket_connect"))
    assert request.method is None
    assert request.path == "$connect"
    assert request.route == "$connect"
    assert request.source_ip == "203.0.113.9"


@pytest.mark.parametrize("name", ["rest_request_mtls", "http_v1_mtls", "http_v2_mtls"])
def test_client_certificate_is_read_from_identity_or_authentication(name):
    cert = normalize(load_event(name)).client_cert
    assert cert is not None
    assert cert.pem.startswith("-----BEGIN CERTIFICATE-----")
    assert cert.subject_dn == "CN=device-1,O=Example"
    assert cert.issuer_dn == "CN=Example Issuing CA,O=Example"
    assert cert.serial_number == "a1:b2:c3:d4"
    assert cert.not_after == "Aug  5 09:36:04 2031 GMT"


def test_headers_are_case_insensitive():
    request = normalize(load_event("rest_request"))
    assert request.headers.single("AUTHORIZATION") == TOKEN
    assert "x-request-trace" in request.headers
    assert request.headers.single("missing") is None


def test_duplicated_authorization_header_with_different_values_is_refused():
    # Attack: header smuggling - two credentials, a proxy honours one and we check the other.
    event = load_event("rest_request")
    event["multiValueHeaders"]["Authorization"] = ["Bearer a", "Bearer b"]
    request = normalize(event)
    with pytest.raises(InvalidRequestError) as caught:
        request.credential("authorization")
    assert caught.value.reason is Reason.AMBIGUOUS_CREDENTIALS


def test_same_header_under_two_spellings_counts_as_sent_twice():
    event = load_event("http_v1")
    event["headers"] = {"Authorization": "Bearer a", "authorization": "Bearer b"}
    event["multiValueHeaders"] = None
    with pytest.raises(InvalidRequestError):
        normalize(event).credential("Authorization")


def _merged_as_documented(
    single: dict[str, str], multi: dict[str, list[str]]
) -> dict[str, tuple[str, ...]]:
    # The rule, written plainly: a non-empty multiValueHeaders entry replaces its headers
    # twin; spellings of one name merge in event order; each distinct value is kept once.
    combined = {name: (value,) for name, value in single.items()}
    combined.update({name: tuple(values) for name, values in multi.items() if values})
    merged: dict[str, tuple[str, ...]] = {}
    for name, values in combined.items():
        merged[name.lower()] = merged.get(name.lower(), ()) + values
    return {name: tuple(dict.fromkeys(values)) for name, values in merged.items()}


_SPELLINGS = st.sampled_from(["X-Api-Key", "x-api-key", "X-API-KEY", "Host"])
_VALUES = st.sampled_from(["a", "b", "c"])


@given(
    single=st.dictionaries(_SPELLINGS, _VALUES),
    multi=st.dictionaries(_SPELLINGS, st.lists(_VALUES, max_size=3)),
)
def test_headers_merge_spellings_and_keep_every_distinct_value(single, multi):
    # Attack: a key smuggled in a second spelling or a second value must reach single() and be
    # refused as ambiguous; a value lost in the merge would let one credential go unseen.
    event = load_event("rest_request")
    event["headers"], event["multiValueHeaders"] = single, multi
    assert dict(normalize(event).headers) == _merged_as_documented(single, multi)


def test_null_collections_are_empty_not_errors():
    event = load_event("rest_request")
    for key in (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
    ):
        event[key] = None
    request = normalize(event)
    assert request.credential("authorization") is None
    assert request.query == {}
    assert request.path_parameters == {}


def test_repr_never_shows_token_headers_or_pem():
    # Logging a Request by mistake must not leak a credential.
    for name in ("rest_token", "rest_request_mtls", "http_v2_mtls"):
        text = repr(normalize(load_event(name)))
        assert "eyJ" not in text
        assert "BEGIN CERTIFICATE" not in text


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(type="SOMETHING"), Reason.UNSUPPORTED_EVENT),
        (lambda e: e.pop("type"), Reason.UNSUPPORTED_EVENT),
        (lambda e: e.update(version="3.0"), Reason.UNSUPPORTED_EVENT),
        (lambda e: e.pop("methodArn"), Reason.UNSUPPORTED_EVENT),
        (lambda e: e.update(headers=["x"]), Reason.MALFORMED_EVENT),
        (lambda e: e.update(headers={"a": 1}), Reason.MALFORMED_EVENT),
        (lambda e: e.update(multiValueHeaders={"a": "b"}), Reason.MALFORMED_EVENT),
        (lambda e: e.update(requestContext="x"), Reason.MALFORMED_EVENT),
        (lambda e: e["requestContext"]["identity"].update(sourceIp=7), Reason.MALFORMED_EVENT),
        (lambda e: e.update(methodArn="arn:aws:execute-api:x"), Reason.MALFORMED_EVENT),
        (lambda e: e.update(headers={"big": "x" * 30_000}), Reason.MALFORMED_EVENT),
    ],
    ids=[
        "unknown-type",
        "no-type",
        "unknown-version",
        "no-arn",
        "headers-list",
        "header-int",
        "multi-not-list",
        "context-str",
        "source-ip-int",
        "bad-arn",
        "oversized-headers",
    ],
)
def test_malformed_events_raise_invalid_request(mutate, reason):
    event = load_event("rest_request")
    mutate(event)
    with pytest.raises(InvalidRequestError) as caught:
        normalize(event)
    assert caught.value.reason is reason


def test_client_certificate_without_pem_is_malformed_credentials():
    event = load_event("http_v2_mtls")
    event["requestContext"]["authentication"]["clientCert"]["clientCertPem"] = ""
    with pytest.raises(InvalidRequestError) as caught:
        normalize(event)
    assert caught.value.reason is Reason.MALFORMED_CREDENTIALS


@pytest.mark.parametrize("value", [None, [], "event", 1])
def test_non_dict_event_is_unsupported(value):
    with pytest.raises(InvalidRequestError) as caught:
        normalize(value)
    assert caught.value.reason is Reason.UNSUPPORTED_EVENT


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=st.sampled_from(EVENT_NAMES), data=st.data())
def test_fuzzed_events_raise_nothing_but_the_core_tree(name, data):
    # GIVEN a real event with one field replaced by random JSON, or deleted, or truncated
    event = load_event(name)
    paths = list(_paths(event))
    path = data.draw(st.sampled_from(paths))
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete"]))
    if action == "replace":
        parent[path[-1]] = data.draw(json_values)
    else:
        del parent[path[-1]]
    # WHEN it is normalized THEN it either works or fails with an AuthorizerError only
    try:
        request = normalize(event)
        request.credential("authorization")
    except AuthorizerError:
        pass


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(EVENT_NAMES), cut=st.integers(min_value=0, max_value=4000))
def test_truncated_json_documents_never_crash_the_normalizer(name, cut):
    text = json.dumps(load_event(name))[:cut]
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        event = text
    with contextlib.suppress(AuthorizerError):
        normalize(event)
