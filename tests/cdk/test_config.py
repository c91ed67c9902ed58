"""StageConfig loading from the ``gatehouse`` context: valid stages, every kind of error, selection.

Pure: no ``aws_cdk`` import, no synthesis.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk_app.config import LOG_RETENTION_DAYS, StageConfig, StageConfigError, load_stage_configs
from cdk_app.settings import AttachRoute, IdentitySettings, MtlsSettings
from gatehouse.api_model import ApiSettings, UsagePlanModel

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"

REQUIRED: dict[str, Any] = {
    "identity": {"domain_prefix": "acme-auth"},
    "mtls": {"trust_anchors_file": "pki/ca.pem"},
}
"""The blocks every stage must have (the hosted-UI prefix and the trust anchors)."""

DEV: dict[str, Any] = {
    "region": "eu-west-1",
    "removal_policy": "destroy",
    "termination_protection": False,
    **REQUIRED,
}
PROD: dict[str, Any] = {
    "account": "222222222222",
    "region": "eu-west-1",
    "architecture": "x86_64",
    "log_retention_days": 731,
    "removal_policy": "retain",
    "termination_protection": True,
    **REQUIRED,
}
SCALARS = ("account", "region", "architecture", "log_retention_days", "removal_policy")


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
        identity=IdentitySettings(domain_prefix="acme-auth"),
        mtls=MtlsSettings(trust_anchors_file="pki/ca.pem"),
    )
    assert prod == StageConfig(
        name="prod",
        identity=IdentitySettings(domain_prefix="acme-auth"),
        mtls=MtlsSettings(trust_anchors_file="pki/ca.pem"),
        termination_protection=True,
        **{k: PROD[k] for k in SCALARS},
    )


def test_defaults_are_the_production_safe_ones() -> None:
    # GIVEN a stage that names only its account and region
    (config,) = load_stage_configs(
        context({"qa": {"account": "111111111111", "region": "us-east-1", **REQUIRED}})
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
    # ...and prod is marked production: it refuses a layer without bytecode
    assert (by_name["prod"].production, by_name["dev"].production) == (True, False)
    assert by_name["prod"].requires_layer_bytecode


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
        ("production", "yes", "refuses a layer without bytecode"),
        ("kms_key", "yes", '"create"'),
        ("kms_key", "arn:aws:kms:eu-west-1:111111111111:alias/gatehouse", "KMS key ARN"),
        (
            "kms_key",
            "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "their own region only",
        ),
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
        {"region": "eu-west-1", **REQUIRED},  # defaults: retain + termination protection
        {"region": "eu-west-1", "removal_policy": "retain", "termination_protection": False}
        | REQUIRED,
        {"region": "eu-west-1", "removal_policy": "destroy", "termination_protection": True}
        | REQUIRED,
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


@pytest.mark.parametrize(
    ("value", "allowed"), [(None, False), ("true", True), ("FALSE", False), (True, True)]
)
def test_the_bytecode_allowance_is_a_command_line_flag_for_every_stage(
    value: object, allowed: bool
) -> None:
    ctx = context({"dev": DEV, "prod": {**PROD, "production": True}})
    if value is not None:
        ctx["allow_layer_without_bytecode"] = value
    configs = load_stage_configs(ctx)
    assert [c.allow_layer_without_bytecode for c in configs] == [allowed, allowed]
    assert [c.requires_layer_bytecode for c in configs] == [False, not allowed]


def test_a_bytecode_allowance_that_is_not_a_boolean_is_an_error() -> None:
    ctx = context({"dev": DEV})
    ctx["allow_layer_without_bytecode"] = "yes"
    (problem,) = problems_of(ctx)
    assert problem == "-c allow_layer_without_bytecode=yes: put true or false"


def test_unknown_stage_selector_lists_the_valid_names() -> None:
    (problem,) = problems_of(context({"dev": DEV, "prod": PROD}, stage="staging"))
    assert problem.startswith("-c stage=staging: unknown stage; use one of: dev, prod")


def test_log_retention_values_are_the_cloudwatch_ones() -> None:
    # CloudWatch Logs PutRetentionPolicy values that aws-cdk-lib 2.275 RetentionDays can express
    assert LOG_RETENTION_DAYS[:6] == (1, 3, 5, 7, 14, 30)
    assert LOG_RETENTION_DAYS[-1] == 3653
    assert len(LOG_RETENTION_DAYS) == 22


# ------------------------------------------------------------------------ nested setting blocks


def test_required_blocks_are_named_when_missing() -> None:
    # GIVEN a stage with neither the hosted-UI prefix nor the trust anchors
    ctx = context({"dev": {k: v for k, v in DEV.items() if k not in REQUIRED}})

    # WHEN it is loaded THEN both are reported with their full key path
    problems = problems_of(ctx)
    assert [p.split(":", 1)[0] for p in problems] == [
        "gatehouse.stages.dev.identity.domain_prefix",
        "gatehouse.stages.dev.mtls.trust_anchors_file",
    ]


def test_api_block_becomes_api_settings() -> None:
    # GIVEN an api block with every setting
    api = {
        "authorizer_cache_seconds": 0,
        "usage_plans": [
            {"name": "gold", "rate_limit": 5, "burst_limit": 10, "quota_limit": 100},
            {
                "name": "platinum",
                "rate_limit": 2.5,
                "burst_limit": 5,
                "quota_limit": 9,
                "quota_period": "MONTH",
            },
        ],
        "cors_allow_origins": ["https://app.example.com"],
        "policy_mode": "shadow",
        "policy_refresh_seconds": 30,
        "throttling_rate_limit": 20,
        "throttling_burst_limit": 40,
        "private_vpc_endpoint_ids": ["vpce-0123456789abcdef0"],
    }

    # WHEN it is loaded
    (config,) = load_stage_configs(context({"dev": {**DEV, "api": api}}))

    # THEN StageConfig.api is the ApiSettings local mode and the CDK stack both read
    assert config.api == ApiSettings(
        authorizer_cache_seconds=0,
        usage_plans=(
            UsagePlanModel("gold", rate_limit=5, burst_limit=10, quota_limit=100),
            UsagePlanModel("platinum", 2.5, 5, 9, "MONTH"),
        ),
        cors_allow_origins=("https://app.example.com",),
        policy_mode="shadow",
        policy_refresh_seconds=30,
        throttling_rate_limit=20,
        throttling_burst_limit=40,
        private_vpc_endpoint_ids=("vpce-0123456789abcdef0",),
    )


def test_missing_api_block_gives_default_api_settings() -> None:
    (config,) = load_stage_configs(context({"dev": DEV}))
    assert config.api == ApiSettings()


@pytest.mark.parametrize(
    ("block", "value", "where", "hint"),
    [
        ("api", {"authorizer_cache_seconds": 3601}, "api.authorizer_cache_seconds", "0 to 3600"),
        ("api", {"cors_allow_origins": ["*"]}, "api.cors_allow_origins", 'no "*"'),
        ("api", {"usage_plans": []}, "api.usage_plans", "non-empty"),
        ("api", {"usage_plans": [{"rate_limit": 1}]}, "api.usage_plans[0].name", "required"),
        (
            "api",
            {"usage_plans": [{"name": "a", "quota_period": "YEAR"}]},
            "api.usage_plans[0].quota_period",
            '"DAY", "WEEK", "MONTH"',
        ),
        ("api", {"policy_mode": "audit"}, "api.policy_mode", '"enforce", "shadow"'),
        ("identity", {"domain_prefix": "My_Pool"}, "identity.domain_prefix", "lowercase"),
        ("identity", {"domain_prefix": "cognito-x"}, "identity.domain_prefix", "refuses"),
        ("identity", {"mfa": True}, "identity.mfa", '"off", "optional", "required"'),
        (
            "identity",
            {"feature_plan": "essentials"},
            "identity.threat_protection",
            '"feature_plan": "plus"',
        ),
        ("functions", {"timeout_seconds": 30}, "functions.timeout_seconds", "1 to 29"),
        ("functions", {"reserved_concurrency": 0}, "functions.reserved_concurrency", "1 to 1000"),
        ("mtls", {"crls": {"xyz": "crl/a.crl"}}, "mtls.crls.xyz", "Subject Key Identifier"),
        ("mtls", {"domain_name": "api.example.com"}, "mtls.domain_name", "both"),
        ("waf", {"managed_rules": {"comon": True}}, "waf.managed_rules.comon", '"common"'),
        ("waf", {"geo_block": ["north korea"]}, "waf.geo_block", "ISO 3166"),
        ("waf", {"count": ["admin"]}, "waf.count", "admin_protection"),
        ("identity", {"email_from": "no-reply"}, "identity.email_from", "SES-verified"),
        ("identity", {"ses_region": "eu-west-1"}, "identity.email_from", "required with"),
        (
            "api",
            {"method_throttles": [{"route": "GET /nope"}]},
            "api.method_throttles[0].route",
            '"POST /tenants/{tenant}/orders"',
        ),
        (
            "api",
            {"method_throttles": [{"route": "GET /profile", "burst_limit": 0}]},
            "api.method_throttles[0].burst_limit",
            "1 to 5000",
        ),
        (
            "api",
            {"method_throttles": [{"route": "GET /profile"}, {"route": "GET /profile"}]},
            "api.method_throttles",
            "listed twice",
        ),
        ("functions", {"rollout": {"strategy": "blue"}}, "functions.rollout.strategy", '"canary"'),
        ("functions", {"rollout": {"percent": 100}}, "functions.rollout.percent", "1 to 99"),
        ("functions", {"rollout": {"minute": 5}}, "functions.rollout.minute", "minutes"),
        (
            "waf",
            {"managed_rules": {"bot_control": False}, "count": ["bot_control"]},
            "waf.count",
            "not on in managed_rules",
        ),
        ("monitoring", {"alarm_emails": ["oncall"]}, "monitoring.alarm_emails", "e-mail"),
        ("attach", {"rest_api_id": "x"}, "attach.rest_api_id", "id API Gateway shows"),
        ("policy", {"source": "https://x"}, "policy.source", "s3://bucket/key"),
    ],
)
def test_bad_block_setting_names_its_full_path(
    block: str, value: dict[str, Any], where: str, hint: str
) -> None:
    # GIVEN one bad setting inside a block
    raw = {**DEV, block: {**DEV.get(block, {}), **value}}

    # WHEN it is loaded THEN a problem names stage, block and key, and says what to put
    problems = problems_of(context({"dev": raw}))
    matching = [p for p in problems if p.startswith(f"gatehouse.stages.dev.{where}: ")]
    assert matching, problems
    assert hint in matching[0]


def test_unknown_key_in_a_block_is_an_error_with_a_suggestion() -> None:
    raw = {**DEV, "api": {"authoriser_cache_seconds": 60}}

    (problem,) = problems_of(context({"dev": raw}))
    assert problem.startswith("gatehouse.stages.dev.api.authoriser_cache_seconds: unknown")
    assert 'did you mean "authorizer_cache_seconds"?' in problem


def test_login_redirect_is_refused_on_the_stage_api() -> None:
    # Attack: API Gateway's UNAUTHORIZED response is API-wide, so a 302 on the stage's API
    # answers API-key and mTLS clients with a login page (following it, they see a 200).
    raw = {**DEV, "api": {"login_redirect": True}}

    (problem,) = problems_of(context({"dev": raw}))
    assert problem.startswith("gatehouse.stages.dev.api.login_redirect: ")
    assert "machine clients" in problem


def test_attach_block_lists_its_routes() -> None:
    attach = {
        "rest_api_id": "a1b2c3d4e5",
        "root_resource_id": "r00tr00t00",
        "stage_name": "prod",
        "routes": [{"method": "GET", "path": "/orders/{id}", "authorizer": "policy"}],
    }

    (config,) = load_stage_configs(context({"dev": {**DEV, "attach": attach}}))

    assert config.attach is not None
    assert config.attach.routes == (AttachRoute("GET", "/orders/{id}", "policy"),)
    assert config.attach.deployment_revision == 1


def test_repository_dev_stage_api_settings_are_loadable_without_cdk() -> None:
    # GIVEN the committed cdk.json, as local mode reads it (no aws_cdk import needed)
    ctx = json.loads(CDK_JSON.read_text())["context"]

    # WHEN only dev is selected THEN its api settings are there
    (dev,) = load_stage_configs({**ctx, "stage": "dev"})
    assert isinstance(dev.api, ApiSettings)
    assert dev.identity.domain_prefix
    assert dev.mtls.crls


def test_authorizer_cache_may_not_outlive_access_tokens() -> None:
    raw = {
        **DEV,
        "api": {"authorizer_cache_seconds": 600},
        "identity": {"domain_prefix": "acme-auth", "access_token_minutes": 5},
    }

    (problem,) = problems_of(context({"dev": raw}))
    assert problem.startswith("gatehouse.stages.dev.api.authorizer_cache_seconds: longer than")


def test_private_endpoint_and_mtls_domain_exclude_each_other() -> None:
    raw = {
        **DEV,
        "api": {"private_vpc_endpoint_ids": ["vpce-0123456789abcdef0"]},
        "mtls": {
            "trust_anchors_file": "pki/ca.pem",
            "domain_name": "api.example.com",
            "certificate_arn": "arn:aws:acm:eu-west-1:111111111111:certificate/"
            "00000000-0000-0000-0000-000000000000",
        },
    }

    (problem,) = problems_of(context({"dev": raw}))
    assert problem.startswith("gatehouse.stages.dev.api.private_vpc_endpoint_ids: a PRIVATE API")


def test_config_module_loads_without_aws_cdk() -> None:
    # Local mode reads stage settings without paying for (or needing) aws-cdk-lib.
    code = (
        "import sys, json; from cdk_app.config import load_stage_configs; "
        "ctx = json.load(open('cdk.json'))['context']; "
        "assert load_stage_configs({**ctx, 'stage': 'dev'})[0].api; "
        "assert not [m for m in sys.modules if m.startswith(('aws_cdk', 'jsii'))], 'cdk imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CDK_JSON.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
