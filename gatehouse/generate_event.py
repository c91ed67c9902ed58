"""``gatehouse generate-event``: print an authorizer event as API Gateway sends it (JSON).

The same builder as ``gatehouse.testing.build_event``, for shell pipelines and for tests in
other languages, as ``sam local generate-event`` does for SAM users.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gatehouse.errors import CliError, ExitCode
from gatehouse.testing.events import EVENT_KINDS, Api, build_event


def _pairs(values: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{what} must look like NAME=VALUE, not {value!r}")
        pairs.append((name, text))
    return pairs


@click.command(name="generate-event")
@click.argument("kind", type=click.Choice(EVENT_KINDS))
@click.argument("request", default="GET /")
@click.option("--resource", help="The route template that matched, e.g. /orders/{id}.")
@click.option(
    "--header", "headers", multiple=True, help="NAME=VALUE; repeat a name for a multi-value header."
)
@click.option(
    "--authorization", help="rest_token: the token source value; others: the Authorization header."
)
@click.option("--stage-variable", "stage_variables", multiple=True, help="NAME=VALUE.")
@click.option(
    "--client-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A PEM file: the client certificate presented over mTLS.",
)
@click.option("--source-ip", default="203.0.113.7", show_default=True)
@click.option("--stage", default="prod", show_default=True)
@click.option("--api-id", default="abcdef1234", show_default=True)
@click.option("--account", default="123456789012", show_default=True)
@click.option("--region", "event_region", default="eu-west-1", show_default=True)
def generate_event(
    *,
    kind: str,
    request: str,
    resource: str | None,
    headers: tuple[str, ...],
    authorization: str | None,
    stage_variables: tuple[str, ...],
    client_cert: Path | None,
    source_ip: str,
    stage: str,
    api_id: str,
    account: str,
    event_region: str,
) -> None:
    """Print a KIND event for REQUEST ("GET /orders/7?x=1") as JSON on stdout.

    KIND: rest_token, rest_request, http_v1, http_v2 or websocket_connect.
    Exit codes: 0 ok, 2 usage error (docs/cli.md).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in _pairs(headers, "--header"):
        grouped.setdefault(name, []).append(value)
    pem = None
    if client_cert is not None:
        try:
            pem = client_cert.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(
                f"cannot read {client_cert}: {type(error).__name__}",
                hint="give a PEM certificate file",
                code=ExitCode.USAGE,
            ) from None
    try:
        event = build_event(
            kind,
            request,
            resource=resource,
            headers=grouped,
            stage_variables=dict(_pairs(stage_variables, "--stage-variable")),
            client_cert_pem=pem,
            source_ip=source_ip,
            authorization=authorization,
            api=Api(region=event_region, account=account, api_id=api_id, stage=stage),
        )
    except ValueError as error:
        # build_event's messages name the problem (the request shape, a resource that does not
        # match, a certificate that is not PEM) and never echo a header value.
        raise CliError(
            str(error).splitlines()[0],
            hint="see gatehouse generate-event --help",
            code=ExitCode.USAGE,
        ) from None
    click.echo(json.dumps(event, indent=2))
