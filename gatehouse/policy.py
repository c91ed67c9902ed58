"""``gatehouse policy``: validate, test and explain Cedar policy sets (docs/policies.md).

- ``validate BUNDLE``: YAML/JSON shape, YAML rules compiled to Cedar, Cedar syntax, and strict
  validation against the schema we ship (generated from the route table).
- ``test FILE``: table-driven cases (identity, request, expected decision; optionally the
  determining policies), evaluated exactly as the authorizer decides.
- ``explain BUNDLE REQUEST``: the decision for one request, the matched route and path
  parameters, the determining (or errored) policies and the IAM resources returned.

The route table comes from ``--routes`` (a JSON list), else ``GATEHOUSE_POLICY_ROUTES``; for
``test``, from the tests file. Results go to stdout; exit 0 when valid/passing, 1 when the
bundle is invalid or a case fails, 2 for a usage error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import click

from authorizers.policy.bundle import BundleError
from gatehouse.aws import Settings
from gatehouse.errors import CliError, ExitCode
from gatehouse.policy_cases import (
    CaseError,
    build_request,
    check_document,
    compile_file,
    context_headers,
    evaluate,
    identity,
    load_yaml,
    route_table,
    run_cases,
)

#: Exit code for an invalid bundle or a failing case (0 ok, 2 usage: docs/cli.md).
FAILED: Final = 1

ROUTES_OPTION = click.option(
    "--routes",
    envvar="GATEHOUSE_POLICY_ROUTES",
    help="Route table, a JSON list such as '[\"GET /orders/{id}\"]' "
    "(default: GATEHOUSE_POLICY_ROUTES).",
)
HEADERS_OPTION = click.option(
    "--context-header",
    "context_headers",
    multiple=True,
    help="A header given to policies as context.headers (GATEHOUSE_POLICY_CONTEXT_HEADERS).",
)


def _usage(message: str, hint: str) -> CliError:
    return CliError(message, hint=hint, code=ExitCode.USAGE)


def _table(routes: str | None) -> Any:
    if not routes:
        raise _usage(
            "no route table",
            hint="pass --routes '[\"GET /orders/{id}\"]' or set GATEHOUSE_POLICY_ROUTES",
        )
    try:
        return route_table(routes)
    except CaseError as error:
        raise _usage(str(error), hint="routes look like 'GET /tenants/{tenant}/orders'") from None


@click.group()
def policy() -> None:
    """Validate, test and explain policy sets."""


@policy.command()
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@ROUTES_OPTION
@HEADERS_OPTION
@click.option(
    "--authorizer-cache",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    envvar="GATEHOUSE_POLICY_AUTHORIZER_CACHE",
    help="As the authorizer's GATEHOUSE_POLICY_AUTHORIZER_CACHE: while on, policies that "
    "read headers, source IP or time are refused (their answers would be replayed).",
)
def validate(
    bundle: Path, routes: str | None, context_headers: tuple[str, ...], authorizer_cache: str
) -> None:
    """Check BUNDLE as the authorizer would load it: shape, YAML rules, Cedar syntax, schema
    validation, and (cache on) no request-varying policy."""
    table = _table(routes)
    try:
        snapshot = compile_file(
            bundle,
            table,
            [h.lower() for h in context_headers],
            require_cacheable=authorizer_cache == "on",
        )
    except BundleError as error:
        click.echo(f"invalid: {bundle}: {error}")
        raise click.exceptions.Exit(FAILED) from None
    except CaseError as error:  # the file itself: its message names it
        click.echo(f"invalid: {error}")
        raise click.exceptions.Exit(FAILED) from None
    rules = len(snapshot.bundle.rules)
    click.echo(
        f"valid: {bundle}: {snapshot.policy_count} policies ({rules} from YAML rules), "
        f"{len(table)} routes, version {snapshot.version}"
    )


@policy.command("test")
@click.argument("tests_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle to test (default: the file's 'bundle', else NAME.yaml for NAME.tests.yaml).",
)
@click.pass_obj
def test_cases(settings: Settings, tests_file: Path, bundle: Path | None) -> None:
    """Run the table-driven cases of TESTS_FILE against a bundle."""
    try:
        document = check_document(load_yaml(tests_file), tests_file)
        path = bundle or _bundle_of(tests_file, document)
        table = route_table(document.get("routes"))
        snapshot = compile_file(path, table, context_headers(document))
        results = run_cases(document, snapshot, now=settings.now)
    except BundleError as error:
        click.echo(f"invalid bundle: {error}")
        raise click.exceptions.Exit(FAILED) from None
    except CaseError as error:
        raise _usage(str(error), hint="the tests file format is in docs/policies.md") from None
    failed = [r for r in results if not r.passed]
    for result in results:
        mark = "ok  " if result.passed else "FAIL"
        why = f"  ({result.problem})" if result.problem else ""
        click.echo(f"{mark} {result.name}{why}")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed ({path.name})")
    if failed:
        raise click.exceptions.Exit(FAILED)


def _bundle_of(tests_file: Path, document: Mapping[str, Any]) -> Path:
    named = document.get("bundle")
    if isinstance(named, str) and named:
        return tests_file.parent / named
    name = tests_file.name.removesuffix(".yaml").removesuffix(".yml").removesuffix(".tests")
    return tests_file.parent / f"{name}.yaml"


@policy.command()
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("request")
@ROUTES_OPTION
@HEADERS_OPTION
@click.option(
    "--type",
    "kind",
    type=click.Choice(["user", "api_client", "device"]),
    default="user",
    show_default=True,
    help="Principal type (JWT user, API key client, mTLS device).",
)
@click.option("--id", "principal_id", default="user", show_default=True, help="Principal id.")
@click.option("--group", "groups", multiple=True, help="A group (repeat).")
@click.option("--tenant", "tenants", multiple=True, help="A tenant the credential names.")
@click.option("--scope", "scopes", multiple=True, help="A scope (repeat).")
@click.option("--header", "headers", multiple=True, help="NAME=VALUE request header (repeat).")
@click.option("--source-ip", help="The caller's IP address.")
@click.pass_obj
def explain(  # noqa: PLR0917 - one parameter per click option
    settings: Settings,
    bundle: Path,
    request: str,
    routes: str | None,
    context_headers: tuple[str, ...],
    kind: str,
    principal_id: str,
    groups: tuple[str, ...],
    tenants: tuple[str, ...],
    scopes: tuple[str, ...],
    headers: tuple[str, ...],
    source_ip: str | None,
) -> None:
    """Decide REQUEST ('GET /tenants/acme/orders') for one principal, and say why."""
    table = _table(routes)
    header_values = {}
    for item in headers:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _usage(f"--header {item!r}", hint="use NAME=VALUE")
        header_values[name.strip()] = value
    names = [h.lower() for h in context_headers]
    try:
        snapshot = compile_file(bundle, table, names)
        who = identity(
            principal_id,
            {
                "type": kind,
                "groups": list(groups),
                "tenants": list(tenants),
                "scopes": list(scopes),
            },
        )
        got = evaluate(
            snapshot,
            who,
            build_request(request, headers=header_values, source_ip=source_ip),
            now=settings.now,
            headers=names,
        )
    except BundleError as error:
        click.echo(f"invalid bundle: {error}")
        raise click.exceptions.Exit(FAILED) from None
    except CaseError as error:
        raise _usage(str(error), hint="REQUEST looks like 'GET /tenants/acme/orders'") from None
    report = {
        "decision": got.decision,
        "outcome": got.outcome,
        "action": got.action,
        "path": dict(got.params),
        "determining_policies": list(got.policies),
        "errored_policies": list(got.errored),
        "policy_version": snapshot.version,
        "cache_safe": got.cache_safe,
        "resources": {k: list(v) for k, v in got.resources.items()},
    }
    click.echo(json.dumps(report, indent=2))
