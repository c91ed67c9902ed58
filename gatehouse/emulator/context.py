"""The Lambda context object a handler receives, for every in-process or emulated invocation.

One implementation for the testing kit (``gatehouse.testing.LambdaContext``) and the emulator's
workers: the attributes Powertools reads, and a real ``get_remaining_time_in_millis``, which
Gatehouse reads for the invocation's deadline (docs/core.md, "Deadlines").
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

__all__ = ["LambdaContext"]


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The Lambda context object a handler receives: what Powertools and Gatehouse read.

    >>> LambdaContext(timeout_ms=3000).get_remaining_time_in_millis() <= 3000
    True
    """

    function_name: str = "gatehouse-authorizer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:gatehouse-authorizer"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/gatehouse-authorizer"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"
    #: The function's timeout: the time an invocation has from the moment this context is made.
    timeout_ms: int = 5000
    _started: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left of ``timeout_ms`` since this context was made."""
        return max(0, self.timeout_ms - int((time.monotonic() - self._started) * 1000))
