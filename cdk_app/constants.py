"""Names and settings shared by the CDK components.

``cdk_app`` points at handlers by their dotted names only; it never imports ``authorizers``
code, so synthesis does not depend on the runtime's dependencies being importable.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from cdk_app.config import LOG_RETENTION_DAYS, ArchitectureName
from gatehouse.cdk.layer import RUNTIME as GATEHOUSE_RUNTIME

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
"""The repository root; asset paths are resolved against it, never against the cwd."""

LAYER_BUILD_DIR: Final = REPO_ROOT / "layers" / "build"
"""``layers/build.py`` writes one pre-built layer per architecture here: ``<arch>/python/``."""

RUNTIME: Final = GATEHOUSE_RUNTIME
"""The one Lambda runtime of every function (:data:`gatehouse.cdk.RUNTIME`, which says why)."""

ARCHITECTURES: Final[Mapping[ArchitectureName, lambda_.Architecture]] = {
    "arm64": lambda_.Architecture.ARM_64,
    "x86_64": lambda_.Architecture.X86_64,
}
"""Stage setting ``architecture`` -> Lambda architecture (names match ``make layer ARCH=...``)."""

AUTHORIZER_KINDS: Final = ("jwt_bearer", "api_key", "mtls", "policy")

HANDLERS: Final[Mapping[str, str]] = {
    kind: f"authorizers.{kind}.handler.lambda_handler" for kind in AUTHORIZER_KINDS
}
"""Handler entry point per authorizer kind (the layer puts ``authorizers`` on ``/opt/python``)."""

LOG_RETENTION: Final[Mapping[int, logs.RetentionDays]] = {
    days: logs.RetentionDays[name]
    for days, name in zip(
        LOG_RETENTION_DAYS,
        (
            "ONE_DAY", "THREE_DAYS", "FIVE_DAYS", "ONE_WEEK", "TWO_WEEKS", "ONE_MONTH",
            "TWO_MONTHS", "THREE_MONTHS", "FOUR_MONTHS", "FIVE_MONTHS", "SIX_MONTHS",
            "ONE_YEAR", "THIRTEEN_MONTHS", "EIGHTEEN_MONTHS", "TWO_YEARS", "THREE_YEARS",
            "FIVE_YEARS", "SIX_YEARS", "SEVEN_YEARS", "EIGHT_YEARS", "NINE_YEARS", "TEN_YEARS",
        ),
        strict=True,
    )
}  # fmt: skip
"""Stage setting ``log_retention_days`` -> ``RetentionDays`` (jsii enums are keyed by name)."""
