"""gatehouse.layer_build, the build behind ``layers/build.py`` and ``gatehouse layer build``.

pip is stubbed (tests/unit/layer_build_fakes.py); tests/layer/ checks real builds.
"""

from __future__ import annotations

import json
import os
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
    assert [w.split(" (")[0] for w in warnings] == ["no Python 3.14 found to compile the layer"]
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


# --- who compiles the bytecode --------------------------------------------------------------
# Fake uv, docker and python3.X executables on an otherwise empty PATH. Each records its
# arguments, then answers as the real tool does; the Python they hand over is this one, so the
# target is this interpreter's version with the running-interpreter source passed over.

THIS = layer_build.current_python()
TAG = f"cpython-{THIS.replace('.', '')}"


def _tool(bin_dir: Path, name: str, body: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / name
    tool.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"LOG = {str(bin_dir / 'calls.jsonl')!r}\n"
        "with open(LOG, 'a') as f:\n"
        "    f.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + '\\n')\n"
        f"{body}"
    )
    tool.chmod(0o755)
    return tool


def _calls(bin_dir: Path) -> list[list[str]]:
    log = bin_dir / "calls.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines]


FAKE_UV = f"""
args = sys.argv[1:]
marker = os.path.join(os.path.dirname(LOG), "uv-installed")
if args[:2] == ["python", "find"]:
    if os.environ.get("FAKE_UV_NEEDS_INSTALL") and not os.path.exists(marker):
        sys.exit("error: No interpreter found for Python {{}}".format(args[2]))
    print({sys.executable!r})
elif args[:2] == ["python", "install"]:
    if os.environ.get("FAKE_UV_OFFLINE"):
        sys.exit("error: Failed to download: connection refused")
    open(marker, "w").close()
else:
    sys.exit(2)
"""

# `docker run ... --volume SRC:DST ... --entrypoint python IMAGE ARGS`: this Python runs ARGS
# with DST read as SRC, as the container sees the mount.
FAKE_DOCKER = f"""
args = sys.argv[1:]
if args[0] == "info":
    if os.environ.get("FAKE_DOCKER_NO_ENGINE"):
        sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
    print("28.2.2")
elif args[0] == "image":
    print(args[-1] + "@sha256:" + "ab" * 32)
elif args[0] == "run":
    source, mount = args[args.index("--volume") + 1].split(":")
    rest = args[args.index("--entrypoint") + 3:]
    rest = [a.replace(mount, source) if a.startswith(mount) else a for a in rest]
    os.execv({sys.executable!r}, [{sys.executable!r}, *rest])
"""


@pytest.fixture
def elsewhere(monkeypatch, tmp_path):
    """PATH holds only tmp_path/bin, and the running interpreter claims another version."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(layer_build, "current_python", lambda: "3.0")
    return bin_dir


def _layer(tmp_path: Path) -> tuple[layer_build.Target, Path]:
    site = tmp_path / "layer" / "python"
    (site / "authorizers").mkdir(parents=True)
    (site / "authorizers" / "__init__.py").write_text("VALUE = 1\n")
    target = layer_build.make_target("x86_64", python_version=THIS)
    return target, site


def test_with_nothing_found_the_warning_lists_what_was_tried(elsewhere, tmp_path):
    target, site = _layer(tmp_path)
    warnings: list[str] = []
    assert layer_build.byte_compile(target, site, warn=warnings.append) is None
    [warning] = warnings
    assert warning.startswith(f"no Python {THIS} found to compile the layer (this interpreter is ")
    for reason in (f"no python{THIS} on PATH", "uv is not installed", "Docker is not installed"):
        assert reason in warning
    assert not list(site.rglob("*.pyc"))


def test_python_on_path_compiles_and_is_named(elsewhere, tmp_path):
    (elsewhere / f"python{THIS}").symlink_to(sys.executable)
    target, site = _layer(tmp_path)
    compiler = layer_build.byte_compile(target, site, warn=pytest.fail)
    assert compiler is not None and compiler.source == "path"
    assert compiler.where == str(elsewhere / f"python{THIS}")
    assert compiler.python == ".".join(map(str, sys.version_info[:3]))
    assert [p.name for p in (site / "authorizers").rglob("*.pyc")] == [f"__init__.{TAG}.pyc"]


def _python_399(bin_dir: Path, tmp_path: Path, probe: str) -> tuple[layer_build.Target, Path]:
    """A python3.99 on PATH that answers the version probe with ``probe`` and compiles as this
    interpreter, and a layer to build for Python 3.99."""
    _tool(
        bin_dir,
        "python3.99",
        f"if '-c' in sys.argv: print({probe!r}); sys.exit()\n"
        f"os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])\n",
    )
    _, site = _layer(tmp_path)
    return layer_build.make_target("x86_64", python_version="3.99"), site


def test_a_python_that_lies_about_its_version_fails_the_build(elsewhere, tmp_path):
    # It prints 3.99.0 to the probe but compiles as this interpreter: the bytecode it writes
    # is for the wrong runtime, so the build fails instead of shipping it.
    target, site = _python_399(elsewhere, tmp_path, "3.99.0 final")
    with pytest.raises(BuildError, match=r"reported Python 3\.99\.0 but wrote no cpython-399"):
        layer_build.byte_compile(target, site, warn=pytest.fail)


def test_a_pre_release_python_is_passed_over(elsewhere, tmp_path):
    # Its bytecode may carry another magic number than the release Lambda runs, which would
    # ignore it: a layer that says it has bytecode and compiles every module anyway.
    target, site = _python_399(elsewhere, tmp_path, "3.99.0 candidate")
    warnings: list[str] = []
    assert layer_build.byte_compile(target, site, warn=warnings.append) is None
    assert f"{elsewhere / 'python3.99'} does not run as a released Python 3.99" in warnings[0]
    assert not list(site.rglob("*.pyc"))


def test_uv_finds_a_python(elsewhere, tmp_path):
    _tool(elsewhere, "uv", FAKE_UV)
    target, site = _layer(tmp_path)
    compiler = layer_build.byte_compile(target, site, warn=pytest.fail)
    assert compiler is not None and (compiler.source, compiler.where) == ("uv", sys.executable)
    assert ["uv", "python", "find", THIS] in _calls(elsewhere)
    assert list((site / "authorizers").rglob(f"*.{TAG}.pyc"))


def test_uv_installs_a_python_it_does_not_have(elsewhere, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_UV_NEEDS_INSTALL", "1")
    _tool(elsewhere, "uv", FAKE_UV)
    target, site = _layer(tmp_path)
    compiler = layer_build.byte_compile(target, site, warn=pytest.fail)
    assert compiler is not None and compiler.source == "uv"
    uv_calls = [call for call in _calls(elsewhere) if call[0] == "uv"]
    assert uv_calls == [
        ["uv", "python", "find", THIS],
        ["uv", "python", "install", THIS],
        ["uv", "python", "find", THIS],
    ]


def test_the_lambda_build_image_compiles_when_docker_answers(elsewhere, tmp_path, monkeypatch):
    # uv is there but offline, so the image is next.
    monkeypatch.setenv("FAKE_UV_NEEDS_INSTALL", "1")
    monkeypatch.setenv("FAKE_UV_OFFLINE", "1")
    _tool(elsewhere, "uv", FAKE_UV)
    _tool(elsewhere, "docker", FAKE_DOCKER)
    target, site = _layer(tmp_path)
    compiler = layer_build.byte_compile(target, site, warn=pytest.fail)

    image = f"public.ecr.aws/sam/build-python{THIS}"
    assert compiler is not None and compiler.source == "docker"
    assert compiler.where == f"{image}@sha256:{'ab' * 32}"  # the digest, not a moving tag
    runs = [call for call in _calls(elsewhere) if call[:2] == ["docker", "run"]]
    assert runs  # the probe, then compileall
    for run in runs:
        # no network in the container, files written as this user, only the layer mounted
        assert run[run.index("--network") + 1] == "none"
        assert run[run.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
        assert run[run.index("--volume") + 1] == f"{site}:/var/task/python"
        assert run[run.index("--entrypoint") + 2] == image
    compileall = runs[-1]
    assert compileall[-5:] == ["-s", "/var/task/python", "-p", "/opt/python", "/var/task/python"]
    pyc = next((site / "authorizers").rglob(f"*.{TAG}.pyc"))
    # The container's path is stripped: tracebacks on Lambda name /opt/python/...
    assert b"/opt/python/authorizers/__init__.py" in pyc.read_bytes()
    assert str(site).encode() not in pyc.read_bytes()


def test_docker_without_an_engine_is_passed_over(elsewhere, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_NO_ENGINE", "1")
    _tool(elsewhere, "docker", FAKE_DOCKER)
    target, site = _layer(tmp_path)
    warnings: list[str] = []
    assert layer_build.byte_compile(target, site, warn=warnings.append) is None
    assert "no Docker engine answers" in warnings[0]
    assert [call[:2] for call in _calls(elsewhere)] == [["docker", "info"]]


def test_the_build_records_and_prints_who_compiled(monkeypatch, tmp_path):
    fake_pip(monkeypatch)
    result = layer_build.build_layer(tmp_path / "out", host=True, quiet=True)
    record = {"source": "running", "python": result.compiler.python, "where": sys.executable}
    assert result.manifest["compiled_by"] == record
    assert (
        f"with bytecode (Python {result.compiler.python}, this interpreter) -> "
        in (layer_build.summary(result)[0])
    )
