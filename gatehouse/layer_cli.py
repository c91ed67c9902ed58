"""``gatehouse layer build``: build the Lambda layer from this installation (docs/packaging.md).

The same build as ``layers/build.py`` in the Gatehouse repository (:mod:`gatehouse.layer_build`):
the pinned wheels shipped with the package, cross-installed for the Lambda architecture by pip,
plus the ``authorizers`` package Python imports. ``gatehouse.cdk.GatehouseLayer(directory=...)``
packages the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click

from gatehouse.errors import CliError, ExitCode
from gatehouse.layer_build import (
    ARCHITECTURES,
    DEFAULT_ARCH,
    HOST_ARCHES,
    LAMBDA_PYTHON,
    BuildError,
    BuildUsageError,
    build_layer,
    summary,
)

#: Exit code for a build that failed (pip, the pins, byte-compiling, writing): docs/cli.md.
BUILD_FAILED: Final = 1
#: Where the layer goes without ``--out``: ``./gatehouse-layer/<arch>`` (or ``host``).
DEFAULT_OUT_ROOT: Final = Path("gatehouse-layer")


class BuildFailed(CliError):
    """A failed build: ``error:`` and ``hint:`` like every CLI error, exit :data:`BUILD_FAILED`."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint, code=ExitCode.USAGE)
        # ExitCode has no member for 1 (policy and smoke report failures on stdout instead).
        self.exit_code = BUILD_FAILED  # type: ignore[misc]


def _architecture(arch: str | None, *, host: bool) -> str | None:
    if arch is None or arch in ARCHITECTURES:
        if arch is not None and host:
            raise CliError(
                "--arch and --host cannot be used together",
                hint="--host builds for this machine's architecture and Python (local tests); "
                f"a layer for Lambda takes --arch {' or --arch '.join(ARCHITECTURES)}",
                code=ExitCode.USAGE,
            )
        return arch
    meant = HOST_ARCHES.get(arch.lower())
    hint = (
        f"Lambda calls it {meant}: --arch {meant}"
        if meant is not None
        else f"pass --arch {' or --arch '.join(ARCHITECTURES)} (default {DEFAULT_ARCH})"
    )
    raise CliError(
        f"--arch {arch!r} is not a Lambda architecture ({' or '.join(ARCHITECTURES)})",
        hint=hint,
        code=ExitCode.USAGE,
    )


BUILD_HELP: Final = f"""Build the layer into OUT: OUT/python/ is Lambda's /opt/python.

OUT/gatehouse-layer.json records what it holds. The pinned dependencies are Linux
wheels for Python {LAMBDA_PYTHON}, downloaded by pip (it needs the package index), plus
the installed authorizers package. Bytecode is compiled only when a python{LAMBDA_PYTHON}
is on PATH. Pass OUT to gatehouse.cdk.GatehouseLayer(directory=...).

Exit codes: 0 built, 1 build failed (pip, pins, byte-compiling, writing), 2 usage
error (docs/cli.md).
"""


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@click.group(name="layer")
def layer() -> None:
    """Build the Lambda layer the Gatehouse authorizers run from."""


@layer.command(name="build", help=BUILD_HELP)
@click.option(
    "--arch",
    metavar="|".join(ARCHITECTURES),
    help=f"Lambda architecture of the layer (default: {DEFAULT_ARCH}).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help=f"Layer directory, deleted and recreated (default: ./{DEFAULT_OUT_ROOT}/<arch>).",
)
@click.option(
    "--zip",
    "zip_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the deployable layer zip here.",
)
@click.option(
    "--host", is_flag=True, help="Build for this machine and Python instead (local tests)."
)
@click.option("--quiet", is_flag=True, help="No pip progress and no summary.")
def build(
    *, arch: str | None, out: Path | None, zip_path: Path | None, host: bool, quiet: bool
) -> None:
    arch = _architecture(arch, host=host)
    if out is None:
        out = DEFAULT_OUT_ROOT / ("host" if host else arch or DEFAULT_ARCH)
    try:
        result = build_layer(out, arch=arch, host=host, zip_path=zip_path, quiet=quiet, warn=_warn)
    except BuildUsageError as error:
        raise CliError(error.message, hint=error.hint, code=ExitCode.USAGE) from None
    except BuildError as error:
        raise BuildFailed(
            error.message, hint=error.hint or "docs/layer.md describes the build and its checks"
        ) from None
    if not quiet:
        for line in summary(result):
            click.echo(line)
