"""``gatehouse attach``: put a Gatehouse authorizer in front of routes of an existing API."""

from __future__ import annotations

import click


@click.command()
def attach() -> None:
    """Attach an authorizer to an existing REST API (not built yet)."""
    raise click.ClickException("attach is not built yet")
