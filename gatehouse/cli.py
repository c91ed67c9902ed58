"""The ``gatehouse`` command: global options, then one command or group per area."""

from __future__ import annotations

import time

import click

from gatehouse import __version__
from gatehouse.attach import attach
from gatehouse.aws import Settings
from gatehouse.detach import detach
from gatehouse.generate_event import generate_event
from gatehouse.keys import keys
from gatehouse.layer_cli import layer
from gatehouse.local import local
from gatehouse.policy import policy


@click.group(name="gatehouse", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--region", envvar="AWS_REGION", help="AWS region (default: AWS_REGION or profile).")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="Send every AWS call here, e.g. moto / local mode (default: AWS_ENDPOINT_URL).",
)
@click.option("--profile", help="AWS profile (default: AWS_PROFILE, then the default chain).")
@click.option("--now", type=float, hidden=True, help="Epoch seconds to use as now (tests).")
@click.version_option(__version__, prog_name="gatehouse")
@click.pass_context
def main(
    ctx: click.Context,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    now: float | None,
) -> None:
    """Gatehouse operator toolkit.

    Writes what the authorizers read. Exit codes: 0 ok, 1 a failed check or build (policy,
    smoke, layer build), 2 usage error, 3 not found, 4 AWS failure, 5 conflict (docs/cli.md).
    The AWS options may also follow the command: gatehouse keys list --region eu-west-1 ...
    """
    ctx.obj = Settings(
        region=region or None,
        endpoint_url=endpoint_url or None,
        now=time.time() if now is None else now,
        profile=profile or None,
    )


for command in (local, keys, policy, attach, detach, generate_event, layer):
    main.add_command(command)
