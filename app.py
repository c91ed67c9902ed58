#!/usr/bin/env python3
"""CDK entry point (``cdk.json``: ``"app": ".venv/bin/python app.py"``).

Stages come from the ``gatehouse`` context in ``cdk.json``; ``-c stage=NAME`` synthesizes one.
No AWS calls and no environment variables: everything comes from context. A configuration
problem (a setting the authorizers would refuse, an unsafe authorizer cache, a layer not yet
built, or built for another target or, for a production stage, without bytecode) prints a
plain message to stderr and exits with status 2.
"""

from __future__ import annotations

import sys

from cdk_app.app_builder import build_app
from cdk_app.components.authorizers_layer import LayerNotBuiltError
from cdk_app.config import StageConfigError
from gatehouse.cdk import (
    BundleMissingError,
    EnvironmentTooLargeError,
    LayerWithoutBytecodeError,
    SettingsError,
    UnsafeAuthorizerError,
)
from gatehouse.cdk import LayerNotBuiltError as PublicLayerNotBuiltError

#: For a production stage's layer without bytecode, as this repository's Makefile runs synth.
BYTECODE_HINT = (
    'hint: make synth SYNTH_ARGS="-c stage=NAME" synthesizes one stage; '
    'SYNTH_ARGS="-c allow_layer_without_bytecode=true" takes the layer anyway (not for a '
    "production deploy)"
)


def main() -> int:
    try:
        app = build_app()
    except (
        StageConfigError,
        LayerNotBuiltError,
        PublicLayerNotBuiltError,
        BundleMissingError,
        EnvironmentTooLargeError,
        SettingsError,
        UnsafeAuthorizerError,
    ) as error:
        print(f"gatehouse: {error}", file=sys.stderr)
        if isinstance(error, LayerWithoutBytecodeError):
            print(BYTECODE_HINT, file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
