"""gatehouse.layer_build, the build behind ``layers/build.py`` and ``gatehouse layer build``.

pip is stubbed (tests/unit/layer_build_fakes.py); tests/layer/ checks real builds.
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse import layer_build
from gatehouse.layer_build import BuildError, BuildUsageError
from tests.unit.layer_build_fakes import fake_pip

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "layers" / "requirements.txt"
SHIM = REPO / "layers" / "build.py"


def test_the_shipped_requirements_are_the_repositorys_one_file():
    link = REPO / "gatehouse" / layer_build.REQUIREMENTS_RESOURCE
    assert link.is_symlink() and str(link.readlink()) == "../layers/requirements.txt"
    with layer_build.requirements_file() as path:
        assert path == REQUIREMENTS.resolve()
        pins = layer_build.read_pins(path)
    assert "cedarpy" in pins and "pyjwt" in pins
    assert not set(pins) & layer_build.FORBIDDEN


def test_the_package_is_the_one_python_imports():
    import authorizers

    assert layer_build.package_directory() == Path(authorizers.__file__).resolve().parent


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("PyJWT>=2.15", "expected a full pin 'name==version', got 'PyJWT>=2.15'"),
        ("boto3==1.44.0  # no", "boto3 must not be in the layer (Lambda provides it)"),
    ],
)
def test_only_full_pins_of_allowed_packages_are_read(tmp_path, line, message):
    path = tmp_path / "requirements.txt"
    path.write_text(f"# comment\ncachetools==8.0.1\n{line}\n")
    with pytest.raises(BuildError) as raised:
        layer_build.read_pins(path)
    assert str(raised.value) == f"{path}:3: {message}"


def test_targets():
    arm = layer_build.make_target()
    assert (arm.arch, arm.python_version, arm.platform) == (
        "arm64",
        "3.14",
        "manylinux2014_aarch64",
    )
    assert arm.cache_tag == "cpython-314"
    assert layer_build.make_target("x86_64").platform == "manylinux2014_x86_64"
    host = layer_build.make_target(host=True)
    assert host.host and host.python_version == layer_build.current_python()
    assert layer_build.ARCHITECTURES == tuple(layer_build.PLATFORMS) == ("arm64", "x86_64")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arch": "aarch64"}, "'aarch64' is not a Lambda architecture (arm64 or x86_64)"),
        ({"python_version": "3"}, "the Python version must look like 3.14, got '3'"),
        (
            {"arch": "arm64", "host": True},
            "an architecture and a host build cannot be asked for together",
        ),
    ],
)
def test_bad_targets_are_usage_errors(kwargs, message):
    with pytest.raises(BuildUsageError, match=re.escape(message)):
        layer_build.make_target(**kwargs)


def test_the_layer_must_hold_exactly_the_pins(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    site = tmp_path / "python"
    site.mkdir()
    with layer_build.requirements_file() as requirements:
        layer_build.pip_install(
            layer_build.make_target(), site, quiet=True, requirements=requirements
        )
    pins = layer_build.read_pins(REQUIREMENTS)
    layer_build.check_installed(site, pins)
    with pytest.raises(BuildError) as raised:
        layer_build.check_installed(site, {**pins, "cachetools": "1.0", "extra": "1"})
    assert str(raised.value) == (
        "layer contents differ from the requirements: missing=['extra'] extra=[] "
        "wrong=['cachetools 8.0.1 != 1.0']"
    )


def test_without_pip_nothing_is_deleted(monkeypatch, tmp_path):
    real = layer_build.importlib.util.find_spec
    monkeypatch.setattr(
        layer_build.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "pip" else real(name, *args),
    )
    out = tmp_path / "layer"
    (out / "python").mkdir(parents=True)
    (out / "python" / "old.py").write_text("")
    with pytest.raises(BuildError) as raised:
        layer_build.build_layer(out)
    assert str(raised.value) == f"pip is not installed for {sys.executable}"
    assert "ensurepip" in raised.value.hint
    assert (out / "python" / "old.py").exists()


@pytest.mark.parametrize("refused", ["root", "package", "inside-package", "site-packages"])
def test_the_output_directory_is_never_something_the_build_would_destroy(refused):
    package = layer_build.package_directory()
    out = {
        "root": Path("/"),
        "package": package,
        "inside-package": package / "build",
        "site-packages": package.parent,
    }[refused]
    with pytest.raises(BuildUsageError, match=r"refusing to use .* as the output directory"):
        layer_build.build_layer(out)
    assert package.joinpath("__init__.py").is_file()


def test_build_layer_returns_what_it_built(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    warnings: list[str] = []
    result = layer_build.build_layer(tmp_path / "layer", arch="x86_64", warn=warnings.append)
    assert result.site == tmp_path / "layer" / "python"
    assert result.target.arch == "x86_64" and result.bytecode is False
    assert result.manifest["packages"] == layer_build.read_pins(REQUIREMENTS)
    assert result.files == len(layer_build.layer_files(result.site))
    assert [w.split(",")[0] for w in warnings] == ["no python3.14 interpreter found"]
    [line] = layer_build.summary(result)
    assert line.startswith("layer: x86_64 (manylinux2014_x86_64), Python 3.14, without bytecode")


# --- layers/build.py, the repository's entry point (the Makefile's) -----------------------


def test_the_repository_script_is_the_same_command_line():
    result = subprocess.run(
        [sys.executable, str(SHIM), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: build.py [-h] [--arch {arm64,x86_64} | --host]")
    assert "default layers/build/<arch>" in " ".join(result.stdout.split()).replace(
        str(REPO) + "/", ""
    )


def test_the_repository_script_prefixes_its_messages_and_protects_layers():
    result = subprocess.run(
        [sys.executable, str(SHIM), "--out", str(REPO / "layers")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"build.py: error: refusing to use {REPO / 'layers'} as the output directory "
        "(it is deleted first)"
    )
    assert result.stderr.splitlines()[1].startswith("build.py: hint: ")
    assert (REPO / "layers" / "requirements.txt").is_file()


@pytest.mark.parametrize(
    ("argv", "out"),
    [
        ([], "layers/build/arm64"),
        (["--arch", "x86_64"], "layers/build/x86_64"),
        (["--host"], "layers/build/host"),
    ],
)
def test_the_repository_script_builds_under_layers_build_by_default(monkeypatch, argv, out):
    seen: dict[str, object] = {}

    def build(path, **kwargs):
        seen.update(kwargs, out=path)
        raise BuildError("stop here")

    monkeypatch.setattr(layer_build, "build_layer", build)
    monkeypatch.setattr(sys, "argv", [str(SHIM), *argv])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts the checkout first
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(SHIM), run_name="__main__")
    assert exited.value.code == 1
    assert seen["out"] == REPO / out
    assert REPO / "layers" in seen["protect"]


def test_python_m_gatehouse_layer_build_needs_no_cli_extra():
    # The base install has no click: `python -m gatehouse.layer_build` is argparse only.
    code = "import sys, gatehouse.layer_build; print(sorted({'click', 'boto3'} & set(sys.modules)))"
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert imported.stdout == "[]\n"
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse.layer_build", "--arch", "sparc"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice: 'sparc'" in result.stderr
