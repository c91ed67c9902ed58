"""One error type for the CLI: a one-line message, a hint, and a documented exit code."""

from __future__ import annotations

from enum import IntEnum
from typing import IO, Any

import click


class ExitCode(IntEnum):
    """Exit codes (docs/cli.md). 2 is click's own usage error (bad or missing option)."""

    OK = 0
    USAGE = 2
    NOT_FOUND = 3
    AWS = 4
    CONFLICT = 5


class CliError(click.ClickException):
    """``error: <message>`` then ``hint: <hint>`` on stderr, and a non-zero exit code."""

    def __init__(self, message: str, *, hint: str, code: ExitCode) -> None:
        super().__init__(message)
        self.hint = hint
        # click declares exit_code a ClassVar; one instance attribute per error is simpler.
        self.exit_code = int(code)  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)
        click.echo(f"hint: {self.hint}", err=True, file=file)
