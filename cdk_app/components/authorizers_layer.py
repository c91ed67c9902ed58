"""The Lambda layer that ships the ``authorizers`` package and its dependencies.

The layer is pre-built, one directory per architecture, by ``layers/build.py`` (``make layer
ARCH=<arch>``; ``make synth`` and ``make test`` build what they need first): Linux wheels for
:data:`cdk_app.constants.RUNTIME` installed into ``layers/build/<arch>/python/``, which is the
top-level directory Lambda puts on ``sys.path`` (``/opt/python``). Synthesis only packages that
directory: no Docker, no pip, no network (a bundling step here would need all three).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_app.constants import LAYER_BUILD_DIR, RUNTIME


class LayerNotBuiltError(FileNotFoundError):
    """The pre-built layer directory for an architecture does not exist yet."""

    def __init__(self, architecture: str, directory: Path) -> None:
        self.architecture = architecture
        self.directory = directory
        super().__init__(
            f"the {architecture} Lambda layer is not built: {directory / 'python'} does not "
            f"exist. Run `make layer ARCH={architecture}` first (`make synth` builds both "
            "architectures)."
        )


def layer_directory(architecture: lambda_.Architecture) -> Path:
    """The pre-built layer directory for ``architecture`` (``layers/build/<arch>``).

    Raises
    ------
    LayerNotBuiltError
        If ``layers/build/<arch>/python/`` is missing.
    """
    directory = LAYER_BUILD_DIR / architecture.name
    if not (directory / "python").is_dir():
        raise LayerNotBuiltError(architecture.name, directory)
    return directory


class AuthorizersLayer(Construct):
    """A ``LayerVersion`` of the pre-built ``layers/build/<arch>/`` directory.

    Parameters
    ----------
    scope, id:
        Construct scope and id.
    architecture:
        The layer's only compatible architecture; selects ``layers/build/<arch>/``.
    removal_policy:
        ``RETAIN`` keeps superseded layer versions (functions of a rolled-back deployment can
        still use them); ``DESTROY`` deletes them.

    Attributes
    ----------
    layer:
        The layer version, compatible with :data:`cdk_app.constants.RUNTIME` only.

    Raises
    ------
    LayerNotBuiltError
        If the layer for ``architecture`` has not been built (``make layer ARCH=<arch>``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        architecture: lambda_.Architecture,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        directory = layer_directory(architecture)
        super().__init__(scope, id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            # Only python/ goes into the zip: build stamps and logs next to it stay out.
            code=lambda_.Code.from_asset(
                str(directory), exclude=["*", ".*", "!python", "!python/**"]
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[architecture],
            description=f"Gatehouse authorizers ({RUNTIME.name}, {architecture.name})",
            removal_policy=removal_policy,
        )
