"""Where the key is read from: the configured header, Authorization: ApiKey, the TOKEN source."""

from __future__ import annotations

import pytest

from authorizers.api_key.credential import presented_key
from authorizers.core.exceptions import InvalidRequestError, Reason
from authorizers.core.request import normalize
from tests.conftest import load_event

KEY = "gk_live_example"


def rest(headers: dict[str, list[str]]):
    event = load_event("rest_request")
    event["headers"] = {name: values[-1] for name, values in headers.items()}
    event["multiValueHeaders"] = headers
    return normalize(event)


def v2(headers: dict[str, str]):
    event = load_event("http_v2")
    event["headers"] = headers
    return normalize(event)


@pytest.mark.parametrize(
    "request_",
    [
        rest({"X-Api-Key": [KEY]}),
        rest({"Authorization": [f"ApiKey {KEY}"]}),
        rest({"Authorization": [f"apikey   {KEY} "]}),
        rest({"X-Api-Key": [KEY], "Authorization": [f"ApiKey {KEY}"]}),
        rest({"X-Api-Key": [KEY], "Authorization": ["Bearer a.b.c"]}),
        v2({"x-api-key": KEY}),
        v2({"authorization": f"ApiKey {KEY}"}),
    ],
    ids=[
        "header",
        "scheme",
        "scheme-case-spaces",
        "both-same",
        "header-plus-bearer",
        "v2-header",
        "v2-scheme",
    ],
)
def test_the_key_is_found(request_):
    assert presented_key(request_, "x-api-key") == KEY


@pytest.mark.parametrize("token", [KEY, f"ApiKey {KEY}"])
def test_a_token_event_uses_its_token_source(token):
    event = load_event("rest_token")
    event["authorizationToken"] = token
    assert presented_key(normalize(event), "x-api-key") == KEY


def test_a_custom_header():
    assert presented_key(rest({"X-Client-Key": [KEY]}), "x-client-key") == KEY


@pytest.mark.parametrize(
    "request_",
    [
        rest({}),
        rest({"Authorization": ["Bearer a.b.c"]}),
        rest({"Authorization": ["ApiKey"]}),
        rest({"Authorization": ["ApiKey    "]}),
        rest({"X-Api-Key": ["   "]}),
    ],
    ids=["none", "bearer-only", "scheme-without-key", "scheme-blank", "blank-header"],
)
def test_no_key_is_missing_credentials(request_):
    with pytest.raises(InvalidRequestError) as caught:
        presented_key(request_, "x-api-key")
    assert caught.value.reason is Reason.MISSING_CREDENTIALS


@pytest.mark.parametrize(
    "request_",
    [
        rest({"X-Api-Key": [KEY, "gk_live_other"]}),
        rest({"X-Api-Key": [KEY], "Authorization": ["ApiKey gk_live_other"]}),
    ],
    ids=["repeated-header", "header-vs-scheme"],
)
def test_two_different_keys_are_ambiguous(request_):
    with pytest.raises(InvalidRequestError) as caught:
        presented_key(request_, "x-api-key")
    assert caught.value.reason is Reason.AMBIGUOUS_CREDENTIALS


def test_the_query_string_is_never_read():
    event = load_event("rest_request")
    event["queryStringParameters"] = {"api_key": KEY, "x-api-key": KEY}
    event["multiValueQueryStringParameters"] = {"api_key": [KEY], "x-api-key": [KEY]}
    event["headers"] = {}
    event["multiValueHeaders"] = {}
    with pytest.raises(InvalidRequestError):
        presented_key(normalize(event), "x-api-key")
