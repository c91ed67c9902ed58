"""The Lambda fields on log lines: what Powertools' ``inject_lambda_context`` gave each line
(operators filter on them), now set only when an invocation writes its first line.

What it stops: a log line without its request id (no way to find the request), or with the
previous invocation's (the wrong request blamed).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from authorizers.core import observability
from authorizers.core.observability import correlation_id
from gatehouse.testing import LambdaContext, authorizer, build_event

MALFORMED = "gk_live_" + "A" * 36  # fails the checksum: a 401, logged, no lookup


def lines(out: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in out.splitlines()
        if line.startswith("{") and '"message"' in line
    ]


@pytest.fixture
def gate() -> Any:
    return authorizer("apikey", apikey_table="gatehouse-keys")


def invoke(gate: Any, request_id: str, context: LambdaContext) -> None:
    event = build_event("rest_request", "GET /orders", headers={"x-api-key": MALFORMED})
    event["requestContext"]["requestId"] = request_id
    gate(event, context)


def test_each_line_carries_its_own_invocation_s_fields(gate, capsys, monkeypatch):
    monkeypatch.setattr(observability, "_cold", True)  # as in a fresh execution environment
    first = LambdaContext(function_name="orders-apikey", aws_request_id="lambda-req-1")
    invoke(gate, "api-req-1", first)
    second = LambdaContext(function_name="orders-apikey", aws_request_id="lambda-req-2")
    invoke(gate, "api-req-2", second)
    logged = [line for line in lines(capsys.readouterr().out) if line["message"] == "unauthorized"]
    assert len(logged) == 2
    one, two = logged
    assert one["function_request_id"] == "lambda-req-1" and one["correlation_id"] == "api-req-1"
    assert two["function_request_id"] == "lambda-req-2" and two["correlation_id"] == "api-req-2"
    assert (one["cold_start"], two["cold_start"]) == (True, False)
    for line in logged:
        assert line["function_name"] == "orders-apikey"
        assert line["function_memory_size"] == 256
        assert line["function_arn"] == first.invoked_function_arn
        assert line["service"] == "gatehouse"


def test_an_invocation_that_logs_nothing_leaves_no_fields_for_the_next(gate, capsys):
    # An Allow writes no line; the next invocation's line must not carry the previous fields.
    invoke(gate, "api-req-a", LambdaContext(aws_request_id="lambda-req-a"))
    observability.begin_invocation({"requestContext": {}}, LambdaContext(aws_request_id="quiet"))
    invoke(gate, "api-req-b", LambdaContext(aws_request_id="lambda-req-b"))
    last = lines(capsys.readouterr().out)[-1]
    assert last["function_request_id"] == "lambda-req-b" and last["correlation_id"] == "api-req-b"


def test_a_context_without_lambda_s_attributes_still_logs_the_line(gate, capsys):
    class Bare:
        def get_remaining_time_in_millis(self) -> int:
            return 5000

    event = build_event("rest_request", "GET /orders", headers={"x-api-key": MALFORMED})
    answer = gate(event, Bare())
    assert answer.status == 401
    assert any(line["message"] == "unauthorized" for line in lines(capsys.readouterr().out))


@pytest.mark.parametrize(
    "event",
    [
        {"requestContext": {"requestId": "api-req-1"}},
        {"requestContext": {"requestId": 7}},
        {"requestContext": {}},
        {"requestContext": None},
        {"requestContext": ["requestId"]},
        {"requestContext": "requestId"},
        {},
        [],
        None,
        "requestContext.requestId",
    ],
)
def test_the_correlation_id_reads_what_powertools_path_reads(event):
    """The direct lookup replaced Powertools' jmespath query: the same answer for any shape."""
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities import jmespath_utils

    expected = (
        jmespath_utils.query(envelope=correlation_paths.API_GATEWAY_REST, data=event)
        if isinstance(event, dict)
        else None
    )
    assert correlation_id(event) == expected
