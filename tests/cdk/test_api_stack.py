"""The API stack, asserted on properties and counts (never on generated logical ids).

One source of truth: every authorizer, route and usage plan in the template is compared with
the :class:`ApiModel` the stack was rendered from.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match

from cdk_app.stacks.api_stack import ApiStack
from gatehouse.api_model import demo_api
from tests.cdk.conftest import (
    ORIGINS,
    STAGES,
    VPC_ENDPOINTS,
    Synthesized,
    resources_of,
    template_of,
)

pytestmark = pytest.mark.cdk


def _api(synth: Synthesized, name: str) -> ApiStack:
    return synth.stages[name].api


def _by_name(items: list[dict[str, Any]], key: str = "Name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def _function_of(template: Any, authorizer: dict[str, Any]) -> dict[str, Any]:
    """The Lambda function (properties) an authorizer's AuthorizerUri invokes."""
    resources = template.to_json()["Resources"]
    logical = json.dumps(authorizer["AuthorizerUri"])
    aliases = set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', logical)) & set(resources)
    if aliases:  # a rollout: the URI names the alias, which names the function
        (alias,) = aliases
        logical = json.dumps(resources[alias]["Properties"]["FunctionName"])
    (fn_id,) = set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)", "Arn"\]', logical)) | set(
        re.findall(r'"Ref": "([A-Za-z0-9]+)"', logical)
    )
    properties: dict[str, Any] = resources[fn_id]["Properties"]
    return properties


@pytest.mark.parametrize("name", list(STAGES))
def test_authorizers_match_the_model(name: str, repo: Synthesized) -> None:
    # GIVEN the stack and the model it was rendered from
    stack = _api(repo, name)
    template = template_of(repo, stack)
    authorizers = _by_name(resources_of(template, "AWS::ApiGateway::Authorizer"))

    # THEN there is one authorizer per model authorizer with its type, sources, regex and TTL
    assert set(authorizers) == set(stack.model.authorizers)
    for model in stack.model.authorizers.values():
        rendered = authorizers[model.name]
        assert rendered["Type"] == model.type
        assert rendered.get("IdentitySource") == (",".join(model.identity_sources) or None)
        assert rendered.get("IdentityValidationExpression") == model.validation_regex
        assert rendered["AuthorizerResultTtlInSeconds"] == model.cache_ttl_seconds
    cache = STAGES[name].get("api", {}).get("authorizer_cache_seconds", 300)
    assert authorizers["jwt"]["AuthorizerResultTtlInSeconds"] == cache
    assert authorizers["mtls"]["AuthorizerResultTtlInSeconds"] == 0


@pytest.mark.parametrize("name", list(STAGES))
def test_authorizer_environments_equal_the_model(name: str, repo: Synthesized) -> None:
    # GIVEN each authorizer and the function its URI invokes
    stack = _api(repo, name)
    template = template_of(repo, stack)
    for authorizer in resources_of(template, "AWS::ApiGateway::Authorizer"):
        model = stack.model.authorizers[authorizer["Name"]]
        fn = _function_of(template, authorizer)

        # THEN the handler is the model's and the environment is exactly the model's
        assert fn["Handler"] == model.handler
        assert fn["Environment"]["Variables"] == stack.resolve(dict(model.environment))


def test_model_in_stack_is_demo_api_with_the_stage_settings(repo: Synthesized) -> None:
    stack = _api(repo, "prod")
    assert stack.model.settings == repo.stages["prod"].config.api
    expected = demo_api(stack.model_resources, stack.model.settings)
    assert [r.route_key for r in stack.model.routes] == [r.route_key for r in expected.routes]


@pytest.mark.parametrize("name", list(STAGES))
def test_every_route_is_a_method_with_its_authorizer(name: str, repo: Synthesized) -> None:
    # GIVEN the methods of the API and the authorizer ids by name
    stack = _api(repo, name)
    template = template_of(repo, stack)
    ids = {
        logical: props["Properties"]["Name"]
        for logical, props in template.find_resources("AWS::ApiGateway::Authorizer").items()
    }
    methods = list(resources_of(template, "AWS::ApiGateway::Method"))
    non_options = [m for m in methods if m["HttpMethod"] != "OPTIONS"]

    # THEN one method per route; guarded ones are CUSTOM with the model's authorizer
    assert len(non_options) == len(stack.model.routes)
    by_authorizer: dict[str | None, int] = {}
    for method in non_options:
        authorizer = ids[method["AuthorizerId"]["Ref"]] if "AuthorizerId" in method else None
        by_authorizer[authorizer] = by_authorizer.get(authorizer, 0) + 1
        if authorizer is None:
            assert method["AuthorizationType"] == "NONE"
        else:
            assert method["AuthorizationType"] == "CUSTOM"
            assert method["ApiKeyRequired"] is (authorizer == "apikey")
        assert "RequestValidatorId" in method
    expected: dict[str | None, int] = {}
    for route in stack.model.routes:
        expected[route.authorizer] = expected.get(route.authorizer, 0) + 1
    assert by_authorizer == expected


@pytest.mark.parametrize("name", list(STAGES))
def test_cors_preflight_is_open_and_on_every_resource(name: str, repo: Synthesized) -> None:
    template = template_of(repo, _api(repo, name))
    options = [
        m for m in resources_of(template, "AWS::ApiGateway::Method") if m["HttpMethod"] == "OPTIONS"
    ]
    resources = resources_of(template, "AWS::ApiGateway::Resource")
    assert len(options) == len(resources)
    assert all(m["AuthorizationType"] == "NONE" for m in options)


def test_api_key_source_is_the_authorizer_and_one_usage_plan_per_tier(repo: Synthesized) -> None:
    # GIVEN prod's tiers from cdk.json
    template = template_of(repo, _api(repo, "prod"))
    tiers = STAGES["prod"]["api"]["usage_plans"]

    # THEN the API takes the key from the authorizer
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"ApiKeySourceType": "AUTHORIZER"})
    # AND each tier is a usage plan on the stage with its throttle and quota
    plans = _by_name(resources_of(template, "AWS::ApiGateway::UsagePlan"), "UsagePlanName")
    assert set(plans) == {t["name"] for t in tiers}
    for tier in tiers:
        plan = plans[tier["name"]]
        assert plan["Throttle"] == {
            "RateLimit": tier["rate_limit"],
            "BurstLimit": tier["burst_limit"],
        }
        assert plan["Quota"] == {"Limit": tier["quota_limit"], "Period": tier["quota_period"]}
        assert len(plan["ApiStages"]) == 1


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_logging_tracing_and_throttling(name: str, repo: Synthesized) -> None:
    api = STAGES[name]["api"]
    template = template_of(repo, _api(repo, name))
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": name,
            "TracingEnabled": True,
            "ClientCertificateId": Match.any_value(),
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp(r'^\{"requestId":'),
            },
            "MethodSettings": [
                {
                    "DataTraceEnabled": False,
                    "HttpMethod": "*",
                    "LoggingLevel": "INFO",
                    "MetricsEnabled": True,
                    "ResourcePath": "/*",
                    "ThrottlingBurstLimit": api["throttling_burst_limit"],
                    "ThrottlingRateLimit": api["throttling_rate_limit"],
                },
                *(
                    {
                        "HttpMethod": t["route"].split(" ")[0],
                        # CloudFormation's ResourcePath escapes each "/" of the path as "~1"
                        "ResourcePath": "/" + t["route"].split(" ")[1].replace("/", "~1"),
                        "ThrottlingBurstLimit": t["burst_limit"],
                        "ThrottlingRateLimit": t["rate_limit"],
                        "LoggingLevel": "INFO",  # not inherited from */*
                        "MetricsEnabled": True,
                        "DataTraceEnabled": False,
                    }
                    for t in api["method_throttles"]
                ),
            ],
        },
    )
    (stage,) = resources_of(template, "AWS::ApiGateway::Stage")
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert fields["authorizerError"] == "$context.authorizer.error"
    template.resource_count_is("AWS::ApiGateway::ClientCertificate", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
    )


@pytest.mark.parametrize("name", list(STAGES))
def test_functions_are_arm64_traced_json_logged_and_small(name: str, repo: Synthesized) -> None:
    settings = STAGES[name]
    functions = settings["functions"]
    template = template_of(repo, _api(repo, name))
    template.resource_count_is("AWS::Lambda::Function", 5)  # four authorizers + demo backend
    for fn in resources_of(template, "AWS::Lambda::Function"):
        assert fn["Architectures"] == [settings["architecture"]]
        assert fn["Runtime"] == "python3.14"
        assert fn["TracingConfig"] == {"Mode": "Active"}
        assert fn["LoggingConfig"]["LogFormat"] == "JSON"
        assert fn["Timeout"] == functions["timeout_seconds"]
    authorizers = [
        fn
        for fn in resources_of(template, "AWS::Lambda::Function")
        if fn["Handler"].startswith("authorizers.")
    ]
    assert len(authorizers) == 4
    for fn in authorizers:
        assert fn["MemorySize"] == functions["memory_mb"]
        assert fn.get("ReservedConcurrentExecutions") == functions.get("reserved_concurrency")
        assert len(fn["Layers"]) == 1


@pytest.mark.parametrize("name", list(STAGES))
def test_log_groups_keep_the_stage_retention(name: str, repo: Synthesized) -> None:
    template = template_of(repo, _api(repo, name))
    groups = resources_of(template, "AWS::Logs::LogGroup")
    assert len(groups) == 7  # 5 functions, access logs, WAF
    assert {g["RetentionInDays"] for g in groups} == {STAGES[name]["log_retention_days"]}


@pytest.mark.parametrize("name", list(STAGES))
def test_function_roles_write_only_their_own_logs(name: str, repo: Synthesized) -> None:
    template = template_of(repo, _api(repo, name))
    every = resources_of(template, "AWS::IAM::Role")
    roles = [
        r for r in every if "lambda.amazonaws.com" in json.dumps(r["AssumeRolePolicyDocument"])
    ]
    assert len(roles) == 5
    # A rollout's CodeDeploy roles hold only the AWS policy scoped to shifting Lambda aliases.
    for role in every:
        if role not in roles:
            assert "codedeploy.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])
            (managed,) = role["ManagedPolicyArns"]
            assert "AWSCodeDeployRoleForLambdaLimited" in json.dumps(managed)
            assert "Policies" not in role
    for role in roles:
        assert "ManagedPolicyArns" not in role
        (policy,) = role["Policies"]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert "Fn::GetAtt" in statement["Resource"]


def test_data_permissions_are_exact(repo: Synthesized) -> None:
    # GIVEN the inline policies attached to the function roles
    template = template_of(repo, _api(repo, "dev"))
    statements = [
        s
        for p in resources_of(template, "AWS::IAM::Policy")
        for s in p["PolicyDocument"]["Statement"]
        if not any(str(a).startswith("xray:") for a in _as_list(s["Action"]))
    ]

    # THEN: GetItem on the keys table, GetObject on each configured CRL object, nothing else
    actions = sorted(a for s in statements for a in _as_list(s["Action"]))
    assert actions == ["dynamodb:GetItem", "s3:GetObject"]
    (crl,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert "crl/example-issuing-ca.crl" in json.dumps(crl["Resource"])
    assert "*" not in json.dumps(crl["Resource"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_backend_can_be_invoked_by_this_api_only(repo: Synthesized) -> None:
    template = template_of(repo, _api(repo, "dev"))
    permissions = resources_of(template, "AWS::Lambda::Permission")
    to_backend = [p for p in permissions if "Backend" in json.dumps(p["FunctionName"])]
    assert to_backend
    for permission in to_backend:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert "RestApi" in json.dumps(permission["SourceArn"])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_302_and_every_401_carries_a_challenge(repo: Synthesized, stage: str) -> None:
    # Attack: an API-wide 302 to a login page answers the API-key and mTLS clients of the
    # stage's API too (a client following it sees a 200); RFC 9110 section 11.6.1 wants the
    # 401 to name its scheme.
    stacks = [c for c in repo.stages[stage].node.children if isinstance(c, cdk.Stack)]
    assert stacks
    for stack in stacks:
        for response in resources_of(template_of(repo, stack), "AWS::ApiGateway::GatewayResponse"):
            assert response.get("StatusCode") != "302"
            assert "gatewayresponse.header.Location" not in response["ResponseParameters"]
    responses = _by_name(
        resources_of(template_of(repo, _api(repo, stage)), "AWS::ApiGateway::GatewayResponse"),
        "ResponseType",
    )
    unauthorized = responses["UNAUTHORIZED"]
    assert "StatusCode" not in unauthorized
    assert unauthorized["ResponseParameters"]["gatewayresponse.header.WWW-Authenticate"] == (
        "'Bearer'"
    )


def test_prod_authorizers_roll_out_by_codedeploy_with_alarms_per_alias(repo: Synthesized) -> None:
    # What it stops: a broken layer or settings change taking every request down at once.
    template = template_of(repo, _api(repo, "prod"))
    aliases = template.find_resources("AWS::Lambda::Alias")
    groups = resources_of(template, "AWS::CodeDeploy::DeploymentGroup")
    assert len(aliases) == len(groups) == 4  # one per authorizer
    for group in groups:
        assert len(group["AlarmConfiguration"]["Alarms"]) == 2
        assert group["AlarmConfiguration"]["Enabled"] is True
    for config in resources_of(template, "AWS::CodeDeploy::DeploymentConfig"):
        assert config["TrafficRoutingConfig"]["TimeBasedCanary"] == {
            "CanaryInterval": 5,
            "CanaryPercentage": 10,
        }
    for authorizer in resources_of(template, "AWS::ApiGateway::Authorizer"):
        assert any(
            json.dumps({"Ref": a}) in json.dumps(authorizer["AuthorizerUri"]) for a in aliases
        )
    # AND API Gateway may invoke the aliases only, never a bare function ($LATEST)
    authorizer_functions = {aliases[a]["Properties"]["FunctionName"]["Ref"] for a in aliases}
    for permission in resources_of(template, "AWS::Lambda::Permission"):
        if "Authorizer" in json.dumps(permission.get("SourceArn")):
            assert permission["FunctionName"] in [{"Ref": a} for a in aliases]
        else:  # the backend's: never an authorizer function behind its alias
            (function, _) = permission["FunctionName"]["Fn::GetAtt"]
            assert function not in authorizer_functions
    # AND dev, without functions.rollout, updates in place
    dev = template_of(repo, _api(repo, "dev"))
    assert dev.find_resources("AWS::CodeDeploy::DeploymentGroup") == {}


def test_gateway_responses_carry_cors(repo: Synthesized) -> None:
    # GIVEN prod: one CORS origin
    template = template_of(repo, _api(repo, "prod"))
    responses = _by_name(resources_of(template, "AWS::ApiGateway::GatewayResponse"), "ResponseType")
    origin = STAGES["prod"]["api"]["cors_allow_origins"][0]

    # THEN 401, 403 and the defaults carry CORS headers
    assert set(responses) == {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        headers = response["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{origin}'"
    assert "StatusCode" not in responses["ACCESS_DENIED"]


def test_several_origins_echo_the_request_origin(variant: Synthesized) -> None:
    template = template_of(variant, _api(variant, "dev"))
    for response in resources_of(template, "AWS::ApiGateway::GatewayResponse"):
        headers = response["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "method.request.header.Origin"
        )
    (preflight, *_) = [
        m for m in resources_of(template, "AWS::ApiGateway::Method") if m["HttpMethod"] == "OPTIONS"
    ]
    assert ORIGINS[0] in json.dumps(preflight["Integration"])


def test_mtls_domain_uses_the_truststore_and_disables_execute_api(repo: Synthesized) -> None:
    # GIVEN prod, which has a custom domain in cdk.json
    mtls = STAGES["prod"]["mtls"]
    template = template_of(repo, _api(repo, "prod"))

    # THEN the domain is regional, TLS 1.2, with an S3 truststore, mapped to the stage
    template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": mtls["domain_name"],
            "RegionalCertificateArn": mtls["certificate_arn"],
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "SecurityPolicy": "TLS_1_2",
            "MutualTlsAuthentication": {
                "TruststoreUri": Match.string_like_regexp(r"^s3://.+\.pem$"),
            },
        },
    )
    template.resource_count_is("AWS::ApiGateway::BasePathMapping", 1)
    # AND nobody can go around it through execute-api
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"DisableExecuteApiEndpoint": True}
    )


def test_without_a_domain_execute_api_stays_on(repo: Synthesized) -> None:
    template = template_of(repo, _api(repo, "dev"))
    template.resource_count_is("AWS::ApiGateway::DomainName", 0)
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"DisableExecuteApiEndpoint": False, "EndpointConfiguration": {"Types": ["REGIONAL"]}},
    )


def test_private_endpoint_admits_only_the_given_vpc_endpoints(variant: Synthesized) -> None:
    template = template_of(variant, _api(variant, "dev"))
    (api,) = resources_of(template, "AWS::ApiGateway::RestApi")
    assert api["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    statements = api["Policy"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": VPC_ENDPOINTS}}


def test_reserved_concurrency_follows_the_settings(variant: Synthesized) -> None:
    template = template_of(variant, _api(variant, "dev"))
    authorizers = [
        fn
        for fn in resources_of(template, "AWS::Lambda::Function")
        if fn["Handler"].startswith("authorizers.")
    ]
    assert {fn["ReservedConcurrentExecutions"] for fn in authorizers} == {7}


def test_config_rules_only_where_asked(repo: Synthesized) -> None:
    prod = template_of(repo, _api(repo, "prod"))
    dev = template_of(repo, _api(repo, "dev"))
    rules = {r["Source"]["SourceIdentifier"] for r in resources_of(prod, "AWS::Config::ConfigRule")}
    assert rules == {
        "API_GW_EXECUTION_LOGGING_ENABLED",
        "API_GW_ASSOCIATED_WITH_WAF",
        "API_GW_XRAY_ENABLED",
        "API_GW_SSL_ENABLED",
    }
    dev.resource_count_is("AWS::Config::ConfigRule", 0)


def test_demo_backend_answers_cors_for_the_configured_origins_only(repo: Synthesized) -> None:
    template = template_of(repo, _api(repo, "prod"))
    (backend,) = [
        fn
        for fn in resources_of(template, "AWS::Lambda::Function")
        if fn["Handler"] == "index.handler"
    ]
    origins = json.loads(backend["Environment"]["Variables"]["CORS_ALLOW_ORIGINS"])
    assert origins == STAGES["prod"]["api"]["cors_allow_origins"]
    assert "Access-Control-Allow-Origin" in backend["Code"]["ZipFile"]


def test_demo_backend_source_echoes_the_authorizer_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the inline backend source, with one allowed origin
    from cdk_app.components import backends

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", '["https://app.example.com"]')
    namespace: dict[str, Any] = {}
    exec(backends._SOURCE, namespace)  # noqa: S102 - our own constant source
    event = {
        "httpMethod": "GET",
        "resource": "/profile",
        "headers": {"Origin": "https://app.example.com"},
        "requestContext": {"authorizer": {"principalId": "u1", "integrationLatency": 9}},
    }

    # WHEN it handles a proxied request
    response = namespace["handler"](event, None)

    # THEN it shows the route and the authorizer context, with CORS for the allowed origin
    assert json.loads(response["body"]) == {
        "route": "GET /profile",
        "authorizer": {"principalId": "u1"},
    }
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    event["headers"] = {"Origin": "https://evil.example"}
    assert "Access-Control-Allow-Origin" not in namespace["handler"](event, None)["headers"]


def test_prod_encrypts_logs_environments_alarms_keys_and_pki_with_its_own_key(
    repo: Synthesized,
) -> None:
    # What it stops: secrets in Lambda environments and security logs readable by anyone
    # with the AWS-managed key's implicit grants; one key the stage controls and rotates.
    identity = template_of(repo, repo.stages["prod"].identity)
    (key,) = identity.find_resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    logs_statement = next(s for s in statements if "logs." in json.dumps(s["Principal"]))
    assert "kms:EncryptionContext:aws:logs:arn" in json.dumps(logs_statement["Condition"])
    assert any("cloudwatch.amazonaws.com" in json.dumps(s["Principal"]) for s in statements)
    (table,) = resources_of(identity, "AWS::DynamoDB::GlobalTable")
    assert table["SSESpecification"]["SSEType"] == "KMS"
    (bucket,) = resources_of(identity, "AWS::S3::Bucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"

    api = template_of(repo, _api(repo, "prod"))
    groups = resources_of(api, "AWS::Logs::LogGroup")
    assert groups
    assert all("KmsKeyId" in g for g in groups)  # functions, access log, WAF log
    functions = resources_of(api, "AWS::Lambda::Function")
    assert all("KmsKeyArn" in f for f in functions)
    (topic,) = resources_of(api, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic
    # AND each function may decrypt with it: its environment, the table, the CRLs
    decrypts = [
        s
        for p in resources_of(api, "AWS::IAM::Policy")
        for s in p["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt"
    ]
    assert len(decrypts) == len(functions)
    # AND dev keeps the AWS-managed keys (no key of its own)
    assert template_of(repo, repo.stages["dev"].identity).find_resources("AWS::KMS::Key") == {}
