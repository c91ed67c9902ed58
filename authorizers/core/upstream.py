"""AWS SDK failures -> :class:`UpstreamError`, in one place for every IO module.

Throttling (any service's throttling codes) becomes ``UpstreamThrottled``; anything else from
the SDK (a service error, a connection or timeout error) ``UpstreamUnavailable``. The error is
read duck-typed (a ``ClientError`` carries ``response["Error"]["Code"]``), so the core stays
free of boto3/botocore imports. Callers raise the result ``from None``: an SDK error's message
may quote request parameters.
"""

from __future__ import annotations

from typing import Final

from authorizers.core.exceptions import Reason, UpstreamError

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
