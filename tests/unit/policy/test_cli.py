"""``gatehouse policy``: the sample policies validate and pass their cases (this is how
`make test` checks policies/), and the commands' failure paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatehouse.cli import main
from tests.unit.policy.helpers import DEMO, DEMO_ROUTES, DEMO_TESTS, ROOT

ROUTES = json.dumps(list(DEMO_ROUTES))


def run(*args: str):
    return CliRunner().invoke(main, ["--now", "1750000000", "policy", *args])


def test_every_sample_bundle_validates_and_passes_its_cases():
    samples = sorted((ROOT / "policies").glob("*.tests.yaml"))
    assert DEMO_TESTS in samples
    for tests_file in samples:
        result = run("test", str(tests_file))
        assert result.exit_code == 0, result.output
        assert " 0 failed" in result.output


def test_validate_the_demo_bundle():
    result = run("validate", str(DEMO), "--routes", ROUTES)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid:") and "4 policies (2 from YAML rules)" in result.output


def test_the_demo_routes_are_the_demo_apis_policy_routes():
    """The sample is tested against the route table the demo API really generates."""
    from gatehouse.api_model import Resources, demo_api

    resources = Resources(
        region="eu-west-1",
        user_pool_id="eu-west-1_x",
        client_ids=("c",),
        api_keys_table="t",
        trust_anchors="/x.pem",
        crls={},
        policy_source="/p.yaml",
    )
    environment = demo_api(resources).authorizers["policy"].environment
    assert json.loads(environment["GATEHOUSE_POLICY_ROUTES"]) == list(DEMO_ROUTES)


def test_validate_reports_an_invalid_bundle(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ncedar: 'permit (principal, action, resource) when { x };'\n")
    result = run("validate", str(bad), "--routes", ROUTES)
    assert result.exit_code == 1 and result.output.startswith("invalid:")


def test_validate_needs_a_route_table(monkeypatch):
    monkeypatch.delenv("GATEHOUSE_POLICY_ROUTES", raising=False)
    result = run("validate", str(DEMO))
    assert result.exit_code == 2 and "no route table" in result.output
    assert run("validate", str(DEMO), "--routes", "[1]").exit_code == 2


def test_a_failing_case_fails_the_run(tmp_path: Path):
    tests_file = tmp_path / "demo.tests.yaml"
    document = {
        "bundle": str(DEMO),
        "routes": list(DEMO_ROUTES),
        "identities": {"bob": {"type": "user", "groups": ["readers", "tenant-acme"]}},
        "cases": [
            {
                "name": "wrong",
                "identity": "bob",
                "request": "POST /tenants/acme/orders",
                "expect": "allow",
            },
            {
                "name": "wrong policies",
                "identity": "bob",
                "request": "GET /tenants/acme/orders",
                "expect": "allow",
                "policies": ["x"],
            },
        ],
    }
    tests_file.write_text(json.dumps(document))
    result = run("test", str(tests_file))
    assert result.exit_code == 1
    assert "FAIL wrong  (expected allow, got deny)" in result.output
    assert "expected policies" in result.output and "0 passed, 2 failed" in result.output


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([1], "a mapping"),
        ({"routes": list(DEMO_ROUTES), "cases": []}, "cases"),
        ({"routes": list(DEMO_ROUTES), "identities": [], "cases": [{}]}, "identities"),
        ({"routes": list(DEMO_ROUTES), "cases": [{"identity": "x"}]}, "identity must name"),
        (
            {"routes": list(DEMO_ROUTES), "identities": {"x": {"type": "robot"}}, "cases": [{}]},
            "type is",
        ),
        (
            {"routes": list(DEMO_ROUTES), "identities": {"x": {"rank": 1}}, "cases": [{}]},
            "unknown key",
        ),
        (
            {
                "routes": list(DEMO_ROUTES),
                "identities": {"x": {}},
                "cases": [{"identity": "x", "expect": "maybe"}],
            },
            "expect is",
        ),
        (
            {
                "routes": list(DEMO_ROUTES),
                "identities": {"x": {}},
                "cases": [{"identity": "x", "expect": "allow", "request": "/nope"}],
            },
            "METHOD /path",
        ),
        ({"routes": "nope", "cases": [{}]}, "routes"),
    ],
)
def test_malformed_tests_files_are_usage_errors(tmp_path: Path, document, problem):
    tests_file = tmp_path / "x.tests.yaml"
    tests_file.write_text(
        json.dumps({"bundle": str(DEMO), **document})
        if isinstance(document, dict)
        else json.dumps(document)
    )
    result = run("test", str(tests_file))
    assert result.exit_code == 2 and problem in result.output


def test_test_reports_an_invalid_bundle(tmp_path: Path):
    (tmp_path / "x.yaml").write_text("version: 1\n")
    (tmp_path / "x.tests.yaml").write_text(json.dumps({"routes": ["GET /a"], "cases": [{}]}))
    result = run("test", str(tmp_path / "x.tests.yaml"))
    assert result.exit_code == 1 and "invalid bundle" in result.output


def test_explain_shows_the_decision_and_why():
    result = run(
        "explain",
        str(DEMO),
        "GET /tenants/globex/orders/7",
        "--routes",
        ROUTES,
        "--id",
        "bob",
        "--group",
        "readers",
        "--group",
        "tenant-acme",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["decision"] == "deny" and report["action"] == "GET /tenants/{tenant}/orders/{id}"
    assert report["path"] == {"tenant": "globex", "id": "7"}
    assert set(report["determining_policies"]) == {
        "no-cross-tenant-access",
        "rule:tenant-isolation",
    }
    assert report["cache_safe"] is True


def test_explain_other_principal_types_and_headers():
    result = run(
        "explain",
        str(DEMO),
        "GET /tenants/acme/orders",
        "--routes",
        ROUTES,
        "--type",
        "api_client",
        "--tenant",
        "acme",
        "--header",
        "x-a=b",
        "--context-header",
        "x-a",
        "--source-ip",
        "10.0.0.1",
        "--scope",
        "s",
    )
    assert result.exit_code == 0 and json.loads(result.output)["decision"] == "deny"
    assert run("explain", str(DEMO), "GET /x", "--routes", ROUTES, "--header", "bad").exit_code == 2
    assert run("explain", str(DEMO), "nonsense", "--routes", ROUTES).exit_code == 2
    missing = run("explain", "/nope.yaml", "GET /x", "--routes", ROUTES)
    assert missing.exit_code == 2


def test_validate_judges_a_request_varying_bundle_as_the_authorizer_does(tmp_path: Path):
    """Attack: a source-IP policy that validates in CI but whose exact-route Allow API Gateway
    would replay from any IP for the cache TTL (the authorizer refuses it while the cache is
    on; validate must say so too)."""
    bundle = tmp_path / "office.yaml"
    bundle.write_text(
        "version: 1\n"
        "cedar: |\n"
        '  @id("office-only")\n'
        "  permit (principal, action, resource)\n"
        '  when { context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8")) };\n'
    )
    cached = run("validate", str(bundle), "--routes", ROUTES)
    assert cached.exit_code == 1 and "reads request-varying context" in cached.output
    uncached = run("validate", str(bundle), "--routes", ROUTES, "--authorizer-cache", "off")
    assert uncached.exit_code == 0, uncached.output
