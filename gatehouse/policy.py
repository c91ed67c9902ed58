"""``gatehouse policy``: validate, test and explain Cedar policy sets (docs/policies.md)."""

from __future__ import annotations

import click


@click.group()
def policy() -> None:
    """Validate, test and explain policy sets."""
