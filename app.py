#!/usr/bin/env python3
"""CDK entry point (``cdk.json``: ``"app": ".venv/bin/python app.py"``).

Stages come from the ``gatehouse`` context in ``cdk.json``; ``-c stage=NAME`` synthesizes one.
No AWS calls and no environment variables: everything comes from context. A configuration
problem (or a layer not yet built) prints a plain message to stderr and exits with status 2.
"""

from __future__ import annotations

import sys

from cdk_app.app_builder import build_app
from cdk_app.components.authorizer_functions import BundleMissingError
from cdk_app.components.authorizers_layer import LayerNotBuiltError
from cdk_app.components.settings_file import EnvironmentTooLargeError
from cdk_app.config import StageConfigError


def main() -> int:
    try:
        app = build_app()
    except (
        StageConfigError,
        LayerNotBuiltError,
        BundleMissingError,
        EnvironmentTooLargeError,
    ) as error:
        print(f"gatehouse: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
