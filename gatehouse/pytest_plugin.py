"""The pytest plugin of ``gatehouse.testing`` (entry point ``pytest11``, ``gatehouse``).

Fixtures, each documented in one line (``pytest --fixtures`` lists them). AWS fixtures run
under moto's ``mock_aws`` in-process with fake credentials, a fixed region and
``AWS_ENDPOINT_URL`` removed, so nothing reaches AWS; moto is imported only when one is used,
so the plugin loads even where the ``testing`` extra is not installed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from authorizers.core.clock import ManualClock
    from gatehouse.testing.events import LambdaContext
    from gatehouse.testing.identity import CognitoPool, OidcIssuer
    from gatehouse.testing.pki import Pki

# Nothing of gatehouse.testing or the runtime is imported when pytest loads the plugin (it
# lives outside the gatehouse.testing package for that), only when a fixture runs:
# a project measuring coverage of its own code (or of ours) must see those imports happen
# after its coverage tool has started.
REGION = "eu-west-1"


class AwsSession:
    """moto in-process: ``client(service)`` for boto3 clients in the test region."""

    def __init__(self, region: str) -> None:
        self.region = region

    def client(self, service: str) -> Any:
        import boto3  # noqa: PLC0415 - the testing extra

        return boto3.client(service, region_name=self.region)


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A Lambda context object (function name, ARN, request id, remaining time)."""
    from gatehouse.testing.events import LambdaContext  # noqa: PLC0415 - see above

    return LambdaContext()


@pytest.fixture
def gatehouse_clock() -> ManualClock:
    """A wall clock that moves only when told (``advance``): pass it as ``authorizer(clock=)``."""
    from authorizers.core.clock import ManualClock  # noqa: PLC0415 - see above

    return ManualClock(start=time.time())


@pytest.fixture
def gatehouse_oidc_issuer() -> OidcIssuer:
    """An OIDC issuer in-process (RSA and EC keys, JWKS, discovery, tokens): ``http=`` it."""
    from gatehouse.testing.identity import OidcIssuer  # noqa: PLC0415 - see above

    return OidcIssuer()


@pytest.fixture
def gatehouse_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsSession]:
    """moto's ``mock_aws`` for the test, with fake credentials and region eu-west-1."""
    from moto import mock_aws  # noqa: PLC0415 - the testing extra

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield AwsSession(REGION)


@pytest.fixture
def gatehouse_cognito(gatehouse_aws: AwsSession) -> CognitoPool:
    """A moto Cognito user pool (app clients, users, groups, real tokens), served in-process."""
    from gatehouse.testing.identity import CognitoPool  # noqa: PLC0415 - see above

    return CognitoPool.create(region=gatehouse_aws.region)


@pytest.fixture(scope="session")
def gatehouse_moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port) for the session; yields its URL."""
    import logging  # noqa: PLC0415
    import socket  # noqa: PLC0415

    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - the testing extra

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request logs (tokens)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def gatehouse_cognito_server(gatehouse_moto_server: str) -> CognitoPool:
    """A Cognito pool in a moto server: the authorizer fetches its JWKS over loopback HTTP."""
    from gatehouse.testing.identity import CognitoPool  # noqa: PLC0415 - see above

    return CognitoPool.create(region=REGION, server_url=gatehouse_moto_server)


@pytest.fixture
def gatehouse_api_keys(gatehouse_aws: AwsSession) -> Any:
    """The API key table and usage plans in moto; issue, revoke, rotate via `gatehouse keys`."""
    from gatehouse.testing.apikeys import ApiKeys  # noqa: PLC0415 - needs the cli extra

    return ApiKeys(region=gatehouse_aws.region)


@pytest.fixture
def gatehouse_pki() -> Pki:
    """A test CA: client certificates with chosen EKU, SAN, key and validity; CRLs."""
    from gatehouse.testing.pki import Pki  # noqa: PLC0415 - see above

    return Pki()


@pytest.fixture
def gatehouse_policy_bundle(tmp_path: Path) -> Callable[[str | Mapping[str, Any]], Path]:
    """Write a policy bundle (YAML text or a mapping) to a file; returns its absolute path."""

    def write(bundle: str | Mapping[str, Any]) -> Path:
        import json  # noqa: PLC0415

        text = bundle if isinstance(bundle, str) else json.dumps(bundle)
        path = tmp_path / f"bundle-{len(list(tmp_path.glob('bundle-*')))}.yaml"
        path.write_text(text, encoding="utf-8")
        return path.resolve()

    return write
