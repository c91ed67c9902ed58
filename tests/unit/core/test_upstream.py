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


def test_a_lazy_client_is_built_once_and_handed_out_only_once_prepared() -> None:
    """What it stops: a worker thread left behind at a deadline still building the DynamoDB
    client while the next call starts, and that call using the client before its
    unparseable-reply hook is registered (a proxy's HTML page would read as "no item")."""
    import threading
    import time

    from authorizers.core.upstream import LazyClient

    built: list[object] = []
    prepared: list[object] = []

    def factory() -> object:
        time.sleep(0.05)  # a slow boto3.client()
        client = object()
        built.append(client)
        return client

    def prepare(client: object) -> None:
        time.sleep(0.05)
        prepared.append(client)

    lazy = LazyClient(factory, prepare=prepare)
    seen: list[object] = []

    def use() -> None:
        client = lazy.get()
        assert client in prepared  # never handed out before it is prepared
        seen.append(client)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(built) == 1 and len(seen) == 4 and set(map(id, seen)) == {id(built[0])}
