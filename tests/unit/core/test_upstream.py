"""AWS SDK failures map to fail-closed UpstreamErrors, without the core importing botocore."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from authorizers.core.exceptions import Reason
from authorizers.core.upstream import aws_upstream_error, error_code


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "secret-ish detail"}}, "GetItem")


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "SlowDown"],
)
def test_throttling_codes_of_any_service_are_throttled(code):
    assert aws_upstream_error(client_error(code)).reason is Reason.UPSTREAM_THROTTLED


@pytest.mark.parametrize(
    "error",
    [
        client_error("ResourceNotFoundException"),
        client_error("AccessDeniedException"),
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
        RuntimeError("not an SDK error"),
    ],
)
def test_everything_else_is_unavailable_and_carries_no_message(error):
    upstream = aws_upstream_error(error)
    assert upstream.reason is Reason.UPSTREAM_UNAVAILABLE
    assert "secret" not in str(upstream)


def test_error_code_is_read_duck_typed():
    assert error_code(client_error("NotModified")) == "NotModified"
    assert error_code(ValueError("x")) == ""
