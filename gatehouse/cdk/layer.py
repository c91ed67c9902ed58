"""The Lambda layer that holds the ``authorizers`` runtime and its dependencies.

The layer is built before synthesis, once per architecture, into a directory whose
``python/`` is what Lambda mounts as ``/opt/python``: ``gatehouse layer build --arch arm64
--out build/layer/arm64`` from an installed wheel (docs/packaging.md), or ``make layer`` in
the Gatehouse repository. Synthesis only packages that directory: no Docker, no pip, no
network at synth time (a bundling step would need all three).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

__all__ = [
    "MANIFEST_NAME",
    "RUNTIME",
    "GatehouseLayer",
    "LayerNotBuiltError",
    "LayerRef",
    "LayerWithoutBytecodeError",
]

RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
"""The one Lambda runtime of every Gatehouse function and of the layer.

Python 3.14 is the newest runtime aws-cdk-lib 2.275 knows, and cdk-nag's ``AwsSolutions-L1`` /
``Serverless-LambdaLatestVersion`` require the newest runtime of the *installed* aws-cdk-lib
(so upgrading aws-cdk-lib can turn L1 red: upgrade the runtime, and the layer's
``--python-version``, with it). The layer's wheels are built for this version.
"""

MANIFEST_NAME: Final = "gatehouse-layer.json"
"""The build's record next to ``python/``: versions, architecture, whether bytecode is in."""


class LayerNotBuiltError(FileNotFoundError):
    """The layer directory does not hold a built layer (or one for another architecture)."""

    def __init__(self, directory: Path, problem: str, architecture: str) -> None:
        self.directory = directory
        self.architecture = architecture
        super().__init__(
            f"{directory} is not a built Gatehouse layer: {problem}. Build it with "
            f"`gatehouse layer build --arch {architecture} --out {directory}` "
            f"(in the Gatehouse repository: `make layer ARCH={architecture}`)"
        )


class LayerWithoutBytecodeError(LayerNotBuiltError):
    """The layer carries no bytecode for the runtime's Python, and bytecode is required."""

    def __init__(self, directory: Path, architecture: str) -> None:
        python = RUNTIME.name.removeprefix("python")
        self.directory = directory
        self.architecture = architecture
        # The message is its own, not LayerNotBuiltError's "is not a built layer".
        super(LayerNotBuiltError, self).__init__(
            f"{directory} has no Python {python} bytecode (it was built where no Python {python} "
            "was found), and this layer requires it: every cold start would compile every "
            "module, about twice as slow. Rebuild it where `gatehouse layer build` finds a "
            f"released Python {python} (the interpreter running the build, python{python} on "
            "PATH, uv, or a running Docker engine; the build prints which one compiled it), or "
            "allow it explicitly: "
            "GatehouseLayer(require_bytecode=False) (in the Gatehouse repository, "
            "`cdk synth -c allow_layer_without_bytecode=true`)",
        )


def _check(directory: Path, architecture: lambda_.Architecture, *, require_bytecode: bool) -> None:
    """Refuse a directory that would not run on Lambda: a layer of another architecture or
    Python, one built for this machine (``--host``: its compiled wheels are this machine's), or
    one whose build cannot be read. Each would deploy, then fail every cold start. With
    ``require_bytecode``, also refuse one without bytecode for the runtime's Python."""
    if not (directory / "python" / "authorizers").is_dir():
        raise LayerNotBuiltError(
            directory, f"{directory / 'python' / 'authorizers'} does not exist", architecture.name
        )
    manifest = directory / MANIFEST_NAME
    try:
        built = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        built = None
    if not isinstance(built, dict):
        raise LayerNotBuiltError(
            directory, f"it has no readable {MANIFEST_NAME} (the build's record)", architecture.name
        )
    runtime_python = RUNTIME.name.removeprefix("python")
    if built.get("platform") == "host":
        problem = (
            f"it was built for this machine (--host, Python {built.get('python_version')}), "
            "not for Lambda"
        )
    elif built.get("arch") != architecture.name:
        problem = f"it was built for {built.get('arch')}, not {architecture.name}"
    elif built.get("python_version") != runtime_python:
        problem = (
            f"it was built for Python {built.get('python_version')}, not the runtime's "
            f"{runtime_python}"
        )
    elif require_bytecode and built.get("bytecode") != f"cpython-{runtime_python.replace('.', '')}":
        raise LayerWithoutBytecodeError(directory, architecture.name)
    else:
        return
    raise LayerNotBuiltError(directory, problem, architecture.name)


@dataclass(frozen=True, slots=True)
class LayerRef:
    """A Gatehouse layer published elsewhere (a platform account shares one version), as the
    authorizer constructs take it: the version and its architecture."""

    layer: lambda_.ILayerVersion
    architecture: lambda_.Architecture


class GatehouseLayer(Construct):
    """A ``LayerVersion`` of a pre-built Gatehouse layer directory, for one architecture.

    Every Gatehouse authorizer construct takes one; its functions get the layer's
    architecture and :data:`RUNTIME`.

    Parameters
    ----------
    scope, id:
        Construct scope and id.
    directory:
        The built layer (holding ``python/authorizers``), e.g. ``build/layer/arm64``; a
        relative path is taken from the current directory, where ``cdk`` runs the app.
    architecture:
        The layer's only compatible architecture (default arm64, the cheaper one on Lambda);
        must match what the directory was built for.
    removal_policy:
        ``RETAIN`` (default) keeps superseded layer versions, so the functions of a rolled-back
        deployment can still use them; ``DESTROY`` deletes them.
    require_bytecode:
        Refuse a layer without bytecode for the runtime's Python (``bytecode`` in its build
        record). Lambda mounts layers read-only, so such a layer compiles every module on every
        cold start (about twice as slow); pass ``True`` for a production stage.

    Attributes
    ----------
    layer:
        The ``LayerVersion``.
    architecture:
        Its architecture.

    Raises
    ------
    LayerNotBuiltError
        If ``directory`` does not hold a layer built for ``architecture``.
    LayerWithoutBytecodeError
        With ``require_bytecode``, if the layer has no bytecode for the runtime's Python.

    Example
    -------
    ::

        import aws_cdk as cdk
        from gatehouse.cdk import GatehouseLayer

        stack = cdk.Stack(cdk.App(), "Orders")
        layer = GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64")
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        directory: str | Path,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        require_bytecode: bool = False,
    ) -> None:
        path = Path(directory)
        _check(path, architecture, require_bytecode=require_bytecode)
        super().__init__(scope, id)
        self.architecture = architecture
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            # Only python/ goes into the zip: build stamps and logs next to it stay out.
            code=lambda_.Code.from_asset(str(path), exclude=["*", ".*", "!python", "!python/**"]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[architecture],
            description=f"Gatehouse authorizers ({RUNTIME.name}, {architecture.name})",
            removal_policy=removal_policy,
        )

    @staticmethod
    def from_layer_version_arn(
        scope: Construct,
        id: str,
        layer_version_arn: str,
        *,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
    ) -> LayerRef:
        """A layer version built and published elsewhere (``gatehouse layer build --zip``,
        then ``aws lambda publish-layer-version``), for ``architecture``."""
        return LayerRef(
            layer=lambda_.LayerVersion.from_layer_version_arn(scope, id, layer_version_arn),
            architecture=architecture,
        )
