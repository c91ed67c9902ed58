"""The attach stack against an imported (existing) REST API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from cdk_app.app_builder import build_app
from cdk_app.stacks.attach_stack import AttachStack
from cdk_app.stage import GatehouseStage
from tests.cdk.conftest import ATTACH, Synthesized, resources_of, template_of, variant_context

pytestmark = pytest.mark.cdk


def _attach(variant: Synthesized) -> AttachStack:
    stack = variant.stages["dev"].attach
    assert stack is not None
    return stack


def test_creates_only_the_authorizers_its_routes_use_on_the_existing_api(
    variant: Synthesized,
) -> None:
    template = template_of(variant, _attach(variant))

    # THEN the API itself is not created: everything points at the configured id
    template.resource_count_is("AWS::ApiGateway::RestApi", 0)
    authorizers = resources_of(template, "AWS::ApiGateway::Authorizer")
    assert {a["Name"] for a in authorizers} == {"gatehouse-jwt", "gatehouse-apikey"}
    assert {a["RestApiId"] for a in authorizers} == {ATTACH["rest_api_id"]}
    assert {a["Type"] for a in authorizers} == {"TOKEN", "REQUEST"}
    functions = [
        f
        for f in resources_of(template, "AWS::Lambda::Function")
        if f["Handler"].startswith("authorizers.")
    ]
    assert len(functions) == 2


def test_authorizer_rules_list_exactly_the_attached_routes(variant: Synthesized) -> None:
    stack = _attach(variant)
    jwt = stack.model.authorizers["jwt"].environment["GATEHOUSE_JWT_ROUTES"]
    apikey = stack.model.authorizers["apikey"].environment["GATEHOUSE_APIKEY_ROUTES"]
    assert json.loads(jwt) == [{"route": "GET /legacy/{id}"}]
    assert json.loads(apikey) == [{"route": "POST /legacy"}]
    template = template_of(variant, stack)
    envs = [
        f["Environment"]["Variables"]
        for f in resources_of(template, "AWS::Lambda::Function")
        if f["Handler"].startswith("authorizers.")
    ]
    wanted = [stack.resolve(dict(a.environment)) for a in stack.model.authorizers.values()]
    assert sorted(json.dumps(e, sort_keys=True) for e in envs) == sorted(
        json.dumps(e, sort_keys=True) for e in wanted
    )


def test_adds_the_routes_under_the_existing_root(variant: Synthesized) -> None:
    template = template_of(variant, _attach(variant))
    resources = resources_of(template, "AWS::ApiGateway::Resource")
    assert sorted(r["PathPart"] for r in resources) == ["legacy", "{id}"]
    (legacy,) = [r for r in resources if r["PathPart"] == "legacy"]
    assert legacy["ParentId"] == ATTACH["root_resource_id"]
    methods = resources_of(template, "AWS::ApiGateway::Method")
    assert sorted(m["HttpMethod"] for m in methods) == ["GET", "POST"]
    for method in methods:
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["RestApiId"] == ATTACH["rest_api_id"]
    (post,) = [m for m in methods if m["HttpMethod"] == "POST"]
    assert post["ApiKeyRequired"] is True


def test_has_its_own_deployment_to_the_named_stage(variant: Synthesized) -> None:
    template = template_of(variant, _attach(variant))
    deployments = template.find_resources("AWS::ApiGateway::Deployment")
    (deployment,) = deployments.values()
    assert deployment["Properties"]["StageName"] == ATTACH["stage_name"]
    assert deployment["Properties"]["RestApiId"] == ATTACH["rest_api_id"]
    # AND it waits for the methods it must include
    methods = set(template.find_resources("AWS::ApiGateway::Method"))
    assert methods <= set(deployment["DependsOn"])


def test_invoke_permissions_are_scoped_to_the_existing_api(variant: Synthesized) -> None:
    template = template_of(variant, _attach(variant))
    for permission in resources_of(template, "AWS::Lambda::Permission"):
        assert ATTACH["rest_api_id"] in json.dumps(permission["SourceArn"])


def test_bumping_the_revision_makes_a_new_deployment(variant: Synthesized, tmp_path: Path) -> None:
    # GIVEN the same stage with deployment_revision bumped
    context = variant_context()
    context["gatehouse"]["stages"]["dev"]["attach"]["deployment_revision"] = 4
    app = build_app(context, outdir=str(tmp_path), builtin_validation=False)
    (stage,) = (c for c in app.node.children if isinstance(c, GatehouseStage))
    assert stage.attach is not None
    bumped = Template.from_stack(stage.attach)

    # THEN the deployment's logical id changes (CloudFormation creates a new deployment)
    before = set(
        template_of(variant, _attach(variant)).find_resources("AWS::ApiGateway::Deployment")
    )
    after = set(bumped.find_resources("AWS::ApiGateway::Deployment"))
    assert len(after) == 1
    assert before.isdisjoint(after)
