"""``gatehouse attach``: put a Gatehouse authorizer in front of routes of an existing REST or
HTTP API.

For APIs CDK does not own: CloudFormation cannot change methods created outside its stack
(docs/attach.md). The command reads the API (:mod:`gatehouse.rest_api`,
:mod:`gatehouse.http_api`), prints a plan (one line per thing to create, change, keep or skip;
:mod:`gatehouse.attach_plan`), and applies it in this order:

1. the authorizer (created, or reused when one of the same name has the same settings), with
   the record detach reads (:mod:`gatehouse.attach_record`);
2. the Lambda permission for API Gateway, SourceArn scoped to this API's authorizers
   (reused when a statement already covers it);
3. the matched methods or routes: ``CUSTOM`` + the authorizer (and ``apiKeyRequired`` for
   the apikey kind on a REST API); OPTIONS is never touched;
4. a deployment of the stage, only when a method changed and the stage does not deploy
   automatically.

The plan goes to stdout; progress, warnings and the summary to stderr. A second run finds
everything in place and says ``nothing to do``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import click

from gatehouse.attach_plan import (
    KINDS,
    MAX_TTL,
    PRINCIPAL,
    AnySpec,
    ApiMethod,
    FunctionArn,
    MethodSwitch,
    Plan,
    RoutePattern,
    Step,
    authorizers_arn,
    check_cache_key,
    describe_owner,
    match_methods,
    statement_covers,
    statement_id,
)
from gatehouse.attach_record import AttachRecord, RecordError
from gatehouse.aws import Settings, aws_errors, aws_options
from gatehouse.cache_key import CacheKeyError
from gatehouse.errors import CliError, ExitCode
from gatehouse.gateway_api import GatewayApi, SpecOptions, open_api

if TYPE_CHECKING:
    from gatehouse.api_model import AuthorizerName

_SHOWN_ROUTES: Final = 12


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None  # noqa: S101 - set by the root group
    return settings


def _say(message: str) -> None:
    click.echo(message, err=True)


def _routes(
    _ctx: click.Context, _param: click.Parameter, values: Sequence[str]
) -> list[RoutePattern]:
    try:
        return [RoutePattern.parse(value) for value in values]
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _function(_ctx: click.Context, _param: click.Parameter, value: str) -> FunctionArn:
    try:
        return FunctionArn.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _authorizer_step(
    spec: AnySpec, authorizers: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, Step]:
    same = [a for a in authorizers if a.get("name") == spec.name]
    if len(same) > 1:
        raise CliError(
            f"API has {len(same)} authorizers named {spec.name!r}",
            hint="delete the extras, or pass another --name",
            code=ExitCode.CONFLICT,
        )
    if same:
        differences = spec.differences(same[0])
        if differences:
            raise CliError(
                f"authorizer {spec.name!r} ({same[0]['id']}) exists with other settings: "
                + "; ".join(differences),
                hint="pass another --name to create a new one, or options that match it "
                "(--function-arn, --ttl, --identity-source)",
                code=ExitCode.CONFLICT,
            )
        return same[0], Step("keep", f"reuse authorizer {spec.name} ({same[0]['id']})")
    return None, Step("create", f"create authorizer {spec.name}: {spec.summary()}")


def _method_steps(
    spec: AnySpec,
    authorizer_id: str | None,
    guarded: list[ApiMethod],
    preflight: list[ApiMethod],
    names: dict[str, str],
    *,
    replace: bool,
    api_keys: bool,
) -> tuple[list[MethodSwitch], list[Step]]:
    taken = [m for m in guarded if m.authorization_type != "NONE" and not m.uses(authorizer_id)]
    if taken and not replace:
        listed = ", ".join(f"{m.route} ({describe_owner(m, names)})" for m in taken)
        raise CliError(
            f"{len(taken)} matched method(s) use another authorizer: {listed}",
            hint="pass --replace to switch them to this authorizer, or narrow --route",
            code=ExitCode.CONFLICT,
        )
    wants_key = spec.kind == "apikey" and api_keys  # an HTTP API has no API keys
    switches: list[MethodSwitch] = []
    steps: list[Step] = []
    for method in guarded:
        switch = MethodSwitch(
            method=method,
            set_authorizer=not method.uses(authorizer_id),
            require_api_key=wants_key and not method.api_key_required,
        )
        if switch.set_authorizer:
            was = describe_owner(method, names)
            text = f"switch {method.route}: {was} -> CUSTOM {spec.name}"
            if switch.require_api_key:
                text += ", apiKeyRequired"
            steps.append(Step("change", text))
        elif switch.require_api_key:
            steps.append(Step("change", f"require an API key on {method.route}"))
        else:
            steps.append(Step("keep", f"keep {method.route} (already CUSTOM {spec.name})"))
            continue
        switches.append(switch)
    steps += [
        Step("skip", f"skip {m.route}: OPTIONS is never switched (CORS preflight stays open)")
        for m in preflight
    ]
    return switches, steps


def _build_plan(
    api: GatewayApi,
    *,
    spec: AnySpec,
    stage: str,
    patterns: list[RoutePattern],
    replace: bool,
) -> Plan:
    stage_info = api.require_stage(stage)
    environment = api.require_function(spec.function)
    spec = api.with_environment(spec, environment)
    try:
        cache_warning = check_cache_key(spec, environment)
    except CacheKeyError as error:
        raise CliError(str(error), hint=error.hint, code=ExitCode.USAGE) from None
    methods = api.methods()
    guarded, preflight, unmatched = match_methods(methods, patterns)
    if unmatched or not guarded:
        shown = ", ".join(m.route for m in methods[:_SHOWN_ROUTES]) or "none"
        if len(methods) > _SHOWN_ROUTES:
            shown += f", ... ({len(methods)} in all)"
        what = (
            f"--route {unmatched[0].text!r} matched no method of {api.label} {api.api_id}"
            if unmatched
            else "only OPTIONS methods matched, and they are never switched"
        )
        hint = f"{api.item}s of the API: {shown}"
        if unmatched and unmatched[0].method == "ANY":
            hint = "ANY matches only API Gateway's ANY method; '*' matches every method. " + hint
        raise CliError(what, hint=hint, code=ExitCode.USAGE)

    authorizers = api.authorizers()
    names = {str(a["id"]): str(a.get("name")) for a in authorizers}
    existing, authorizer_step = _authorizer_step(spec, authorizers)
    authorizer_id = str(existing["id"]) if existing is not None else None

    source_arn = authorizers_arn(
        partition=spec.function.partition,
        region=api.region,
        account=api.account(),
        api_id=api.api_id,
    )
    statements = api.policy_statements(spec.function)
    covering = [s for s in statements if statement_covers(s, source_arn)]
    sid = statement_id(api.api_id)
    warnings: list[str] = [cache_warning] if cache_warning else []
    if covering:
        reused = covering[0]
        permission = Step("keep", f"reuse permission statement {reused.get('Sid', '?')}")
        if not reused.get("Condition"):
            warnings.append(
                f"statement {reused.get('Sid', '?')} of {spec.function.name} has no condition: "
                f"any API Gateway API, in any account, may invoke the function; scope it to "
                f"SourceArn {source_arn}"
            )
    elif any(s.get("Sid") == sid for s in statements):
        raise CliError(
            f"{spec.function.arn} has a statement {sid!r} that does not grant "
            f"{PRINCIPAL} invoke from {source_arn}",
            hint=f"remove it: aws lambda remove-permission --function-name {spec.function.arn} "
            f"--statement-id {sid}",
            code=ExitCode.CONFLICT,
        )
    else:
        permission = Step(
            "create",
            f"allow {PRINCIPAL} to invoke the function from {source_arn} (statement {sid})",
        )

    switches, method_steps = _method_steps(
        spec, authorizer_id, guarded, preflight, names, replace=replace, api_keys=api.has_api_keys
    )
    auto = api.auto_deploys(stage_info)
    in_use = any(m.uses(authorizer_id) for m in methods)
    record, record_step = _record(api, spec, existing, switches, warnings, in_use=in_use)
    steps = [authorizer_step, *([record_step] if record_step else []), permission, *method_steps]
    stale = [] if switches else api.stale(spec, guarded, stage_info, record)
    if switches and auto:
        steps.append(Step("keep", f"stage {stage} deploys automatically"))
    elif switches:
        steps.append(Step("create", f"deploy stage {stage} of API {api.api_id}"))
    elif stale:
        steps.append(
            Step(
                "create",
                f"deploy stage {stage} of API {api.api_id}: it still serves "
                f"{', '.join(m.route for m in stale)} without this authorizer",
            )
        )
    warnings += api.warnings(spec)
    return Plan(
        spec=spec,
        authorizer_id=authorizer_id,
        source_arn=source_arn,
        add_permission=permission.action == "create",
        switches=tuple(switches),
        deploy=bool(switches and not auto) or bool(stale),
        steps=tuple(steps),
        warnings=tuple(warnings),
        record=record,
        update_record=record_step is not None,
    )


def _record(
    api: GatewayApi,
    spec: AnySpec,
    existing: Mapping[str, Any] | None,
    switches: Sequence[MethodSwitch],
    warnings: list[str],
    *,
    in_use: bool,
) -> tuple[AttachRecord | None, Step | None]:
    """What to record for ``gatehouse detach`` (None: nothing, detach will refuse it), and the
    step that updates an existing record (None when the record is written at creation or
    unchanged). Where the record lists deployed stages, new switches empty that list.
    ``in_use``: some method is on the existing authorizer already."""
    limit = api.max_record_chars
    too_long = (
        f"the record of what the methods were would exceed {limit} characters: "
        f"gatehouse detach will not undo this attach of {spec.name}; attach fewer routes per "
        "--name to keep it undoable"
    )
    if existing is None:
        record = AttachRecord(kind=spec.kind).with_switches(switches)
        if len(record.encode()) > limit:
            warnings.append(too_long)
            return None, None
        return record, None
    try:
        before = api.record_of(existing)
    except RecordError as error:
        raise CliError(
            f"authorizer {spec.name} ({existing['id']}) has an unreadable attach record: {error}",
            hint="pass another --name, or restore its methods by hand (docs/attach.md)",
            code=ExitCode.CONFLICT,
        ) from None
    if before is None and api.tracks_deployments and not in_use:
        # Kept apart from the authorizer, the record can be missing only because a run
        # stopped between creating the two; nothing uses the authorizer yet, so adopt it.
        adopted = AttachRecord(kind=spec.kind).with_switches(switches)
        if len(adopted.encode()) > limit:
            warnings.append(too_long)
            return None, None
        return adopted, Step(
            "change", f"record what the {api.item}s were for authorizer {spec.name} (for detach)"
        )
    if before is None:
        warnings.append(
            f"authorizer {spec.name} ({existing['id']}) was not made by gatehouse attach: "
            "gatehouse detach will not undo this"
        )
        return None, None
    if before.kind != spec.kind:
        raise CliError(
            f"authorizer {spec.name} ({existing['id']}) was attached as --kind {before.kind}",
            hint=f"pass --kind {before.kind}, or another --name for a {spec.kind} authorizer",
            code=ExitCode.CONFLICT,
        )
    after = before.with_switches(switches)
    if switches and api.tracks_deployments:
        after = dataclasses.replace(after, deployed=frozenset())  # every stage owes it again
    if after == before:
        return after, None
    if len(after.encode()) > limit:
        # The old record stays: detach then refuses the methods it does not list, never
        # guesses them.
        warnings.append(too_long)
        return before, None
    return after, Step(
        "change", f"record on authorizer {spec.name} what the methods were (for detach)"
    )


def _apply(api: GatewayApi, plan: Plan, stage: str) -> None:
    spec = plan.spec
    authorizer_id = plan.authorizer_id
    if authorizer_id is None:
        _say(f"creating authorizer {spec.name} ...")
        authorizer_id = api.create_authorizer(spec, plan.record)
    elif plan.update_record and plan.record is not None:
        # Before the methods change: a run stopped half way still leaves the record.
        _say(f"recording on authorizer {spec.name} what the methods were ...")
        api.write_record(authorizer_id, plan.record)
    if plan.add_permission:
        _say(f"granting {PRINCIPAL} invoke on {spec.function.name} ...")
        with aws_errors(f"adding the invoke permission to {spec.function.arn}"):
            api.lambda_for(spec.function).add_permission(
                FunctionName=spec.function.arn,
                StatementId=statement_id(api.api_id),
                Action="lambda:InvokeFunction",
                Principal=PRINCIPAL,
                SourceArn=plan.source_arn,
            )
    for index, switch in enumerate(plan.switches, start=1):
        _say(f"updating {switch.method.route} ({index}/{len(plan.switches)}) ...")
        api.switch(switch, authorizer_id)
    if plan.deploy:
        _say(f"deploying stage {stage} ...")
        deployment = api.deploy(
            stage,
            f"gatehouse attach: {spec.name} on {len(plan.switches)} method(s)"
            if plan.switches
            else f"gatehouse attach: {spec.name}, deploying earlier changes",
        )
        _say(f"deployed {deployment} to stage {stage}")
    if api.tracks_deployments and plan.record is not None and (plan.deploy or plan.switches):
        # What this stage now serves (an automatic stage too): a rerun finds nothing owed.
        deployed = plan.record.deployed | {stage}
        api.write_record(authorizer_id, dataclasses.replace(plan.record, deployed=deployed))


@click.command()
@aws_options
@click.option("--api-id", required=True, help="REST or HTTP API id, e.g. a1b2c3d4e5.")
@click.option("--stage", required=True, help="Stage to deploy once the methods are switched.")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    required=True,
    help="Which Gatehouse authorizer: sets TOKEN/REQUEST, identity source, regex and TTL.",
)
@click.option(
    "--function-arn",
    required=True,
    callback=_function,
    help="The authorizer function (an alias or version ARN is fine).",
)
@click.option(
    "--route",
    "routes",
    multiple=True,
    required=True,
    callback=_routes,
    help="'METHOD /path' to guard, or '$default' (HTTP API); repeatable. METHOD: GET..., ANY "
    "or *; path: {param}, {proxy+}, trailing /* (docs/attach.md).",
)
@click.option("--name", help="Authorizer name (default: gatehouse-KIND).")
@click.option(
    "--ttl",
    type=click.IntRange(min=0, max=MAX_TTL),
    help="Result cache seconds, 0 = off (default: the kind's, as in the demo stage).",
)
@click.option(
    "--identity-source",
    help="Override the kind's identity source, e.g. method.request.header.X-Token (REST) or "
    "$request.header.X-Token (HTTP API).",
)
@click.option("--replace", is_flag=True, help="Also switch methods that use another authorizer.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.pass_context
def attach(
    ctx: click.Context,
    *,
    api_id: str,
    stage: str,
    kind: AuthorizerName,
    function_arn: FunctionArn,
    routes: list[RoutePattern],
    name: str | None,
    ttl: int | None,
    identity_source: str | None,
    replace: bool,
    dry_run: bool,
) -> None:
    """Attach a Gatehouse authorizer to routes of an existing REST or HTTP API, then deploy.

    Creates (or reuses) the authorizer, lets API Gateway invoke the function, switches the
    methods that match --route to it (never OPTIONS) and deploys --stage (unless it deploys
    automatically). Prints the plan on
    stdout first: + create, ~ change, = already in place, - skipped. Running it again
    changes nothing. Exit codes: 2 bad option or no route matched, 3 API, stage or function
    not found, 4 AWS failure, 5 conflict (docs/attach.md).
    """
    settings = _settings(ctx)
    options = SpecOptions(
        kind=kind, function=function_arn, name=name, ttl=ttl, identity_source=identity_source
    )
    _say(f"reading API {api_id} ...")
    api = open_api(settings, api_id)
    spec = api.spec(options)
    plan = _build_plan(api, spec=spec, stage=stage, patterns=routes, replace=replace)
    for step in plan.steps:
        click.echo(str(step))
    for warning in plan.warnings:
        _say(f"warning: {warning}")
    if plan.changes == 0:
        _say("nothing to do: everything is already in place")
        return
    if dry_run:
        _say(f"dry run: {plan.changes} change(s) planned, nothing applied")
        return
    _apply(api, plan, stage)
    _say(f"done: {plan.changes} change(s) applied")
