"""The ``gatehouse`` console script: the CLI, or one clear line when its extra is missing.

The base install is the authorizer runtime only; the CLI needs ``click`` and ``boto3`` (the
``cli`` extra). Without them the script says so instead of showing an import traceback.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

USAGE_ERROR = 2
CLI_MODULES = ("click", "boto3")


def main() -> None:
    # find_spec only locates the modules: importing boto3 here would cost every command ~0.3 s.
    if any(find_spec(name) is None for name in CLI_MODULES):
        print(
            "error: the gatehouse command needs the cli extra\n"
            "hint: pip install 'gatehouse[cli]' (or 'gatehouse[all]')",
            file=sys.stderr,
        )
        raise SystemExit(USAGE_ERROR)
    from gatehouse.cli import main as cli  # noqa: PLC0415

    cli()
