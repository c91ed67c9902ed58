"""``gatehouse local``: the whole gateway on this machine (docs/local.md).

moto plays AWS, a local API Gateway serves the demo API of a ``cdk.json`` stage with each
authorizer in its own worker process, and a walkthrough shows what to try. ``--smoke`` runs the
walkthrough itself and exits 1 on any surprise.

Exit codes: 0 stopped cleanly (Ctrl-C) or smoke passed; 1 smoke found a surprise; 2 usage
error (including an ``--info-file`` whose directory does not exist); 4 local mode could not
start (cdk.json, stage, moto, seeding); 5 a port is already in use, or another instance runs
with the same ``--state-dir``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from gatehouse.errors import CliError, ExitCode

if TYPE_CHECKING:
    from gatehouse.localmode.stack import Options, Stack
    from gatehouse.localmode.template_stack import TemplateOptions
    from gatehouse.localmode.walkthrough import Walkthrough

SMOKE_FAILED = 1


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.command()
@click.option(
    "--port",
    "http_port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="HTTP port of the gateway on 127.0.0.1 (0: any free).",
)
@click.option(
    "--tls-port",
    "https_port",
    type=click.IntRange(0, 65535),
    default=8443,
    show_default=True,
    help="HTTPS port (client certificates optional; 0: any free).",
)
@click.option(
    "--moto-port",
    type=click.IntRange(0, 65535),
    default=5055,
    show_default=True,
    help="Port of the moto server that plays AWS (0: any free).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".local"),
    show_default=True,
    help="Where certificates, keys, logs and the walkthrough are written.",
)
@click.option(
    "--stage",
    default="dev",
    show_default=True,
    help="The cdk.json stage whose API settings to use.",
)
@click.option("--smoke", is_flag=True, help="Run the walkthrough, report, and exit.")
@click.option(
    "--info-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Once ready, write URLs, region, API id, table, tokens, keys and certificate paths "
    "here as JSON (for scripts and the gatehouse CLI).",
)
@click.option(
    "--template",
    type=click.Path(path_type=Path),
    help="Serve your own API instead of the demo: a synthesized template "
    "(cdk.out/<Stack>.template.json) or a cloud assembly directory (cdk.out).",
)
@click.option(
    "--stack", "stack_name", help="With --template DIR: the stack of the cloud assembly to serve."
)
@click.option(
    "--issuer-jwks",
    "issuer_jwks",
    multiple=True,
    metavar="ISSUER=FILE",
    help="With --template: verify tokens of ISSUER (as configured in the template) with the "
    "public keys in FILE, e.g. from gatehouse.testing.OidcIssuer (repeatable).",
)
def local(
    *,
    http_port: int,
    https_port: int,
    moto_port: int,
    state_dir: Path,
    stage: str,
    smoke: bool,
    info_file: Path | None,
    template: Path | None,
    stack_name: str | None,
    issuer_jwks: tuple[str, ...],
) -> None:
    """Run the demo gateway locally: moto as AWS, a local API Gateway, the four authorizers.

    Prints a walkthrough of curl commands (with real tokens, API keys and client
    certificates) and what each returns. Ctrl-C stops everything.

    With --template, serves your own stack's REST and HTTP APIs instead (docs/local.md,
    "Your own API"): its Gatehouse authorizers, backends and usage plans.

    Exit codes: 0 ok, 1 smoke surprise, 2 usage, 4 could not start, 5 port in use or
    --state-dir used by another running instance.
    """
    _needs_local_mode_packages()
    if info_file is not None:
        _check_info_file(info_file, state_dir)
    if template is not None or stack_name or issuer_jwks:
        _serve_template(
            template,
            stack=stack_name,
            issuer_jwks=issuer_jwks,
            smoke=smoke,
            http_port=http_port,
            moto_port=moto_port,
            state_dir=state_dir,
            info_file=info_file,
        )
        return
    from gatehouse.localmode.stack import Options, start  # noqa: PLC0415
    from gatehouse.localmode.walkthrough import walkthrough  # noqa: PLC0415

    options = Options(
        http_port=http_port,
        https_port=https_port,
        moto_port=moto_port,
        state_dir=state_dir,
        stage=stage,
    )
    started = time.monotonic()
    _gateway_log(verbose=not smoke)
    stop = threading.Event()
    _on_signals(stop)
    with _start_failures(state_dir, lambda port: _port_option(port, options)):
        stack = start(options, _say)
    try:
        guide = walkthrough(stack)
        script = state_dir / "walkthrough.sh"
        script.write_text("#!/usr/bin/env bash\n" + guide.render(), encoding="utf-8")
        script.chmod(0o700)
        _say(
            f"==> ready in {time.monotonic() - started:.1f} s: {stack.http.url} and "
            f"{stack.https.url} (moto: {stack.moto_url}); logs in {state_dir}/logs"
        )
        if info_file is not None:
            try:
                _write_info(info_file, stack)
            except OSError as error:
                raise CliError(
                    f"cannot write --info-file {info_file}: {error.strerror or error}",
                    hint="pass --info-file a path in a directory this user can write",
                    code=ExitCode.USAGE,
                ) from None
        if smoke:
            _smoke(guide)
            return
        click.echo(guide.render())
        _say(f"(also in {script}) Ctrl-C stops everything.")
        stop.wait()
        _say("==> stopping")
    finally:
        stack.stop()


def _issuer_files(values: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for value in values:
        issuer, separator, file = value.rpartition("=")
        if not separator or not issuer or not file:
            raise CliError(
                f"--issuer-jwks {value!r}: expected ISSUER=FILE",
                hint="e.g. --issuer-jwks https://login.example.test/=jwks.json",
                code=ExitCode.USAGE,
            )
        found[issuer] = Path(file)
    return found


def _serve_template(
    path: Path | None,
    *,
    stack: str | None,
    issuer_jwks: tuple[str, ...],
    smoke: bool,
    http_port: int,
    moto_port: int,
    state_dir: Path,
    info_file: Path | None,
) -> None:
    """``--template``: read the stack, refuse what cannot be emulated, serve the rest."""
    from gatehouse.localmode.cfn import TemplateError, load  # noqa: PLC0415
    from gatehouse.localmode.stack import BUILTIN_REGION, DEFAULT_ACCOUNT  # noqa: PLC0415
    from gatehouse.localmode.template import read_app  # noqa: PLC0415
    from gatehouse.localmode.template_stack import (  # noqa: PLC0415
        TemplateOptions,
        describe,
        start,
    )

    if path is None:
        raise CliError(
            "--stack and --issuer-jwks apply to --template only",
            hint="add --template cdk.out (or a template file), or leave them out",
            code=ExitCode.USAGE,
        )
    if smoke:
        raise CliError(
            "--smoke runs the demo walkthrough, which --template does not serve",
            hint='drive your API with its own tests (docs/local.md, "Your own API")',
            code=ExitCode.USAGE,
        )
    jwks_files = _issuer_files(issuer_jwks)
    started = time.monotonic()
    try:
        loaded = load(path, stack)
        app = read_app(
            loaded,
            region=loaded.region or BUILTIN_REGION,
            account=loaded.account or DEFAULT_ACCOUNT,
        )
    except TemplateError as error:
        raise CliError(str(error), hint=error.hint, code=ExitCode.AWS) from None
    _gateway_log(verbose=True)
    stop = threading.Event()
    _on_signals(stop)
    options = TemplateOptions(
        http_port=http_port, moto_port=moto_port, state_dir=state_dir, issuer_jwks=jwks_files
    )
    with _start_failures(state_dir, _template_port_option(options)):
        served = start(app, options, _say)
    try:
        _say(f"==> ready in {time.monotonic() - started:.1f} s (moto: {served.moto_url}):")
        for line in describe(served):
            _say(line)
        if info_file is not None:
            partial = info_file.with_suffix(".tmp")
            partial.write_text(json.dumps(served.info()), encoding="utf-8")
            partial.replace(info_file)
        _say("Ctrl-C stops everything.")
        stop.wait()
        _say("==> stopping")
    finally:
        served.stop()


@contextlib.contextmanager
def _start_failures(state_dir: Path, port_option: Callable[[int], str]) -> Iterator[None]:
    """Why local mode did not start, as one CLI error: another instance on the state
    directory or a port taken (5), anything else (4), never a traceback."""
    from gatehouse.emulator.server import PortInUse  # noqa: PLC0415 - keeps --help fast
    from gatehouse.localmode.lifecycle import LocalModeError  # noqa: PLC0415
    from gatehouse.localmode.lock import StateDirInUse  # noqa: PLC0415

    try:
        yield
    except StateDirInUse as error:
        raise CliError(
            str(error),
            hint="stop it, or run this one with its own state and free ports: "
            f"{_SECOND_INSTANCE} (with make: make local LOCAL_ARGS='{_SECOND_INSTANCE}')",
            code=ExitCode.CONFLICT,
        ) from None
    except PortInUse as error:
        option = port_option(error.port)
        raise CliError(
            f"port {error.port} on {error.host} is already in use ({option})",
            hint=f"stop the program using it, or pick another: {option} 0 picks a free one "
            f"(with make: make local LOCAL_ARGS='{option} 0'); a second gatehouse local "
            f"needs {_SECOND_INSTANCE}",
            code=ExitCode.CONFLICT,
        ) from None
    except LocalModeError as error:
        raise CliError(str(error), hint=error.hint, code=ExitCode.AWS) from None
    except Exception as error:  # moto, seeding or a worker failed: one line, not a traceback
        raise CliError(
            f"local mode could not start: {type(error).__name__}: {error}",
            hint=f"see {state_dir}/logs; docs/local.md lists what local mode needs",
            code=ExitCode.AWS,
        ) from None


def _template_port_option(options: TemplateOptions) -> Callable[[int], str]:
    return lambda port: "--moto-port" if port == options.moto_port else "--port"


LOCAL_MODE_MODULES = ("moto", "werkzeug")
#: What a second instance beside a running one needs: its own PKI and ports.
_SECOND_INSTANCE = "--state-dir .local/2 --port 0 --tls-port 0 --moto-port 0"


def _port_option(port: int, options: Options) -> str:
    """The option that asked for ``port`` (moto's is checked first)."""
    by_port = {
        options.moto_port: "--moto-port",
        options.https_port: "--tls-port",
        options.http_port: "--port",
    }
    return by_port.get(port, "--port")


def _check_info_file(info_file: Path, state_dir: Path) -> None:
    """Before anything starts: the info file's directory must exist (or be the state
    directory, which local mode creates) and be writable."""
    directory = info_file.parent.resolve()
    if directory == state_dir.resolve():
        return
    if not directory.is_dir():
        raise CliError(
            f"--info-file {info_file}: directory {info_file.parent} does not exist",
            hint=f"create it first, or write the file into the state directory: "
            f"--info-file {state_dir / 'info.json'}",
            code=ExitCode.USAGE,
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CliError(
            f"--info-file {info_file}: directory {info_file.parent} is not writable",
            hint=f"pass a path this user can write, e.g. --info-file {state_dir / 'info.json'}",
            code=ExitCode.USAGE,
        )


def _needs_local_mode_packages() -> None:
    """moto (server mode) and werkzeug come with the ``testing`` extra, not with ``cli``."""
    missing = [name for name in LOCAL_MODE_MODULES if find_spec(name) is None]
    if missing:
        raise CliError(
            f"gatehouse local needs {' and '.join(missing)}, which this installation lacks",
            hint="pip install 'gatehouse[cli,testing]' (or 'gatehouse[all]')",
            code=ExitCode.USAGE,
        )


def _gateway_log(*, verbose: bool) -> None:
    """One line per request (method, path without the query, status, authorizer and cache);
    never a header, token or key."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("    %(message)s"))
    gateway = logging.getLogger("gatehouse.emulator")
    gateway.addHandler(handler)
    gateway.setLevel(logging.INFO if verbose else logging.ERROR)
    gateway.propagate = False


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def _smoke(guide: Walkthrough) -> None:
    started = time.monotonic()
    results = guide.run()
    surprises = 0
    for result in results:
        step = result.step
        mark = "ok  " if result.ok else "FAIL"
        got = result.error or str(result.status)
        if result.status == step.expect and not result.header_ok:
            got += f" (missing {step.expect_header[0] if step.expect_header else ''})"
        click.echo(
            f"{mark} {step.method:6} {step.path:30} expect {step.expect} got {got}  {step.title}"
        )
        surprises += not result.ok
    elapsed = time.monotonic() - started
    if surprises:
        _say(f"==> smoke: {surprises} of {len(results)} steps surprised ({elapsed:.1f} s)")
        raise SystemExit(SMOKE_FAILED)
    _say(f"==> smoke: all {len(results)} steps as expected ({elapsed:.1f} s)")


def _write_info(path: Path, stack: Stack) -> None:
    pki = stack.pki
    info = {
        "http": stack.http.url,
        "https": stack.https.url,
        "moto": stack.moto_url,
        "region": stack.region,
        "stage": stack.stage,
        "api_id": stack.seeded.api_id,
        "user_pool_id": stack.seeded.user_pool_id,
        "client_id": stack.seeded.client_id,
        "table": stack.seeded.table,
        "tokens": dict(stack.seeded.tokens),
        "keys": {t: k.secret for t, k in stack.seeded.keys.items()},
        "pki": {
            "ca": str(pki.ca),
            "device": [str(pki.device.cert), str(pki.device.key)],
            "revoked": [str(pki.revoked.cert), str(pki.revoked.key)],
            "stranger": [str(pki.stranger.cert), str(pki.stranger.key)],
        },
        "init_failures": stack.init_failures,
        "pid": os.getpid(),
    }
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(info), encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)
