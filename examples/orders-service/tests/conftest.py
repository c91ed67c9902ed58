"""The Orders team's test helpers.

- The deployed settings files, with the values that differ under test (pool ids, table names,
  trust anchors) swapped for the fixtures' (gatehouse.testing).
- The infrastructure: the Gatehouse layer, built once with ``gatehouse layer build`` into
  ``build/layer/arm64`` (reused while it matches the installed gatehouse), and the app of
  ``orders_service.infra`` synthesized once, in-process, with cdk-nag registered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import authorizers
import pytest
from gatehouse.testing import CognitoPool, build_event, settings_from

from orders_service import SETTINGS

if TYPE_CHECKING:
    from orders_service.infra import OrdersStack

PROJECT = Path(__file__).resolve().parents[1]
CONTEXT: dict[str, Any] = json.loads((PROJECT / "cdk.json").read_text(encoding="utf-8"))["context"]
LAYER_DIR = PROJECT / "build" / "layer" / "arm64"
LAYER_ARCH = "arm64"


def staff_settings(name: str, pool: CognitoPool, client_id: str) -> dict[str, Any]:
    """``name``'s settings with the test pool in place of the company's."""
    settings = settings_from(SETTINGS / name)
    (issuer,) = settings["jwt_issuers"]
    issuer.update(user_pool_id=pool.pool_id, client_ids=[client_id])
    return settings


def bearer(token: str, request: str) -> dict[str, Any]:
    """A REST TOKEN event for ``request`` with ``Authorization: Bearer <token>``."""
    return build_event("rest_token", request, authorization=f"Bearer {token}")


# --- the layer ----------------------------------------------------------------------------------


def _runtime_files(package: Path) -> dict[str, bytes]:
    return {
        path.relative_to(package).as_posix(): path.read_bytes()
        for path in package.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and (path.suffix == ".py" or path.name == "py.typed")
    }


def layer_is_current(directory: Path) -> bool:
    """Whether ``directory`` holds a layer built for arm64 by the installed gatehouse, with
    exactly the installed ``authorizers`` package in it (so a cached build is never stale)."""
    try:
        manifest = json.loads((directory / "gatehouse-layer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("arch") != LAYER_ARCH:
        return False
    if manifest.get("built_with", {}).get("gatehouse") != version("gatehouse"):
        return False
    installed = Path(authorizers.__file__).resolve().parent
    return _runtime_files(directory / "python" / "authorizers") == _runtime_files(installed)


@pytest.fixture(scope="session")
def layer_dir() -> Path:
    """The layer directory, built with the CLI unless an up-to-date build is already there."""
    if not layer_is_current(LAYER_DIR):
        gatehouse = Path(sys.executable).parent / "gatehouse"
        command = [gatehouse, "layer", "build", "--arch", LAYER_ARCH, "--out", LAYER_DIR, "--quiet"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(f"gatehouse layer build failed:\n{result.stdout}{result.stderr}")
        assert layer_is_current(LAYER_DIR), f"{LAYER_DIR} does not match the installed gatehouse"
    return LAYER_DIR


# --- the synthesized app ------------------------------------------------------------------------


@dataclass(frozen=True)
class Synthesized:
    """The synthesized stack: its construct tree, its template and the cloud assembly."""

    stack: OrdersStack
    template: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def logical_id(self, construct: Any) -> str:
        """The logical id of ``construct``'s CloudFormation resource (or of ``construct``)."""
        element = getattr(construct.node, "default_child", None) or construct
        return str(self.stack.resolve(self.stack.get_logical_id(element)))

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r["Properties"] for k, r in self.resources.items() if r["Type"] == kind}


def app_context(layer: Path) -> dict[str, Any]:
    """``cdk.json``'s context, with the layer the fixture built."""
    return {**CONTEXT, "orders:layer_dir": str(layer)}


@pytest.fixture(scope="session")
def orders(layer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """``create_app`` synthesized once, as ``cdk synth`` does (cdk-nag fails it on a finding)."""
    from orders_service.infra import create_app  # noqa: PLC0415 - starts the jsii runtime

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = create_app(app_context(layer_dir), outdir=str(outdir))
    try:
        assembly = app.synth()
    except RuntimeError:
        report = outdir / "validation-report.json"
        if report.exists():
            pytest.fail(f"synthesis failed on cdk-nag findings:\n{report.read_text()}")
        raise
    template = assembly.get_stack_artifact(stack.artifact_id).template
    return Synthesized(stack=stack, template=template, outdir=outdir)
