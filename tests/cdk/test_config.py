"""StageConfig loading from the ``gatehouse`` context: valid stages, every kind of error, selection.

Pure: no ``aws_cdk`` import, no synthesis.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cdk_app.config import LOG_RETENTION_DAYS, StageConfig, StageConfigError, load_stage_configs

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"

DEV: dict[str, Any] = {
    "region": "eu-west-1",
    "removal_policy": "destroy",
    "termination_protection": False,
}
PROD: dict[str, Any] = {
    "account": "222222222222",
    "region": "eu-west-1",
    "architecture": "x86_64",
    "log_retention_days": 731,
    "removal_policy": "retain",
    "termination_protection": True,
}


def context(stages: object, **extra: object) -> dict[str, object]:
    return {"gatehouse": {"stages": copy.deepcopy(stages)}, **extra}


def problems_of(ctx: dict[str, object]) -> tuple[str, ...]:
    with pytest.raises(StageConfigError) as caught:
        load_stage_configs(ctx)
    return caught.value.problems


def test_loads_every_stage_in_order_with_safe_defaults() -> None:
    # GIVEN a disposable dev stage with only what it must say, and a fully specified prod
    ctx = context({"dev": DEV, "prod": PROD})

    # WHEN the context is loaded
    dev, prod = load_stage_configs(ctx)

    # THEN dev gets the defaults it did not override, prod exactly what it says
    assert dev == StageConfig(
        name="dev",
        region="eu-west-1",
        account=None,
        architecture="arm64",
        log_retention_days=365,
        removal_policy="destroy",
        termination_protection=False,
    )
    assert prod == StageConfig(name="prod", **PROD)


def test_defaults_are_the_production_safe_ones() -> None:
    # GIVEN a stage that names only its account and region
    (config,) = load_stage_configs(
        context({"qa": {"account": "111111111111", "region": "us-east-1"}})
    )

    # THEN it retains resources and is protected from deletion
    assert config.removal_policy == "retain"
    assert config.termination_protection is True
    assert config.log_retention_days == 365


def test_the_repository_cdk_json_is_valid() -> None:
    # GIVEN the committed cdk.json
    ctx = json.loads(CDK_JSON.read_text())["context"]

    # WHEN it is loaded
    configs = load_stage_configs(ctx)

    # THEN dev and prod exist, and prod is pinned to an account and protected
    by_name = {c.name: c for c in configs}
    assert {"dev", "prod"} <= set(by_name)
    assert by_name["prod"].account is not None
    assert by_name["prod"].removal_policy == "retain"
    assert by_name["prod"].termination_protection is True


@pytest.mark.parametrize(
    ("key", "value", "hint"),
    [
        ("account", "12345", "12-digit AWS account id"),
        ("account", 222222222222, "JSON string in quotes"),
        ("region", "Europe", 'e.g. "region": "eu-west-1"'),
        ("region", 1, "AWS region name"),
        ("architecture", "aarch64", '"arm64", "x86_64"'),
        ("log_retention_days", 10, "14, 30"),
        ("log_retention_days", True, "number of days CloudWatch Logs allows"),
        ("log_retention_days", 14.0, "number of days CloudWatch Logs allows"),
        ("removal_policy", "snapshot", '"destroy", "retain"'),
        ("termination_protection", "true", "JSON boolean"),
    ],
)
def test_bad_value_names_stage_and_key_and_says_what_to_put(
    key: str, value: object, hint: str
) -> None:
    # GIVEN a prod stage with one bad setting
    ctx = context({"prod": {**PROD, key: value}})

    # WHEN it is loaded THEN the one problem names stage, key and a hint
    (problem,) = problems_of(ctx)
    assert problem.startswith(f"gatehouse.stages.prod.{key}: ")
    assert hint in problem


def test_unknown_key_is_an_error_with_a_suggestion() -> None:
    # GIVEN a misspelt setting (protection must not silently fall back to a default)
    ctx = context({"prod": {**PROD, "termination_protecton": False}})

    # WHEN it is loaded THEN the problem names the key and suggests the right one
    (problem,) = problems_of(ctx)
    assert problem.startswith("gatehouse.stages.prod.termination_protecton: unknown setting")
    assert 'did you mean "termination_protection"?' in problem


def test_missing_region_is_an_error() -> None:
    ctx = context({"dev": {k: v for k, v in DEV.items() if k != "region"}})

    (problem,) = problems_of(ctx)
    assert problem.startswith("gatehouse.stages.dev.region: required and missing")
    assert "eu-west-1" in problem


@pytest.mark.parametrize(
    "settings",
    [
        {"region": "eu-west-1"},  # defaults: retain + termination protection
        {"region": "eu-west-1", "removal_policy": "retain", "termination_protection": False},
        {"region": "eu-west-1", "removal_policy": "destroy", "termination_protection": True},
    ],
)
def test_account_is_required_for_a_protected_stage(settings: dict[str, object]) -> None:
    # GIVEN a long-lived stage (retains resources or is termination protected) without account
    ctx = context({"prod": settings})

    # WHEN it is loaded THEN account is required, and the way out is spelled out
    (problem,) = problems_of(ctx)
    assert problem.startswith("gatehouse.stages.prod.account: required for a stage that retains")
    assert '"removal_policy": "destroy"' in problem


def test_every_problem_is_reported_at_once() -> None:
    # GIVEN two stages with problems
    ctx = context(
        {
            "dev": {**DEV, "architecture": "arm"},
            "prod": {**PROD, "account": "x", "extra": 1},
        }
    )

    # WHEN it is loaded THEN all three problems are listed, in the message too
    with pytest.raises(StageConfigError) as caught:
        load_stage_configs(ctx)
    keys = [p.split(":", 1)[0] for p in caught.value.problems]
    assert sorted(keys) == [
        "gatehouse.stages.dev.architecture",
        "gatehouse.stages.prod.account",
        "gatehouse.stages.prod.extra",
    ]
    assert all(p in str(caught.value) for p in caught.value.problems)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("name", ["Prod", "1dev", "dev/eu", "dev_eu", "", "a" * 33])
def test_stage_name_must_be_a_construct_and_stack_name_friendly(name: str) -> None:
    (problem,) = problems_of(context({name: DEV}))
    assert problem.startswith(f"gatehouse.stages.{name}: invalid stage name")


def test_stage_settings_must_be_an_object() -> None:
    (problem,) = problems_of(context({"dev": ["eu-west-1"]}))
    assert problem.startswith("gatehouse.stages.dev: must be an object")


@pytest.mark.parametrize(
    "ctx",
    [
        {},
        {"gatehouse": "dev"},
        {"gatehouse": {}},
        {"gatehouse": {"stages": {}}},
        {"gatehouse": {"stages": ["dev"]}},
    ],
)
def test_missing_or_empty_gatehouse_context_is_an_error(ctx: dict[str, object]) -> None:
    (problem,) = problems_of(ctx)
    assert "gatehouse" in problem
    assert '"region": "eu-west-1"' in problem


def test_unknown_key_in_gatehouse_block_is_an_error() -> None:
    ctx: dict[str, object] = {"gatehouse": {"stages": {"dev": DEV}, "stage": "dev"}}

    (problem,) = problems_of(ctx)
    assert problem.startswith("gatehouse.stage: unknown setting")


def test_stage_selector_narrows_to_one_stage() -> None:
    ctx = context({"dev": DEV, "prod": PROD}, stage="prod")

    assert [c.name for c in load_stage_configs(ctx)] == ["prod"]


def test_unknown_stage_selector_lists_the_valid_names() -> None:
    (problem,) = problems_of(context({"dev": DEV, "prod": PROD}, stage="staging"))
    assert problem.startswith("-c stage=staging: unknown stage; use one of: dev, prod")


def test_log_retention_values_are_the_cloudwatch_ones() -> None:
    # CloudWatch Logs PutRetentionPolicy values that aws-cdk-lib 2.275 RetentionDays can express
    assert LOG_RETENTION_DAYS[:6] == (1, 3, 5, 7, 14, 30)
    assert LOG_RETENTION_DAYS[-1] == 3653
    assert len(LOG_RETENTION_DAYS) == 22
