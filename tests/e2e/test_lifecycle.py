"""How ``gatehouse local`` starts and refuses to start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]


def test_a_taken_port_is_a_clear_error_with_exit_code_5(local):
    taken = local.info["http"].rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse", "local", "--port", taken, "--tls-port", "0",
         "--moto-port", "0", "--state-dir", str(local.state_dir / "second")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 5
    assert f"port {taken} on 127.0.0.1 is already in use" in result.stderr
    assert "hint:" in result.stderr


def test_the_walkthrough_script_is_written(local):
    script = (local.state_dir / "walkthrough.sh").read_text()
    assert "curl" in script
    assert local.info["http"] in script
