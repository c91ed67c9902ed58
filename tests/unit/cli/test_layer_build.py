"""``gatehouse layer build``: the layer from the installed package, one error line when it fails.

pip is stubbed (tests/unit/layer_build_fakes.py): these tests never reach a package index.
``catch_exceptions=False`` makes an exception escaping the command fail the test.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import authorizers
from gatehouse import layer_build
from gatehouse.cli import main
from tests.unit.layer_build_fakes import PIP_NO_NETWORK, PIP_NO_WHEEL, PIP_OTHER, fake_pip

REPO = Path(__file__).resolve().parents[3]
PINS = layer_build.read_pins(REPO / "layers" / "requirements.txt")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["layer", "build", *args], catch_exceptions=False)


def error_lines(result: Result) -> tuple[str, str]:
    """stderr's one ``error:`` line and one ``hint:`` line; no traceback anywhere."""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    hints = [line for line in lines if line.startswith("hint: ")]
    assert len(errors) == 1 and len(hints) == 1, result.stderr
    return errors[0], hints[0]


def package_files(package: Path) -> dict[str, bytes]:
    return {
        path.relative_to(package).as_posix(): path.read_bytes()
        for path in package.rglob("*")
        if path.is_file()
    }


# --- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "hint"),
    [
        ("aarch64", "hint: Lambda calls it arm64: --arch arm64"),
        ("AMD64", "hint: Lambda calls it x86_64: --arch x86_64"),
        ("mips", "hint: pass --arch arm64 or --arch x86_64 (default arm64)"),
    ],
)
def test_an_unknown_arch_is_a_usage_error_naming_the_two(monkeypatch, tmp_path, arch, hint):
    pip = fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = run("--arch", arch)
    assert result.exit_code == 2
    assert error_lines(result) == (
        f"error: --arch {arch!r} is not a Lambda architecture (arm64 or x86_64)",
        hint,
    )
    assert pip.commands == []
    assert list(tmp_path.iterdir()) == []


def test_arch_and_host_together_are_a_usage_error(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = run("--arch", "arm64", "--host")
    assert result.exit_code == 2
    error, hint = error_lines(result)
    assert error == "error: --arch and --host cannot be used together"
    assert "--host builds for this machine" in hint


def test_the_current_directory_is_never_the_output_directory(monkeypatch, tmp_path):
    pip = fake_pip(monkeypatch)
    (tmp_path / "app.py").write_text("keep me\n")
    monkeypatch.chdir(tmp_path)
    result = run("--out", ".")
    assert result.exit_code == 2
    error, hint = error_lines(result)
    assert (
        error == f"error: refusing to use {tmp_path} as the output directory (it is deleted first)"
    )
    assert "build/layer/arm64" in hint
    assert (tmp_path / "app.py").read_text() == "keep me\n"
    assert pip.commands == []


def test_a_directory_that_holds_something_else_is_not_deleted(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("keep me\n")
    monkeypatch.chdir(tmp_path)
    result = run("--out", "src")
    assert result.exit_code == 2
    error, _hint = error_lines(result)
    assert error == (
        f"error: refusing to use {src} as the output directory (it is not empty and holds no "
        "layer, and it is deleted first)"
    )
    assert (src / "main.py").read_text() == "keep me\n"


# --- pip fails ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "detail", "in_hint"),
    [
        (
            PIP_NO_WHEEL,
            "no wheel of cedarpy==4.12.2 found",
            "needs a manylinux2014_aarch64 wheel of cedarpy==4.12.2 for CPython 3.14",
        ),
        (
            PIP_NO_NETWORK,
            "could not reach the package index (looking for aws-lambda-powertools==3.37.0)",
            "check the network and proxy, or point PIP_INDEX_URL at a mirror",
        ),
        (PIP_OTHER, "Got        11ee", "no access to the package index are the usual causes"),
        ("", "pip printed no error", "no access to the package index are the usual causes"),
    ],
    ids=["no-wheel", "no-network", "last-line", "silent"],
)
def test_a_failing_pip_is_one_error_line_and_a_hint(monkeypatch, tmp_path, stderr, detail, in_hint):
    pip = fake_pip(monkeypatch, returncode=1, stderr=stderr)
    monkeypatch.chdir(tmp_path)
    result = run("--quiet")
    assert result.exit_code == 1
    error, hint = error_lines(result)
    assert error == (
        f"error: pip install failed (exit 1) for manylinux2014_aarch64 / Python 3.14: {detail}"
    )
    assert in_hint in hint
    log = tmp_path / "gatehouse-layer" / "arm64" / "pip.log"
    assert hint.endswith(f"; pip's output: {log}")
    assert log.read_text() == stderr
    assert "ERROR:" not in result.stderr  # pip's own lines are in the log, not repeated
    assert result.stdout == ""
    assert len(pip.commands) == 1


def test_a_zip_path_that_cannot_be_written_is_one_error_line(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").write_text("a file, not a directory\n")
    result = run("--quiet", "--zip", "dist/layer.zip")
    assert result.exit_code == 1
    error, hint = error_lines(result)
    assert error.startswith(f"error: {tmp_path / 'dist'}")
    assert "paths this user can write" in hint


# --- a build --------------------------------------------------------------------------------


def test_a_build_writes_the_layer_and_its_manifest_from_the_installed_package(
    monkeypatch, tmp_path
):
    pip = fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = run()  # the defaults: arm64, ./gatehouse-layer/arm64
    assert result.exit_code == 0, result.output

    out = tmp_path / "gatehouse-layer" / "arm64"
    site = out / "python"
    [command] = pip.commands
    assert command[command.index("--target") + 1] == str(site)
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == "3.14"
    assert "--only-binary=:all:" in command and "--no-deps" in command
    requirements = Path(command[command.index("-r") + 1])
    assert requirements.read_text() == (REPO / "layers" / "requirements.txt").read_text()

    manifest = json.loads((out / "gatehouse-layer.json").read_text())
    assert json.loads((site / "gatehouse-layer.json").read_text()) == manifest
    assert manifest["packages"] == PINS
    assert (manifest["arch"], manifest["platform"]) == ("arm64", "manylinux2014_aarch64")
    assert (manifest["python_version"], manifest["bytecode"]) == ("3.14", None)
    assert manifest["built_with"]["gatehouse"] == authorizers.__version__

    package = Path(authorizers.__file__).resolve().parent
    shipped = package_files(site / "authorizers")
    expected = {
        name: data
        for name, data in package_files(package).items()
        if name.endswith(".py") or name == "py.typed"
    }
    assert shipped == expected
    assert "core/__init__.py" in shipped
    assert not (site / "bin").exists()

    assert result.stderr.startswith("warning: no Python 3.14 found to compile the layer (")
    assert result.stdout.startswith(
        f"layer: arm64 (manylinux2014_aarch64), Python 3.14, without bytecode -> {site}: "
    )


def test_authorizers_is_copied_from_wherever_python_imports_it(monkeypatch, tmp_path):
    # As from a wheel: site-packages/authorizers, with caches and stray files that stay out.
    package = tmp_path / "site-packages" / "authorizers"
    for name, text in {
        "__init__.py": "__version__ = '0.2.0'\n",
        "py.typed": "",
        "core/__init__.py": "",
        "core/__pycache__/__init__.cpython-311.pyc": "x",
        "core/notes.txt": "not code",
        "core/tests/test_core.py": "",
        "core/test_pipeline.py": "",
        "conftest.py": "",
    }.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    monkeypatch.setattr(authorizers, "__file__", str(package / "__init__.py"))
    fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)

    result = run("--quiet", "--arch", "x86_64", "--out", "build/layer/x86_64")
    assert result.exit_code == 0, result.output
    site = tmp_path / "build" / "layer" / "x86_64" / "python"
    assert sorted(package_files(site / "authorizers")) == [
        "__init__.py",
        "core/__init__.py",
        "py.typed",
    ]
    manifest = json.loads((site.parent / "gatehouse-layer.json").read_text())
    assert manifest["platform"] == "manylinux2014_x86_64"
    assert result.stdout == ""


def test_a_second_build_replaces_the_first(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert run("--quiet").exit_code == 0
    stale = tmp_path / "gatehouse-layer" / "arm64" / "python" / "stale.py"
    stale.write_text("")
    assert run("--quiet").exit_code == 0
    assert not stale.exists()


def test_zip_holds_the_python_directory(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = run("--out", "layer", "--zip", "dist/layer.zip")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "dist" / "layer.zip") as zf:
        names = zf.namelist()
        dates = {info.date_time for info in zf.infolist()}
    assert names == sorted(names)
    assert all(name.startswith("python/") for name in names)
    assert "python/gatehouse-layer.json" in names
    assert "python/authorizers/core/__init__.py" in names
    assert dates == {(1980, 1, 1, 0, 0, 0)}
    assert result.stdout.splitlines()[-1].startswith(f"zip: {tmp_path / 'dist' / 'layer.zip'}: ")


def test_host_builds_for_this_python_with_bytecode(monkeypatch, tmp_path):
    pip = fake_pip(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = run("--host", "--quiet")
    assert result.exit_code == 0, result.output
    [command] = pip.commands
    assert "--platform" not in command and "--python-version" not in command
    out = tmp_path / "gatehouse-layer" / "host"
    manifest = json.loads((out / "gatehouse-layer.json").read_text())
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    assert (manifest["platform"], manifest["bytecode"]) == ("host", tag)
    pycs = list((out / "python" / "authorizers").rglob("*.pyc"))
    assert pycs and all(f".{tag}." in pyc.name for pyc in pycs)
    assert result.stderr == ""
