"""``gatehouse keys``: create, list, show, revoke and rotate API keys.

A new key is printed once, on stdout, alone on its line; everything else goes to stderr, so
``KEY=$(gatehouse keys create ...)`` captures exactly the key. Only its SHA-256 and the record
(docs/api-keys.md) are stored. Hashes and the tenant's usage-plan key value are never printed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Final

import click

from authorizers.api_key.config import CACHE_DEFAULT_S, CACHE_MAX_S, CACHE_VAR
from authorizers.api_key.keys import Environment, generate
from authorizers.api_key.record import PARTITION_KEY, KeyRecord, KeyStatus
from gatehouse.aws import Settings, aws_errors, aws_options
from gatehouse.errors import CliError, ExitCode
from gatehouse.keystore import KeyTable
from gatehouse.usage_plans import attach, ensure_tenant_key, find_usage_plan

DAY: Final = 86_400
HOUR: Final = 3_600
# Tenants become principalIds and API Gateway key names: keep them plain.
_TENANT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}", re.ASCII)
_SCOPE: Final = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)

TABLE_OPTION = click.option(
    "--table",
    required=True,
    envvar="GATEHOUSE_APIKEY_TABLE",
    help="DynamoDB table of key hashes (default: GATEHOUSE_APIKEY_TABLE).",
)
ENV_OPTION = click.option(
    "--env",
    "environment",
    type=click.Choice([e.value for e in Environment]),
    default=Environment.LIVE.value,
    show_default=True,
    help="Key environment: a test key never opens a live API.",
)


def _tenant(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _TENANT.fullmatch(value):
        raise click.BadParameter("letters, digits and . _ : @ - (up to 128), e.g. tenant-acme")
    return value


def _scopes(_ctx: click.Context, _param: click.Parameter, value: str | None) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in (value or "").split(",") if s.strip())
    bad = sorted(s for s in scopes if not _SCOPE.fullmatch(s))
    if bad:
        raise click.BadParameter(f"{bad[0]!r}: a scope is printable ASCII without spaces")
    return scopes


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _state(record: KeyRecord, now: float) -> str:
    if not record.active:
        return "revoked" if record.status == KeyStatus.REVOKED.value else record.status
    if record.expires_at is not None and now >= record.expires_at:
        return "expired"
    return "active"


def _public(record: KeyRecord, now: float) -> dict[str, Any]:
    """What may be shown about a record: never the hash or the usage-plan key value."""
    return {
        "key_id": record.key_id,
        "tenant": record.tenant,
        "status": _state(record, now),
        "plan": record.usage_plan,
        "scopes": sorted(record.scopes),
        "created_at": _when(record.created_at),
        "expires_at": _when(record.expires_at),
    }


def _cached_for(key_id: str, *, now: int, cutoff: int | None = None) -> str:
    """How long a deployed authorizer may still accept ``key_id`` after its record changed.

    A warm function serves the record it read before the change from its positive cache
    (``GATEHOUSE_APIKEY_CACHE_SECONDS``; the CLI cannot see the deployed value, so it names
    the setting and its default), and API Gateway replays an Allow it cached for the
    authorizer's result TTL. A ``cutoff`` (rotate's new expiry) later than any cache TTL is
    the bound itself: by then every cache has read the new expiry, which is checked on every
    request.
    """
    gateway = "plus the API's authorizer cache TTL (API Gateway replays a cached Allow)"
    if cutoff is not None and cutoff >= now + CACHE_MAX_S:
        return f"{key_id} is refused from {_when(cutoff)}, {gateway}"
    later = ""
    if cutoff is not None and cutoff > now:
        later = f" or until {_when(cutoff)}, whichever is later"
    return (
        f"cached answers may still accept {key_id}: for up to {CACHE_VAR} (the authorizer's "
        f"cache, default {CACHE_DEFAULT_S} s) from now{later}, {gateway}"
    )


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None  # noqa: S101 - set by the root group
    return settings


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def keys() -> None:
    """Create, list, show, revoke and rotate API keys (docs/api-keys.md, docs/cli.md)."""


@keys.command()
@aws_options
@click.option("--tenant", required=True, callback=_tenant, help="Tenant the key belongs to.")
@click.option("--plan", required=True, help="Usage plan name (associated with the stage).")
@click.option("--scopes", callback=_scopes, help="Comma-separated scopes, e.g. a:read,b:write.")
@click.option(
    "--expires-in-days", type=click.IntRange(min=1, max=3650), help="Default: never expires."
)
@ENV_OPTION
@TABLE_OPTION
@click.option("--api-id", required=True, help="REST API id whose stage the plan covers.")
@click.option("--stage", required=True, help="Stage name, e.g. prod.")
@click.pass_context
def create(
    ctx: click.Context,
    *,
    tenant: str,
    plan: str,
    scopes: frozenset[str],
    expires_in_days: int | None,
    environment: str,
    table: str,
    api_id: str,
    stage: str,
) -> None:
    """Issue a key for TENANT on usage plan PLAN; print it once on stdout.

    The tenant's internal API Gateway key (gatehouse-tenant-TENANT) is created on first use,
    reused after, and attached to the plan. Its value goes into the record, never on screen.
    """
    settings = _settings(ctx)
    dynamodb = settings.client("dynamodb")
    apigateway = settings.client("apigateway")
    # Before anything is created in API Gateway: a wrong --table must not leave a tenant key
    # created and attached for a record that is never written.
    with aws_errors(f"checking table {table!r}"):
        _check_table(dynamodb, table)
    with aws_errors(f"looking up usage plan {plan!r}"):
        plan_id = find_usage_plan(apigateway, name=plan, api_id=api_id, stage=stage)
    with aws_errors(f"preparing the API Gateway key of tenant {tenant!r}"):
        tenant_key = ensure_tenant_key(apigateway, tenant)
        attached = attach(apigateway, plan_id=plan_id, key=tenant_key)
    now = int(settings.now)
    issued = generate(Environment(environment))
    record = KeyRecord(
        key_hash=issued.key_hash,
        key_id=issued.key_id,
        tenant=tenant,
        status=KeyStatus.ACTIVE.value,
        scopes=scopes,
        created_at=now,
        expires_at=now + expires_in_days * DAY if expires_in_days else None,
        usage_plan=plan,
        usage_identifier_key=tenant_key.value,
    )
    with aws_errors(f"writing to table {table!r}"):
        KeyTable(dynamodb, table).put_new(record)
    verb = "created" if tenant_key.created else "reused"
    _say(f"{verb} API Gateway key {tenant_key.name} ({tenant_key.id})")
    if attached:
        _say(f"attached it to usage plan {plan} ({plan_id})")
    _say(
        f"created {issued.key_id} for {tenant}: plan {plan}, scopes "
        f"{','.join(sorted(scopes)) or '-'}, expires {_when(record.expires_at)}"
    )
    _say("the key is printed once, below; it cannot be shown again")
    click.echo(issued.secret)


def _check_table(dynamodb: Any, table: str) -> None:
    """A cheap read (GetItem of a hash no key has) that fails when the table does not exist
    (ResourceNotFoundException) or is not a key table (ValidationException: another key
    schema), with the permissions the command needs anyway."""
    dynamodb.get_item(
        TableName=table,
        Key={PARTITION_KEY: {"S": "gatehouse-table-check"}},
        ProjectionExpression="#h",
        ExpressionAttributeNames={"#h": PARTITION_KEY},
    )


@keys.command(name="list")
@aws_options
@TABLE_OPTION
@click.option("--tenant", callback=_tenant, help="Only this tenant's keys.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_keys(ctx: click.Context, table: str, tenant: str | None, as_json: bool) -> None:
    """List key ids with tenant, status, plan, scopes, created and expiry (never secrets)."""
    settings = _settings(ctx)
    with aws_errors(f"reading table {table!r}"):
        records = list(KeyTable(settings.client("dynamodb"), table).scan(tenant=tenant))
    rows = [
        _public(r, settings.now) for r in sorted(records, key=lambda r: (r.tenant, r.created_at))
    ]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    header = ("KEY_ID", "TENANT", "STATUS", "PLAN", "SCOPES", "CREATED", "EXPIRES")
    lines = [header] + [
        (
            row["key_id"],
            row["tenant"],
            row["status"],
            row["plan"] or "-",
            ",".join(row["scopes"]) or "-",
            row["created_at"],
            row["expires_at"],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    _say(f"{len(rows)} key(s)")


@keys.command()
@aws_options
@click.argument("key_id")
@TABLE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def show(ctx: click.Context, key_id: str, table: str, as_json: bool) -> None:
    """Show one key's record (never its hash or the usage-plan key value)."""
    settings = _settings(ctx)
    with aws_errors(f"reading table {table!r}"):
        record = KeyTable(settings.client("dynamodb"), table).find(key_id)
    row = _public(record, settings.now)
    row["usage_plan_key"] = "set" if record.usage_identifier_key else "missing"
    if as_json:
        click.echo(json.dumps(row))
        return
    for name, value in row.items():
        shown = ",".join(value) if isinstance(value, list) else value
        click.echo(f"{name + ':':<16}{shown or '-'}")


@keys.command()
@aws_options
@click.argument("key_id")
@TABLE_OPTION
@click.pass_context
def revoke(ctx: click.Context, key_id: str, table: str) -> None:
    """Revoke KEY_ID now; cached answers may accept it up to the cache TTLs (printed).

    The tenant's API Gateway key and usage plan are left alone: other keys may use them.
    """
    settings = _settings(ctx)
    with aws_errors(f"revoking {key_id}"):
        store = KeyTable(settings.client("dynamodb"), table)
        record = store.find(key_id)
        if not record.active:
            _say(f"{key_id} was already revoked")
            return
        store.revoke(record)
    _say(f"revoked {key_id} (tenant {record.tenant})")
    _say(_cached_for(key_id, now=int(settings.now)))


@keys.command()
@aws_options
@click.argument("key_id")
@TABLE_OPTION
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0, max=24 * 90),
    default=24,
    show_default=True,
    help="How long the old key keeps working (0: now, plus the cache TTLs it prints).",
)
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1, max=3650),
    help="Lifetime of the new key. Default: the old key's lifetime, or never.",
)
@ENV_OPTION
@click.pass_context
def rotate(
    ctx: click.Context,
    *,
    key_id: str,
    table: str,
    grace_hours: float,
    expires_in_days: int | None,
    environment: str,
) -> None:
    """Replace KEY_ID with a new key (same tenant, plan, scopes); print it once on stdout.

    The old key keeps working for --grace-hours, then expires; cached answers may accept it
    a little longer (the bound is printed). Both changes are one DynamoDB transaction.
    """
    settings = _settings(ctx)
    now = int(settings.now)
    with aws_errors(f"rotating {key_id}"):
        store = KeyTable(settings.client("dynamodb"), table)
        old = store.find(key_id)
        if not old.active:
            raise CliError(
                f"{key_id} is revoked and cannot be rotated",
                hint="issue a new key with: gatehouse keys create",
                code=ExitCode.CONFLICT,
            )
        if expires_in_days:
            expires_at: int | None = now + expires_in_days * DAY
        elif old.expires_at is not None:
            expires_at = now + max(old.expires_at - old.created_at, DAY)
        else:
            expires_at = None
        issued = generate(Environment(environment))
        new = KeyRecord(
            key_hash=issued.key_hash,
            key_id=issued.key_id,
            tenant=old.tenant,
            status=KeyStatus.ACTIVE.value,
            scopes=old.scopes,
            created_at=now,
            expires_at=expires_at,
            usage_plan=old.usage_plan,
            usage_identifier_key=old.usage_identifier_key,
        )
        cutoff = now + int(grace_hours * HOUR)
        if old.expires_at is not None:
            cutoff = min(cutoff, old.expires_at)
        store.rotate(old, new, old_expires_at=cutoff)
    _say(f"created {issued.key_id} for {old.tenant}; {key_id} stops at {_when(cutoff)}")
    _say(_cached_for(key_id, now=now, cutoff=cutoff))
    _say("the key is printed once, below; it cannot be shown again")
    click.echo(issued.secret)
