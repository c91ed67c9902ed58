"""A stand-in for ``pip install`` in the layer build, so its tests never reach the network.

:class:`FakePip` replaces ``subprocess.run``: a ``python -m pip install`` call records its
command and either "installs" every pinned distribution (a ``.dist-info`` each, plus the junk
some wheels bring) or fails with the given stderr; any other command (compileall, an
interpreter probe) runs for real.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Final

import pytest

from gatehouse import layer_build

REAL_RUN = subprocess.run

#: What pip 23 prints (stderr) in the two usual failures, recorded from real runs.
PIP_NO_WHEEL = (
    "ERROR: Could not find a version that satisfies the requirement cedarpy==4.12.2 "
    "(from versions: none)\n"
    "ERROR: No matching distribution found for cedarpy==4.12.2\n"
)
PIP_NO_NETWORK = (
    "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) "
    "after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection."
    "HTTPSConnection object at 0x7f7043548110>: Failed to establish a new connection: "
    "[Errno -3] Temporary failure in name resolution')': /simple/aws-lambda-powertools/\n"
    "ERROR: Could not find a version that satisfies the requirement "
    "aws-lambda-powertools==3.37.0 (from versions: none)\n"
    "ERROR: No matching distribution found for aws-lambda-powertools==3.37.0\n"
)
PIP_OTHER = (
    "Collecting cryptography==50.0.2\n"
    "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n"
    "    cryptography==50.0.2 from https://files.example/cryptography.whl:\n"
    "        Expected sha256 00ff\n"
    "             Got        11ee\n"
)


class FakePip:
    """``subprocess.run`` with pip stubbed out (see the module docstring)."""

    def __init__(self, *, returncode: int = 0, stderr: str = "") -> None:
        self.returncode = returncode
        self.stderr = stderr
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], *args: Any, **kwargs: Any) -> Any:
        if command[1:4] != ["-m", "pip", "install"]:
            return REAL_RUN(command, *args, **kwargs)
        self.commands.append(list(command))
        if self.returncode == 0:
            site = Path(command[command.index("--target") + 1])
            requirements = Path(command[command.index("-r") + 1])
            for name, version in layer_build.read_pins(requirements).items():
                dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
                dist.mkdir(parents=True)
                (dist / "METADATA").write_text(
                    f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
                )
            (site / "bin").mkdir()  # junk some wheels install: the build removes it
            (site / "bin" / "jp.py").write_text("", encoding="utf-8")
        return subprocess.CompletedProcess(command, self.returncode, None, self.stderr)


#: A ``PATH`` with nothing on it: no python3.X, uv or Docker.
NO_TOOLS: Final = "/nonexistent/gatehouse-test-bin"


def fake_pip(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> FakePip:
    """Install a :class:`FakePip`, with :data:`NO_TOOLS` as ``PATH``: only this interpreter
    compiles a layer, and only for its own version."""
    fake = FakePip(**kwargs)
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setenv("PATH", NO_TOOLS)
    return fake
