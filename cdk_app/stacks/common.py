"""Small helpers the stacks share."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from cdk_app.config import StageConfig
from cdk_app.constants import LOG_RETENTION, REPO_ROOT


def removal_policy(config: StageConfig) -> cdk.RemovalPolicy:
    """``retain`` -> RETAIN, ``destroy`` -> DESTROY."""
    return (
        cdk.RemovalPolicy.RETAIN if config.removal_policy == "retain" else cdk.RemovalPolicy.DESTROY
    )


def log_retention(config: StageConfig) -> logs.RetentionDays:
    return LOG_RETENTION[config.log_retention_days]


def repo_path(relative: str) -> Path:
    """A repository-relative path from cdk.json, resolved against the repository root."""
    return REPO_ROOT / relative
