"""AWS SDK failures -> :class:`UpstreamError`, in one place for every IO module.

Throttling (any service's throttling codes) becomes ``UpstreamThrottled``; anything else from
the SDK (a service error, a connection or timeout error) ``UpstreamUnavailable``. The error is
read duck-typed (a ``ClientError`` carries ``response["Error"]["Code"]``), so the core stays
free of boto3/botocore imports. Callers raise the result ``from None``: an SDK error's message
may quote request parameters.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from authorizers.core.exceptions import Reason, UpstreamError
from authorizers.core.observability import logger

THROTTLING_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",  # DynamoDB
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",  # S3
    }
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``""`` for other errors)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    details = response.get("Error")
    code = details.get("Code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else ""


def aws_upstream_error(error: BaseException) -> UpstreamError:
    """The fail-closed error for an AWS SDK failure."""
    if error_code(error) in THROTTLING_CODES:
        return UpstreamError(Reason.UPSTREAM_THROTTLED)
    return UpstreamError(Reason.UPSTREAM_UNAVAILABLE)


class LazyClient:
    """An SDK client built on first use, once, and handed out only when ready.

    Upstream calls run on worker threads (:mod:`authorizers.core.deadline`), and a worker left
    behind at a deadline may still be building the client when the next call starts. So the
    client is built under a lock and published only after ``prepare`` (a safety hook such as
    :func:`refuse_unparseable_dynamodb_replies`) has run: no call ever sees it without.
    boto3 also documents its default session as unsafe to share between threads while
    clients are being created.
    """

    def __init__(
        self, factory: Callable[[], Any], prepare: Callable[[Any], None] | None = None
    ) -> None:
        self._factory = factory
        self._prepare = prepare
        self._client: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                built = self._factory()
                if self._prepare is not None:
                    self._prepare(built)
                self._client = built
            return self._client


_DYNAMODB_BEFORE_PARSE: Final = "before-parse.dynamodb.GetItem"


def refuse_unparseable_dynamodb_replies(client: Any) -> None:
    """Make ``client``'s GetItem raise ``UpstreamError`` (``UpstreamUnavailable``) on a 2xx reply
    that is not a JSON object, or whose ``Item`` is not one.

    botocore reads such a body (a proxy's HTML page, a truncated reply) as an empty answer, "no
    such item": a key store would then answer 401 UnknownCredential and negative-cache it, and
    a revocation list would answer "not revoked". Both are upstream faults, so they must fail
    closed as one. The hook sees the raw reply before botocore parses it; a client without
    botocore's event system (a test fake) is left as it is, and registering twice is a no-op.
    """
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is not None:
        events.register(
            _DYNAMODB_BEFORE_PARSE, _check_dynamodb_reply, unique_id=_DYNAMODB_BEFORE_PARSE
        )


def _check_dynamodb_reply(response_dict: Mapping[str, Any], **_: Any) -> None:
    status = response_dict.get("status_code")
    if not isinstance(status, int) or status >= 300:
        return  # an error status: botocore's error parser makes it a ClientError
    try:
        reply = json.loads(response_dict.get("body") or b"")
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        reply = None
    if isinstance(reply, dict) and isinstance(reply.get("Item", {}), dict):
        return
    # Never the body: it may hold an item, and so a usage-plan key value.
    logger.error("unparseable dynamodb reply", extra={"http_status": status})
    raise UpstreamError(Reason.UPSTREAM_UNAVAILABLE)
