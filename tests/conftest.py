"""Shared fixtures: event loader, manual clock, cache reset, quiet observability."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authorizers.core import cache, iam_match, routes
from authorizers.core.clock import ManualClock

pytest_plugins = ["tests.jwt_fixtures"]

EVENTS = Path(__file__).parent / "events"
EVENT_NAMES = sorted(p.stem for p in EVENTS.glob("*.json"))

# Never let a test talk to X-Ray or pick up a developer's AWS settings.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")


def load_event(name: str) -> dict[str, Any]:
    """A fresh deep copy of ``tests/events/<name>.json``."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


@pytest.fixture
def event() -> Callable[[str], dict[str, Any]]:
    return load_event


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_750_000_000.0)


@pytest.fixture(autouse=True)
def _reset_caches() -> Iterator[None]:
    yield
    cache.clear_all()
    iam_match.clear()
    routes.clear()


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the moment of writing (pytest swaps it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture(autouse=True, scope="session")
def _logs_to_captured_stdout() -> None:
    """Powertools' Logger binds the sys.stdout of import time; make it follow pytest's capture
    so tests can read, and check, every log line."""
    from authorizers.core.observability import logger

    logger.registered_handler.stream = _CurrentStdout()  # type: ignore[attr-defined]
