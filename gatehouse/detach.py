"""``gatehouse detach``: undo what ``gatehouse attach`` did on a REST or HTTP API, and nothing
else.

What attach did is read from the record it left for the authorizer it created
(:mod:`gatehouse.attach_record`: in the authorizer of a REST API, in the tags of an HTTP API).
The plan, in the order it is applied:

1. every method or route on that authorizer goes back to what it was (``NONE`` unless
   recorded: ``AWS_IAM``, a Cognito, JWT or another custom authorizer, with a JWT route's
   scopes), and for the apikey kind ``apiKeyRequired`` goes off where attach turned it on;
2. a deployment of the stage (always, while the authorizer exists, unless the stage deploys
   automatically: a run stopped before it is finished by the next);
3. the invoke statement attach added (``gatehouse-attach-API_ID``) is removed, unless another
   authorizer of the API still calls the same function;
4. the authorizer is deleted, last, once no method uses it (with its record, on an HTTP API;
   a record left by a run stopped after the deletion is removed by the next).

An authorizer attach did not make (no record) is refused: detach never guesses. So is a
method on the authorizer that attach did not switch (put there by hand), and a method
recorded as on an authorizer that no longer exists: putting either to ``NONE`` could open it.
A second run finds no authorizer and says ``nothing to do``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

from gatehouse.attach_plan import (
    KINDS,
    ApiMethod,
    FunctionArn,
    Step,
    describe_owner,
    statement_id,
)
from gatehouse.attach_record import AttachRecord, RecordError, method_key
from gatehouse.aws import Settings, aws_errors, aws_options
from gatehouse.errors import CliError, ExitCode
from gatehouse.gateway_api import GatewayApi, open_api

__all__ = ["DetachPlan", "Restore", "build_plan", "detach", "function_of"]

_INVOCATION_PREFIX = "/functions/"
_INVOCATION_SUFFIX = "/invocations"


@dataclass(frozen=True, slots=True)
class Restore:
    """One method to put back: its authorization as before attach, and the key setting."""

    method: ApiMethod
    authorization_type: str
    authorizer_id: str | None
    key_off: bool
    scopes: tuple[str, ...] = ()  # an HTTP API JWT route's authorization scopes


@dataclass(frozen=True, slots=True)
class DetachPlan:
    authorizer: Mapping[str, Any] | None  # None: nothing to detach
    function: FunctionArn | None
    restores: tuple[Restore, ...] = ()
    deploy: bool = False
    remove_permission: bool = False
    steps: tuple[Step, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Authorizers deleted by an earlier run whose records are still kept (HTTP API tags).
    orphans: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        return sum(step.action in ("create", "change", "delete") for step in self.steps)


def function_of(authorizer: Mapping[str, Any]) -> FunctionArn | None:
    """The Lambda function an authorizer calls (from its ``authorizerUri``), if it is one."""
    uri = authorizer.get("authorizerUri")
    if not isinstance(uri, str) or _INVOCATION_PREFIX not in uri:
        return None
    arn = uri.split(_INVOCATION_PREFIX, 1)[1].removesuffix(_INVOCATION_SUFFIX)
    try:
        return FunctionArn.parse(arn)
    except ValueError:
        return None


def _record_of(api: GatewayApi, authorizer: Mapping[str, Any], name: str) -> AttachRecord:
    try:
        record = api.record_of(authorizer)
    except RecordError as error:
        record, problem = None, f"its attach record is unreadable ({error})"
    else:
        problem = "it was not made by gatehouse attach (it carries no attach record)"
    if record is None:
        raise CliError(
            f"authorizer {name} ({authorizer['id']}): {problem}",
            hint="detach undoes only what attach made; restore its methods by hand "
            "(docs/attach.md, 'Detaching')",
            code=ExitCode.CONFLICT,
        )
    return record


def _restores(
    record: AttachRecord,
    authorizer_id: str,
    methods: Sequence[ApiMethod],
    authorizers: Mapping[str, str],
    api: GatewayApi,
) -> tuple[list[Restore], list[Step]]:
    restores: list[Restore] = []
    steps: list[Step] = []
    ours = [m for m in methods if m.uses(authorizer_id)]
    unknown = [m.route for m in ours if method_key(m) not in record.switched]
    if unknown:
        # Put there by hand (or re-created): what it was before is not ours to know.
        raise CliError(
            f"{len(unknown)} {api.item}(s) on the authorizer were not switched by attach: "
            + ", ".join(unknown),
            hint=f"move them to the authorization they should have ({api.update_command}), "
            f"then run detach again; it never guesses and never opens a {api.item}",
            code=ExitCode.CONFLICT,
        )
    missing = []
    for method in ours:
        kind, prior_id = record.prior(method)
        if prior_id is not None and prior_id not in authorizers:
            missing.append(f"{method.route} (was {kind} {prior_id})")
            continue
        restore = Restore(
            method=method,
            authorization_type=kind,
            authorizer_id=prior_id,
            key_off=record.turned_key_on(method) and method.api_key_required,
            scopes=tuple(record.scopes.get(method_key(method), ())),
        )
        was = kind if prior_id is None else f"{kind} {authorizers[prior_id]} ({prior_id})"
        text = f"restore {method.route}: {describe_owner(method, authorizers)} -> {was}"
        if restore.key_off:
            text += ", apiKeyRequired off"
        if restore.scopes:
            text += f", scopes {' '.join(restore.scopes)}"
        restores.append(restore)
        steps.append(Step("change", text))
    if missing:
        raise CliError(
            f"{len(missing)} {api.item}(s) were on authorizers that no longer exist: "
            + ", ".join(missing),
            hint="putting them to NONE would open them: switch them to an authorizer by hand "
            f"first ({api.update_command}), then run detach again",
            code=ExitCode.CONFLICT,
        )
    return restores, steps


def build_plan(api: GatewayApi, *, name: str, stage: str) -> DetachPlan:
    api.describe()
    stage_info = api.require_stage(stage)
    authorizers = api.authorizers()
    same = [a for a in authorizers if a.get("name") == name]
    orphans = tuple(api.orphan_records(authorizers))
    if not same:
        cleanup = tuple(
            Step("delete", f"remove the attach record of deleted authorizer {orphan}")
            for orphan in orphans
        )
        return DetachPlan(authorizer=None, function=None, steps=cleanup, orphans=orphans)
    if len(same) > 1:
        raise CliError(
            f"API has {len(same)} authorizers named {name!r}",
            hint="detach them by hand, or delete the extras",
            code=ExitCode.CONFLICT,
        )
    authorizer = same[0]
    authorizer_id = str(authorizer["id"])
    record = _record_of(api, authorizer, name)
    names = {str(a["id"]): str(a.get("name")) for a in authorizers}
    methods = api.methods()
    restores, steps = _restores(record, authorizer_id, methods, names, api)
    # Always, while the authorizer exists: a run stopped before its deployment is finished by
    # the next (the deployment summary would not show a CUSTOM -> CUSTOM restore).
    deploy = not api.auto_deploys(stage_info)
    if deploy:
        steps.append(Step("create", f"deploy stage {stage} of API {api.api_id}"))
    else:
        steps.append(Step("keep", f"stage {stage} deploys automatically"))
    function = function_of(authorizer)
    remove = False
    if function is not None:
        remove, step = _permission_step(api, function, authorizer, authorizers)
        if step is not None:
            steps.append(step)
    # Last: while it exists, a stopped run is found again by the next one.
    steps.append(Step("delete", f"delete authorizer {name} ({authorizer_id})"))
    others = sorted(str(s.get("stageName")) for s in api.stages() if s.get("stageName") != stage)
    warnings = (
        (
            f"other stages ({', '.join(others)}) serve their own deployments: redeploy each "
            "once detached, or it keeps calling an authorizer that is gone",
        )
        if others
        else ()
    )
    steps += [
        Step("delete", f"remove the attach record of deleted authorizer {orphan}")
        for orphan in orphans
    ]
    return DetachPlan(
        authorizer=authorizer,
        function=function,
        restores=tuple(restores),
        deploy=deploy,
        remove_permission=remove,
        steps=tuple(steps),
        warnings=warnings,
        orphans=orphans,
    )


def _permission_step(
    api: GatewayApi,
    function: FunctionArn,
    authorizer: Mapping[str, Any],
    authorizers: Sequence[Mapping[str, Any]],
) -> tuple[bool, Step | None]:
    sid = statement_id(api.api_id)
    statements = api.policy_statements(function)
    if not any(s.get("Sid") == sid for s in statements):
        return False, None  # already gone
    others = [
        str(a.get("name"))
        for a in authorizers
        if a.get("id") != authorizer.get("id")
        and a.get("authorizerUri") == authorizer.get("authorizerUri")
    ]
    if others:
        return False, Step(
            "keep", f"keep permission statement {sid}: still used by {', '.join(others)}"
        )
    return True, Step("delete", f"remove permission statement {sid} from {function.arn}")


def _apply(api: GatewayApi, plan: DetachPlan, stage: str, name: str) -> None:
    if plan.orphans:
        click.echo("removing the attach records of deleted authorizers ...", err=True)
        api.forget_records(plan.orphans)
    if plan.authorizer is None:
        return
    for index, restore in enumerate(plan.restores, start=1):
        route = restore.method.route
        click.echo(f"restoring {route} ({index}/{len(plan.restores)}) ...", err=True)
        api.restore(restore)
    if plan.deploy:
        click.echo(f"deploying stage {stage} ...", err=True)
        api.deploy(stage, f"gatehouse detach: {name} from {len(plan.restores)} method(s)")
    if plan.remove_permission and plan.function is not None:
        click.echo(f"removing the invoke permission from {plan.function.name} ...", err=True)
        with aws_errors(f"removing the invoke permission from {plan.function.arn}"):
            api.lambda_for(plan.function).remove_permission(
                FunctionName=plan.function.arn, StatementId=statement_id(api.api_id)
            )
    authorizer_id = str(plan.authorizer["id"])
    # Checked again before the deletion: a method still on it (put there meanwhile) would
    # make the deletion fail, or open that method's callers to a missing authorizer.
    still = [m.route for m in api.methods() if m.uses(authorizer_id)]
    if still:
        raise CliError(
            f"authorizer {name} is still used by {', '.join(still)}; not deleted",
            hint="run detach again: it restores them, or refuses those attach did not switch",
            code=ExitCode.CONFLICT,
        )
    click.echo(f"deleting authorizer {name} ...", err=True)
    api.delete_authorizer(authorizer_id)


@click.command()
@aws_options
@click.option("--api-id", required=True, help="REST or HTTP API id, e.g. a1b2c3d4e5.")
@click.option("--stage", required=True, help="Stage to deploy once the methods are restored.")
@click.option(
    "--kind", type=click.Choice(KINDS), help="Detach gatehouse-KIND (attach's default name)."
)
@click.option("--name", help="The authorizer's name, as given to attach --name.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.pass_context
def detach(
    ctx: click.Context,
    *,
    api_id: str,
    stage: str,
    kind: str | None,
    name: str | None,
    dry_run: bool,
) -> None:
    """Undo what gatehouse attach did on a REST or HTTP API: restore, delete the authorizer.

    Reads the record attach left for the authorizer it created, restores every method on it to
    what it was (NONE unless recorded), deploys --stage (unless it deploys automatically),
    deletes the authorizer and removes the
    invoke permission attach added. Prints the plan first: ~ change, + create, x delete,
    = kept. Running it again changes nothing. Exit codes: 2 bad option, 3 API or stage not
    found, 4 AWS failure, 5 an authorizer attach did not make (docs/attach.md).
    """
    if (kind is None) == (name is None):
        raise CliError(
            "give exactly one of --kind and --name",
            hint="--kind jwt detaches gatehouse-jwt; --name the name given to attach --name",
            code=ExitCode.USAGE,
        )
    settings = ctx.find_object(Settings)
    assert settings is not None  # noqa: S101 - set by the root group
    authorizer_name = name or f"gatehouse-{kind}"
    click.echo(f"reading API {api_id} ...", err=True)
    api = open_api(settings, api_id)
    plan = build_plan(api, name=authorizer_name, stage=stage)
    if plan.authorizer is None and not plan.orphans:
        click.echo(f"nothing to do: API {api_id} has no authorizer {authorizer_name}", err=True)
        return
    for step in plan.steps:
        click.echo(str(step))
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        click.echo(f"dry run: {plan.changes} change(s) planned, nothing applied", err=True)
        return
    _apply(api, plan, stage, authorizer_name)
    click.echo(f"done: {plan.changes} change(s) applied", err=True)
