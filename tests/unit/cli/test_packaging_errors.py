"""The CLI installed without an extra it needs: one ``error:`` line and a ``hint:``, exit 2.

The base install is the authorizer runtime; ``cli`` adds click and boto3, ``testing`` adds moto
and werkzeug (local mode). A user missing one gets told which extra to install, not a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from gatehouse import local as local_module
from gatehouse.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_local_without_moto_names_the_testing_extra(monkeypatch, tmp_path):
    real = local_module.find_spec
    monkeypatch.setattr(
        local_module, "find_spec", lambda name: None if name == "moto" else real(name)
    )
    result = CliRunner().invoke(main, ["local", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "error: gatehouse local needs moto, which this installation lacks" in result.output
    assert "hint: pip install 'gatehouse[cli,testing]'" in result.output
    assert "Traceback" not in result.output


def test_the_command_without_the_cli_extra_names_it():
    # A fresh interpreter where click cannot be found: the launcher must not import it.
    code = (
        "import sys, importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda n, *a: None if n == 'click' else real(n, *a); "
        "import gatehouse._launcher as l; l.find_spec = u.find_spec; l.main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: the gatehouse command needs the cli extra",
        "hint: pip install 'gatehouse[cli]' (or 'gatehouse[all]')",
    ]


def test_importing_gatehouse_refuses_a_shadowing_authorizers_package(tmp_path):
    # Stops: a team's own `authorizers` package silently replacing Gatehouse's runtime.
    (tmp_path / "authorizers").mkdir()
    (tmp_path / "authorizers" / "__init__.py").write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import gatehouse",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: the package 'authorizers' found at ")
    assert "is not Gatehouse's runtime" in last
