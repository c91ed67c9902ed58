"""Start and stop everything ``gatehouse local`` runs: moto, the seeded state, one worker per
authorizer, the gateway on HTTP and HTTPS.

The demo API comes from :func:`gatehouse.api_model.demo_api`, built with local
:class:`~gatehouse.api_model.Resources` and the chosen stage's settings from the Gatehouse
repository's ``cdk.json`` (run from a checkout) or the built-in dev settings (run from an
installed wheel): the same routes, authorizer types, identity sources, validation regex, cache
TTLs and function environments as the deployed stage. Nothing about the authorizers is written
here twice. The demo policy bundle ships inside the package (``assets/demo.yaml``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gatehouse.api_model import ApiModel, ApiSettings, Resources, demo_api
from gatehouse.emulator.backend import demo_backend
from gatehouse.emulator.config import GatewayConfig
from gatehouse.emulator.functions import WorkerFunction, start_all, worker_environment
from gatehouse.emulator.gateway import Gateway
from gatehouse.emulator.server import Listener, check_port_free, server_tls_context
from gatehouse.emulator.usage import ApiGatewayPlans
from gatehouse.localmode.lifecycle import LocalModeError, state_directory, stop_all
from gatehouse.localmode.lock import acquire
from gatehouse.localmode.moto_server import HOST, moto_clients, start_moto
from gatehouse.localmode.pki import LocalPki, make_pki
from gatehouse.localmode.seed import Seeded, seed_all

DEMO_BUNDLE: Final = Path(__file__).resolve().parent / "assets" / "demo.yaml"
DEFAULT_ACCOUNT: Final = "123456789012"
#: The built-in stage when no Gatehouse cdk.json is at hand (the dev stage's region).
BUILTIN_STAGE: Final = "dev"
BUILTIN_REGION: Final = "eu-west-1"

Progress = Callable[[str], None]


class StackError(LocalModeError):
    """The demo could not start (its cdk.json stage); the message says what, the hint what to do."""


@dataclass(frozen=True, slots=True)
class Options:
    http_port: int = 8080
    https_port: int = 8443
    moto_port: int = 5055
    state_dir: Path = Path(".local")
    stage: str = "dev"
    cdk_json: Path = Path("cdk.json")
    policy_bundle: Path = DEMO_BUNDLE


@dataclass
class Stack:
    """Everything that runs; :meth:`stop` ends it all (idempotent)."""

    options: Options
    region: str
    stage: str
    moto_url: str
    http: Listener
    https: Listener
    pki: LocalPki
    seeded: Seeded
    model: ApiModel
    gateway: Gateway
    functions: list[WorkerFunction]
    init_failures: dict[str, str]
    _stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        stop_all(self._stoppers)


def _stage_settings(cdk_json: Path, stage: str) -> tuple[str, str, ApiSettings, Any]:
    """Region, account, API settings and the stage config of ``stage``.

    From ``cdk_json`` when it is the Gatehouse repository's (it has a ``gatehouse`` context and
    ``cdk_app`` is importable); otherwise the built-in dev stage, so that an installed wheel
    runs the demo anywhere, including in a repository with a ``cdk.json`` of its own.
    """
    context = _gatehouse_context(cdk_json)
    if context is None:
        if stage != BUILTIN_STAGE:
            raise StackError(
                f"stage {stage!r} needs the Gatehouse repository's cdk.json, and {cdk_json} "
                "is not one",
                f"run from a Gatehouse checkout, or leave out --stage (the built-in demo is "
                f"{BUILTIN_STAGE!r})",
            )
        return BUILTIN_REGION, DEFAULT_ACCOUNT, ApiSettings(), None
    from cdk_app.config import StageConfigError, load_stage_configs  # noqa: PLC0415

    block = context.get("gatehouse")
    stages = block.get("stages") if isinstance(block, dict) else None
    if isinstance(stages, dict) and stages and stage not in stages:
        known = ", ".join(map(str, stages))
        raise StackError(
            f"--stage {stage!r}: cdk.json has no such stage (it has: {known})",
            f"pass one of them, e.g. --stage {next(iter(stages))}",
        )
    try:
        configs = load_stage_configs({**context, "stage": stage})
    except StageConfigError as error:
        # Every problem, on one line (the CLI prints one error line).
        raise StackError(
            f"cdk.json: invalid Gatehouse stage configuration: {'; '.join(error.problems)}",
            "fix cdk.json; `make synth` reports the same",
        ) from None
    config = configs[0]
    provider = getattr(getattr(config, "identity", None), "provider", "cognito")
    if provider != "cognito":
        # The local issuer is moto's pool, seeded here: serving it for a stage whose tokens
        # come from another issuer would guard the routes with settings the stage never has.
        raise StackError(
            f"--stage {stage!r}: local mode emulates a created Cognito pool; provider "
            f"{provider!r} (identity.provider in cdk.json) is deploy-only",
            'pick a stage whose identity block creates its pool ("provider": "cognito", the '
            "default)",
        )
    settings = getattr(config, "api", None) or ApiSettings()
    return config.region, config.account or DEFAULT_ACCOUNT, settings, config


def _gatehouse_context(cdk_json: Path) -> dict[str, Any] | None:
    """``cdk.json``'s context when it configures Gatehouse stages, else ``None``."""
    try:
        context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError) as error:
        raise StackError(
            f"cannot read {cdk_json}: {str(error).splitlines()[0] if str(error) else error}",
            "fix cdk.json, or run from another directory to use the built-in demo",
        ) from None
    if not isinstance(context, dict) or "gatehouse" not in context:
        return None
    try:
        import cdk_app.config  # noqa: F401, PLC0415 - the repository's demo deployment
    except ImportError:
        return None
    return context


def _runtime_root() -> str:
    """The directory holding the ``authorizers`` package this process runs (a checkout or
    site-packages), so each worker runs exactly the same authorizer code."""
    import authorizers  # noqa: PLC0415

    return str(Path(authorizers.__file__).resolve().parents[1])


def _timed(progress: Progress, what: str) -> contextlib.AbstractContextManager[None]:
    @contextlib.contextmanager
    def step() -> Iterator[None]:
        progress(f"==> {what} ...")
        started = time.monotonic()
        yield
        progress(f"    done in {time.monotonic() - started:.1f} s")

    return step()


def start(options: Options, progress: Progress) -> Stack:
    """Start everything; on any failure, stop what was started and raise :class:`StackError`.

    First, before anything starts: the stage must exist; the state directory is locked for
    this process (:class:`~gatehouse.localmode.lock.StateDirInUse` when another instance holds
    it: its PKI would be regenerated); the ports must be free (``PortInUse``).
    """
    region, account, settings, stage_config = _stage_settings(options.cdk_json, options.stage)
    stoppers: list[Callable[[], None]] = []
    try:
        stoppers.append(acquire(state_directory(options.state_dir)).release)
        for port in (options.moto_port, options.http_port, options.https_port):
            check_port_free(HOST, port)  # PortInUse -> the CLI's clear message
        if stage_config is None:
            progress(
                f"==> serving the built-in demo API ({BUILTIN_STAGE} settings): "
                f"{options.cdk_json} is not the Gatehouse repository's"
            )
        return _start(options, progress, region, account, settings, stoppers)
    except BaseException:
        stop_all(stoppers)
        raise


def _start(  # noqa: PLR0917 - one private call site
    options: Options,
    progress: Progress,
    region: str,
    account: str,
    settings: ApiSettings,
    stoppers: list[Callable[[], None]],
) -> Stack:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request logs (credentials)
    state = options.state_dir.resolve()
    (state / "logs").mkdir(parents=True, exist_ok=True)

    with _timed(progress, "starting moto (local AWS)"):
        moto_url = start_moto(options.moto_port, stoppers)
    client = moto_clients(moto_url, region)

    with _timed(progress, "seeding Cognito users, API keys, the CA and CRL, the policy bundle"):
        pki = make_pki(state / "pki")
        seeded = seed_all(
            client,
            region=region,
            stage=options.stage,
            plans=settings.usage_plans,
            pki=pki,
            policy_bundle=options.policy_bundle,
            now=int(time.time()),
        )
    if not seeded.policy_seeded:
        progress(
            f"    note: {options.policy_bundle} does not exist yet: the policy routes fail closed"
        )
    resources = Resources(
        region=region,
        user_pool_id=seeded.user_pool_id,
        client_ids=(seeded.client_id,),
        api_keys_table=seeded.table,
        trust_anchors=str(pki.ca),
        crls={pki.ca_key_id: seeded.crl_uri},
        policy_source=seeded.policy_uri,
        cognito_jwks_uri=f"{moto_url}/{seeded.user_pool_id}/.well-known/jwks.json",
    )
    model = demo_api(resources, settings)

    with _timed(progress, f"starting {len(model.authorizers)} authorizer functions"):
        functions = [
            WorkerFunction(
                name,
                spec.handler,
                worker_environment(
                    spec.environment,
                    name=name,
                    region=region,
                    endpoint_url=moto_url,
                    pythonpath=os.pathsep.join(
                        p for p in (_runtime_root(), os.environ.get("PYTHONPATH")) if p
                    ),
                ),
                log_path=state / "logs" / f"{name}.log",
            )
            for name, spec in model.authorizers.items()
        ]
        for function in functions:
            stoppers.append(function.stop)
        failures = start_all(functions)
    for name, error in failures.items():
        progress(f"    note: the {name} authorizer did not start ({error}): its routes answer 500")

    config = GatewayConfig.from_model(
        model,
        api_id=seeded.api_id,
        stage=options.stage,
        region=region,
        account=account,
    )
    gateway = Gateway(
        config,
        {f.name: f for f in functions},
        demo_backend,
        plans=ApiGatewayPlans(client("apigateway"), api_id=seeded.api_id, stage=options.stage),
    )
    tls = server_tls_context(pki.server.cert, pki.server.key, pki.ca)
    http = Listener(gateway, host=HOST, port=options.http_port).start()
    stoppers.append(http.stop)
    https = Listener(gateway, host=HOST, port=options.https_port, tls=tls).start()
    stoppers.append(https.stop)
    return Stack(
        options=options,
        region=region,
        stage=options.stage,
        moto_url=moto_url,
        http=http,
        https=https,
        pki=pki,
        seeded=seeded,
        model=model,
        gateway=gateway,
        functions=functions,
        init_failures=failures,
        _stoppers=stoppers,
    )
