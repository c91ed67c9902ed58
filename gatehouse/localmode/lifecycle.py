"""What both local modes (the demo and ``--template``) share around starting and stopping:
their error, the state directory, and stopping what was started, newest first."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path


class LocalModeError(Exception):
    """Local mode could not start; the message says what and the hint what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def state_directory(path: Path) -> Path:
    """``path``, created if needed.

    Raises
    ------
    LocalModeError
        When it cannot be created.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LocalModeError(
            f"cannot create the state directory {path}: {error.strerror or error}",
            "pass --state-dir a directory this user can write",
        ) from None
    return path


def stop_all(stoppers: list[Callable[[], None]]) -> None:
    """Call every stopper, newest first, each once, whatever the others raise."""
    while stoppers:
        with contextlib.suppress(Exception):
            stoppers.pop()()
