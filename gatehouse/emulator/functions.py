"""Authorizer functions: what the gateway invokes, and a tiny Lambda-like runtime for them.

Each authorizer runs as its own "function": a worker process (``python -m
gatehouse.emulator.worker <handler>``) with exactly the environment the model gives that
function, as Lambda would. That matters: every authorizer refuses ``GATEHOUSE_*`` settings it
does not know, so two authorizers cannot share one process environment.

The protocol is JSON lines over the worker's stdin/stdout: the worker says ``{"ready": ...}``
once its handler is imported (the cold start), then answers each
``{"event": ..., "timeout_ms": ...}`` (the timeout sets its context's remaining time) with
``{"result": ...}`` or ``{"error": {"type", "message"}}``. One invocation at a time per worker,
as one Lambda execution environment. The worker's stderr (the authorizer's own log lines, which
never hold credentials) goes to a log file.

Why not moto's Lambda: it needs Docker to run code (moto documentation, "Lambda"; without a
Docker daemon an invoke answers ``FunctionError`` instead of running the handler).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol

#: A function's timeout unless told otherwise: the default of ``gatehouse.cdk``'s
#: ``FunctionOptions.timeout_seconds``, which the deployed authorizers run with.
FUNCTION_TIMEOUT_SECONDS: Final = 5.0

#: The worker says it is ready within this many seconds, or it is considered failed.
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Invocation:
    """What one invoke gave: a payload, an error (Lambda's ``errorMessage``), or a timeout."""

    payload: object = None
    error_type: str | None = None
    error_message: str | None = None
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.timed_out or self.error_type is not None


class Function(Protocol):
    """An authorizer function the gateway can invoke."""

    def invoke(self, event: dict[str, Any], timeout: float) -> Invocation: ...


class CallableFunction:
    """A function run in this process: tests and stubs. Exceptions become errors."""

    def __init__(self, handler: Callable[[dict[str, Any]], object]) -> None:
        self._handler = handler
        self.calls = 0

    def invoke(self, event: dict[str, Any], timeout: float) -> Invocation:
        self.calls += 1
        try:
            return Invocation(payload=self._handler(event))
        except TimeoutError:
            return Invocation(timed_out=True)
        except Exception as error:
            return Invocation(error_type=type(error).__name__, error_message=str(error))


class WorkerFunction:
    """One authorizer handler in its own process, restarted after a timeout or a crash."""

    def __init__(
        self,
        name: str,
        handler: str,
        environment: Mapping[str, str],
        *,
        log_path: Path | None = None,
        python: str = sys.executable,
        timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS,
    ) -> None:
        self.name = name
        self.handler = handler
        self.timeout_seconds = timeout_seconds
        self._environment = dict(environment)
        self._log_path = log_path
        self._python = python
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._log: IO[str] | None = None
        self.init_error: str | None = None
        self.invocations = 0
        self._ready = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn the process (returns at once; :meth:`wait_ready` waits for the cold start)."""
        if self._log_path is not None and self._log is None:
            self._log = self._log_path.open("a", encoding="utf-8")
        self._lines = queue.Queue()
        self.init_error = None
        self._ready = False
        process = subprocess.Popen(
            [self._python, "-m", "gatehouse.emulator.worker", self.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log if self._log is not None else subprocess.DEVNULL,
            env=self._environment,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._process = process
        reader = threading.Thread(
            target=_pump, args=(process.stdout, self._lines), name=f"worker-{self.name}"
        )
        reader.daemon = True
        reader.start()

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> bool:
        """Wait for the cold start; ``False`` (and :attr:`init_error`) when it failed."""
        message = self._read(timeout)
        if message is None:
            self.init_error = "the worker did not start in time"
            self._kill()
            return False
        if "ready" in message:
            self._ready = True
            return True
        error = message.get("init_error") or {}
        self.init_error = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
        self._kill()
        return False

    def stop(self) -> None:
        with self._lock:
            self._kill()
            if self._log is not None:
                self._log.close()
                self._log = None

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    # -- invoke -----------------------------------------------------------------------------

    def invoke(self, event: dict[str, Any], timeout: float) -> Invocation:
        """Run one invocation; ``timeout`` is how long the gateway waits. The function's own
        timeout applies too, the shorter one wins, and the handler's context counts down from
        it, as Lambda's does."""
        timeout = min(timeout, self.timeout_seconds)
        with self._lock:
            self.invocations += 1
            if self._process is None or self._process.poll() is not None:
                self._kill()
                self.start()
            if not self._ready and not self.wait_ready():
                return Invocation(error_type="Runtime.InitError", error_message=self.init_error)
            process = self._process
            assert process is not None and process.stdin is not None  # noqa: S101
            try:
                request = {"event": event, "timeout_ms": int(timeout * 1000)}
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except OSError:
                self._kill()
                return Invocation(error_type="Runtime.ExitError", error_message="worker exited")
            message = self._read(timeout)
            if message is None:
                # Like Lambda after a timeout: the environment is thrown away.
                self._kill()
                return Invocation(timed_out=True)
            if "result" in message:
                return Invocation(payload=message["result"])
            error = message.get("error") or {}
            return Invocation(
                error_type=str(error.get("type", "Error")),
                error_message=str(error.get("message", "")),
            )

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:  # the process closed stdout: it died
                return {"error": {"type": "Runtime.ExitError", "message": "worker exited"}}
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # not ours: the protocol stream carries nothing else
            if isinstance(message, dict):
                return message


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    if stream is None:
        lines.put(None)
        return
    with contextlib.suppress(ValueError, OSError):
        for line in stream:
            lines.put(line)
    lines.put(None)


def start_all(functions: list[WorkerFunction]) -> dict[str, str]:
    """Start every worker in parallel; the init error of each one that failed, by name."""
    for function in functions:
        function.start()
    failures: dict[str, str] = {}
    for function in functions:
        if not function.wait_ready():
            failures[function.name] = function.init_error or "failed to start"
    return failures


def worker_environment(
    function_environment: Mapping[str, str],
    *,
    name: str,
    region: str,
    endpoint_url: str,
    pythonpath: str,
) -> dict[str, str]:
    """A Lambda-like environment: the function's own settings, the region, fake credentials and
    the local AWS endpoint; nothing else from this shell (no stray ``GATEHOUSE_*``)."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **base,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": f"gatehouse-{name}",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Gatehouse",
        "PYTHONPATH": pythonpath,
        "PYTHONUNBUFFERED": "1",
        **function_environment,
    }
