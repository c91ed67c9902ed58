"""Which stage settings `gatehouse local` serves: the Gatehouse repository's cdk.json, or the
built-in demo when run from an installed wheel (or in a team's repository with its own cdk.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatehouse.api_model import ApiSettings
from gatehouse.localmode.stack import (
    BUILTIN_REGION,
    DEFAULT_ACCOUNT,
    DEMO_BUNDLE,
    StackError,
    _stage_settings,
)

REPO_CDK_JSON = Path(__file__).resolve().parents[3] / "cdk.json"


def test_the_repository_cdk_json_gives_its_stage():
    region, account, _settings, config = _stage_settings(REPO_CDK_JSON, "prod")
    assert config is not None and config.name == "prod"
    assert (region, account) == (config.region, config.account or DEFAULT_ACCOUNT)


@pytest.mark.parametrize(
    "content",
    [None, {"app": "npx ts-node bin/app.ts", "context": {"@aws-cdk/core:foo": True}}],
    ids=["no-cdk-json", "a-teams-own-cdk-json"],
)
def test_without_the_repository_cdk_json_the_builtin_demo_is_served(tmp_path, content):
    # Stops: reading a team's own cdk.json as Gatehouse's stage settings.
    path = tmp_path / "cdk.json"
    if content is not None:
        path.write_text(json.dumps(content))
    assert _stage_settings(path, "dev") == (BUILTIN_REGION, DEFAULT_ACCOUNT, ApiSettings(), None)


def test_another_stage_needs_the_repository(tmp_path):
    with pytest.raises(StackError) as error:
        _stage_settings(tmp_path / "cdk.json", "prod")
    assert "needs the Gatehouse repository's cdk.json" in str(error.value)
    assert "leave out --stage" in error.value.hint


def test_an_unreadable_cdk_json_is_one_clear_error(tmp_path):
    path = tmp_path / "cdk.json"
    path.write_text("{not json")
    with pytest.raises(StackError, match=r"cannot read .*cdk\.json"):
        _stage_settings(path, "dev")


def test_the_demo_bundle_ships_inside_the_package():
    assert DEMO_BUNDLE.is_file()
    assert (
        DEMO_BUNDLE.read_bytes() == (REPO_CDK_JSON.parent / "policies" / "demo.yaml").read_bytes()
    )
