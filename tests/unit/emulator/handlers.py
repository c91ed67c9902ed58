"""Tiny handlers for the worker runtime tests (run in a worker process)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print("a line on stdout must not break the protocol")
    sys.stdout.flush()
    return {
        "event": event,
        "function": context.function_name,
        "settings": {k: v for k, v in os.environ.items() if k.startswith("GATEHOUSE_")},
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "pid": os.getpid(),
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def unauthorized(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise Exception("Unauthorized")


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("sleep", 5)))
    return {"pid": os.getpid()}
