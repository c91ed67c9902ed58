"""Cold start, Lambda-style: each handler imported (and its authorizer built) in a fresh
interpreter run as ``python -I -S -B`` with only the layer on ``sys.path``, as Lambda runs a
function (no site, no user paths, nothing written), interleaved with the same interpreter
importing ``jwt`` (the anchor); and each handler's peak memory after its first request.

The layer is this machine's build (``layers/build/host``): its bytecode is compiled by this
interpreter, so the rows show a layer *with* bytecode. (The deployable arm64 layer carries
none unless the build found the runtime's own interpreter: docs/layer.md.)

Peak memory is ``VmHWM`` from ``/proc/self/status`` read inside the process after the first
request: ``ru_maxrss`` is no use for a child, as it survives fork and exec.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from bench.harness import bench_external
from tests.unit.policy.helpers import DEMO_ROUTES

ROOT: Final = Path(__file__).resolve().parent.parent
LAYER: Final = ROOT / "layers" / "build" / "host" / "python"
IMPORTS_PER_BLOCK: Final = 3
GROUP: Final = "Cold import, Lambda-style (-I -S -B, host layer with bytecode)"

_PKI_CA = ROOT / "cdk_app" / "pki" / "example-issuing-ca.pem"


def _settings(scratch: Path) -> dict[str, dict[str, str]]:
    """Each handler's settings: enough for its cold start to build the authorizer."""
    issuer = {
        "type": "oidc",
        "issuer": "https://idp.example.com",
        "audiences": ["api://orders"],
        "algorithms": ["RS256"],
        "jwks": {"keys": []},
        "jwks_uri": "https://idp.example.com/jwks.json",
    }
    return {
        "jwt": {"GATEHOUSE_JWT_ISSUERS": json.dumps([issuer])},
        "api_key": {"GATEHOUSE_APIKEY_TABLE": "gatehouse-keys"},
        "mtls": {
            "GATEHOUSE_MTLS_TRUST_ANCHORS": _PKI_CA.read_text(),
            "GATEHOUSE_MTLS_RULES": json.dumps([{"subject_cn": "{cn}", "principal": "{cn}"}]),
            "GATEHOUSE_MTLS_REVOCATION": "off",
        },
        "policy": {
            "GATEHOUSE_JWT_ISSUERS": json.dumps([issuer]),
            "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer",
            "GATEHOUSE_POLICY_SOURCE": str(scratch / "demo.yaml"),
            "GATEHOUSE_POLICY_ROUTES": json.dumps(list(DEMO_ROUTES)),
        },
    }


def _environ(settings: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "PYTHON"))}
    return {
        **base,
        **settings,
        "GATEHOUSE_TRACING": "false",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def _lambda_style(statement: str) -> list[str]:
    # -I: no PYTHON* variables, no user site; -S: no site (so no site-packages); -B: write
    # nothing. Only the layer is importable, as /opt/python is on Lambda.
    return [
        sys.executable,
        "-I",
        "-S",
        "-B",
        "-c",
        f"import sys; sys.path[:0] = [{str(LAYER)!r}]; {statement}",
    ]


def _block(statement: str, environ: dict[str, str]) -> Any:
    def run() -> float:
        samples = []
        for _ in range(IMPORTS_PER_BLOCK):
            start = time.perf_counter()
            subprocess.run(
                _lambda_style(statement),
                check=True,
                env=environ,
                cwd="/",
                stdout=subprocess.DEVNULL,
            )
            samples.append((time.perf_counter() - start) * 1e6)
        return statistics.median(samples)

    return run


def register() -> None:
    if not (LAYER / "authorizers").is_dir():
        raise RuntimeError(f"{LAYER} is missing: run `make layers/build/host/.stamp`")
    scratch = Path(tempfile.mkdtemp(prefix="gatehouse-cold-"))
    (scratch / "demo.yaml").write_bytes((ROOT / "policies" / "demo.yaml").read_bytes())
    bench_external(GROUP, "import jwt", anchor=True, run=_block("import jwt", _environ({})))
    for kind, settings in _settings(scratch).items():
        bench_external(
            GROUP,
            f"import authorizers.{_module(kind)}.handler (+ build)",
            run=_block(f"import authorizers.{_module(kind)}.handler", _environ(settings)),
        )


def _module(kind: str) -> str:
    return "jwt_bearer" if kind == "jwt" else kind


_MEMORY = """
import sys, json
sys.path[:0] = [{layer!r}]
import authorizers.{module}.handler as handler
from gatehouse_bench_event import EVENT, Context
try:
    handler.lambda_handler(EVENT, Context())
except Exception:
    pass  # a 401 is an exception: the request still ran
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(status)
"""


def memory_table() -> str:
    """Each handler's peak RSS (VmHWM) after its first request, in a Lambda-style process."""
    scratch = Path(tempfile.mkdtemp(prefix="gatehouse-memory-"))
    (scratch / "demo.yaml").write_bytes((ROOT / "policies" / "demo.yaml").read_bytes())
    event = json.loads((ROOT / "tests" / "events" / "rest_request.json").read_text())
    (scratch / "gatehouse_bench_event.py").write_text(
        f"EVENT = {event!r}\n"
        "class Context:\n"
        "    function_name = 'bench'; function_version = '$LATEST'; memory_limit_in_mb = 256\n"
        "    invoked_function_arn = 'arn:aws:lambda:eu-west-1:123456789012:function:bench'\n"
        "    aws_request_id = 'req'\n"
        "    def get_remaining_time_in_millis(self): return 5000\n"
    )
    lines = ["| handler | peak RSS after the first request (VmHWM) |", "|---|---:|"]
    for kind, settings in _settings(scratch).items():
        code = _MEMORY.format(layer=str(LAYER), module=_module(kind))
        code = f"import sys; sys.path.insert(0, {str(scratch)!r})\n" + code
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", code],
            check=True,
            env=_environ(settings),
            cwd="/",
            capture_output=True,
            text=True,
        )
        kib = int(out.stdout.strip().splitlines()[-1])
        lines.append(f"| {kind} | {kib / 1024:.1f} MiB |")
    return "\n".join(lines)
