"""The distribution's metadata against what is tested and what the layer holds.

pyproject.toml's ranges are what users install; constraints.txt's pins are what CI tests; the
layer's list is what Lambda runs. These tests fail when they drift apart.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import authorizers
import gatehouse

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


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
