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
from gatehouse.emulator.functions import FUNCTION_TIMEOUT_SECONDS


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
    region = os.environ.get("AWS_REGION", "eu-west-1")
    for line in sys.stdin:
        try:
            message = json.loads(line)
            event = message["event"]
            timeout_ms = int(message.get("timeout_ms", FUNCTION_TIMEOUT_SECONDS * 1000))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
            _reply(protocol, {"error": {"type": "Runtime.BadRequest", "message": "bad event"}})
            continue
        # The context's clock starts now, with the function's timeout: the handler's deadline
        # is the one Lambda would give it.
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{region}:000000000000:function:{name}",
            log_group_name=f"/aws/lambda/{name}",
            timeout_ms=timeout_ms,
        )
        try:
            result = handler(event, context)
        except Exception as error:
            _reply(protocol, {"error": {"type": type(error).__name__, "message": str(error)}})
            continue
        _reply(protocol, {"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
