"""The Lambda-like runtime: one process per authorizer function, JSON lines over pipes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.emulator.functions import WorkerFunction, worker_environment

ROOT = str(Path(__file__).resolve().parents[3])
HANDLERS = "tests.unit.emulator.handlers"


def _worker(handler: str, settings: dict[str, str] | None = None) -> WorkerFunction:
    environment = worker_environment(
        settings or {},
        name="test",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:1",
        pythonpath=ROOT,
    )
    return WorkerFunction("test", f"{HANDLERS}.{handler}", environment)


@pytest.fixture
def started() -> Iterator[list[WorkerFunction]]:
    workers: list[WorkerFunction] = []
    yield workers
    for worker in workers:
        worker.stop()


def test_worker_runs_the_handler_with_exactly_its_environment(started, monkeypatch):
    # GIVEN a stray setting in this shell that another authorizer would refuse
    monkeypatch.setenv("GATEHOUSE_JWT_ISSUERS", "[]")
    worker = _worker("echo", {"GATEHOUSE_APIKEY_TABLE": "t"})
    started.append(worker)
    worker.start()
    assert worker.wait_ready()
    result = worker.invoke({"type": "TOKEN"}, timeout=10)
    # THEN the function sees only its own settings, the endpoint, and the event
    assert result.payload["settings"] == {"GATEHOUSE_APIKEY_TABLE": "t"}
    assert result.payload["endpoint"] == "http://127.0.0.1:1"
    assert result.payload["event"] == {"type": "TOKEN"}
    assert result.payload["pid"] != os.getpid()


def test_the_handler_s_context_counts_down_from_the_gateway_s_timeout(started):
    """The authorizers read their deadline from the context: in local mode it must be the
    timeout the gateway enforces, not a constant."""
    worker = _worker("echo")
    started.append(worker)
    worker.start()
    assert worker.wait_ready()
    remaining = worker.invoke({}, timeout=3).payload["remaining_ms"]
    assert 2500 < remaining <= 3000


def test_an_error_comes_back_with_its_message(started):
    worker = _worker("unauthorized")
    started.append(worker)
    worker.start()
    result = worker.invoke({}, timeout=10)
    assert (result.error_type, result.error_message) == ("Exception", "Unauthorized")


def test_timeout_kills_the_environment_and_the_next_invoke_gets_a_new_one(started):
    worker = _worker("slow")
    started.append(worker)
    worker.start()
    assert worker.wait_ready()
    first = worker.invoke({"sleep": 5}, timeout=0.3)
    assert first.timed_out
    second = worker.invoke({"sleep": 0}, timeout=10)
    assert not second.failed


def test_a_handler_that_cannot_be_imported_is_an_init_error(started):
    worker = _worker("missing_function")
    started.append(worker)
    worker.start()
    assert not worker.wait_ready()
    assert "missing_function" in (worker.init_error or "")
    result = worker.invoke({}, timeout=10)
    assert result.error_type == "Runtime.InitError"


def test_a_function_s_timeout_is_the_deployed_default() -> None:
    from gatehouse.cdk import FunctionOptions
    from gatehouse.emulator.functions import FUNCTION_TIMEOUT_SECONDS

    assert FunctionOptions().timeout_seconds == FUNCTION_TIMEOUT_SECONDS


def test_the_function_s_own_timeout_ends_an_invocation_the_gateway_would_wait_for(started):
    environment = worker_environment(
        {}, name="test", region="eu-west-1", endpoint_url="http://127.0.0.1:1", pythonpath=ROOT
    )
    worker = WorkerFunction("test", f"{HANDLERS}.slow", environment, timeout_seconds=0.5)
    started.append(worker)
    worker.start()
    assert worker.wait_ready()
    assert worker.invoke({"sleep": 3}, timeout=10).timed_out
