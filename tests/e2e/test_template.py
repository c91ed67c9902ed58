"""``gatehouse local --template`` on the example service's synthesized stack, over real sockets.

The Orders stack (examples/orders-service) is synthesized in-process with this checkout's
arm64 layer, then served as a user would: ``python -m gatehouse local --template cdk.out``,
its staff issuer's keys replaced by a test issuer's (``--issuer-jwks``), a partner key created
with ``gatehouse keys create`` against local mode's moto. Also: what cannot be served gives one
``error:`` line and exit 4, and nothing is left running.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatehouse.testing import OidcIssuer
from tests.e2e.conftest import running_local

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orders-service"
LAYER = ROOT / "layers" / "build" / "arm64"
ISSUER = "https://login.example-corp.test/"

pytestmark = [pytest.mark.e2e, pytest.mark.enable_socket]
START_TIMEOUT_SECONDS = 60


def _synthesize(outdir: Path) -> None:
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(EXAMPLE)!r})\n"
        "from orders_service.infra import create_app\n"
        f"context = json.load(open({str(EXAMPLE / 'cdk.json')!r}))['context']\n"
        f"context['orders:layer_dir'] = {str(LAYER)!r}\n"
        f"app, _ = create_app(context, outdir={str(outdir)!r})\n"
        "app.synth()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)


class Served:
    def __init__(self, info: Mapping[str, Any], issuer: OidcIssuer) -> None:
        self.info = info
        self.issuer = issuer

    def url(self, kind: str) -> str:
        """The API of ``kind``: the REST API, or the stock HTTP API (not the portal's)."""
        return next(
            api["url"]
            for api in self.info["apis"].values()
            if api["kind"] == kind and not any("/auth/" in r for r in api["routes"])
        )

    def call(
        self, kind: str, method: str, path: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        host, port = self.url(kind).split("://", 1)[1].rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=20)
        try:
            connection.request(method, path, headers=dict(headers or {}))
            response = connection.getresponse()
            raw = response.read()
            headers_seen = {k.lower(): v for k, v in response.getheaders()}
            return response.status, headers_seen, json.loads(raw) if raw else None
        finally:
            connection.close()

    def bearer(self, scope: str) -> dict[str, str]:
        token = self.issuer.token(aud="orders-api", scope=scope, sub="staff-7")
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not (LAYER / "python").is_dir():
        pytest.fail(f"{LAYER} is not built: make layers/build/arm64/.stamp")
    work = tmp_path_factory.mktemp("template")
    _synthesize(work / "cdk.out")
    issuer = OidcIssuer(ISSUER)
    (work / "jwks.json").write_text(json.dumps(issuer.jwks()), encoding="utf-8")
    args = [
        "--template", str(work / "cdk.out"),
        "--issuer-jwks", f"{ISSUER}={work / 'jwks.json'}",
        "--port", "0", "--moto-port", "0",
    ]  # fmt: skip
    with running_local(args, work, cwd=work) as info:
        yield Served(info, issuer)


def test_the_stack_is_served_as_synthesized(served: Served) -> None:
    apis = list(served.info["apis"].values())
    (rest,) = [api for api in apis if api["kind"] == "rest"]
    assert rest["stage"] == "live"
    assert "GET /partner/orders/{id}" in rest["routes"]
    assert sorted(api["routes"] for api in apis if api["kind"] == "http") == [
        [
            "GET /portal/orders",
            "POST /portal/orders",
            "GET /auth/login",
            "GET /auth/callback",
            "GET /auth/logout",
        ],
        ["GET /stock/{sku}"],
    ]
    assert served.info["init_failures"] == {}
    assert served.info["usage_plans"] == ["basic"]


def test_rest_staff_routes_allow_refuse_and_cache(served: Served) -> None:
    reader = served.bearer("orders:read")
    status, headers, body = served.call("rest", "GET", "/orders/42", reader)
    assert status == 200
    assert body == {"route": "GET /orders/{id}", "principal": "staff-7", "id": "42"}
    assert headers["x-gatehouse-authorizer"] == "StaffJwt; cache=miss"
    status, headers, _ = served.call("rest", "GET", "/orders/42", reader)
    assert (status, headers["x-gatehouse-authorizer"]) == (200, "StaffJwt; cache=hit")
    assert served.call("rest", "GET", "/orders")[0] == 401
    assert served.call("rest", "DELETE", "/orders/42", reader)[0] == 403  # orders:admin needed
    forged = OidcIssuer(ISSUER).token(aud="orders-api", scope="orders:read")  # other keys
    assert served.call("rest", "GET", "/orders", {"Authorization": f"Bearer {forged}"})[0] == 401


def test_http_route_maps_the_principal_the_caller_cannot_forge(served: Served) -> None:
    headers = {**served.bearer("stock:read"), "x-orders-principal": "admin"}
    status, _, body = served.call("http", "GET", "/stock/sku-1", headers)
    assert status == 200
    assert body["mappedHeaders"] == {"x-orders-principal": "staff-7"}
    assert "x-orders-principal" not in body["forwardedHeaders"]
    assert served.call("http", "GET", "/stock/sku-1")[0] == 401
    assert served.call("http", "GET", "/stock/sku-1", served.bearer("orders:read"))[0] == 403
    assert served.call("http", "GET", "/nowhere", served.bearer("stock:read"))[0] == 404


def test_partner_keys_from_the_cli_are_metered_by_the_usage_plan(served: Served) -> None:
    rest = next(api for api in served.info["apis"].values() if api["kind"] == "rest")
    created = subprocess.run(
        [
            sys.executable, "-m", "gatehouse", "keys", "create",
            "--region", served.info["region"], "--endpoint-url", served.info["moto"],
            "--tenant", "acme", "--plan", "basic", "--scopes", "partner:orders:read",
            "--table", served.info["tables"]["PartnerKeysTableFC2A1613"],
            "--api-id", rest["id"], "--stage", "live",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    statuses = [
        served.call("rest", "GET", "/partner/orders/7", {"x-api-key": key})[0] for _ in range(30)
    ]
    assert statuses[0] == 200
    assert 429 in statuses  # the basic plan: burst 20, 10 per second
    assert set(statuses) == {200, 429}
    assert served.call("rest", "GET", "/partner/orders/7", {"x-api-key": "gk_live_nope"})[0] in (
        401,
        403,
    )


# --- what cannot be served ---------------------------------------------------------------------


def _refused(tmp_path: Path, document: object | str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Bad.template.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    return subprocess.run(
        [
            sys.executable, "-m", "gatehouse", "local", "--template", str(path),
            "--port", "0", "--moto-port", "0", "--state-dir", str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip


def _one_error(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in errors[0]
    assert "hint:" in result.stderr


def test_a_malformed_template_is_one_error_line(tmp_path: Path) -> None:
    _one_error(_refused(tmp_path, "{not json"), "not a CloudFormation template")


def test_an_unsupported_resource_is_named(tmp_path: Path) -> None:
    document = {
        "Resources": {
            "Chat": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}}
        }
    }
    _one_error(_refused(tmp_path, document), "Chat (AWS::ApiGatewayV2::Api)", "WEBSOCKET")


def test_an_authorizer_that_is_not_a_gatehouse_handler_is_refused(tmp_path: Path) -> None:
    arn = {"Fn::GetAtt": ["Auth", "Arn"]}
    document = {
        "Resources": {
            "Auth": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "index.handler",
                    "Runtime": "python3.12",
                    "Code": {"ZipFile": "x"},
                },
            },
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": "a", "ProtocolType": "HTTP"},
            },
            "Authorizer": {
                "Type": "AWS::ApiGatewayV2::Authorizer",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "AuthorizerType": "REQUEST",
                    "AuthorizerUri": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/",
                                arn,
                                "/invocations",
                            ],
                        ]
                    },
                    "IdentitySource": ["$request.header.Authorization"],
                    "Name": "custom",
                },
            },
            "Integration": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "IntegrationType": "HTTP_PROXY",
                    "IntegrationUri": "https://example.test",
                },
            },
            "Route": {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "RouteKey": "GET /x",
                    "AuthorizationType": "CUSTOM",
                    "AuthorizerId": {"Ref": "Authorizer"},
                    "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "Integration"}]]},
                },
            },
        }
    }
    result = _refused(tmp_path, document)
    _one_error(result, "Auth (AWS::Lambda::Function)", "not a Gatehouse handler")
    # Refused before anything started: no state directory lock, no moto, no workers.
    assert not (tmp_path / "state").exists()
