"""A Gatehouse function's own code: the data files it reads, and its settings file.

The handler lives in the layer; a function's code holds only what it opens at
``/var/task/<name>`` (trust anchors, a policy bundle) and, when its settings would exceed
Lambda's 4 KB environment, ``gatehouse.json`` (:mod:`gatehouse.cdk._settings_file`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Final

from aws_cdk import aws_lambda as lambda_

from gatehouse.cdk._settings_file import CONFIG_FILE_NAME, settings_file_text

TASK_ROOT: Final = PurePosixPath("/var/task")
"""Where Lambda unpacks a function's own code."""

_PLACEHOLDER: Final = "# Gatehouse: the handler is in the authorizers layer (/opt/python).\n"


class BundleMissingError(FileNotFoundError):
    """A file the stage bundles into a function (trust anchors, policy bundle) does not exist."""

    def __init__(self, what: str, path: Path) -> None:
        self.path = path
        super().__init__(f"{what} {path} does not exist")


def bundled_file(path: Path, what: str) -> Path:
    """``path``, a file the stage bundles into a function (``what`` names it in the error).

    Raises
    ------
    BundleMissingError
        If ``path`` is not a file.
    """
    if not path.is_file():
        raise BundleMissingError(what, path)
    return path


def single_file_code(path: Path) -> lambda_.Code:
    """Function code holding only ``path`` (``/var/task/<name>``)."""
    return lambda_.Code.from_asset(str(path.parent), exclude=["*", f"!{path.name}"])


def function_code(files: Sequence[Path], file_settings: Mapping[str, str]) -> lambda_.Code:
    """A function's own code: ``files`` at ``/var/task/<name>``, plus ``gatehouse.json`` holding
    ``file_settings`` when there are any.

    No files and no settings: an inline placeholder; one file and no settings: that file in
    place (:func:`single_file_code`); anything else: a staged directory.
    """
    if not file_settings and not files:
        return lambda_.Code.from_inline(_PLACEHOLDER)
    if not file_settings and len(files) == 1:
        return single_file_code(files[0])
    return lambda_.Code.from_asset(str(stage_code_directory(files, file_settings)))


def stage_code_directory(files: Sequence[Path], file_settings: Mapping[str, str]) -> Path:
    """A new directory holding copies of ``files`` and, with settings, ``gatehouse.json``.

    The directory is left in place: CDK copies it into the cloud assembly during synthesis,
    but with asset staging off (``cdk synth --no-staging``, SAM) the assembly points at it, so
    removing it when the app exits would break those. The asset hash is of the contents, so
    the random directory name does not change the template.

    Raises
    ------
    ValueError
        If two files would have the same name in ``/var/task``.
    """
    directory = Path(tempfile.mkdtemp(prefix="gatehouse-code-"))
    for path in files:
        shutil.copyfile(path, _new_file(directory, path.name))
    if file_settings:
        _new_file(directory, CONFIG_FILE_NAME).write_text(
            settings_file_text(file_settings), encoding="utf-8"
        )
    return directory


def _new_file(directory: Path, name: str) -> Path:
    target = directory / name
    if target.exists():
        raise ValueError(f"two files named {name} would be bundled into one function's code")
    return target
