"""The built Lambda layer: it imports on its own, holds only what it should, and targets Lambda.

`make test` builds ``layers/build/host`` (this machine, for the import test) and
``layers/build/arm64`` (the Lambda layer, checked statically) before pytest runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "requirements.txt"
HOST_LAYER = ROOT / "layers" / "build" / "host" / "python"
ARM64_LAYER = ROOT / "layers" / "build" / "arm64" / "python"
MANIFEST = "gatehouse-layer.json"
FORBIDDEN = ("boto3", "botocore", "s3transfer", "urllib3")
ELF_MACHINE_AARCH64 = 183
# Isolated (no PYTHON* variables), no site-packages, no bytecode written, warnings fail.
PYTHON = (sys.executable, "-I", "-S", "-B", "-W", "error")

REQUIRED_IMPORTS = (
    "authorizers.core",
    "authorizers.core.pipeline",
    "jwt",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "cachetools",
    "aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event",
)

# Runs in `python -I -S -B`: no site-packages, no PYTHON* variables, nothing written to the layer.
# Only the layer and the standard library are importable.
IMPORT_SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.util, json, sys, sysconfig
    layer, modules = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, layer)
    stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    report = {"errors": {}, "boto3_after_core": None, "found": {}, "outside": []}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:
            report["errors"][name] = f"{type(error).__name__}: {error}"
        if name == "authorizers.core":
            loaded = [m for m in sys.modules if m.split(".")[0] == "boto3"]
            report["boto3_after_core"] = sorted(loaded)
    for name in ("boto3", "botocore"):
        spec = importlib.util.find_spec(name)
        report["found"][name] = None if spec is None else str(spec.origin)
    report["loaded"] = sorted(m for m in ("boto3", "botocore") if m in sys.modules)
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and not path.startswith((layer, *stdlib)):
            report["outside"].append(f"{name}: {path}")
    print(json.dumps(report))
    """
)


# Checked in each test, not in a fixture: a missing build must FAIL (a fixture would ERROR).
LAYERS = {
    "host": (HOST_LAYER, "python layers/build.py --host --out layers/build/host"),
    "arm64": (ARM64_LAYER, "make layer ARCH=arm64"),
}


def _layer(which: str) -> Path:
    path, how = LAYERS[which]
    if not path.is_dir():
        pytest.fail(
            f"{path.relative_to(ROOT)} is missing: run `make test` (it builds the layers before "
            f"pytest) or build it with `{how}`"
        )
    return path


def _manifest(layer: Path) -> dict[str, Any]:
    path = layer / MANIFEST
    assert path.is_file(), f"{path} missing: the layer was not built by layers/build.py"
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path.name} is not an ELF file"
    assert header[4] == 2, f"{path.name} is not a 64-bit ELF"
    assert header[5] == 1, f"{path.name} is not a little-endian ELF"
    return int.from_bytes(header[18:20], "little")


# The smallest valid configuration of each authorizer, so that importing its handler builds
# the authorizer from the layer alone (a configuration error would hide a missing module).
# Each handler is imported in its own interpreter: every authorizer refuses the others'
# GATEHOUSE_* settings as unknown.
# One usable public key: a static JWKS with none is a configuration error at cold start. A
# fixed 2048-bit modulus (any odd 256-byte value parses as an RSA public key), so no key is
# generated per run.
_LAYER_JWK = {
    "kty": "RSA",
    "kid": "layer-test",
    "e": "AQAB",
    "n": "x" + "A" * 340 + "Q",
}
#: One trusted issuer with its keys inline: a cold start with no network.
_LAYER_ISSUERS = json.dumps(
    [
        {
            "type": "oidc",
            "issuer": "https://idp.example.com",
            "audiences": ["api://layer-test"],
            "algorithms": ["RS256"],
            "jwks": {"keys": [_LAYER_JWK]},
        }
    ]
)
MINIMAL_CONFIG: dict[str, dict[str, str]] = {
    "jwt_bearer": {"GATEHOUSE_JWT_ISSUERS": _LAYER_ISSUERS},
    "api_key": {"GATEHOUSE_APIKEY_TABLE": "layer-test-keys"},
    "login": {
        "GATEHOUSE_JWT_ISSUERS": _LAYER_ISSUERS,
        "GATEHOUSE_JWT_SESSION_COOKIE": "__Host-layer-test",
        "GATEHOUSE_LOGIN_AUTHORIZE_URL": "https://idp.example.com/oauth2/authorize",
        "GATEHOUSE_LOGIN_TOKEN_URL": "https://idp.example.com/oauth2/token",
        "GATEHOUSE_LOGIN_CLIENT_ID": "layer-test",
        "GATEHOUSE_LOGIN_REDIRECT_URI": "https://portal.example.com/auth/callback",
        # Read on the first request, never at import: the cold start makes no AWS call.
        "GATEHOUSE_LOGIN_KEY_SECRET": "layer-test-login-key",
    },
    "mtls": {
        "GATEHOUSE_MTLS_TRUST_ANCHORS": "",  # filled in by _ca_pem(): a CA made for this test
        "GATEHOUSE_MTLS_RULES": '[{"subject_cn": "{cn}", "principal": "{cn}"}]',
        "GATEHOUSE_MTLS_REVOCATION": "off",
    },
    "policy": {
        "GATEHOUSE_JWT_ISSUERS": _LAYER_ISSUERS,
        "GATEHOUSE_POLICY_AUTHENTICATOR": "jwt_bearer",
        # A file source: the cold start loads and compiles the demo bundle with cedarpy and
        # PyYAML from the layer, and imports no boto3.
        "GATEHOUSE_POLICY_SOURCE": str(ROOT / "policies" / "demo.yaml"),
        "GATEHOUSE_POLICY_ROUTES": json.dumps(
            [
                "GET /tenants/{tenant}/orders",
                "POST /tenants/{tenant}/orders",
                "GET /tenants/{tenant}/orders/{id}",
                "DELETE /tenants/{tenant}/orders/{id}",
            ]
        ),
    },
}


def _ca_pem() -> str:
    """A throwaway self-signed CA certificate (the mTLS authorizer needs a trust anchor)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gatehouse layer test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _import_report(layer: Path, modules: list[str], settings: dict[str, str]) -> dict[str, Any]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONPATH" and not key.startswith("GATEHOUSE_")
    }
    env.update(settings)
    result = subprocess.run(
        [*PYTHON, "-c", IMPORT_SCRIPT, str(layer), json.dumps(modules)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert '"configuration error"' not in result.stdout, result.stdout
    # Handlers may log at cold start; the report is the script's last line.
    lines = result.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    assert report, f"no report from the import script: {result.stderr}"
    return report


def _assert_clean(report: dict[str, Any]) -> None:
    assert report["errors"] == {}, f"imports failed from the layer alone: {report['errors']}"
    assert report["found"] == {"boto3": None, "botocore": None}, (
        f"boto3/botocore must not be in the layer (Lambda provides them): {report['found']}"
    )
    assert report["loaded"] == []
    assert report["outside"] == [], f"modules loaded from outside the layer: {report['outside']}"


@pytest.mark.layer
def test_layer_imports_in_a_clean_interpreter_without_boto3() -> None:
    """Protects against a layer that only works because the dev venv fills the gaps.

    A missing or mis-pinned dependency (e.g. cffi for cryptography), a handler importing something
    the layer lacks, boto3/botocore sneaking into the layer (the runtime provides them), or
    authorizers.core importing boto3 at import time (+200 ms cold start) all fail here.
    """
    host_layer = _layer("host")
    core = _import_report(host_layer, list(REQUIRED_IMPORTS), {})
    _assert_clean(core)
    assert core["boto3_after_core"] == [], "importing authorizers.core loaded boto3"
    handlers = sorted(
        ".".join(path.relative_to(host_layer).with_suffix("").parts)
        for path in host_layer.glob("authorizers/*/handler.py")
    )
    assert "authorizers.jwt_bearer.handler" in handlers
    for handler in handlers:
        kind = handler.split(".")[1]
        assert kind in MINIMAL_CONFIG, (
            f"add a minimal configuration for {kind} to MINIMAL_CONFIG in this test"
        )
        settings = dict(MINIMAL_CONFIG[kind])
        if "GATEHOUSE_MTLS_TRUST_ANCHORS" in settings:
            settings["GATEHOUSE_MTLS_TRUST_ANCHORS"] = _ca_pem()
        _assert_clean(_import_report(host_layer, [handler], settings))


@pytest.mark.layer
@pytest.mark.parametrize("which", ["host", "arm64"])
def test_layer_layout_and_manifest(which: str) -> None:
    """Protects against a layer Lambda cannot use or that carries dead weight.

    Lambda only puts /opt/python on sys.path, so everything must sit under `python/`; a top-level
    `tests` package would shadow ours; .pyc files for another Python are ignored by the runtime
    (and pip writes them for the build interpreter unless told not to); the manifest must list
    exactly the pinned distributions, so nothing outside layers/requirements.txt ships; and
    the copy beside `python/` must match it (GatehouseLayer reads that one for the arch check).
    """
    layer = _layer(which)
    assert layer.name == "python"
    assert (layer / "authorizers" / "core" / "__init__.py").is_file()
    assert (layer / "authorizers" / "py.typed").is_file()
    assert not (layer / "tests").exists(), "a top-level tests package must not ship"
    assert not list((layer / "authorizers").rglob("test_*.py"))

    manifest = _manifest(layer)
    assert manifest["packages"] == _pins()
    # The same manifest next to python/, where gatehouse.cdk.GatehouseLayer checks the arch.
    beside = layer.parent / MANIFEST
    assert beside.is_file(), f"{beside} missing: the layer was built before gatehouse.layer_build"
    assert json.loads(beside.read_text(encoding="utf-8")) == manifest
    if which == "host":
        assert manifest["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    else:
        assert (manifest["arch"], manifest["python_version"]) == ("arm64", "3.14")
        assert manifest["platform"] == "manylinux2014_aarch64"

    major, minor = manifest["python_version"].split(".")
    tag = f".cpython-{major}{minor}."
    wrong = sorted(
        str(pyc.relative_to(layer)) for pyc in layer.rglob("*.pyc") if tag not in pyc.name
    )
    assert wrong == [], (
        f"bytecode for a Python other than {manifest['python_version']}: {wrong[:5]}"
    )

    shipped = sorted(
        re.sub(r"[-_.]+", "-", path.name.removesuffix(".dist-info").rsplit("-", 1)[0]).lower()
        for path in layer.glob("*.dist-info")
    )
    assert shipped == sorted(_pins()), "distributions in the layer differ from the requirements"
    for name in FORBIDDEN:
        assert not (layer / name).exists(), f"{name} must not be in the layer"


@pytest.mark.layer
def test_arm64_layer_has_aarch64_binaries() -> None:
    """Protects against shipping host (x86_64) or wrong-Python binaries in the arm64 layer.

    A build that forgets --platform/--python-version installs wheels for the build machine; they
    pass every local test and then fail on Graviton with an ImportError at cold start.
    """
    arm64_layer = _layer("arm64")
    rust = arm64_layer / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so"
    assert rust.is_file(), "cryptography's abi3 Rust extension is missing"
    assert _elf_machine(rust) == ELF_MACHINE_AARCH64, "cryptography is not built for aarch64"

    cffi = sorted(arm64_layer.glob("_cffi_backend.*.so"))
    assert [path.name for path in cffi] == ["_cffi_backend.cpython-314-aarch64-linux-gnu.so"]
    assert _elf_machine(cffi[0]) == ELF_MACHINE_AARCH64

    assert not (arm64_layer / "boto3").exists()
    assert not list(arm64_layer.glob("boto3-*.dist-info"))
