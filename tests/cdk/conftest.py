"""Session fixtures: each CDK app is built and synthesized once, templates read from the assembly.

Two apps, both with cdk-nag registered (synthesis raises on any unacknowledged finding):

- ``repo``: exactly what ``cdk synth`` builds from the committed cdk.json (dev and prod) on this
  machine: where the arm64 layer was built without bytecode (no Python 3.14 found), with
  ``-c allow_layer_without_bytecode=true``, which the production stage needs then;
- ``variant``: the dev stage with every optional feature the repository stages leave off
  (attach to an existing API, private endpoint, several CORS origins, geo block, reserved
  concurrency), so those code paths are synthesized, nag-checked and linted too.

aws-cdk-lib's built-in CloudFormation validation is off here (3-5 s per synthesis); one test
in test_stage.py synthesizes with it on. Templates are read from the cloud assembly
(``Template.from_json``) rather than re-synthesized per test.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cx_api
from aws_cdk.assertions import Template

from cdk_app.app_builder import build_app
from cdk_app.config import ALLOW_NO_BYTECODE_KEY
from cdk_app.constants import LAYER_BUILD_DIR
from cdk_app.stage import GatehouseStage

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
STAGES: dict[str, dict[str, Any]] = COMMITTED["gatehouse"]["stages"]


def _layer_has_bytecode() -> bool:
    manifest = LAYER_BUILD_DIR / "arm64" / "gatehouse-layer.json"
    try:
        return json.loads(manifest.read_text()).get("bytecode") is not None
    except (OSError, ValueError):
        return False


CONTEXT: dict[str, Any] = (
    COMMITTED if _layer_has_bytecode() else {**COMMITTED, ALLOW_NO_BYTECODE_KEY: True}
)

ATTACH: dict[str, Any] = {
    "rest_api_id": "a1b2c3d4e5",
    "root_resource_id": "r00tr00t00",
    "stage_name": "live",
    "deployment_revision": 3,
    "routes": [
        {"method": "GET", "path": "/legacy/{id}", "authorizer": "jwt"},
        {"method": "POST", "path": "/legacy", "authorizer": "apikey"},
    ],
}
VPC_ENDPOINTS = ["vpce-0123456789abcdef0"]
ORIGINS = ["https://a.example.com", "https://b.example.com"]


def variant_context() -> dict[str, Any]:
    context = copy.deepcopy(CONTEXT)
    dev = context["gatehouse"]["stages"]["dev"]
    dev["attach"] = ATTACH
    dev["api"]["private_vpc_endpoint_ids"] = VPC_ENDPOINTS
    dev["api"]["cors_allow_origins"] = ORIGINS
    dev["waf"]["geo_block"] = ["KP"]
    dev["functions"]["reserved_concurrency"] = 7
    return {**context, "stage": "dev"}


@dataclass
class Synthesized:
    app: cdk.App
    assembly: cx_api.CloudAssembly
    outdir: Path
    stages: dict[str, GatehouseStage]

    def template(self, stack: cdk.Stack) -> Template:
        artifact = self.assembly.get_stack_artifact(stack.artifact_id)
        return Template.from_json(artifact.template)


def _synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    app = build_app(context, outdir=str(outdir), builtin_validation=False)
    stages = {c.stage_name: c for c in app.node.children if isinstance(c, GatehouseStage)}
    return Synthesized(app=app, assembly=app.synth(), outdir=outdir, stages=stages)


@pytest.fixture(scope="session")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesize(CONTEXT, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesize(variant_context(), tmp_path_factory.mktemp("cdk.variant"))


_TEMPLATES: dict[tuple[int, str], Template] = {}


def template_of(synth: Synthesized, stack: cdk.Stack) -> Template:
    """The stack's template, parsed once per session."""
    key = (id(synth), stack.artifact_id)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = synth.template(stack)
    return _TEMPLATES[key]


def resources_of(template: Template, type_: str) -> list[dict[str, Any]]:
    """The ``Properties`` of every resource of ``type_``."""
    return [r.get("Properties", {}) for r in template.find_resources(type_).values()]
