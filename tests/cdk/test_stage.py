"""Synthesize the app exactly as ``cdk synth`` does (``build_app`` with cdk.json's context).

These tests need the pre-built layer directories of the architectures cdk.json uses
(``layers/build/<arch>/python/``). ``make test`` builds ``layers/build/arm64`` before pytest;
the tests never build layers themselves. A stage configured for ``x86_64`` needs
``make layer ARCH=x86_64`` first. The x86_64 layer construct is tested on a temporary
build directory instead.

The app is synthesized once per module (cdk-nag v3 runs as a validation plugin during that
synthesis and raises on any finding), so the whole module takes seconds, not minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import cx_api
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

import app as app_module
from cdk_app.app_builder import build_app
from cdk_app.components import authorizers_layer
from cdk_app.components.authorizers_layer import AuthorizersLayer, LayerNotBuiltError
from cdk_app.config import LOG_RETENTION_DAYS
from cdk_app.constants import HANDLERS, LOG_RETENTION
from cdk_app.stage import GatehouseStage

pytestmark = pytest.mark.cdk

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
STAGES: dict[str, dict[str, Any]] = CONTEXT["gatehouse"]["stages"]


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="module")
def app(outdir: Path) -> cdk.App:
    return build_app(CONTEXT, outdir=str(outdir))


@pytest.fixture(scope="module")
def stages(app: cdk.App) -> dict[str, GatehouseStage]:
    return {c.stage_name: c for c in app.node.children if isinstance(c, GatehouseStage)}


@pytest.fixture(scope="module")
def assembly(app: cdk.App) -> cx_api.CloudAssembly:
    # Raises RuntimeError("ValidationFailed: ...") on any cdk-nag finding (warnings included).
    return app.synth()


def test_one_stage_per_configured_stage(stages: dict[str, GatehouseStage]) -> None:
    assert list(stages) == list(STAGES)
    for name, stage in stages.items():
        assert stage.api.stack_name == f"{name}-Api"


def test_synthesis_passes_cdk_nag_and_writes_one_assembly_per_stage(
    assembly: cx_api.CloudAssembly, outdir: Path
) -> None:
    # GIVEN the app synthesized with the AwsSolutions and Serverless packs registered
    # THEN synthesis did not raise, no plugin reported anything, and each stage has an assembly
    report = json.loads((outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []
    assert {p.name for p in outdir.glob("assembly-*")} == {f"assembly-{n}" for n in STAGES}


@pytest.mark.parametrize("name", list(STAGES))
def test_cdk_nag_packs_report_no_violations(
    name: str, stages: dict[str, GatehouseStage], assembly: cx_api.CloudAssembly
) -> None:
    stack = stages[name].api
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(stack)
        found = [
            (v.rule_name, [r.construct_path for r in v.violating_resources])
            for v in report.violations
        ]
        assert report.success, found


@pytest.mark.parametrize("name", list(STAGES))
def test_stack_has_exactly_the_layer(
    name: str, stages: dict[str, GatehouseStage], assembly: cx_api.CloudAssembly
) -> None:
    # GIVEN the synthesized API stack of one stage
    settings = STAGES[name]
    template = Template.from_stack(stages[name].api)

    # THEN it holds one layer version: python3.14, the stage's architecture and removal policy
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {
            "CompatibleRuntimes": ["python3.14"],
            "CompatibleArchitectures": [settings.get("architecture", "arm64")],
        },
    )
    policy = "Retain" if settings.get("removal_policy", "retain") == "retain" else "Delete"
    template.has_resource(
        "AWS::Lambda::LayerVersion",
        {"DeletionPolicy": policy, "UpdateReplacePolicy": policy},
    )
    assert set(template.to_json()["Resources"]) == set(
        template.find_resources("AWS::Lambda::LayerVersion")
    )


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_environment_and_termination_protection_follow_config(
    name: str, stages: dict[str, GatehouseStage]
) -> None:
    settings = STAGES[name]
    stack = stages[name].api
    assert stack.region == settings["region"]
    if "account" in settings:
        assert stack.account == settings["account"]
    else:  # account-agnostic: resolved at deploy time from the CLI credentials
        assert cdk.Token.is_unresolved(stack.account)
    assert stack.termination_protection is settings.get("termination_protection", True)


def test_cfn_lint_finds_no_errors(assembly: cx_api.CloudAssembly, outdir: Path) -> None:
    # GIVEN every synthesized template
    templates = sorted(str(p) for p in outdir.glob("assembly-*/*.template.json"))
    regions = sorted({s["region"] for s in STAGES.values()})
    assert len(templates) == len(STAGES)

    # WHEN cfn-lint checks them (exit code bits: 2 error, 4 warning, 8 informational)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "-t", *templates, "--regions", *regions],
        capture_output=True,
        text=True,
        check=False,
    )

    # THEN there are no errors
    assert result.returncode & 2 == 0, result.stdout + result.stderr


def test_a_cdk_nag_finding_fails_synthesis(tmp_path: Path) -> None:
    # GIVEN the dev stage with an S3 bucket that breaks AwsSolutions-S1/S10
    app = build_app({**CONTEXT, "stage": "dev"}, outdir=str(tmp_path))
    (stage,) = (c for c in app.node.children if isinstance(c, GatehouseStage))
    s3.Bucket(stage.api, "NonCompliantBucket")

    # WHEN it is synthesized THEN synthesis fails on the finding
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_layer_packages_only_python_dir_for_x86_64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a pre-built x86_64 layer directory with a build stamp next to python/
    build = tmp_path / "build"
    (build / "x86_64" / "python" / "authorizers").mkdir(parents=True)
    (build / "x86_64" / "python" / "authorizers" / "__init__.py").write_text("")
    (build / "x86_64" / ".stamp").write_text("")
    monkeypatch.setattr(authorizers_layer, "LAYER_BUILD_DIR", build)
    app = cdk.App(outdir=str(tmp_path / "out"), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "S")

    # WHEN the layer construct is synthesized for x86_64
    AuthorizersLayer(
        stack,
        "Layer",
        architecture=lambda_.Architecture.X86_64,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)

    # THEN the layer is x86_64 + python3.14, and its asset holds python/ only
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {
            "CompatibleArchitectures": ["x86_64"],
            "CompatibleRuntimes": ["python3.14"],
            "Content": Match.object_like({"S3Key": Match.string_like_regexp(r"\.zip$")}),
        },
    )
    (asset,) = (tmp_path / "out").glob("asset.*")
    assert sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*")) == [
        "python",
        "python/authorizers",
        "python/authorizers/__init__.py",
    ]


def test_missing_layer_directory_tells_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authorizers_layer, "LAYER_BUILD_DIR", tmp_path)
    stack = cdk.Stack(cdk.App(), "S")

    with pytest.raises(LayerNotBuiltError, match=r"make layer ARCH=x86_64"):
        AuthorizersLayer(
            stack,
            "Layer",
            architecture=lambda_.Architecture.X86_64,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )


def test_app_py_reports_bad_config_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the CLI hands the app a context with a misspelt stage setting
    bad = {"gatehouse": {"stages": {"dev": {"region": "eu-west-1", "regoin": "x"}}}}
    # (the CLI's CDK_CONTEXT_JSON is read by the jsii node process, started long before this
    # test, so the context is handed to build_app directly)
    monkeypatch.setattr(app_module, "build_app", lambda: build_app(bad))

    # WHEN app.py runs THEN it exits 2 with the problem on stderr
    assert app_module.main() == 2
    err = capsys.readouterr().err
    assert err.startswith("gatehouse: invalid Gatehouse stage configuration")
    assert 'gatehouse.stages.dev.regoin: unknown setting; did you mean "region"?' in err
    assert "Traceback" not in err


def test_handlers_and_log_retention_constants() -> None:
    assert HANDLERS["jwt_bearer"] == "authorizers.jwt_bearer.handler.lambda_handler"
    assert set(HANDLERS) == {"jwt_bearer", "api_key", "mtls", "policy"}
    assert tuple(LOG_RETENTION) == LOG_RETENTION_DAYS
    assert LOG_RETENTION[14] == cdk.aws_logs.RetentionDays.TWO_WEEKS
