"""What importing the core costs: never boto3 (≈ 230 ms of cold start), never the CDK."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_core_imports_neither_boto3_nor_the_cdk_nor_the_tracer():
    code = (
        "import sys, authorizers.core, authorizers.core.pipeline;"
        "bad = [m for m in ('boto3', 'aws_cdk', 'cdk_app', 'aws_xray_sdk') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_no_handler_imports_powertools_event_data_classes():
    """Importing any Powertools data class imports the whole ``data_classes`` package (~45 ms
    of cold start, measured with ``python -X importtime``): the handlers read events directly."""
    handlers = [
        "authorizers.jwt_bearer.handler",
        "authorizers.api_key.handler",
        "authorizers.mtls.handler",
        "authorizers.policy.handler",
    ]
    code = (
        "import sys, importlib;"
        f"[importlib.import_module(m) for m in {handlers!r}];"
        "print('IMPORTED:' + ','.join(m for m in sys.modules if 'utilities.data_classes' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    # (The handlers log their configuration errors here: no settings are given.)
    (imported,) = [line for line in result.stdout.splitlines() if line.startswith("IMPORTED:")]
    assert imported == "IMPORTED:"
