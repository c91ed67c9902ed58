#!/usr/bin/env python3
"""CDK entry point (``cdk.json``: ``"app": "python3 app.py"``): ``cdk synth`` from this directory.

Build the layer first: ``gatehouse layer build --arch arm64 --out build/layer/arm64``. A
configuration problem (a setting the authorizers would refuse, an unsafe authorizer cache, a
layer not yet built) prints a plain message to stderr and exits with status 2; a cdk-nag
finding fails the synthesis with its report.
"""

from __future__ import annotations

import sys

from gatehouse.cdk import (
    BundleMissingError,
    EnvironmentTooLargeError,
    LayerNotBuiltError,
    SettingsError,
    UnsafeAuthorizerError,
)

from orders_service.infra import create_app


def main() -> int:
    try:
        app, _ = create_app()
    except (
        BundleMissingError,
        EnvironmentTooLargeError,
        LayerNotBuiltError,
        SettingsError,
        UnsafeAuthorizerError,
        ValueError,
    ) as error:
        print(f"orders-service: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
