"""The app as ``cdk synth`` builds it: stages, stacks, cdk-nag, cfn-lint, built-in validation.

These tests need the pre-built layer directories of the architectures cdk.json uses
(``layers/build/<arch>/python/``). ``make test`` builds ``layers/build/arm64`` before pytest;
the tests never build layers themselves. The x86_64 layer construct is tested on a temporary
build directory instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

import app as app_module
from cdk_app.app_builder import build_app
from cdk_app.components import authorizers_layer
from cdk_app.components.authorizers_layer import AuthorizersLayer, LayerNotBuiltError
from cdk_app.config import LOG_RETENTION_DAYS
from cdk_app.constants import HANDLERS, LOG_RETENTION
from cdk_app.stage import GatehouseStage
from gatehouse.cdk import LayerWithoutBytecodeError
from tests.cdk.conftest import COMMITTED, CONTEXT, STAGES, Synthesized, template_of

pytestmark = pytest.mark.cdk


def test_one_stage_per_configured_stage_with_its_stacks(repo: Synthesized) -> None:
    assert list(repo.stages) == list(STAGES)
    for name, stage in repo.stages.items():
        assert [s.stack_name for s in stage.stacks] == [f"{name}-Identity", f"{name}-Api"]
        assert stage.attach is None


def test_synthesis_passes_cdk_nag_and_writes_one_assembly_per_stage(repo: Synthesized) -> None:
    # GIVEN the app synthesized with the AwsSolutions and Serverless packs registered
    # THEN synthesis did not raise, no plugin reported anything, and each stage has an assembly
    report = json.loads((repo.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []
    assert {p.name for p in repo.outdir.glob("assembly-*")} == {f"assembly-{n}" for n in STAGES}


def _nag_findings(stack: cdk.Stack) -> list[tuple[str, list[str | None]]]:
    found = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(stack)
        found += [
            (v.rule_name, [r.construct_path for r in v.violating_resources])
            for v in report.violations
        ]
    return found


@pytest.mark.parametrize("name", list(STAGES))
def test_cdk_nag_packs_report_no_violations_on_any_stack(name: str, repo: Synthesized) -> None:
    for stack in repo.stages[name].stacks:
        assert _nag_findings(stack) == [], stack.stack_name


def test_cdk_nag_packs_report_no_violations_with_every_option_on(variant: Synthesized) -> None:
    stage = variant.stages["dev"]
    assert stage.attach is not None
    for stack in stage.stacks:
        assert _nag_findings(stack) == [], stack.stack_name


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_environment_and_termination_protection_follow_config(
    name: str, repo: Synthesized
) -> None:
    settings = STAGES[name]
    for stack in repo.stages[name].stacks:
        assert stack.region == settings["region"]
        assert stack.account == settings["account"]
        assert stack.termination_protection is settings.get("termination_protection", True)


@pytest.mark.parametrize("name", list(STAGES))
def test_layer_follows_stage_architecture_and_removal_policy(name: str, repo: Synthesized) -> None:
    settings = STAGES[name]
    template = template_of(repo, repo.stages[name].api)
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
        "AWS::Lambda::LayerVersion", {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}
    )


def _cfn_lint(templates: list[str], regions: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "-t", *templates, "--regions", *regions],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cfn_lint_finds_no_errors_in_any_template(repo: Synthesized, variant: Synthesized) -> None:
    # GIVEN every synthesized template of both apps
    templates = sorted(
        str(p)
        for out in (repo.outdir, variant.outdir)
        for p in out.glob("assembly-*/*.template.json")
    )
    assert len(templates) == 2 * len(STAGES) + 3

    # WHEN cfn-lint checks them (exit code bits: 2 error, 4 warning, 8 informational)
    result = _cfn_lint(templates, sorted({s["region"] for s in STAGES.values()}))

    # THEN there are no errors
    assert result.returncode & 2 == 0, result.stdout + result.stderr


def test_builtin_cloudformation_validation_passes(tmp_path: Path) -> None:
    # GIVEN the prod stage, synthesized as `cdk synth` does: aws-cdk-lib's built-in
    # CloudFormation validation on (recommended flag: its findings are errors) and cdk-nag
    app = build_app({**CONTEXT, "stage": "prod"}, outdir=str(tmp_path))

    # WHEN it is synthesized THEN nothing fails
    app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_a_cdk_nag_finding_fails_synthesis(tmp_path: Path) -> None:
    # GIVEN the dev stage with an S3 bucket that breaks AwsSolutions-S1/S10
    app = build_app({**CONTEXT, "stage": "dev"}, outdir=str(tmp_path), builtin_validation=False)
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
    # ...and the build's record, which the construct checks (architecture, Python, platform)
    (build / "x86_64" / "gatehouse-layer.json").write_text(
        json.dumps({"arch": "x86_64", "platform": "manylinux2014_x86_64", "python_version": "3.14"})
    )
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


def test_app_py_reports_a_missing_bundled_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a stage whose policy bundle does not exist
    context = json.loads(json.dumps(CONTEXT))
    context["gatehouse"]["stages"]["dev"]["policy"] = {"bundle": "policies/nope.yaml"}
    monkeypatch.setattr(
        app_module,
        "build_app",
        lambda: build_app({**context, "stage": "dev"}, outdir=str(tmp_path)),
    )

    # WHEN app.py runs THEN it exits 2 naming the file
    assert app_module.main() == 2
    err = capsys.readouterr().err
    assert "policy bundle" in err
    assert "policies/nope.yaml does not exist" in err


def test_handlers_and_log_retention_constants() -> None:
    assert HANDLERS["jwt_bearer"] == "authorizers.jwt_bearer.handler.lambda_handler"
    assert set(HANDLERS) == {"jwt_bearer", "api_key", "mtls", "policy"}
    assert tuple(LOG_RETENTION) == LOG_RETENTION_DAYS
    assert LOG_RETENTION[14] == cdk.aws_logs.RetentionDays.TWO_WEEKS


def _layers_without_bytecode(root: Path) -> Path:
    (root / "arm64" / "python" / "authorizers").mkdir(parents=True)
    manifest = {"arch": "arm64", "platform": "manylinux2014_aarch64", "python_version": "3.14"}
    (root / "arm64" / "gatehouse-layer.json").write_text(json.dumps({**manifest, "bytecode": None}))
    return root


def test_the_production_stage_refuses_a_layer_without_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What it stops: deploying production with a layer built where no Python 3.14 was found,
    which compiles every module on every cold start."""
    monkeypatch.setattr(authorizers_layer, "LAYER_BUILD_DIR", _layers_without_bytecode(tmp_path))
    assert COMMITTED["gatehouse"]["stages"]["prod"]["production"] is True
    with pytest.raises(LayerWithoutBytecodeError, match="allow_layer_without_bytecode=true"):
        build_app({**COMMITTED, "stage": "prod"}, builtin_validation=False)

    # app.py (what `cdk synth` runs) says so in one line, no traceback
    monkeypatch.setattr(app_module, "build_app", lambda: build_app({**COMMITTED, "stage": "prod"}))
    assert app_module.main() == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gatehouse: {tmp_path / 'arm64'} has no Python 3.14 bytecode")
    assert err.splitlines()[1] == app_module.BYTECODE_HINT
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "context",
    [
        {"stage": "dev"},  # not a production stage
        {"stage": "prod", "allow_layer_without_bytecode": "true"},  # as -c hands it over
    ],
    ids=["dev", "prod-allowed"],
)
def test_a_layer_without_bytecode_is_taken_where_it_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context: dict[str, str]
) -> None:
    monkeypatch.setattr(authorizers_layer, "LAYER_BUILD_DIR", _layers_without_bytecode(tmp_path))
    app = build_app({**COMMITTED, **context}, builtin_validation=False)
    assert [c.stage_name for c in app.node.children if isinstance(c, GatehouseStage)] == [
        context["stage"]
    ]
