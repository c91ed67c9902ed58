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
