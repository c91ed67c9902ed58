"""``gatehouse local``: the whole gateway on this machine (docs/local.md)."""

from __future__ import annotations

import click


@click.command()
def local() -> None:
    """Run the demo gateway locally (not built yet)."""
    raise click.ClickException("local mode is not built yet")
