"""The Lambda layer that ships the ``authorizers`` package and its dependencies.

The layer is pre-built, one directory per architecture, by ``layers/build.py`` (``make layer
ARCH=<arch>``; ``make synth`` and ``make test`` build what they need first): Linux wheels for
:data:`gatehouse.cdk.RUNTIME` installed into ``layers/build/<arch>/python/``, which is the
top-level directory Lambda puts on ``sys.path`` (``/opt/python``). Synthesis only packages that
directory: no Docker, no pip, no network (a bundling step here would need all three).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_app.constants import LAYER_BUILD_DIR
from gatehouse.cdk.layer import GatehouseLayer


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


class AuthorizersLayer(GatehouseLayer):
    """The public :class:`gatehouse.cdk.GatehouseLayer` of this repository's
    ``layers/build/<arch>/`` directory (``removal_policy``, ``require_bytecode``: see there).

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
        require_bytecode: bool = False,
    ) -> None:
        super().__init__(
            scope,
            id,
            directory=layer_directory(architecture),
            architecture=architecture,
            removal_policy=removal_policy,
            require_bytecode=require_bytecode,
        )
