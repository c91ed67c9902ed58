"""Checklist §6 step 5: malformed authorizer output is a 500, and is never cached."""

from __future__ import annotations

import pytest

from gatehouse.emulator.validate import stringify_context
from tests.unit.emulator.harness import PREFIX, TOKEN, Harness, body, policy

_LONG = f"{PREFIX}/GET/" + "a" * 512


def _without(key: str) -> dict:
    response = policy()
    del response[key]
    return response


def _statement(value: object) -> dict:
    response = policy()
    response["policyDocument"]["Statement"] = value
    return response


MALFORMED = {
    "not an object": ["Allow"],
    "null": None,
    "HTTP-style response": {"statusCode": 200, "body": "ok"},
    "no principalId": _without("principalId"),
    "empty principalId": {**policy(), "principalId": ""},
    "no policyDocument": _without("policyDocument"),
    "policyDocument not an object": {**policy(), "policyDocument": "allow"},
    "Statement a string": _statement("Allow"),
    "Statement empty": _statement([]),
    "Resource over 512 characters": policy("Allow", _LONG),
    "context with an object": policy(context={"user": {"id": 1}}),
    "context with a list": policy(context={"groups": ["a"]}),
    "context not an object": {**policy(), "context": "x"},
    "usageIdentifierKey not a string": {**policy(), "usageIdentifierKey": 42},
    "over 8 KB": policy(context={f"k{i}": "v" * 100 for i in range(90)}),
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_response_is_500_and_not_cached(payload):
    harness = Harness(handlers={"tok": lambda e: payload})
    first = harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/profile", headers={"Authorization": TOKEN})
    assert first.status_code == 500
    assert body(first) == {"message": None}
    assert first.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert harness.calls("tok") == 2


def test_statement_as_a_single_object_and_context_scalars_are_accepted():
    response = policy(context={"s": "x", "n": 3, "f": 1.5, "b": True, "none": None})
    response["policyDocument"]["Statement"] = response["policyDocument"]["Statement"][0]
    harness = Harness(handlers={"tok": lambda e: response})
    assert harness.request("/profile", headers={"Authorization": TOKEN}).status_code == 200


def test_stringify_context_is_what_rest_backends_see():
    assert stringify_context({"b": True, "f": False, "n": 123, "x": 1.5, "s": "v", "z": None}) == {
        "b": "true",
        "f": "false",
        "n": "123",
        "x": "1.5",
        "s": "v",
        "z": None,
    }
