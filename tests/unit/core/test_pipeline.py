"""The one error-to-response mapping: 401, Deny, fail closed; metrics and safe logs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from authorizers.core.config import CoreConfig, HttpResponseFormat
from authorizers.core.decision import Decision
from authorizers.core.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    Reason,
    Unauthorized,
    UpstreamError,
)
from authorizers.core.pipeline import ColdStart, handle, lambda_handler_for
from authorizers.core.request import Request
from tests.conftest import EVENT_NAMES, load_event

SECRET_MARKERS = ("eyJ.fixture.token", "BEGIN CERTIFICATE", "k" * 40)


@dataclass
class FakeAuthorizer:
    """Decides with a given function; records what it saw."""

    decide_with: object
    core: CoreConfig = field(default_factory=CoreConfig)

    def decide(self, request: Request) -> Decision:
        if isinstance(self.decide_with, BaseException):
            raise self.decide_with
        return self.decide_with(request)  # type: ignore[operator]


def cold(decide_with, http_format=HttpResponseFormat.IAM) -> ColdStart[FakeAuthorizer]:
    core = CoreConfig(http_response_format=http_format, tracing=False)
    return ColdStart("fake", lambda: FakeAuthorizer(decide_with, core))


def metrics(out: str) -> list[tuple[str, str, str]]:
    """(metric name, Authorizer, Reason) of every EMF blob printed."""
    found = []
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Gatehouse"
            for metric in directive["Metrics"]:
                found.append((metric["Name"], blob["Authorizer"], blob["Reason"]))
    return found


def allow_all(request: Request) -> Decision:
    return Decision.allow_all(
        request, "user-1", context={"sub": "user-1"}, usage_identifier_key="k" * 40
    )


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_allow_renders_and_counts_one_allow(name, capsys):
    response = handle(load_event(name), cold(allow_all))
    assert response["principalId"] == "user-1"
    assert metrics(capsys.readouterr().out) == [("Allow", "fake", "None")]


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequestError(Reason.MISSING_CREDENTIALS),
        AuthenticationError(Reason.EXPIRED),
    ],
)
def test_bad_credentials_raise_exactly_unauthorized(error, capsys):
    with pytest.raises(Unauthorized) as caught:
        handle(load_event("rest_request"), cold(error))
    assert str(caught.value) == "Unauthorized"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert metrics(capsys.readouterr().out) == [("Unauthorized", "fake", error.reason.value)]


def test_http_simple_responses_answer_false_instead_of_raising():
    response = handle(
        load_event("http_v2"),
        cold(AuthenticationError(Reason.INVALID_SIGNATURE), HttpResponseFormat.SIMPLE),
    )
    assert response == {"isAuthorized": False}


def test_malformed_event_is_unauthorized():
    with pytest.raises(Unauthorized):
        handle({"type": "TOKEN", "methodArn": "nope"}, cold(allow_all))
    simple = handle(
        {"version": "2.0", "type": "REQUEST"}, cold(allow_all, HttpResponseFormat.SIMPLE)
    )
    assert simple == {"isAuthorized": False}


def test_access_denied_is_a_deny_with_the_reason_in_context(capsys):
    error = AccessDeniedError(Reason.INSUFFICIENT_SCOPE, principal_id="user-1")
    response = handle(load_event("rest_request"), cold(error))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert response["principalId"] == "user-1"
    assert response["context"] == {"reason": "InsufficientScope"}
    assert metrics(capsys.readouterr().out) == [("Deny", "fake", "InsufficientScope")]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UpstreamError(Reason.UPSTREAM_TIMEOUT), "UpstreamTimeout"),
        (ConfigurationError("GATEHOUSE_X", "bad"), "Configuration"),
        (RuntimeError("boom eyJ.fixture.token"), "Internal"),
        (KeyError("x"), "Internal"),
    ],
)
def test_faults_fail_closed_with_an_error_metric_and_no_exception(error, reason, capsys):
    response = handle(load_event("rest_request"), cold(error))
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert response["context"] == {"reason": reason}
    out = capsys.readouterr().out
    assert metrics(out) == [("Error", "fake", reason)]
    assert "eyJ.fixture.token" not in out  # a foreign exception's message is never logged


def test_a_decision_that_cannot_be_rendered_becomes_a_deny(capsys):
    bad = lambda request: Decision.allow_all(request, "u", context={"nested": {"a": 1}})  # noqa: E731
    response = handle(load_event("rest_request"), cold(bad))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert metrics(capsys.readouterr().out) == [("Error", "fake", "InvalidResponse")]


def test_configuration_failure_at_cold_start_denies_everything_and_says_why(capsys):
    def build():
        raise ConfigurationError("GATEHOUSE_JWT_ISSUER", "required and not set; the issuer URL")

    cold_start = ColdStart("jwt", build)
    out = capsys.readouterr().out
    assert "GATEHOUSE_JWT_ISSUER: required and not set" in out
    response = handle(load_event("rest_token"), cold_start)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert response["context"] == {"reason": "Configuration"}


def test_any_build_failure_at_cold_start_also_fails_closed():
    def build():
        raise ImportError("missing module")

    response = handle(load_event("rest_request"), ColdStart("x", build))
    assert response["context"] == {"reason": "Configuration"}


@dataclass
class FakeContext:
    function_name: str = "gatehouse-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-test"
    aws_request_id: str = "req-1"


@pytest.fixture
def debug_logs():
    from authorizers.core.observability import logger

    level = logger.log_level
    logger.setLevel("DEBUG")
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_lambda_entry_point_never_logs_a_credential(name, capsys, debug_logs):
    # At DEBUG, so the allow decision line is written too.
    handler = lambda_handler_for(cold(allow_all))
    handler(load_event(name), FakeContext())
    with pytest.raises(Unauthorized):
        lambda_handler_for(cold(AuthenticationError()))(load_event(name), FakeContext())
    out = capsys.readouterr().out
    assert '"decision"' in out
    for marker in SECRET_MARKERS:
        assert marker not in out


def test_lambda_entry_point_lets_nothing_but_unauthorized_escape():
    handler = lambda_handler_for(cold(MemoryError()))
    response = handler(load_event("rest_request"), FakeContext())
    assert response["context"] == {"reason": "Internal"}


@pytest.mark.enable_socket  # aws-xray-sdk opens its UDP emitter socket at construction;
# with tracing disabled it sends nothing.
def test_tracing_wraps_the_decision_in_a_subsegment_and_is_built_once():
    # POWERTOOLS_TRACE_DISABLED=true (conftest): the Tracer is real but records nothing.
    from authorizers.core import observability

    core = CoreConfig(tracing=True)
    handler = lambda_handler_for(ColdStart("fake", lambda: FakeAuthorizer(allow_all, core)))
    response = handler(load_event("http_v2"), FakeContext())
    assert response["principalId"] == "user-1"
    assert observability.tracer() is observability.tracer()


def test_allow_decisions_log_at_debug_and_denies_at_info(capsys):
    handle(load_event("rest_request"), cold(allow_all))
    assert '"decision"' not in capsys.readouterr().out
    handle(load_event("rest_request"), cold(AccessDeniedError(Reason.NOT_IN_GROUP)))
    assert '"decision":"Deny"' in capsys.readouterr().out


def test_metrics_can_be_disabled(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    handle(load_event("rest_request"), cold(allow_all))
    assert metrics(capsys.readouterr().out) == []


def test_at_debug_an_allow_is_logged_with_its_fields(capsys, debug_logs):
    # What an operator switching POWERTOOLS_LOG_LEVEL=DEBUG (or a debug sample) expects: the
    # allow line is skipped below DEBUG only.
    handle(load_event("rest_request"), cold(allow_all))
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (line["level"], line["message"], line["decision"]) == ("DEBUG", "decision", "Allow")
    assert line["principal"] == "user-1"
