"""The runtime of one emulated authorizer function: ``python -m gatehouse.emulator.worker H``.

Imports handler ``H`` (``package.module.function``) once, as Lambda's init phase, then answers
JSON-line requests on stdin (see :mod:`gatehouse.emulator.functions`). The protocol keeps the
process's original stdout; ``sys.stdout`` and file descriptor 1 are pointed at stderr, so what
the handler prints or logs (Powertools writes to stdout) never corrupts a reply.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import uuid
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass
class LambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _reply(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message, default=str) + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    # Ctrl-C reaches the whole process group: only the parent handles it (it closes our stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if len(argv) != 1 or "." not in argv[0]:
        _reply(protocol, {"init_error": {"type": "Usage", "message": "worker HANDLER"}})
        return 2
    module_name, _, function_name = argv[0].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:
        _reply(protocol, {"init_error": {"type": type(error).__name__, "message": str(error)}})
        return 1
    _reply(protocol, {"ready": argv[0]})
    name = os.environ.get("POWERTOOLS_SERVICE_NAME", module_name)
    for line in sys.stdin:
        try:
            event = json.loads(line)["event"]
        except (ValueError, KeyError, TypeError):
            _reply(protocol, {"error": {"type": "Runtime.BadRequest", "message": "bad event"}})
            continue
        try:
            result = handler(event, LambdaContext(function_name=name))
        except Exception as error:
            _reply(protocol, {"error": {"type": type(error).__name__, "message": str(error)}})
            continue
        _reply(protocol, {"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
