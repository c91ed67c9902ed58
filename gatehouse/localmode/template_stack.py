"""Start and stop ``gatehouse local --template``: moto with the stack's tables, buckets, REST APIs
and usage plans, one worker per Lambda function, one listener per API (docs/local.md, "Your own
API: --template").

Functions run from the stack's own code: inline code is written to the state directory, assets
are read where ``cdk synth`` staged them, layers are put on the path as Lambda puts them on
``/opt/python``. A Gatehouse layer built for another architecture or Python (the usual arm64
layer on a laptop) cannot load its compiled dependencies here, so its ``authorizers`` package is
run on this installation's dependencies: the layer's own authorizer code, the machine's
``cryptography``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gatehouse.api_model import AUTHORIZER_HANDLERS
from gatehouse.cache_key import CacheKeyError, CacheKeyWords, check_cache_key
from gatehouse.emulator.config import GatewayConfig
from gatehouse.emulator.functions import WorkerFunction, start_all, worker_environment
from gatehouse.emulator.gateway import Gateway, WsgiGateway
from gatehouse.emulator.http_api import HttpApiConfig, HttpGateway
from gatehouse.emulator.server import Listener, check_port_free
from gatehouse.emulator.usage import ApiGatewayPlans
from gatehouse.localmode.cfn import TemplateError
from gatehouse.localmode.lifecycle import state_directory, stop_all
from gatehouse.localmode.lock import acquire
from gatehouse.localmode.moto_server import HOST, moto_clients, start_moto
from gatehouse.localmode.template import FunctionSpec, TemplateApp

TASK_ROOT: Final = "/var/task"
LAYER_MANIFEST: Final = "gatehouse-layer.json"
_LAMBDA_ARCH: Final = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TemplateOptions:
    http_port: int = 8080
    moto_port: int = 5055
    state_dir: Path = Path(".local")
    #: Issuer URL -> a JWKS file whose keys replace that issuer's (tokens minted locally).
    issuer_jwks: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServedApi:
    logical_id: str
    kind: str
    name: str
    api_id: str
    stage: str
    url: str
    routes: tuple[str, ...]


@dataclass
class TemplateStack:
    """What runs for one stack; :meth:`stop` ends it all (idempotent)."""

    app: TemplateApp
    moto_url: str
    apis: list[ServedApi]
    functions: list[WorkerFunction]
    init_failures: dict[str, str]
    gateways: dict[str, WsgiGateway]
    _stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        stop_all(self._stoppers)

    def info(self) -> dict[str, Any]:
        """What ``--info-file`` holds: URLs, moto, region, tables, buckets (no secrets)."""
        return {
            "stack": self.app.stack_name,
            "moto": self.moto_url,
            "region": self.app.region,
            "account": self.app.account,
            "apis": {
                api.logical_id: {
                    "kind": api.kind,
                    "name": api.name,
                    "id": api.api_id,
                    "stage": api.stage,
                    "url": api.url,
                    "routes": list(api.routes),
                }
                for api in self.apis
            },
            "tables": {t.logical_id: t.name for t in self.app.tables},
            "buckets": dict(self.app.buckets),
            "usage_plans": sorted({p.name for p in self.app.usage_plans}),
            "init_failures": self.init_failures,
            "pid": os.getpid(),
        }


def start(app: TemplateApp, options: TemplateOptions, progress: Progress) -> TemplateStack:
    """Start everything for ``app``; on any failure, stop what was started and raise."""
    jwks = _issuer_jwks(options.issuer_jwks)
    stoppers: list[Callable[[], None]] = []
    try:
        stoppers.append(acquire(state_directory(options.state_dir)).release)
        ports = _api_ports(options.http_port, len(app.rest_apis) + len(app.http_apis))
        for port in (options.moto_port, *ports):
            check_port_free(HOST, port)
        return _start(app, options, jwks, ports, progress, stoppers)
    except BaseException:
        stop_all(stoppers)
        raise


def _api_ports(first: int, count: int) -> list[int]:
    """``first``, ``first + 1``, ... one per API (``0``: each a free port)."""
    return [0 if first == 0 else first + index for index in range(count)]


def _issuer_jwks(files: Mapping[str, Path]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for issuer, path in files.items():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TemplateError(
                f"--issuer-jwks {issuer}={path}: cannot read a JWKS ({type(error).__name__})",
                'pass a JSON file holding {"keys": [...]} (public keys only)',
            ) from None
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list) or not keys:
            raise TemplateError(
                f"--issuer-jwks {issuer}={path}: not a JWKS with keys",
                'pass a JSON file holding {"keys": [...]} (public keys only)',
            )
        if any(isinstance(k, dict) and ("d" in k or k.get("kty") == "oct") for k in keys):
            raise TemplateError(
                f"--issuer-jwks {issuer}={path}: holds a private or symmetric key",
                "publish public keys only (OidcIssuer.jwks() in gatehouse.testing gives them)",
            )
        found[issuer] = {"keys": keys}
    return found


def _start(  # noqa: PLR0917 - one private call site
    app: TemplateApp,
    options: TemplateOptions,
    jwks: Mapping[str, dict[str, Any]],
    ports: Sequence[int],
    progress: Progress,
    stoppers: list[Callable[[], None]],
) -> TemplateStack:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request logs (credentials)
    state = options.state_dir.resolve()
    (state / "logs").mkdir(parents=True, exist_ok=True)
    progress(f"==> {app.stack_name}: starting moto (local AWS) ...")
    moto_url = start_moto(options.moto_port, stoppers)
    client = moto_clients(moto_url, app.region)

    _create_resources(app, client)
    progress(f"==> starting {len(app.functions)} functions in workers ...")
    notes: set[str] = set()
    functions = {
        logical: _worker(spec, app, state, moto_url, jwks, notes.add)
        for logical, spec in app.functions.items()
    }
    for note in sorted(notes | set(_issuer_notes(app, jwks))):
        progress(note)
    for warning in _cache_warnings(app):
        progress(warning)
    for function in functions.values():
        stoppers.append(function.stop)
    failures = start_all(list(functions.values()))
    for name, error in failures.items():
        progress(f"    note: function {name} did not start ({error}): its routes answer 500")
    if app.not_emulated:
        listed = ", ".join(f"{count} {kind}" for kind, count in app.not_emulated.items())
        progress(f"    note: not emulated (requests are answered without them): {listed}")

    apis: list[ServedApi] = []
    gateways: dict[str, WsgiGateway] = {}
    port_iter = iter(ports)
    apigateway = client("apigateway")
    for rest in app.rest_apis:
        config = GatewayConfig(
            api_id=rest.api_id,
            stage=rest.stage,
            region=app.region,
            account=app.account,
            routes=rest.routes,
            authorizers=rest.authorizers,
            stage_variables=rest.stage_variables,
            resource_policy=rest.resource_policy,
            method_throttle=rest.method_throttle,
            method_throttles=rest.method_throttles,
            gateway_responses=rest.gateway_responses,
        )
        gateway: WsgiGateway = Gateway(
            config,
            {name: functions[logical] for name, logical in rest.authorizer_functions.items()},
            _rest_backend(rest.backends, functions),
            plans=ApiGatewayPlans(apigateway, api_id=rest.api_id, stage=rest.stage),
        )
        apis.append(_serve(gateway, rest, "rest", next(port_iter), stoppers))
        gateways[rest.logical_id] = gateway
    for http in app.http_apis:
        http_config = HttpApiConfig(
            api_id=http.api_id,
            stage=http.stage,
            region=app.region,
            account=app.account,
            routes=http.routes,
            authorizers=http.authorizers,
            stage_variables=http.stage_variables,
            throttle=http.throttle,
        )
        gateway = HttpGateway(
            http_config,
            {name: functions[logical] for name, logical in http.authorizer_functions.items()},
            functions,
        )
        apis.append(_serve(gateway, http, "http", next(port_iter), stoppers))
        gateways[http.logical_id] = gateway
    return TemplateStack(
        app=app,
        moto_url=moto_url,
        apis=apis,
        functions=list(functions.values()),
        init_failures=failures,
        gateways=gateways,
        _stoppers=stoppers,
    )


def _serve(
    gateway: WsgiGateway, api: Any, kind: str, port: int, stoppers: list[Callable[[], None]]
) -> ServedApi:
    listener = Listener(gateway, host=HOST, port=port).start()
    stoppers.append(listener.stop)
    routes = (
        tuple(f"{r.method} {r.path}" for r in api.routes)
        if kind == "rest"
        else tuple(r.key for r in api.routes)
    )
    return ServedApi(api.logical_id, kind, api.name, api.api_id, api.stage, listener.url, routes)


def _create_resources(app: TemplateApp, client: Callable[[str], Any]) -> None:
    """The stack's tables, buckets, REST APIs (with their ids) and usage plans, in moto."""
    dynamodb = client("dynamodb")
    for table in app.tables:
        dynamodb.create_table(
            TableName=table.name,
            KeySchema=list(table.key_schema),
            AttributeDefinitions=list(table.attributes),
            BillingMode="PAY_PER_REQUEST",
        )
    s3 = client("s3")
    for bucket in app.buckets.values():
        if app.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": app.region}
            )
    apigateway = client("apigateway")
    for rest in app.rest_apis:
        apigateway.create_rest_api(
            name=rest.name,
            apiKeySource=rest.api_key_source,
            tags={"_custom_id_": rest.api_id},  # moto: the id the template's Ref resolved to
        )
    for plan in app.usage_plans:
        arguments: dict[str, Any] = {
            "name": plan.name,
            "apiStages": [{"apiId": plan.api, "stage": plan.stage}],
        }
        if plan.throttle:
            arguments["throttle"] = {
                "rateLimit": float(plan.throttle.get("RateLimit", 0)),
                "burstLimit": int(plan.throttle.get("BurstLimit", 0)),
            }
        if plan.quota:
            arguments["quota"] = {
                "limit": int(plan.quota.get("Limit", 0)),
                "period": str(plan.quota.get("Period", "DAY")),
            }
        apigateway.create_usage_plan(**arguments)


def _rest_backend(
    backends: Mapping[tuple[str, str], str | None], functions: Mapping[str, WorkerFunction]
) -> Callable[[dict[str, Any]], Mapping[str, Any]]:
    """The REST integration: the route's Lambda function, or an echo for an HTTP proxy."""

    def backend(event: dict[str, Any]) -> Mapping[str, Any]:
        logical = backends.get((str(event.get("httpMethod")), str(event.get("resource"))))
        if logical is None:
            body = {
                "stub": "local mode answers HTTP proxy integrations with this echo",
                "route": f"{event.get('httpMethod')} {event.get('resource')}",
                "path": event.get("path"),
            }
            return {"statusCode": 200, "body": json.dumps(body, sort_keys=True)}
        invocation = functions[logical].invoke(event, functions[logical].timeout_seconds)
        if invocation.failed or not isinstance(invocation.payload, Mapping):
            raise RuntimeError(f"function {logical} failed")  # the gateway answers 502
        return invocation.payload

    return backend


def _worker(  # noqa: PLR0917 - one private call site
    spec: FunctionSpec,
    app: TemplateApp,
    state: Path,
    moto_url: str,
    jwks: Mapping[str, dict[str, Any]],
    progress: Progress,
) -> WorkerFunction:
    code_dir = spec.code_dir
    if code_dir is None:
        code_dir = state / "functions" / spec.logical_id
        code_dir.mkdir(parents=True, exist_ok=True)
        (code_dir / "index.py").write_text(spec.inline_code or "", encoding="utf-8")
    paths = [str(code_dir), *(_layer_path(layer, state, progress) for layer in spec.layers)]
    import gatehouse  # noqa: PLC0415 - where this installation's worker module lives

    paths.append(str(Path(gatehouse.__file__).resolve().parents[1]))
    environment = {
        key: value.replace(f"{TASK_ROOT}/", f"{code_dir}/")
        if value.startswith(TASK_ROOT)
        else value
        for key, value in spec.environment.items()
    }
    environment = _with_local_issuers(environment, jwks)
    environment["LAMBDA_TASK_ROOT"] = str(code_dir)
    return WorkerFunction(
        spec.logical_id,
        spec.handler,
        worker_environment(
            environment,
            name=spec.logical_id,
            region=app.region,
            endpoint_url=moto_url,
            pythonpath=os.pathsep.join(paths),
        ),
        log_path=state / "logs" / f"{spec.logical_id}.log",
        timeout_seconds=spec.timeout_seconds,
    )


def _layer_path(layer: Path, state: Path, progress: Progress) -> str:
    """What goes on the path for a layer: its ``python/``, or for a Gatehouse layer this machine
    cannot load, a directory holding only its ``authorizers`` package."""
    site = layer / "python"
    manifest = site / LAYER_MANIFEST
    if not manifest.is_file():
        return str(site)
    built = json.loads(manifest.read_text(encoding="utf-8"))
    here = (
        _LAMBDA_ARCH.get(platform.machine().lower(), platform.machine()),
        f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    if (built.get("arch"), built.get("python_version")) == here:
        return str(site)
    shim = state / "layers" / layer.name
    shim.mkdir(parents=True, exist_ok=True)
    link = shim / "authorizers"
    if not link.exists():
        link.symlink_to(site / "authorizers", target_is_directory=True)
    progress(
        f"    note: the Gatehouse layer is built for {built.get('arch')} / Python "
        f"{built.get('python_version')}: its authorizers run on this machine's dependencies"
    )
    return str(shim)


def _with_local_issuers(
    environment: dict[str, str], jwks: Mapping[str, dict[str, Any]]
) -> dict[str, str]:
    """Each ``--issuer-jwks`` issuer's entry in ``GATEHOUSE_JWT_ISSUERS`` gets those keys,
    preloaded (its ``jwks_uri`` and discovery are dropped): the issuer, audiences, algorithms
    and every other check stay as the template has them."""
    text = environment.get("GATEHOUSE_JWT_ISSUERS")
    if not jwks or text is None:
        return environment
    try:
        entries = json.loads(text)
    except ValueError:
        return environment  # the authorizer refuses it at cold start, with its own message
    if not isinstance(entries, list):
        return environment
    for entry in entries:
        local = [issuer for issuer in _entry_issuers(entry) if issuer in jwks]
        if local:
            entry.pop("jwks_uri", None)
            entry["jwks"] = jwks[local[0]]
    return {**environment, "GATEHOUSE_JWT_ISSUERS": json.dumps(entries)}


def _entry_issuers(entry: object) -> list[str]:
    """The issuer URLs of one ``GATEHOUSE_JWT_ISSUERS`` entry (a Cognito one: its pool's, in
    each of its issuer formats); none for an entry the authorizer would refuse."""
    if not isinstance(entry, dict):
        return []
    if entry.get("type") == "cognito":
        from authorizers.jwt_bearer.issuers import cognito_issuers  # noqa: PLC0415

        formats = entry.get("issuer_formats", ["regional"])
        try:
            pairs = cognito_issuers(str(entry.get("user_pool_id", "")), tuple(formats))
        except (TypeError, ValueError):
            return []
        return [issuer for issuer, _ in pairs]
    issuer = entry.get("issuer")
    return [issuer] if isinstance(issuer, str) else []


_KINDS: Final = {handler: kind for kind, handler in AUTHORIZER_HANDLERS.items()}
_TEMPLATE_WORDS: Final = {
    prefix: CacheKeyWords(
        ttl="AuthorizerResultTtlInSeconds", identity_source="IdentitySource", header_prefix=prefix
    )
    for prefix in ("method.request.header.", "$request.header.")
}


def _cache_warnings(app: TemplateApp) -> Iterator[str]:
    """Each authorizer whose result cache would replay one caller's Allow to another, as
    the ``gatehouse.cdk`` constructs and ``gatehouse attach`` judge it
    (:func:`gatehouse.cache_key.check_cache_key`). Served as configured, so the replay shows
    here as it would deployed; said at start."""
    checks: list[tuple[str, str, bool, tuple[str, ...], int, str]] = [
        (name, logical, spec.type == "TOKEN", tuple(s.text for s in spec.identity_sources),
         spec.cache_ttl_seconds, "method.request.header.")
        for rest in app.rest_apis
        for name, spec in rest.authorizers.items()
        if (logical := rest.authorizer_functions.get(name))
    ]  # fmt: skip
    checks += [
        (name, logical, False, spec.identity_sources, spec.cache_ttl_seconds, "$request.header.")
        for http in app.http_apis
        for name, spec in http.authorizers.items()
        if (logical := http.authorizer_functions.get(name))
    ]
    for name, logical, token, sources, ttl, prefix in checks:
        function = app.functions[logical]
        try:
            warning = check_cache_key(
                kind=_KINDS[function.handler],
                function=function.name,
                token=token,
                identity_sources=sources,
                ttl=ttl,
                environment=function.environment,
                words=_TEMPLATE_WORDS[prefix],
            )
        except CacheKeyError as error:
            yield (
                f"    warning: authorizer {name}: {error} (served as deployed, so local mode "
                f"replays it too); {error.hint}"
            )
            continue
        if warning is not None:
            yield f"    warning: authorizer {name}: {warning}"


def _issuer_notes(app: TemplateApp, jwks: Mapping[str, object]) -> Iterator[str]:
    """What the operator should know about the issuers of the stack's JWT authorizers: one
    whose keys would be fetched from the network, and an ``--issuer-jwks`` that names none."""
    issuers: set[str] = set()
    remote: set[str] = set()
    for spec in app.functions.values():
        try:
            entries = json.loads(spec.environment.get("GATEHOUSE_JWT_ISSUERS") or "[]")
        except ValueError:
            continue
        for entry in entries if isinstance(entries, list) else ():
            names = _entry_issuers(entry)
            issuers.update(names)
            if isinstance(entry, dict) and "jwks" not in entry and not set(names) & set(jwks):
                remote.update(names)
    for issuer in sorted(remote):
        yield (
            f"    note: issuer {issuer} has no local keys: its JWKS is fetched from the network; "
            f"for tokens minted here pass --issuer-jwks {issuer}=FILE"
        )
    for issuer in sorted(set(jwks) - issuers):
        yield (
            f"    note: --issuer-jwks {issuer} names no issuer of the stack's authorizers "
            f"(they have: {', '.join(sorted(issuers)) or 'none'})"
        )


def describe(stack: TemplateStack) -> Iterator[str]:
    """The lines printed once ready: each API, its URL and routes."""
    for api in stack.apis:
        kind = api.kind.upper()
        yield f"    {kind} API {api.name} ({api.logical_id}, stage {api.stage}): {api.url}"
        for route in api.routes:
            yield f"        {route}"
