"""The distribution's metadata against what is tested and what the layer holds.

pyproject.toml's ranges are what users install; constraints.txt's pins are what CI tests; the
layer's list is what Lambda runs. These tests fail when they drift apart.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import authorizers
import gatehouse

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\[\],-]+)==([^\s#]+)", line)
        if match:
            found[canonicalize_name(match[1].split("[")[0])] = match[2]
    return found


TESTED = pins(REPO / "constraints.txt")
LAYER = pins(REPO / "layers" / "requirements.txt")


def requirements(extra: str | None) -> list[Requirement]:
    texts = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize("extra", [None, "cli", "cdk", "testing"])
def test_every_range_admits_the_version_ci_tests(extra):
    for requirement in requirements(extra):
        tested = TESTED[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(tested), (requirement, tested)


def test_the_base_install_is_what_the_layer_holds():
    for requirement in requirements(None):
        name = canonicalize_name(requirement.name)
        assert name in LAYER, f"{name} is a runtime dependency but not in the layer"
        assert requirement.specifier.contains(LAYER[name]), (requirement, LAYER[name])


def test_all_is_every_extra():
    assert PROJECT["optional-dependencies"]["all"] == ["gatehouse[cli,cdk,testing]"]


def test_one_version():
    assert gatehouse.__version__ == authorizers.__version__
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]


def test_the_layer_requirements_are_package_data():
    # gatehouse layer build reads them from the installed package (gatehouse.layer_build).
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["gatehouse"]
    assert any(fnmatch.fnmatch("layer-requirements.txt", pattern) for pattern in patterns)
    shipped = REPO / "gatehouse" / "layer-requirements.txt"
    assert shipped.resolve() == (REPO / "layers" / "requirements.txt").resolve()
    assert pins(shipped) == LAYER


def _wheel_tree(destination: Path) -> Path:
    """What setuptools reads to build the wheel, links kept (and their targets copied)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    destination.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, destination / name)
    for package in ("gatehouse", "authorizers"):
        shutil.copytree(REPO / package, destination / package, symlinks=True, ignore=ignore)
        for link in (REPO / package).rglob("*"):
            if link.is_symlink():
                target = link.resolve().relative_to(REPO)
                (destination / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / target, destination / target)
    return destination


def test_the_wheel_carries_the_layer_requirements_and_the_demo_bundle_as_files(tmp_path):
    pytest.importorskip("build")
    source = _wheel_tree(tmp_path / "src")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", "dist", "."],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = (source / "dist").glob("gatehouse-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        requirements = zf.read("gatehouse/layer-requirements.txt")
        demo = zf.read("gatehouse/localmode/assets/demo.yaml")
        names = zf.namelist()
    assert requirements == (REPO / "layers" / "requirements.txt").read_bytes()
    assert demo == (REPO / "policies" / "demo.yaml").read_bytes()
    assert "gatehouse/layer_build.py" in names and "gatehouse/layer_cli.py" in names
