"""The metric-filter patterns, evaluated on sample log lines.

What it stops: a pattern that counts every 401 as a crash (a Gatehouse 401 is a raised
``Unauthorized``, which Lambda logs as a function error) or that never matches what it is for.
The evaluator below implements the subset of CloudWatch Logs' JSON filter syntax the patterns
use ("Filter pattern syntax for metric filters", JSON log events: ``$.a.b = "text*"``,
``&&``, ``||``, parentheses); the sample lines follow Lambda's JSON log format and the access
log of :func:`gatehouse.cdk.rest.access_log_format`. [unverified against CloudWatch itself:
``aws logs test-metric-filter`` with real lines is the check to run with an account.]
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pytest

from gatehouse.cdk.monitoring import CRASH_PATTERN, FAULT_PATTERN

_TOKEN = re.compile(r'\s*(\|\||&&|\(|\)|=|"(?:[^"\\]|\\.)*"|\$[\w.]+|-?\d+(?:\.\d+)?)')


def _tokens(pattern: str) -> list[str]:
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    text, found, at = body[1:-1].strip(), [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        assert match, f"unsupported syntax at {text[at:]!r}"
        found.append(match[1])
        at = match.end()
        while at < len(text) and text[at] == " ":
            at += 1
    return found


def matches(pattern: str, line: str) -> bool:
    event = json.loads(line)
    tokens = _tokens(pattern)

    def selector(path: str) -> Any:
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def primary(at: int) -> tuple[bool, int]:
        if tokens[at] == "(":
            result, at = disjunction(at + 1)
            assert tokens[at] == ")"
            return result, at + 1
        left, op, right = tokens[at], tokens[at + 1], tokens[at + 2]
        assert left.startswith("$.") and op == "=", tokens[at : at + 3]
        value = selector(left)
        if right.startswith('"'):
            # A string comparison: "*" is a wildcard; a number in the event never equals it.
            ok = isinstance(value, str) and fnmatch.fnmatchcase(value, json.loads(right))
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and value == float(right)
        return ok, at + 3

    def conjunction(at: int) -> tuple[bool, int]:
        result, at = primary(at)
        while at < len(tokens) and tokens[at] == "&&":
            right, at = primary(at + 1)
            result = result and right
        return result, at

    def disjunction(at: int) -> tuple[bool, int]:
        result, at = conjunction(at)
        while at < len(tokens) and tokens[at] == "||":
            right, at = conjunction(at + 1)
            result = result or right
        return result, at

    result, end = disjunction(0)
    assert end == len(tokens)
    return result


def _line(**fields: Any) -> str:
    return json.dumps(fields)


# The runtime's line for an exception leaving the handler, and the platform report after it.
UNAUTHORIZED = _line(
    timestamp="2026-12-03T10:00:00Z", level="ERROR", errorType="Unauthorized",
    errorMessage="Unauthorized", requestId="r1", stackTrace=[],
)  # fmt: skip
UNAUTHORIZED_REPORT = _line(
    time="2026-12-03T10:00:00Z", type="platform.report",
    record={"requestId": "r1", "status": "error", "errorType": "Unauthorized", "metrics": {}},
)  # fmt: skip
IMPORT_ERROR = _line(
    timestamp="2026-12-03T10:00:00Z", level="ERROR", errorType="Runtime.ImportModuleError",
    errorMessage="Unable to import module 'authorizers.jwt_bearer.handler'", requestId="",
)  # fmt: skip
TIMEOUT_REPORT = _line(
    time="2026-12-03T10:00:00Z", type="platform.report",
    record={"requestId": "r2", "status": "timeout", "metrics": {"durationMs": 5000.0}},
)  # fmt: skip
OUT_OF_MEMORY_REPORT = _line(
    time="2026-12-03T10:00:00Z", type="platform.report",
    record={"requestId": "r3", "status": "error", "errorType": "Runtime.OutOfMemory"},
)  # fmt: skip
SANDBOX_TIMEOUT_REPORT = _line(
    time="2026-12-03T10:00:00Z", type="platform.report",
    record={"requestId": "r4", "status": "error", "errorType": "Sandbox.Timedout"},
)  # fmt: skip
DECISION = _line(
    level="INFO", message="unauthorized", authorizer="jwt", reason="Expired",
    timestamp="2026-12-03T10:00:00Z", service="gatehouse",
)  # fmt: skip
FAULT = _line(
    level="ERROR", message="authorizer fault, denying", authorizer="jwt",
    reason="Configuration", error_type="ConfigurationError", service="gatehouse",
)  # fmt: skip
UPSTREAM_TIMEOUT = _line(
    level="WARNING", message="upstream call timed out", upstream="jwks", why="no time left",
    service="gatehouse",
)  # fmt: skip


@pytest.mark.parametrize(
    ("line", "crash"),
    [
        (UNAUTHORIZED, False),
        (UNAUTHORIZED_REPORT, False),
        (DECISION, False),
        (FAULT, False),
        (UPSTREAM_TIMEOUT, False),
        (IMPORT_ERROR, True),
        (TIMEOUT_REPORT, True),
        (OUT_OF_MEMORY_REPORT, True),
        (SANDBOX_TIMEOUT_REPORT, True),
    ],
)
def test_crashes_are_counted_and_401s_are_not(line: str, crash: bool) -> None:
    assert matches(CRASH_PATTERN, line) is crash


@pytest.mark.parametrize(
    ("line", "fault"), [(FAULT, True), (DECISION, False), (UNAUTHORIZED, False)]
)
def test_fail_closed_lines_are_counted(line: str, fault: bool) -> None:
    assert matches(FAULT_PATTERN, line) is fault


def test_429s_are_counted_from_the_access_log_where_status_is_a_string() -> None:
    pattern = '{ $.status = "429" }'
    throttled = _line(requestId="r", apiId="a1", stage="prod", status="429", httpMethod="GET")
    denied = _line(requestId="r", apiId="a1", stage="prod", status="403", httpMethod="GET")
    assert matches(pattern, throttled)
    assert not matches(pattern, denied)
    # The numeric form would never match a string status.
    assert not matches("{ $.status = 429 }", throttled)
