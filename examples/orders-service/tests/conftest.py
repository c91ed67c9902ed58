"""What the Orders team's tests share: a Lambda cold start of a Gatehouse handler from one of
the service's settings files, an RSA key standing in for the identity provider, and events.

Only the installed ``gatehouse`` distribution is used (``make example`` installs the wheel in a
fresh virtualenv); nothing here reaches the network.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from orders_service import AUDIENCE, ISSUER, SETTINGS

API_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class LambdaContext:
    function_name = "orders-authorizer"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-authorizer"
    aws_request_id = "test-request"


@pytest.fixture
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Handler]]:
    """``cold_start("jwt_bearer", settings_dir)``: the handler as Lambda starts it, with
    ``GATEHOUSE_CONFIG_FILE=gatehouse.json`` in the environment and the file in the task root."""
    started: list[str] = []

    def start(kind: str, task_root: Path, **env: str) -> Handler:
        monkeypatch.setenv("GATEHOUSE_CONFIG_FILE", "gatehouse.json")
        monkeypatch.setenv("LAMBDA_TASK_ROOT", str(task_root))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        module_name = f"authorizers.{kind}.handler"
        sys.modules.pop(module_name, None)
        started.append(module_name)
        module = importlib.import_module(module_name)
        return lambda event: module.lambda_handler(event, LambdaContext())

    yield start
    for name in started:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwt_task_root(tmp_path: Path, signing_key: rsa.RSAPrivateKey) -> Path:
    """The deployed jwt.json with the issuer's keys preloaded (a test key) instead of fetched."""
    settings = json.loads((SETTINGS / "jwt.json").read_text())
    (issuer,) = settings["GATEHOUSE_JWT_ISSUERS"]
    del issuer["jwks_uri"]
    jwk = {**json.loads(RSAAlgorithm.to_jwk(signing_key.public_key())), "kid": "test-1"}
    issuer["jwks"] = {"keys": [jwk]}
    (tmp_path / "gatehouse.json").write_text(json.dumps(settings))
    return tmp_path


@pytest.fixture
def token(signing_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    def mint(**claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600}
        body.update(claims)
        return jwt.encode(body, signing_key, algorithm="RS256", headers={"kid": "test-1"})

    return mint


def token_event(token: str, method: str, path: str) -> dict[str, Any]:
    """A REST API TOKEN authorizer event, as API Gateway sends it."""
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": f"{API_ARN}/{method}{path}",
    }
