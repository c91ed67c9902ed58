"""Reading what a template serves (``gatehouse local --template``): small templates, each
resource kind once; the e2e test serves the example service's whole stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatehouse.localmode.cfn import LoadedTemplate, TemplateError, load
from gatehouse.localmode.template import TemplateApp, local_id, read_app
from gatehouse.localmode.template_stack import _cache_warnings

JWT = "authorizers.jwt_bearer.handler.lambda_handler"


def uri(function: str) -> dict[str, Any]:
    arn = {"Fn::GetAtt": [function, "Arn"]}
    prefix = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
    return {"Fn::Join": ["", [prefix, arn, "/invocations"]]}


def function(handler: str = "index.handler", **environment: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Handler": handler,
            "Runtime": "python3.14",
            "Code": {"ZipFile": "def handler(e, c): return {}"},
            "Timeout": 5,
            "Environment": {"Variables": environment},
        },
    }


def rest_template(**extra: Any) -> dict[str, Any]:
    api = {"Ref": "Api"}
    return {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "shop"}},
        "Orders": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": api,
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "orders",
            },
        },
        "OrderId": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"RestApiId": api, "ParentId": {"Ref": "Orders"}, "PathPart": "{id}"},
        },
        "GetOrder": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": api,
                "ResourceId": {"Ref": "OrderId"},
                "HttpMethod": "GET",
                "AuthorizationType": "CUSTOM",
                "AuthorizerId": {"Ref": "Auth"},
                "Integration": {"Type": "AWS_PROXY", "Uri": uri("Backend")},
            },
        },
        "Auth": {
            "Type": "AWS::ApiGateway::Authorizer",
            "Properties": {
                "RestApiId": api,
                "Name": "staff",
                "Type": "REQUEST",
                "IdentitySource": (
                    "method.request.header.Authorization, method.request.querystring.t"
                ),
                "AuthorizerResultTtlInSeconds": 60,
                "AuthorizerUri": uri("AuthFn"),
            },
        },
        "AuthFn": function(JWT, GATEHOUSE_TABLE={"Ref": "Keys"}),
        "Backend": function(),
        "Keys": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "key_hash", "AttributeType": "S"}],
            },
        },
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": api,
                "StageName": "live",
                "Variables": {"tier": "gold"},
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": 5,
                        "ThrottlingBurstLimit": 10,
                    }
                ],
            },
        },
        "Plan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "UsagePlanName": "basic",
                "ApiStages": [{"ApiId": api, "Stage": {"Ref": "Stage"}}],
                "Throttle": {"RateLimit": 1, "BurstLimit": 2},
            },
        },
        **extra,
    }


def read(resources: dict[str, Any]) -> TemplateApp:
    loaded = LoadedTemplate(
        stack_name="Shop",
        resources=resources,
        parameters={},
        conditions={},
        region="eu-west-1",
        account="123456789012",
        source=Path("Shop.template.json"),
    )
    return read_app(loaded, region="eu-west-1", account="123456789012")


def test_a_rest_api_is_read_as_deployed() -> None:
    app = read(rest_template())
    (api,) = app.rest_apis
    assert (api.api_id, api.stage, api.method_throttle) == (
        local_id("Shop", "Api"),
        "live",
        (5.0, 10),
    )
    assert api.stage_variables == {"tier": "gold"}
    (route,) = api.routes
    assert (route.method, route.path, route.authorizer) == ("GET", "/orders/{id}", "staff")
    spec = api.authorizers["staff"]
    assert [(s.kind, s.name) for s in spec.identity_sources] == [
        ("header", "Authorization"),
        ("querystring", "t"),
    ]
    assert spec.cache_ttl_seconds == 60
    assert api.backends == {("GET", "/orders/{id}"): "Backend"}
    assert api.authorizer_functions == {"staff": "AuthFn"}
    assert app.functions["AuthFn"].environment == {"GATEHOUSE_TABLE": "Shop-Keys"}
    assert app.functions["AuthFn"].timeout_seconds == 5
    assert [t.name for t in app.tables] == ["Shop-Keys"]
    (plan,) = app.usage_plans
    assert (plan.name, plan.api, plan.stage) == ("basic", api.api_id, "live")


def test_a_per_method_throttle_is_read_from_its_escaped_resource_path() -> None:
    resources = rest_template()
    resources["Stage"]["Properties"]["MethodSettings"].append(
        {
            "ResourcePath": "/~1orders~1{id}",
            "HttpMethod": "GET",
            "ThrottlingRateLimit": 2,
            "ThrottlingBurstLimit": 3,
        }
    )
    (api,) = read(resources).rest_apis
    assert api.method_throttle == (5.0, 10)
    assert api.method_throttles == {"GET /orders/{id}": (2.0, 3)}


def test_an_http_api_reads_routes_throttles_and_mappings() -> None:
    api = {"Ref": "Http"}
    resources = {
        "Http": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": "stock", "ProtocolType": "HTTP"},
        },
        "AuthFn": function(JWT),
        "Auth": {
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": {
                "ApiId": api,
                "Name": "staff",
                "AuthorizerType": "REQUEST",
                "AuthorizerPayloadFormatVersion": "2.0",
                "EnableSimpleResponses": True,
                "IdentitySource": ["$request.header.Authorization"],
                "AuthorizerResultTtlInSeconds": 30,
                "AuthorizerUri": uri("AuthFn"),
            },
        },
        "Proxy": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": api,
                "IntegrationType": "HTTP_PROXY",
                "IntegrationUri": "http://stock.internal",
                "RequestParameters": {"overwrite:header.x-user": "$context.authorizer.principalId"},
            },
        },
        "Route": {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": api,
                "RouteKey": "GET /stock/{sku}",
                "AuthorizationType": "CUSTOM",
                "AuthorizerId": {"Ref": "Auth"},
                "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "Proxy"}]]},
            },
        },
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": api,
                "StageName": "$default",
                "DefaultRouteSettings": {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
                "RouteSettings": {
                    "GET /stock/{sku}": {"ThrottlingRateLimit": 1, "ThrottlingBurstLimit": 2}
                },
            },
        },
    }
    (http,) = read(resources).http_apis
    (route,) = http.routes
    assert (route.key, route.authorizer, route.throttle) == ("GET /stock/{sku}", "staff", (1.0, 2))
    assert route.integration.kind == "http"
    assert route.integration.request_parameters == {
        "overwrite:header.x-user": "$context.authorizer.principalId"
    }
    assert http.throttle == (50.0, 100)
    spec = http.authorizers["staff"]
    assert (spec.simple_responses, spec.cache_ttl_seconds) == (True, 30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "Auth": {
                    "Type": "AWS::ApiGateway::Authorizer",
                    "Properties": {"Type": "COGNITO_USER_POOLS", "Name": "c"},
                }
            },
            "COGNITO_USER_POOLS",
        ),
        ({"AuthFn": function()}, "not a Gatehouse handler"),
        (
            {
                "Backend": {
                    **function(),
                    "Properties": {**function()["Properties"], "Runtime": "nodejs22.x"},
                }
            },
            "not Python",
        ),
        (
            {"AuthFn": function(JWT, GATEHOUSE_TABLE={"Fn::ImportValue": "shared"})},
            "cannot resolve",
        ),
        ({"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": {}}}}, "OpenAPI body"),
    ],
)
def test_what_cannot_be_emulated_names_the_resource(change: dict[str, Any], message: str) -> None:
    resources = rest_template()
    resources.update(change)
    with pytest.raises(TemplateError, match=message) as raised:
        read(resources)
    assert "(AWS::" in str(raised.value)
    assert raised.value.hint


def test_a_stack_without_an_api_is_refused() -> None:
    with pytest.raises(TemplateError, match="defines no REST or HTTP API"):
        read({"Fn": function()})


def _response(kind: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {"RestApiId": {"Ref": "Api"}, "ResponseType": kind, **properties},
    }


def test_gateway_responses_are_read_per_api() -> None:
    resources = rest_template()
    resources["Cors"] = _response(
        "DEFAULT_4XX",
        ResponseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )
    resources["Login"] = _response(
        "UNAUTHORIZED",
        StatusCode="302",
        ResponseParameters={"gatewayresponse.header.Location": "'https://login.test/'"},
        ResponseTemplates={"application/json": '{"m": $context.error.messageString}'},
    )
    (api,) = read(resources).rest_apis
    assert api.gateway_responses["DEFAULT_4XX"].headers == (("Access-Control-Allow-Origin", "'*'"),)
    login = api.gateway_responses["UNAUTHORIZED"]
    assert (login.status_code, login.template) == (302, '{"m": $context.error.messageString}')


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (_response("NOT_A_TYPE"), "ResponseType NOT_A_TYPE"),
        (
            _response("DEFAULT_4XX", ResponseParameters={"gatewayresponse.path.x": "'y'"}),
            "response parameter gatewayresponse.path.x is not emulated",
        ),
        (
            _response("DEFAULT_4XX", ResponseParameters={"gatewayresponse.header.X": "no quotes"}),
            "neither a quoted literal",
        ),
    ],
)
def test_a_gateway_response_local_mode_cannot_apply_names_the_resource(
    response: dict[str, Any], message: str
) -> None:
    resources = rest_template()
    resources["Custom"] = response
    with pytest.raises(TemplateError, match=message) as raised:
        read(resources)
    assert str(raised.value).startswith("Custom (AWS::ApiGateway::GatewayResponse)")


def test_a_stack_two_others_depend_on_is_read_and_made_once(tmp_path: Path) -> None:
    # Api depends on Left and Right, which both depend on Shared (a diamond): Shared's table
    # and bucket are made once, not once per path.
    documents = {
        "Api": {"Resources": rest_template()},
        "Left": {"Resources": {"L": {"Type": "AWS::SNS::Topic"}}},
        "Right": {"Resources": {"R": {"Type": "AWS::SNS::Topic"}}},
        "Shared": {
            "Resources": {
                "Keys": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    },
                },
                "Pki": {"Type": "AWS::S3::Bucket"},
            }
        },
    }
    depends = {"Api": ["Left", "Right"], "Left": ["Shared"], "Right": ["Shared"]}
    artifacts = {}
    for name, document in documents.items():
        (tmp_path / f"{name}.template.json").write_text(json.dumps(document), encoding="utf-8")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://123456789012/eu-west-1",
            "properties": {"templateFile": f"{name}.template.json"},
            "dependencies": depends.get(name, []),
        }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": artifacts}), encoding="utf-8")
    loaded = load(tmp_path, "Api")
    left, right = loaded.dependencies["Left"], loaded.dependencies["Right"]
    assert left.dependencies["Shared"] is right.dependencies["Shared"]
    app = read_app(loaded, region="eu-west-1", account="123456789012")
    assert [t.name for t in app.tables if t.name.startswith("Shared")] == ["Shared-Keys"]
    assert {k: v for k, v in app.buckets.items() if k.startswith("Shared")} == {
        "Shared/Pki": "shared-pki"
    }


# --- an unsafe result cache is said at start (the constructs and attach refuse it) ----------

BOUND_ISSUERS = json.dumps(
    [{"type": "oidc", "issuer": "https://id.example.com/", "audiences": ["a"],
      "algorithms": ["RS256"], "certificate_binding": "required"}]
)  # fmt: skip


def _warnings(**environment: Any) -> list[str]:
    resources = rest_template()
    resources["AuthFn"] = function(JWT, **environment)
    return list(_cache_warnings(read(resources)))


def test_a_cached_authorizer_for_certificate_bound_tokens_is_warned_about() -> None:
    # The attack it shows: the 60 s cache, keyed on the token, replays the owner's Allow to
    # a thief sending the same token with another certificate (the emulator does, as AWS).
    (warning,) = _warnings(GATEHOUSE_JWT_ISSUERS=BOUND_ISSUERS)
    assert warning.startswith("    warning: authorizer staff: AuthorizerResultTtlInSeconds 60: ")
    assert "binds tokens to the client certificate" in warning
    assert "local mode replays it too" in warning
    assert warning.endswith("keep AuthorizerResultTtlInSeconds 0: every request is checked "
                            "with its own certificate or proof")  # fmt: skip


def test_a_cache_keyed_on_the_credential_of_bearer_tokens_is_not_warned_about() -> None:
    issuers = json.loads(BOUND_ISSUERS)
    del issuers[0]["certificate_binding"]
    assert _warnings(GATEHOUSE_JWT_ISSUERS=json.dumps(issuers)) == []


def test_an_authorizer_invoking_a_functions_alias_runs_that_function() -> None:
    # A rollout (gatehouse.cdk.rollout): API Gateway invokes the live alias, as a Join over
    # its Ref, which is the alias's qualified ARN.
    resources = rest_template()
    resources["AuthFnVersion"] = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": "AuthFn"}},
    }
    resources["AuthFnAlias"] = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "FunctionName": {"Ref": "AuthFn"},
            "FunctionVersion": {"Fn::GetAtt": ["AuthFnVersion", "Version"]},
            "Name": "live",
        },
    }
    alias = {"Ref": "AuthFnAlias"}
    resources["Auth"]["Properties"]["AuthorizerUri"] = {
        "Fn::Join": ["", [
            "arn:", {"Fn::Select": [1, {"Fn::Split": [":", alias]}]}, ":apigateway:",
            {"Fn::Select": [3, {"Fn::Split": [":", alias]}]},
            ":lambda:path/2015-03-31/functions/", alias, "/invocations",
        ]]
    }  # fmt: skip
    (api,) = read(resources).rest_apis
    assert api.authorizer_functions == {"staff": "AuthFn"}


def test_a_function_whose_name_extends_anothers_is_not_taken_for_it() -> None:
    resources = rest_template()
    resources["AuthFn"]["Properties"]["FunctionName"] = "auth"
    resources["AuthFn2"] = function(JWT)
    resources["AuthFn2"]["Properties"]["FunctionName"] = "auth-2"
    resources["Auth"]["Properties"]["AuthorizerUri"] = uri("AuthFn2")
    (api,) = read(resources).rest_apis
    assert api.authorizer_functions == {"staff": "AuthFn2"}
