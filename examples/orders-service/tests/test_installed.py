"""This project runs against the installed wheel, never the Gatehouse checkout."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import authorizers
import gatehouse
import pytest

SITE = Path(sysconfig.get_paths()["purelib"]).resolve()
SUBCOMMANDS = [
    [],
    ["local"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "show"],
    ["keys", "revoke"],
    ["keys", "rotate"],
    ["policy"],
    ["policy", "validate"],
    ["policy", "test"],
    ["policy", "explain"],
    ["attach"],
    ["detach"],
]


def test_gatehouse_and_its_runtime_come_from_site_packages():
    for module in (gatehouse, authorizers):
        assert Path(module.__file__).resolve().is_relative_to(SITE), module.__file__


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a) or "gatehouse")
def test_every_subcommand_has_help(args):
    command = Path(sys.executable).parent / "gatehouse"
    result = subprocess.run([command, *args, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: gatehouse")
