"""The moto server local mode plays AWS with, and clients for it (both modes share it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from gatehouse.localmode import moto_gaps

HOST: Final = "127.0.0.1"

Clients = Callable[[str], Any]


def start_moto(port: int, stoppers: list[Callable[[], None]]) -> str:
    """Start moto on ``HOST:port`` (``0``: a free port); its URL. ``stoppers`` gets its stop."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - slow import, only when starting

    # What moto lacks of the calls `gatehouse attach` makes: a rehearsal against local mode
    # then behaves as against AWS (docs/local.md).
    moto_gaps.install()
    moto = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    moto.start()
    stoppers.append(moto.stop)
    return f"http://{HOST}:{moto.get_host_and_port()[1]}"


def moto_clients(moto_url: str, region: str) -> Clients:
    """``service -> boto3 client`` for moto at ``moto_url``, with moto's fake credentials."""
    import boto3  # noqa: PLC0415 - slow import, only when starting

    def client(service: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )

    return client
