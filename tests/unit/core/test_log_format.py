"""JsonLineFormatter writes Powertools' JSON line, byte for byte, for every record.

What it stops: an operator's query, metric filter or alarm on a log field (``reason``,
``correlation_id``, ``function_request_id``, ``level``...) silently missing lines because the
faster formatter renamed, dropped, reordered or re-typed a field.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizers.core import observability
from authorizers.core.log_format import JsonLineFormatter
from gatehouse.testing import LambdaContext, build_event

KEYS = {"service": "gatehouse", "sampling_rate": None}
INVOCATION = {
    "cold_start": False,
    "function_name": "orders-apikey",
    "function_memory_size": 256,
    "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:orders-apikey",
    "function_request_id": "lambda-req-1",
    "correlation_id": "api-req-1",
}


def pair(**appended: Any) -> tuple[LambdaPowertoolsFormatter, JsonLineFormatter]:
    """Powertools' formatter and ours, built and keyed alike (as the Logger builds its own)."""
    theirs, ours = LambdaPowertoolsFormatter(**KEYS), JsonLineFormatter(**KEYS)
    for formatter in (theirs, ours):
        formatter.append_keys(**appended)
    return theirs, ours


def record(
    message: object = "unauthorized",
    extra: dict[str, Any] | None = None,
    *,
    args: tuple[Any, ...] = (),
    exc_info: Any = None,
    created: float | None = None,
) -> logging.LogRecord:
    """One record to give both formatters: two would carry different timestamps."""
    made = logging.getLogger("gatehouse-test").makeRecord(
        "gatehouse", logging.INFO, __file__, 42, message, args, exc_info, "decide", extra
    )
    if created is not None:
        made.created, made.msecs = created, (created - int(created)) * 1000
    return made


class Unserializable:
    def __str__(self) -> str:
        return "<unserializable>"


PLAIN = [
    ("no extras", record()),
    ("the pipeline's 401", record(extra={"authorizer": "api_key", "reason": "Malformed"})),
    (
        "a decision",
        record(
            "decision",
            {
                "authorizer": "jwt",
                "decision": "Deny",
                "reason": None,  # stripped, as Powertools strips None
                "principal": "user-1",
                "cache_safe": False,
                "path": "/orders/ü",  # ensure_ascii=False, as Powertools
                "count": 3,
                "ratio": 0.5,
                "nested": {"a": [1, "x", None]},
                "object": Unserializable(),  # default=str
            },
        ),
    ),
    ("an extra overriding a key", record(extra={"service": "other", "exception": "named"})),
    ("on a second boundary", record(created=1_700_000_000.9996)),
    ("just after it", record(created=1_700_000_001.0004)),
]


@pytest.mark.parametrize(("case", "made"), PLAIN, ids=[case for case, _ in PLAIN])
def test_a_plain_record_is_written_as_powertools_writes_it(case: str, made: logging.LogRecord):
    theirs, ours = pair(**INVOCATION)
    assert ours.format(made) == theirs.format(made)


def test_plain_records_take_the_fast_path(monkeypatch):
    # Otherwise the comparisons above would pass by calling Powertools every time.
    _, ours = pair(**INVOCATION)

    def refuse(*_args: Any) -> str:
        raise AssertionError("handed to Powertools")

    monkeypatch.setattr(LambdaPowertoolsFormatter, "format", refuse)
    for _, made in PLAIN:
        json.loads(ours.format(made))


def test_the_xray_trace_id_is_read_per_line(monkeypatch):
    theirs, ours = pair(**INVOCATION)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    assert ours.format(made := record()) == theirs.format(made)
    assert (
        json.loads(ours.format(record()))["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    )


def _raised() -> Any:
    try:
        raise ValueError("boom")
    except ValueError:
        return sys.exc_info()


HANDED_OVER = [
    # A message the fast path would take: only the exception hands it over.
    ("an exception", lambda: record("decision", exc_info=_raised())),
    ("%-arguments", lambda: record("count %d", args=(3,))),
    ("a dict message", lambda: record({"event": "x"})),
    ("a JSON number", lambda: record("123")),
    ("a JSON object", lambda: record('{"a": 1}')),
    ("a JSON literal", lambda: record("true")),
    ("leading whitespace", lambda: record(" [1]")),
    ("an empty message", lambda: record("")),
    ("NaN", lambda: record("NaN")),
    ("an extra named stack_trace", lambda: record(extra={"stack_trace": "mine"})),
]


@pytest.mark.parametrize(("case", "make"), HANDED_OVER, ids=[case for case, _ in HANDED_OVER])
def test_other_records_are_powertools_own_lines(case: str, make: Any, monkeypatch):
    theirs, ours = pair(**INVOCATION)
    made = make()
    expected = theirs.format(made)
    handed: list[logging.LogRecord] = []
    powertools_format = LambdaPowertoolsFormatter.format

    def spy(self: LambdaPowertoolsFormatter, given: logging.LogRecord) -> str:
        handed.append(given)
        return powertools_format(self, given)

    monkeypatch.setattr(LambdaPowertoolsFormatter, "format", spy)
    assert ours.format(made) == expected
    assert handed == [made]  # written by Powertools, not by a fast path that happens to agree


def test_keys_powertools_would_reorder_or_drop_are_its_own_lines():
    theirs, ours = pair(**INVOCATION)
    for formatter in (theirs, ours):
        formatter.remove_keys(["message"])  # Powertools then writes it after the extras
    made = record(extra={"reason": "Malformed"})
    assert ours.format(made) == theirs.format(made)
    theirs, ours = pair(stack_trace="appended", **INVOCATION)
    assert ours.format(made) == theirs.format(made)
    options = {"json_deserializer": lambda text: {"decoded": text}}
    theirs = LambdaPowertoolsFormatter(**KEYS, **options)
    ours = JsonLineFormatter(**KEYS, **options)
    assert ours.format(made := record("plain")) == theirs.format(made)


def test_an_extra_not_named_by_a_string_fails_as_in_powertools():
    theirs, ours = pair(**INVOCATION)
    made = record(extra={1: "x"})
    for formatter in (theirs, ours):
        with pytest.raises(TypeError):
            formatter.format(made)


def test_one_formatter_writes_each_second_and_millisecond_right():
    # The date is formatted once a second and reused: a stale second, or a reused
    # millisecond, would misdate every line after the first.
    theirs, ours = pair(**INVOCATION)
    for created in (1_700_000_000.001, 1_700_000_000.998, 1_700_000_001.5, 1_700_003_600.0):
        made = record(created=created)
        assert ours.format(made) == theirs.format(made)


def test_thread_local_keys_and_unknown_templates_are_powertools_own_lines():
    theirs, ours = pair(**INVOCATION)
    for formatter in (theirs, ours):
        formatter.thread_safe_append_keys(tenant="acme")
    try:
        assert ours.format(made := record()) == theirs.format(made)
    finally:
        for formatter in (theirs, ours):
            formatter.thread_safe_clear_keys()
    theirs, ours = pair(location="%(module)s", **INVOCATION)
    assert ours.format(made := record()) == theirs.format(made)
    assert json.loads(ours.format(record()))["location"] == "test_log_format"


def test_pretty_printing_and_custom_dates_are_powertools_own_lines(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    with pytest.warns(UserWarning, match="POWERTOOLS_DEV"):
        theirs, ours = pair(**INVOCATION)
    assert ours.format(made := record()) == theirs.format(made)
    assert "\n" in ours.format(record())
    monkeypatch.delenv("POWERTOOLS_DEV")
    for options in ({"datefmt": "%H:%M"}, {"use_rfc3339": True}, {"utc": True}):
        theirs = LambdaPowertoolsFormatter(**KEYS, **options)
        ours = JsonLineFormatter(**KEYS, **options)
        assert ours.format(made := record()) == theirs.format(made)


_NAMES = st.text(min_size=1, max_size=12).filter(
    lambda name: name not in RESERVED_LOG_ATTRS and name not in ("message", "asctime")
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    message=st.text(),
    extra=st.dictionaries(_NAMES, _VALUES, max_size=6),
    created=st.floats(min_value=0, max_value=4_000_000_000),
)
def test_any_message_and_extras_give_powertools_line(message, extra, created):
    theirs, ours = pair(**INVOCATION)
    made = record(message, extra, created=created)
    assert ours.format(made) == theirs.format(made)


def test_a_logged_invocation_writes_what_inject_lambda_context_wrote(monkeypatch):
    """End to end: the authorizers' logger after an invocation's first line, against a stock
    Powertools Logger under ``inject_lambda_context(clear_state=True,
    correlation_id_path=API_GATEWAY_REST)``, the decorator it replaces."""
    event = build_event("rest_request", "GET /orders", headers={})
    event["requestContext"]["requestId"] = "api-req-7"
    context = LambdaContext(function_name="orders-apikey", aws_request_id="lambda-req-7")
    extra = {"authorizer": "api_key", "reason": "MalformedCredentials"}

    stock_out = io.StringIO()
    # Another service name: a Logger named "gatehouse" would reuse the authorizers' handler.
    stock = Logger(service="gatehouse-stock", stream=stock_out)

    @stock.inject_lambda_context(
        clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST
    )
    def stock_handler(_event: Any, _context: Any) -> None:
        stock.info("unauthorized", extra=extra)

    ours_out = io.StringIO()
    handler = observability.logger.registered_handler
    monkeypatch.setattr(observability, "_cold", False)
    previous = handler.setStream(ours_out)  # type: ignore[attr-defined]
    try:
        observability.begin_invocation(event, context)
        observability.logger.info("unauthorized", extra=extra)
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
    monkeypatch.setattr("aws_lambda_powertools.logging.logger.is_cold_start", False)
    stock_handler(event, context)

    ours_line, stock_line = json.loads(ours_out.getvalue()), json.loads(stock_out.getvalue())
    assert stock_line["service"] == "gatehouse-stock"
    stock_line["service"] = "gatehouse"
    for line in (ours_line, stock_line):
        line.pop("timestamp")
        line.pop("location")  # the calling function differs: this test vs stock_handler
    assert list(ours_line.items()) == list(stock_line.items())
    assert ours_line["correlation_id"] == "api-req-7"
    assert ours_line["function_request_id"] == "lambda-req-7"


def test_a_message_attribute_set_by_a_filter_is_not_the_message():
    # Powertools writes the record's own message whatever record.message holds.
    theirs, ours = pair(**INVOCATION)
    made = record(extra={"reason": "Malformed"})
    made.message = "redacted"
    assert ours.format(made) == theirs.format(made)
    assert json.loads(ours.format(made))["message"] == "unauthorized"
