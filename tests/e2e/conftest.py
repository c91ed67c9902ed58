"""One ``gatehouse local`` per test session, on free ports of 127.0.0.1, driven over sockets.

It runs as a separate process, exactly as a user starts it (``python -m gatehouse local``):
moto, the seeded state, one worker per authorizer, the gateway on HTTP and HTTPS. It reports
its URLs, tokens, keys and certificate paths in a JSON file (hidden ``--info-file``). At the
end of the session it is stopped with SIGINT, as Ctrl-C would, and must exit 0.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Local:
    info: Mapping[str, Any]
    state_dir: Path

    @property
    def policy_available(self) -> bool:
        return "policy" not in self.info["init_failures"]

    def token(self, user: str) -> str:
        return str(self.info["tokens"][user])

    def key(self, tenant: str) -> str:
        return str(self.info["keys"][tenant])

    def call(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        *,
        tls: bool = False,
        cert: tuple[str, str] | None = None,
        context: ssl.SSLContext | None = None,
    ) -> Answer:
        url = self.info["https" if tls else "http"]
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        connection: http.client.HTTPConnection
        if tls:
            if context is None:
                context = ssl.create_default_context(cafile=self.info["pki"]["ca"])
                if cert is not None:
                    context.load_cert_chain(*cert)
            connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=20)
        else:
            connection = http.client.HTTPConnection(host, int(port), timeout=20)
        try:
            connection.request(method, path, headers=dict(headers or {}))
            response = connection.getresponse()
            raw = response.read()
            body = json.loads(raw) if raw else None
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()

    def bearer(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}


@contextlib.contextmanager
def running_local(args: list[str], work: Path, *, cwd: Path = ROOT) -> Iterator[dict[str, Any]]:
    """``python -m gatehouse local <args>`` as a user starts it, with ``--state-dir`` and
    ``--info-file`` in ``work``; yields the info once ready. At the end it is stopped with
    SIGINT, as Ctrl-C would, and must exit 0."""
    info_file = work / "info.json"
    log = (work / "stderr.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gatehouse", "local", *args,
            "--state-dir", str(work / "state"), "--info-file", str(info_file),
        ],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not info_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gatehouse local did not start:\n{(work / 'stderr.log').read_text()}")
            time.sleep(0.1)
        yield json.loads(info_file.read_text())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        log.close()
        assert code == 0, f"gatehouse local did not stop cleanly on SIGINT (exit {code})"


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    work = tmp_path_factory.mktemp("gatehouse-local")
    with running_local(["--port", "0", "--tls-port", "0", "--moto-port", "0"], work) as info:
        yield Local(info, work / "state")
