"""Build the Gatehouse Lambda layer from this package as installed (no Docker needed).

The layer is ``<out>/python/`` (Lambda mounts it as ``/opt/python``) and holds the pinned runtime
dependencies (``layers/requirements.txt`` in the Gatehouse repository, shipped in the wheel as
``gatehouse/layer-requirements.txt``) plus the ``authorizers`` package, copied from where Python
imports it (the checkout, or an installed wheel's site-packages). Three ways in::

    gatehouse layer build --arch arm64 --out build/layer/arm64     # the CLI (docs/cli.md)
    python -m gatehouse.layer_build --arch x86_64 --zip dist/layer-x86_64.zip
    python layers/build.py --host --out layers/build/host          # in the Gatehouse repository

Cross builds use pip's ``--platform manylinux2014_<arch> --implementation cp --python-version``
with ``--only-binary=:all:`` (no Docker). Dependencies are installed with ``--no-deps``: the
requirements file is the complete closure. pip's own byte-compilation is turned off because it
compiles with the interpreter running pip, not the target one; the layer is compiled afterwards
(unchecked-hash pycs, since ``/opt`` is read-only on Lambda) by a Python of the runtime's own
version, looked for in this order (:func:`find_compiler`): the running interpreter,
``python3.X`` on ``PATH``, ``uv python find`` (then ``uv python install``) when uv is installed,
and AWS SAM's Lambda build image (:data:`BUILD_IMAGE`) when a Docker engine answers. The
summary and the manifest's ``compiled_by`` say which one compiled it; with none, the layer
ships without bytecode after one warning that lists what was tried. The build is reproducible:
the output directory is recreated, the manifest holds no timestamps and ``--zip`` writes sorted
entries with fixed timestamps.

The manifest (:data:`MANIFEST_NAME`) is written twice, with the same content: inside the layer
(``python/gatehouse-layer.json``, so a deployed layer says what it holds) and next to
``python/`` (``<out>/gatehouse-layer.json``, what ``gatehouse.cdk.GatehouseLayer`` reads to
check the architecture).

Public functions: :func:`build_layer` (the whole build; returns a :class:`LayerBuild`),
:func:`summary`, :func:`main` (the argparse command line), and the steps it is made of:
:func:`requirements_file`, :func:`package_directory`, :func:`read_pins`, :func:`make_target`,
:func:`host_arch`, :func:`pip_install`, :func:`check_installed`, :func:`remove_junk`,
:func:`copy_package`, :func:`find_interpreter`, :func:`byte_compile`, :func:`write_manifest`,
:func:`layer_files`, :func:`write_zip`. Failures raise :class:`BuildError` (with a hint);
a bad request (architecture, Python version, output directory) raises :class:`BuildUsageError`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import authorizers

__all__ = [
    "ARCHITECTURES",
    "BUILD_IMAGE",
    "COMPILER_SOURCES",
    "DEFAULT_ARCH",
    "FORBIDDEN",
    "HOST_ARCHES",
    "LAMBDA_PYTHON",
    "MANIFEST_NAME",
    "PLATFORMS",
    "REQUIREMENTS_RESOURCE",
    "BuildError",
    "BuildUsageError",
    "Compiler",
    "LayerBuild",
    "Target",
    "build_layer",
    "byte_compile",
    "check_installed",
    "copy_package",
    "current_python",
    "find_compiler",
    "find_interpreter",
    "host_arch",
    "layer_files",
    "main",
    "make_target",
    "normalize",
    "package_directory",
    "pip_install",
    "read_pins",
    "remove_junk",
    "requirements_file",
    "summary",
    "write_manifest",
    "write_zip",
]

#: The pinned requirements, package data of ``gatehouse`` (a link to ``layers/requirements.txt``
#: in the repository; the wheel carries the file itself).
REQUIREMENTS_RESOURCE: Final = "layer-requirements.txt"
MANIFEST_NAME: Final = "gatehouse-layer.json"

# Newest runtime known to aws-cdk-lib 2.275 (cdk-nag rule L1 wants it).
LAMBDA_PYTHON: Final = "3.14"
#: The Lambda architectures a layer is built for, with pip's platform tag for each. The one
#: list of architecture names for the build, ``layers/build.py`` and ``gatehouse layer build``.
PLATFORMS: Final = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
ARCHITECTURES: Final = tuple(PLATFORMS)
DEFAULT_ARCH: Final = "arm64"
#: ``platform.machine()`` values (and common spellings) to Lambda's architecture names.
HOST_ARCHES: Final = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

# Never in the layer: the Lambda runtime provides boto3/botocore (and they are 20+ MB).
FORBIDDEN: Final = frozenset({"boto3", "botocore", "s3transfer", "urllib3"})
# Installed next to the packages by some wheels; useless (or harmful) in /opt/python.
JUNK_TOP_LEVEL: Final = ("bin", "tests", "test")
#: pip's complete output is kept here (next to ``python/``, outside the layer) when it fails.
PIP_LOG_NAME: Final = "pip.log"

ZIP_DATE_TIME: Final = (1980, 1, 1, 0, 0, 0)
_PIN: Final = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.!+_-]+)$")
_PY_VERSION: Final = re.compile(r"^3\.\d{1,2}$")

# What pip prints when it fails; the requirement is the first whitespace-free word after it.
_PIP_NO_MATCH: Final = re.compile(r"No matching distribution found for (\S+)")
_PIP_NO_VERSION: Final = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)"
)
_PIP_NETWORK: Final = re.compile(
    r"NewConnectionError|Failed to establish a new connection|ConnectTimeoutError|"
    r"ReadTimeoutError|ProxyError|SSLError|Name or service not known|"
    r"Temporary failure in name resolution|nodename nor servname|Network is unreachable"
)
_USUAL_CAUSES: Final = (
    "a missing wheel for the platform or no access to the package index are the usual causes"
)
_MAX_DETAIL: Final = 300


class BuildError(Exception):
    """A build step failed; the message says which, ``hint`` what to do."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BuildUsageError(BuildError):
    """The request is wrong (architecture, Python version, output directory); nothing was built."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """What the layer is built for: a Lambda architecture and Python, or this machine."""

    arch: str
    python_version: str
    host: bool

    @property
    def cache_tag(self) -> str:
        major, minor = self.python_version.split(".")
        return f"cpython-{major}{minor}"

    @property
    def platform(self) -> str:
        return sysconfig.get_platform() if self.host else PLATFORMS[self.arch]


@dataclass(frozen=True, kw_only=True)
class Compiler:
    """A Python of the target version that byte-compiles the layer, and where it was found.

    ``command`` runs that Python (arguments follow). ``site`` is where it sees the layer's
    ``python/`` directory: the directory itself, or its mount point inside a container.
    """

    source: str
    """One of :data:`COMPILER_SOURCES`."""
    python: str
    """The full version it reported, e.g. ``3.14.2``."""
    command: tuple[str, ...]
    site: str
    where: str
    """What it is, for the summary: a path, or the image with its digest."""

    def record(self) -> dict[str, str]:
        """The manifest's ``compiled_by``."""
        return {"source": self.source, "python": self.python, "where": self.where}


@dataclass(frozen=True, kw_only=True)
class LayerBuild:
    """A finished build: ``site`` is ``<out>/python``; ``size`` in bytes, of ``files`` files."""

    target: Target
    out: Path
    site: Path
    compiler: Compiler | None
    files: int
    size: int
    zip_path: Path | None
    manifest: dict[str, Any]

    @property
    def bytecode(self) -> bool:
        """Whether the layer carries bytecode for its Python."""
        return self.compiler is not None


def normalize(name: str) -> str:
    """PEP 503 name normalization (``typing_extensions`` == ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@contextmanager
def requirements_file() -> Iterator[Path]:
    """The pinned requirements shipped with this package, as a file pip can read (``-r``).

    In the repository it resolves to ``layers/requirements.txt`` (the one source); from an
    installed wheel, to the copy in ``site-packages/gatehouse/``.
    """
    resource = importlib.resources.files("gatehouse") / REQUIREMENTS_RESOURCE
    if not resource.is_file():
        raise BuildError(
            f"{REQUIREMENTS_RESOURCE} is missing from the gatehouse package",
            hint="reinstall gatehouse (pip install --force-reinstall gatehouse); in the "
            "repository, gatehouse/layer-requirements.txt links to layers/requirements.txt",
        )
    with importlib.resources.as_file(resource) as path:
        yield path.resolve()


def package_directory() -> Path:
    """The ``authorizers`` package the layer ships: where Python imports it from."""
    location = authorizers.__file__
    if location is None:  # a namespace package: not Gatehouse's runtime
        raise BuildError(
            "the imported 'authorizers' package has no __init__.py",
            hint="reinstall gatehouse (pip install --force-reinstall gatehouse)",
        )
    return Path(location).resolve().parent


def read_pins(path: Path) -> dict[str, str]:
    """Parse ``name==version`` lines; anything not fully pinned is an error."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            raise BuildError(f"{path}:{number}: expected a full pin 'name==version', got {line!r}")
        name = normalize(match["name"])
        if name in FORBIDDEN:
            raise BuildError(
                f"{path}:{number}: {name} must not be in the layer (Lambda provides it)"
            )
        pins[name] = match["version"]
    return pins


def host_arch() -> str:
    """This machine's architecture, by Lambda's name for it."""
    machine = platform.machine().lower()
    try:
        return HOST_ARCHES[machine]
    except KeyError:
        raise BuildError(f"unsupported host architecture {machine!r}") from None


def current_python() -> str:
    """The running interpreter's ``X.Y``."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def make_target(
    arch: str | None = None, *, host: bool = False, python_version: str | None = None
) -> Target:
    """The build target: ``arch`` (default arm64) and Python (default :data:`LAMBDA_PYTHON`),
    or with ``host`` this machine's architecture and the running Python."""
    if python_version is not None and not _PY_VERSION.match(python_version):
        raise BuildUsageError(
            f"the Python version must look like 3.14, got {python_version!r}",
            hint=f"Lambda's runtime for the layer is Python {LAMBDA_PYTHON}",
        )
    if host:
        if arch is not None:
            raise BuildUsageError(
                "an architecture and a host build cannot be asked for together",
                hint="a host build is for this machine's architecture and Python",
            )
        return Target(
            arch=host_arch(), python_version=python_version or current_python(), host=True
        )
    arch = arch or DEFAULT_ARCH
    if arch not in PLATFORMS:
        raise BuildUsageError(
            f"{arch!r} is not a Lambda architecture ({' or '.join(ARCHITECTURES)})",
            hint=f"the default is {DEFAULT_ARCH} (Graviton)",
        )
    return Target(arch=arch, python_version=python_version or LAMBDA_PYTHON, host=False)


def _pip_failure(stderr: str, target: Target, returncode: int) -> tuple[str, str]:
    """One line for what pip said (the failing requirement, else its last line) and a hint."""
    requirement = next(
        (m[1] for pattern in (_PIP_NO_MATCH, _PIP_NO_VERSION) if (m := pattern.search(stderr))),
        None,
    )
    where = f"{target.platform} / Python {target.python_version}"
    if _PIP_NETWORK.search(stderr):
        looking = f" (looking for {requirement})" if requirement else ""
        detail = f"could not reach the package index{looking}"
        hint = (
            "the build downloads the pinned wheels from the package index: check the network "
            "and proxy, or point PIP_INDEX_URL at a mirror that has them"
        )
    elif requirement is not None:
        detail = f"no wheel of {requirement} found"
        hint = (
            f"{_USUAL_CAUSES}; the index (PIP_INDEX_URL) needs a {target.platform} wheel of "
            f"{requirement} for CPython {target.python_version}"
        )
    else:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        detail = lines[-1].removeprefix("ERROR: ") if lines else "pip printed no error"
        if len(detail) > _MAX_DETAIL:
            detail = detail[: _MAX_DETAIL - 3] + "..."
        hint = _USUAL_CAUSES
    return f"pip install failed (exit {returncode}) for {where}: {detail}", hint


def pip_install(
    target: Target, site: Path, *, quiet: bool, requirements: Path, log: Path | None = None
) -> None:
    """``pip install --no-deps --only-binary=:all: --target site -r requirements`` for target.

    pip's progress goes to stdout as it runs (none with ``quiet``); its stderr is collected and
    passed on when pip succeeds. When it fails, the stderr goes to ``log`` and the
    :class:`BuildError` names the requirement that failed (or pip's last line).
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-input",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--no-compile",
        "--target",
        str(site),
        "-r",
        str(requirements),
    ]
    if not target.host:
        command += ["--platform", target.platform, "--implementation", "cp"]
    if not target.host or target.python_version != current_python():
        command += ["--python-version", target.python_version]
    if quiet:
        command.append("--quiet")
    result = subprocess.run(
        command, check=False, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    stderr = result.stderr or ""
    if result.returncode == 0:
        sys.stderr.write(stderr)
        return
    message, hint = _pip_failure(stderr, target, result.returncode)
    if log is not None:
        log.write_text(stderr, encoding="utf-8")
        hint += f"; pip's output: {log}"
    raise BuildError(message, hint=hint)


def check_installed(site: Path, pins: dict[str, str], *, source: str = "the requirements") -> None:
    """The layer holds exactly the pinned distributions, at the pinned versions."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions(path=[str(site)]):
        found[normalize(dist.metadata["Name"])] = dist.version
    if found != pins:
        missing = sorted(set(pins) - set(found))
        extra = sorted(set(found) - set(pins))
        wrong = sorted(
            f"{n} {found[n]} != {pins[n]}" for n in set(pins) & set(found) if found[n] != pins[n]
        )
        raise BuildError(f"layer contents differ from {source}: {missing=} {extra=} {wrong=}")


def copy_package(destination: Path, source: Path | None = None) -> None:
    """Copy ``authorizers/``: only ``*.py`` and ``py.typed``, no caches, no tests.

    ``source`` defaults to :func:`package_directory`.
    """
    package = source if source is not None else package_directory()
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if any(part in {"__pycache__", "tests", "test"} for part in relative.parts[:-1]):
            continue
        if not path.is_file():
            continue
        if path.name != "py.typed" and (
            path.suffix != ".py" or path.name.startswith("test_") or path.name == "conftest.py"
        ):
            continue
        out = destination / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)


def remove_junk(site: Path) -> None:
    """Drop ``bin/``, top-level ``tests``/``test`` and every ``__pycache__``."""
    for name in JUNK_TOP_LEVEL:
        shutil.rmtree(site / name, ignore_errors=True)
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)


#: The order :func:`find_compiler` looks in.
COMPILER_SOURCES: Final = ("running", "path", "uv", "docker")
#: AWS SAM's build image of a Lambda Python runtime (Amazon ECR Public), whose ``python`` is the
#: runtime's own: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-image-repositories.html
BUILD_IMAGE: Final = "public.ecr.aws/sam/build-python{version}"
_CONTAINER_SITE: Final = "/var/task/python"
# The version and its release level: a pre-release may write bytecode with another magic
# number than the release Lambda runs (which would then ignore it and compile every module).
_PROBE: Final = "import sys; v = sys.version_info; print('%d.%d.%d' % v[:3], v.releaselevel)"
# Seconds: a probe answers at once; uv may download an interpreter, Docker pull an image.
_PROBE_SECONDS: Final = 60
_UV_INSTALL_SECONDS: Final = 600
_DOCKER_PULL_SECONDS: Final = 1200


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    """``command``'s result, or None when it cannot start or outlives ``timeout``."""
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _version_of(command: list[str], version: str, timeout: float = _PROBE_SECONDS) -> str | None:
    """The full version ``command`` reports when it is a released Python ``version`` that
    runs (a pyenv shim exists but may refuse), else None."""
    probe = _run([*command, "-I", "-c", _PROBE], timeout)
    if probe is None or probe.returncode != 0:
        return None
    reported, _, level = probe.stdout.strip().partition(" ")
    return reported if reported.startswith(f"{version}.") and level == "final" else None


def _from_running(version: str, site: Path) -> Compiler | str:
    if version != current_python():
        return f"this interpreter is {current_python()}"
    if sys.version_info.releaselevel != "final":
        return f"this interpreter is a pre-release ({platform.python_version()})"
    return Compiler(
        source="running",
        python=platform.python_version(),
        command=(sys.executable,),
        site=str(site),
        where=sys.executable,
    )


def _from_path(version: str, site: Path) -> Compiler | str:
    candidate = shutil.which(f"python{version}")
    if candidate is None:
        return f"no python{version} on PATH"
    reported = _version_of([candidate], version)
    if reported is None:
        return f"{candidate} does not run as a released Python {version}"
    return Compiler(
        source="path", python=reported, command=(candidate,), site=str(site), where=candidate
    )


def _uv_find(uv: str, version: str) -> str | None:
    found = _run([uv, "python", "find", version], _PROBE_SECONDS)
    if found is None or found.returncode != 0 or not found.stdout.strip():
        return None
    return found.stdout.strip().splitlines()[-1]


def _from_uv(version: str, site: Path) -> Compiler | str:
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not installed"
    candidate = _uv_find(uv, version)
    if candidate is None:
        installed = _run([uv, "python", "install", version], _UV_INSTALL_SECONDS)
        if installed is None or installed.returncode != 0:
            return f"`uv python install {version}` failed"
        candidate = _uv_find(uv, version)
    reported = None if candidate is None else _version_of([candidate], version)
    if candidate is None or reported is None:
        return f"uv found no released Python {version} that runs"
    return Compiler(
        source="uv", python=reported, command=(candidate,), site=str(site), where=candidate
    )


def _from_docker(version: str, site: Path) -> Compiler | str:
    docker = shutil.which("docker")
    if docker is None:
        return "Docker is not installed"
    engine = _run([docker, "info", "--format", "{{.ServerVersion}}"], _PROBE_SECONDS)
    if engine is None or engine.returncode != 0:
        return "no Docker engine answers"
    image = BUILD_IMAGE.format(version=version)
    # No network inside; files written as this user, not root; only the layer is mounted.
    command = (
        docker, "run", "--rm", "--network", "none",
        "--user", f"{os.getuid()}:{os.getgid()}",
        "--volume", f"{site}:{_CONTAINER_SITE}",
        "--entrypoint", "python", image,
    )  # fmt: skip
    reported = _version_of(list(command), version, _DOCKER_PULL_SECONDS)
    if reported is None:
        return f"{image} did not run (pulled from Amazon ECR Public on first use)"
    digest = _run(
        [docker, "image", "inspect", "--format", "{{index .RepoDigests 0}}", image],
        _PROBE_SECONDS,
    )
    where = digest.stdout.strip() if digest is not None and digest.returncode == 0 else ""
    return Compiler(
        source="docker",
        python=reported,
        command=command,
        site=_CONTAINER_SITE,
        where=where or image,
    )


_FINDERS: Final[dict[str, Callable[[str, Path], Compiler | str]]] = {
    "running": _from_running,
    "path": _from_path,
    "uv": _from_uv,
    "docker": _from_docker,
}


def find_compiler(version: str, site: Path) -> tuple[Compiler | None, list[str]]:
    """The first Python ``version`` found in :data:`COMPILER_SOURCES` order, and why each
    source before it was passed over (for the warning when none is found)."""
    passed: list[str] = []
    for source in COMPILER_SOURCES:
        found = _FINDERS[source](version, site)
        if isinstance(found, Compiler):
            return found, passed
        passed.append(found)
    return None, passed


def find_interpreter(version: str) -> str | None:
    """A local interpreter for ``version`` that runs: this one, or ``python3.X`` on PATH."""
    for finder in (_from_running, _from_path):
        found = finder(version, Path())
        if isinstance(found, Compiler):
            return found.command[0]
    return None


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def byte_compile(
    target: Target, site: Path, *, warn: Callable[[str], None] = _stderr_warning
) -> Compiler | None:
    """Compile with a Python of the target's version (:func:`find_compiler`) and return it;
    None, after one warning line listing what was tried, when there is none.

    Raises
    ------
    BuildError
        The compiler failed, or wrote no bytecode of the target's cache tag (a Python that
        reported the version but is not it).
    """
    compiler, passed = find_compiler(target.python_version, site)
    if compiler is None:
        warn(
            f"no Python {target.python_version} found to compile the layer "
            f"({'; '.join(passed)}), so it ships without bytecode and cold imports on Lambda "
            "compile every module (the JWT handler measured 219 ms instead of 97); install "
            f"python{target.python_version} or uv, or start Docker, and build again"
        )
        return None
    command = [*compiler.command, "-I", "-m", "compileall", "-q", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash"]
    if not target.host:
        # Paths in tracebacks read /opt/python/..., and the build directory does not leak in.
        command += ["-s", compiler.site, "-p", "/opt/python"]
    result = subprocess.run([*command, compiler.site], check=False)
    if result.returncode != 0:
        raise BuildError(
            f"byte-compiling with {compiler.where} failed (exit {result.returncode})",
            hint="its output is above; a build without that Python ships without bytecode",
        )
    for pyc in site.rglob("*.pyc"):
        if f".{target.cache_tag}." not in pyc.name:
            pyc.unlink()
    if not any((site / "authorizers").rglob(f"*.{target.cache_tag}.pyc")):
        raise BuildError(
            f"{compiler.where} reported Python {compiler.python} but wrote no "
            f"{target.cache_tag} bytecode",
            hint=f"put a real python{target.python_version} first on PATH",
        )
    return compiler


def write_manifest(
    target: Target, site: Path, pins: dict[str, str], *, compiler: Compiler | None
) -> dict[str, Any]:
    """Write ``site/gatehouse-layer.json`` (no timestamps) and return what it holds."""
    manifest: dict[str, Any] = {
        "arch": target.arch,
        "platform": "host" if target.host else target.platform,
        "python_version": target.python_version,
        "bytecode": target.cache_tag if compiler is not None else None,
        "compiled_by": compiler.record() if compiler is not None else None,
        "packages": dict(sorted(pins.items())),
        "built_with": {
            "script": "gatehouse.layer_build",
            "gatehouse": authorizers.__version__,
            "pip": importlib.metadata.version("pip"),
            "python": current_python(),
        },
    }
    (site / MANIFEST_NAME).write_text(_manifest_text(manifest), encoding="utf-8")
    return manifest


def _manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def layer_files(site: Path) -> list[Path]:
    """Every file of the layer, sorted."""
    return sorted(path for path in site.rglob("*") if path.is_file())


def write_zip(site: Path, zip_path: Path) -> None:
    """Zip ``python/...`` deterministically: sorted entries, fixed timestamps and modes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in layer_files(site):
            arcname = (Path("python") / path.relative_to(site)).as_posix()
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE_TIME)
            info.create_system = 3  # Unix, so the modes below are honoured
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(
                info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9
            )


def _check_output_directory(out: Path, package: Path, protect: Iterable[Path]) -> None:
    """``out`` is deleted first: never a root, home, the current directory or one above it,
    the package or what holds it, nor a directory that is not a layer build."""
    refused = {Path(out.anchor), Path.cwd().resolve(), *Path.cwd().resolve().parents}
    refused |= {package, *package.parents, *(path.resolve() for path in protect)}
    with suppress(RuntimeError):  # no home directory
        refused.add(Path.home().resolve())
    problem = None
    if out in refused or out.is_relative_to(package):
        problem = "it is deleted first"
    elif out.exists() and not out.is_dir():
        problem = "it is not a directory"
    elif out.is_dir() and any(out.iterdir()) and not (out / "python").is_dir():
        problem = "it is not empty and holds no layer, and it is deleted first"
    if problem is not None:
        raise BuildUsageError(
            f"refusing to use {out} as the output directory ({problem})",
            hint="pass a directory of its own, e.g. build/layer/arm64 (it is recreated each build)",
        )


def build_layer(
    out: Path,
    *,
    arch: str | None = None,
    host: bool = False,
    python_version: str | None = None,
    zip_path: Path | None = None,
    quiet: bool = False,
    protect: Iterable[Path] = (),
    warn: Callable[[str], None] = _stderr_warning,
) -> LayerBuild:
    """Build the layer into ``out`` (``out/python/...``, recreated) and optionally ``zip_path``.

    Parameters
    ----------
    out:
        The layer directory, deleted first. Refused: a filesystem root, the home directory,
        the current directory and those above it, the ``authorizers`` package and those above
        it, anything in ``protect``, and a non-empty directory without ``python/``.
    arch, host, python_version:
        The target (:func:`make_target`): ``arch`` one of :data:`ARCHITECTURES` (default
        arm64) for Python :data:`LAMBDA_PYTHON`; ``host`` for this machine and Python.
    zip_path:
        Also write the deployable zip (``python/...`` inside) here.
    quiet:
        No pip progress.
    warn:
        Called with a one-line warning (no Python of the target's version found, so no
        bytecode: :func:`byte_compile`).

    Raises
    ------
    BuildUsageError
        A bad architecture or Python version, or a refused output directory.
    BuildError
        pip failed (the message names the requirement), the layer differs from the pins,
        byte-compiling failed, or a file could not be written.
    """
    target = make_target(arch, host=host, python_version=python_version)
    out = out.resolve()
    package = package_directory()
    _check_output_directory(out, package, protect)
    if importlib.util.find_spec("pip") is None:
        raise BuildError(
            f"pip is not installed for {sys.executable}",
            hint="the build runs `python -m pip`: install it with `python -m ensurepip`",
        )
    site = out / "python"
    try:
        with requirements_file() as requirements:
            pins = read_pins(requirements)
            shutil.rmtree(out, ignore_errors=True)
            site.mkdir(parents=True)
            pip_install(
                target, site, quiet=quiet, requirements=requirements, log=out / PIP_LOG_NAME
            )
            check_installed(site, pins, source=requirements.name)
        remove_junk(site)
        copy_package(site / "authorizers", package)
        compiler = byte_compile(target, site, warn=warn)
        manifest = write_manifest(target, site, pins, compiler=compiler)
        (out / MANIFEST_NAME).write_text(_manifest_text(manifest), encoding="utf-8")
        if zip_path is not None:
            zip_path = zip_path.resolve()
            write_zip(site, zip_path)
        files = layer_files(site)
    except OSError as error:
        where = error.filename if error.filename is not None else out
        raise BuildError(
            f"{where}: {error.strerror or error}",
            hint="the output directory and the zip need paths this user can write",
        ) from None
    return LayerBuild(
        target=target,
        out=out,
        site=site,
        compiler=compiler,
        files=len(files),
        size=sum(path.stat().st_size for path in files),
        zip_path=zip_path,
        manifest=manifest,
    )


_SOURCE_WORDS: Final = {
    "running": "this interpreter",
    "path": "{where} on PATH",
    "uv": "uv's {where}",
    "docker": "the Lambda build image {where}",
}


def summary(result: LayerBuild) -> list[str]:
    """What a finished build prints: the layer, and the zip if one was written."""
    target = result.target
    where = "host" if target.host else target.platform
    compiler = result.compiler
    compiled = "without bytecode"
    if compiler is not None:
        by = _SOURCE_WORDS[compiler.source].format(where=compiler.where)
        compiled = f"with bytecode (Python {compiler.python}, {by})"
    lines = [
        f"layer: {target.arch} ({where}), Python {target.python_version}, {compiled} "
        f"-> {result.site}: {result.size / 1_000_000:.1f} MB, {result.files} files"
    ]
    if result.zip_path is not None:
        zipped = result.zip_path.stat().st_size / 1_000_000
        lines.append(f"zip: {result.zip_path}: {zipped:.1f} MB")
    return lines


def parse_args(
    argv: list[str] | None, *, prog: str | None = None, out_root: Path = Path("gatehouse-layer")
) -> argparse.Namespace:
    """The command line of :func:`main` (``--out`` defaults to ``out_root/<arch>``)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Build the Gatehouse Lambda layer (no Docker needed)."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--arch", choices=ARCHITECTURES, help=f"Lambda architecture (default {DEFAULT_ARCH})"
    )
    where.add_argument(
        "--host", action="store_true", help="build for this machine and Python (for tests/layer)"
    )
    parser.add_argument(
        "--python-version",
        metavar="X.Y",
        help=f"target Python (default {LAMBDA_PYTHON}; with --host, the running interpreter)",
    )
    parser.add_argument("--out", type=Path, help=f"output directory (default {out_root}/<arch>)")
    parser.add_argument("--zip", type=Path, metavar="PATH", help="also write the layer zip here")
    parser.add_argument("--quiet", action="store_true", help="no pip chatter, no summary")
    args = parser.parse_args(argv)
    if args.python_version is not None and not _PY_VERSION.match(args.python_version):
        parser.error(f"--python-version must look like 3.14, got {args.python_version!r}")
    return args


def main(
    argv: list[str] | None = None,
    *,
    prog: str | None = None,
    out_root: Path = Path("gatehouse-layer"),
    protect: Iterable[Path] = (),
) -> int:
    """The argparse command line (``python -m gatehouse.layer_build``, ``layers/build.py``).

    Errors and warnings are one line each, prefixed with ``prog`` (default: the script's
    name): ``build.py: error: ...``, then ``build.py: hint: ...``. Returns the exit code:
    0 built, 1 failed, 2 a usage error (argparse exits with 2 itself).
    """
    name = prog or Path(sys.argv[0]).name
    args = parse_args(argv, prog=name, out_root=out_root)

    def warn(message: str) -> None:
        print(f"{name}: warning: {message}", file=sys.stderr)

    default_out = out_root / ("host" if args.host else args.arch or DEFAULT_ARCH)
    try:
        result = build_layer(
            args.out or default_out,
            arch=args.arch,
            host=args.host,
            python_version=args.python_version,
            zip_path=args.zip,
            quiet=args.quiet,
            protect=protect,
            warn=warn,
        )
    except BuildError as error:
        print(f"{name}: error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"{name}: hint: {error.hint}", file=sys.stderr)
        return 2 if isinstance(error, BuildUsageError) else 1
    if not args.quiet:
        for line in summary(result):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
