"""``gatehouse local --template`` on this repository's own ``dev`` stage, over real sockets.

The stage is two stacks in a nested cloud assembly (``cdk.out/assembly-dev``): Identity (the
Cognito pool, the API-key table, the PKI bucket) and Api, which reads them with
``Fn::GetStackOutput``. Served from the top-level assembly with ``--stack dev/Api``, as a user
would pass it, its Cognito issuer's keys replaced by a test issuer's (``--issuer-jwks``).

What it stops: a stage that cannot be served because its authorizers' settings come from
another stack of the stage, and a served stage whose Cognito issuer never matches a local key.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatehouse.localmode.cfn import load
from gatehouse.localmode.template import read_app
from gatehouse.testing import OidcIssuer
from tests.e2e.conftest import running_local

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]


def _synthesize(outdir: Path) -> None:
    script = (
        "import json\n"
        "from cdk_app.app_builder import build_app\n"
        f"context = json.load(open({str(ROOT / 'cdk.json')!r}))['context']\n"
        "context['stage'] = 'dev'\n"
        f"build_app(context, outdir={str(outdir)!r}, builtin_validation=False).synth()\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, timeout=300, cwd=ROOT
    )


class Stage:
    def __init__(self, info: Mapping[str, Any], issuer: OidcIssuer, client_id: str) -> None:
        self.info = info
        self.issuer = issuer
        self.client_id = client_id
        [api] = info["apis"].values()
        self.host, port = api["url"].split("://", 1)[1].rsplit(":", 1)
        self.port = int(port)

    def call(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> int:
        return self.call_with_headers(method, path, headers)[0]

    def call_with_headers(
        self, method: str, path: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str]]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            connection.request(method, path, headers=dict(headers or {}))
            response = connection.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def access_token(self, **claims: Any) -> dict[str, str]:
        """A Cognito access token of the stage's pool, as Cognito shapes one."""
        token = self.issuer.token(token_use="access", client_id=self.client_id, **claims)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    work = tmp_path_factory.mktemp("own-stage")
    _synthesize(work / "cdk.out")
    # The pool id and client ids local mode gives the Identity stack, as the Api stack reads
    # them (Fn::GetStackOutput).
    app = read_app(load(work / "cdk.out", "dev/Api"), region="eu-west-1", account="111111111111")
    jwt = next(f for f in app.functions.values() if "jwt_bearer" in f.handler)
    [entry] = json.loads(jwt.environment["GATEHOUSE_JWT_ISSUERS"])
    url = f"https://cognito-idp.eu-west-1.amazonaws.com/{entry['user_pool_id']}"
    issuer = OidcIssuer(url)
    (work / "jwks.json").write_text(json.dumps(issuer.jwks()), encoding="utf-8")
    args = [
        "--template", str(work / "cdk.out"), "--stack", "dev/Api",
        "--issuer-jwks", f"{url}={work / 'jwks.json'}",
        "--port", "0", "--moto-port", "0",
    ]  # fmt: skip
    with running_local(args, work, cwd=work) as info:
        yield Stage(info, issuer, entry["client_ids"][0])


def test_the_stage_is_served_with_the_identity_stacks_resources(stage: Stage) -> None:
    [api] = stage.info["apis"].values()
    assert api["stage"] == "dev"
    assert "GET /reports" in api["routes"]
    assert stage.info["init_failures"] == {}
    # The Identity stack's table and bucket were made with the Api stack.
    assert list(stage.info["tables"]) == ["ApiKeysTable10D26ED3"]
    assert any(key.startswith("dev-Identity/PkiBucket") for key in stage.info["buckets"])


def test_access_tokens_are_allowed_and_refused_by_group_key_and_client(stage: Stage) -> None:
    assert stage.call("GET", "/health") == 200
    assert stage.call("GET", "/profile") == 401
    assert stage.call("GET", "/profile", stage.access_token()) == 200
    admin = stage.access_token(**{"cognito:groups": ["admins"]})
    assert stage.call("GET", "/admin/reports", admin) == 200
    assert stage.call("GET", "/admin/reports", stage.access_token()) == 403  # not an admin
    # The API-key, mTLS and policy routes refuse a caller without their credential.
    assert stage.call("GET", "/reports") == 401
    assert stage.call("GET", "/tenants/acme/orders") == 401
    # Signed by other keys, or for another app client of the pool: refused.
    forged = OidcIssuer(stage.issuer.issuer).token(token_use="access", client_id=stage.client_id)
    assert stage.call("GET", "/profile", {"Authorization": f"Bearer {forged}"}) == 401
    other_client = stage.issuer.token(token_use="access", client_id="someone-else")
    assert stage.call("GET", "/profile", {"Authorization": f"Bearer {other_client}"}) == 401


def test_the_policy_authorizer_keeps_tenants_apart(stage: Stage) -> None:
    # What it stops: one tenant's reader reading another tenant's orders (the Cedar bundle
    # of the stage, with the stage's Cognito issuer as its JWT authenticator).
    reader = stage.access_token(**{"cognito:groups": ["readers", "tenant-acme"]})
    assert stage.call("GET", "/tenants/acme/orders", reader) == 200
    assert stage.call("GET", "/tenants/globex/orders", reader) == 403
    assert stage.call("POST", "/tenants/acme/orders", reader) == 403  # admins only


def test_the_stages_gateway_responses_give_a_browser_its_cors_headers(stage: Stage) -> None:
    # What it stops: a 401 or 403 a browser cannot read (no CORS headers): the template's
    # UNAUTHORIZED, ACCESS_DENIED and DEFAULT_4XX customizations are applied.
    for path in ("/profile", "/nowhere"):
        status, headers = stage.call_with_headers("GET", path)
        assert status in (401, 403)
        assert headers["access-control-allow-origin"] == "http://localhost:3000"
        assert headers["vary"] == "Origin"
        # RFC 9110 section 11.6.1: the stage's 401 names its scheme; its 403 does not.
        assert ("www-authenticate" in headers) == (status == 401)
        if status == 401:
            assert headers["www-authenticate"] == "Bearer"
