"""Build the Gatehouse CDK app: one ``GatehouseStage`` per configured stage, checked by cdk-nag.

``app.py`` (the ``cdk`` CLI's entry point) and the CDK tests both call :func:`build_app`, so the
tests synthesize exactly what ``cdk synth`` does.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk

from cdk_app.config import (
    ALLOW_NO_BYTECODE_KEY,
    CONTEXT_KEY,
    STAGE_SELECTOR_KEY,
    load_stage_configs,
)
from cdk_app.nag import apply_nag
from cdk_app.stage import GatehouseStage


def build_app(
    context: Mapping[str, object] | None = None,
    *,
    outdir: str | None = None,
    builtin_validation: bool = True,
) -> cdk.App:
    """Create the app and its stages; the caller synthesizes it.

    Parameters
    ----------
    context:
        Extra context for the app. The ``cdk`` CLI hands ``cdk.json``'s context to the app
        itself, so ``app.py`` passes nothing; tests pass ``cdk.json``'s ``context`` block.
    outdir:
        Cloud assembly directory; by default the CLI's (``cdk.out``) or a temporary one.
    builtin_validation:
        aws-cdk-lib's own CloudFormation validation (3-5 s per synthesis); the unit tests turn
        it off (cdk-nag still runs), one test and ``cdk synth`` keep it on.

    Raises
    ------
    cdk_app.config.StageConfigError
        If the ``gatehouse`` context (or ``-c stage=NAME``) is invalid.
    cdk_app.components.authorizers_layer.LayerNotBuiltError
        If a stage's layer has not been built (``make layer ARCH=<arch>``).
    gatehouse.cdk.LayerWithoutBytecodeError
        If a production stage's layer has no bytecode and ``-c allow_layer_without_bytecode``
        is not ``true``.
    cdk_app.components.authorizer_functions.BundleMissingError
        If a file the stage bundles (trust anchors, policy bundle) does not exist.
    cdk_app.components.settings_file.EnvironmentTooLargeError
        If an authorizer's settings cannot fit in Lambda's 4 KB environment, even with the
        token-free ones moved to its ``gatehouse.json``.
    """
    app = cdk.App(
        context=dict(context) if context is not None else None,
        outdir=outdir,
        builtin_cloud_formation_validation=builtin_validation,
    )
    view = {
        key: value
        for key in (CONTEXT_KEY, STAGE_SELECTOR_KEY, ALLOW_NO_BYTECODE_KEY)
        if (value := app.node.try_get_context(key)) is not None
    }
    for config in load_stage_configs(view):
        GatehouseStage(app, config=config)
    apply_nag(app)
    return app
