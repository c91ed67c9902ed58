"""Build the Gatehouse Lambda layer without Docker.

The layer is ``<out>/python/`` (Lambda mounts it as ``/opt/python``) and holds the pinned runtime
dependencies from ``layers/requirements.txt`` plus the ``authorizers`` package::

    python layers/build.py                           # arm64, python3.14 -> layers/build/arm64
    python layers/build.py --arch x86_64 --zip dist/layer-x86_64.zip
    python layers/build.py --host --out layers/build/host   # this machine; what tests/layer imports

Cross builds use pip's ``--platform manylinux2014_<arch> --implementation cp --python-version``
with ``--only-binary=:all:`` (no Docker). Dependencies are installed with ``--no-deps``: the
requirements file is the complete closure. pip's own byte-compilation is turned off because it
compiles with the interpreter running pip, not the target one; the layer is compiled afterwards
with a matching interpreter (unchecked-hash pycs, since ``/opt`` is read-only on Lambda) when one
is available. The build is reproducible: the output directory is recreated, the manifest holds
no timestamps and ``--zip`` writes sorted entries with fixed timestamps.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
REQUIREMENTS: Final = ROOT / "layers" / "requirements.txt"
PACKAGE: Final = ROOT / "authorizers"
MANIFEST_NAME: Final = "gatehouse-layer.json"

# Newest runtime known to aws-cdk-lib 2.275 (cdk-nag rule L1 wants it).
LAMBDA_PYTHON: Final = "3.14"
PLATFORMS: Final = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
HOST_ARCHES: Final = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

# Never in the layer: the Lambda runtime provides boto3/botocore (and they are 20+ MB).
FORBIDDEN: Final = frozenset({"boto3", "botocore", "s3transfer", "urllib3"})
# Installed next to the packages by some wheels; useless (or harmful) in /opt/python.
JUNK_TOP_LEVEL: Final = ("bin", "tests", "test")

ZIP_DATE_TIME: Final = (1980, 1, 1, 0, 0, 0)
_PIN: Final = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.!+_-]+)$")
_PY_VERSION: Final = re.compile(r"^3\.\d{1,2}$")


class BuildError(Exception):
    """A build step failed; the message says which and what to do."""


@dataclass(frozen=True, kw_only=True)
class Target:
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


def normalize(name: str) -> str:
    """PEP 503 name normalization (``typing_extensions`` == ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


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
    machine = platform.machine().lower()
    try:
        return HOST_ARCHES[machine]
    except KeyError:
        raise BuildError(f"unsupported host architecture {machine!r}") from None


def pip_install(target: Target, site: Path, *, quiet: bool) -> None:
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
        str(REQUIREMENTS),
    ]
    if not target.host:
        command += ["--platform", target.platform, "--implementation", "cp"]
    if not target.host or target.python_version != current_python():
        command += ["--python-version", target.python_version]
    if quiet:
        command.append("--quiet")
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"pip install failed (exit {result.returncode}) for {target.platform} / Python "
            f"{target.python_version}; see pip's output above (a missing wheel for the platform "
            "or no access to the package index are the usual causes)"
        )


def check_installed(site: Path, pins: dict[str, str]) -> None:
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
        raise BuildError(
            f"layer contents differ from {REQUIREMENTS.name}: {missing=} {extra=} {wrong=}"
        )


def copy_package(destination: Path) -> None:
    """Copy ``authorizers/``: only ``*.py`` and ``py.typed``, no caches, no tests."""
    for source in sorted(PACKAGE.rglob("*")):
        relative = source.relative_to(PACKAGE)
        if any(part in {"__pycache__", "tests", "test"} for part in relative.parts[:-1]):
            continue
        if not source.is_file():
            continue
        if source.name != "py.typed" and (
            source.suffix != ".py"
            or source.name.startswith("test_")
            or source.name == "conftest.py"
        ):
            continue
        out = destination / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out)


def remove_junk(site: Path) -> None:
    for name in JUNK_TOP_LEVEL:
        shutil.rmtree(site / name, ignore_errors=True)
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)


def current_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def find_interpreter(version: str) -> str | None:
    """An interpreter for ``version`` that actually runs (pyenv shims exist but may refuse)."""
    if version == current_python():
        return sys.executable
    candidate = shutil.which(f"python{version}")
    if candidate is None:
        return None
    probe = subprocess.run(
        [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.strip() != version:
        return None
    return candidate


def byte_compile(target: Target, site: Path) -> bool:
    """Compile with a matching interpreter; False (after one warning line) when there is none."""
    interpreter = find_interpreter(target.python_version)
    if interpreter is None:
        print(
            f"build.py: warning: no python{target.python_version} interpreter found, so the layer "
            f"ships without bytecode for {target.python_version}; cold imports on Lambda will "
            "compile from source (measured ~590 ms instead of ~326 ms)",
            file=sys.stderr,
        )
        return False
    command = [interpreter, "-I", "-m", "compileall", "-q", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash"]
    if not target.host:
        # Paths in tracebacks read /opt/python/..., and the build directory does not leak in.
        command += ["-s", str(site), "-p", "/opt/python"]
    result = subprocess.run([*command, str(site)], check=False)
    if result.returncode != 0:
        raise BuildError(f"byte-compiling with {interpreter} failed (exit {result.returncode})")
    for pyc in site.rglob("*.pyc"):
        if f".{target.cache_tag}." not in pyc.name:
            pyc.unlink()
    return True


def write_manifest(target: Target, site: Path, pins: dict[str, str], *, bytecode: bool) -> None:
    manifest = {
        "arch": target.arch,
        "platform": "host" if target.host else target.platform,
        "python_version": target.python_version,
        "bytecode": target.cache_tag if bytecode else None,
        "packages": dict(sorted(pins.items())),
        "built_with": {
            "script": "layers/build.py",
            "pip": importlib.metadata.version("pip"),
            "python": current_python(),
        },
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (site / MANIFEST_NAME).write_text(text, encoding="utf-8")


def layer_files(site: Path) -> list[Path]:
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--arch", choices=sorted(PLATFORMS), help="Lambda architecture (default arm64)"
    )
    where.add_argument(
        "--host", action="store_true", help="build for this machine and Python (for tests/layer)"
    )
    parser.add_argument(
        "--python-version",
        metavar="X.Y",
        help=f"target Python (default {LAMBDA_PYTHON}; with --host, the running interpreter)",
    )
    parser.add_argument("--out", type=Path, help="output directory (default layers/build/<arch>)")
    parser.add_argument("--zip", type=Path, metavar="PATH", help="also write the layer zip here")
    parser.add_argument("--quiet", action="store_true", help="no pip chatter, no summary")
    args = parser.parse_args(argv)
    if args.python_version is not None and not _PY_VERSION.match(args.python_version):
        parser.error(f"--python-version must look like 3.14, got {args.python_version!r}")
    return args


def build(args: argparse.Namespace) -> None:
    if args.host:
        target = Target(
            arch=host_arch(),
            python_version=args.python_version or current_python(),
            host=True,
        )
        default_out = ROOT / "layers" / "build" / "host"
    else:
        arch = args.arch or "arm64"
        target = Target(arch=arch, python_version=args.python_version or LAMBDA_PYTHON, host=False)
        default_out = ROOT / "layers" / "build" / arch
    out: Path = (args.out or default_out).resolve()
    if out in {ROOT, ROOT / "layers", PACKAGE} or out == Path(out.anchor):
        raise BuildError(f"refusing to use {out} as the output directory (it is deleted first)")
    site = out / "python"

    pins = read_pins(REQUIREMENTS)
    shutil.rmtree(out, ignore_errors=True)
    site.mkdir(parents=True)
    pip_install(target, site, quiet=args.quiet)
    check_installed(site, pins)
    remove_junk(site)
    copy_package(site / "authorizers")
    bytecode = byte_compile(target, site)
    write_manifest(target, site, pins, bytecode=bytecode)

    if args.zip is not None:
        write_zip(site, args.zip.resolve())
    if not args.quiet:
        files = layer_files(site)
        size = sum(path.stat().st_size for path in files) / 1_000_000
        where = "host" if target.host else target.platform
        compiled = "with" if bytecode else "without"
        print(
            f"layer: {target.arch} ({where}), Python {target.python_version}, {compiled} "
            f"bytecode -> {site}: {size:.1f} MB, {len(files)} files"
        )
        if args.zip is not None:
            zipped = args.zip.stat().st_size / 1_000_000
            print(f"zip: {args.zip}: {zipped:.1f} MB")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        build(args)
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
