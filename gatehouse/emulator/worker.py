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
from typing import IO, Any

from gatehouse.emulator.context import LambdaContext


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
            message = json.loads(line)
            event, timeout_ms = message["event"], int(message.get("timeout_ms", 10_000))
        except (ValueError, KeyError, TypeError, AttributeError):
            _reply(protocol, {"error": {"type": "Runtime.BadRequest", "message": "bad event"}})
            continue
        # The context's clock starts now, with the gateway's timeout: the handler's deadline is
        # the one Lambda would give it.
        context = LambdaContext(function_name=name, timeout_ms=timeout_ms)
        try:
            result = handler(event, context)
        except Exception as error:
            _reply(protocol, {"error": {"type": type(error).__name__, "message": str(error)}})
            continue
        _reply(protocol, {"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
