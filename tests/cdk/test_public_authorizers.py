"""The public authorizer constructs (gatehouse.cdk) on a team's own REST and HTTP APIs.

Each refusal names the unsafe combination it stops: a cache that would replay one caller's
Allow to another, or settings the function would refuse at cold start (so they fail synth).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from gatehouse.cdk import (
    ApiKeyAuthorizer,
    FunctionOptions,
    GatehouseLayer,
    JwtAuthorizer,
    LayerNotBuiltError,
    LayerWithoutBytecodeError,
    MtlsAuthorizer,
    PolicyAuthorizer,
    PolicySource,
    Rollout,
    SettingsError,
    UnsafeAuthorizerError,
    cognito_issuer,
    oidc_issuer,
)
from gatehouse.cdk.monitoring import CRASH_PATTERN, FAULT_PATTERN

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO_ROOT / "layers" / "build" / "arm64"
ANCHORS = REPO_ROOT / "cdk_app" / "pki" / "example-issuing-ca.pem"
ISSUER = oidc_issuer("https://idp.example.com/", ["orders-api"])
RULES = [{"route": "GET /orders", "scopes": ["orders:read"]}]


def _stack() -> tuple[cdk.Stack, GatehouseLayer]:
    stack = cdk.Stack(cdk.App(), "Team", env=cdk.Environment(region="eu-west-1"))
    return stack, GatehouseLayer(stack, "Gatehouse", directory=LAYER_DIR)


def _jwt(stack: cdk.Stack, layer: GatehouseLayer, **settings: Any) -> JwtAuthorizer:
    return JwtAuthorizer(
        stack, "Jwt", layer=layer, issuers=[ISSUER], routes=RULES, settings=settings
    )


def _resources(template: Template, kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template.find_resources(kind).values()]


def test_jwt_on_a_rest_api_is_a_token_authorizer_with_the_bearer_precheck() -> None:
    stack, layer = _stack()
    jwt = _jwt(stack, layer)
    api = apigw.RestApi(stack, "Api")
    api.root.add_resource("orders").add_method(
        "GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer()
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.Authorization",
            "IdentityValidationExpression": r"^Bearer [-0-9A-Za-z._~+/]+=*$",
            "AuthorizerResultTtlInSeconds": 300,
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Method", {"HttpMethod": "GET", "AuthorizationType": "CUSTOM"}
    )
    (fn,) = [
        f for f in _resources(template, "AWS::Lambda::Function") if f["Handler"].startswith("auth")
    ]
    assert fn["Handler"] == "authorizers.jwt_bearer.handler.lambda_handler"
    assert "https://idp.example.com/" in fn["Environment"]["Variables"]["GATEHOUSE_JWT_ISSUERS"]
    assert fn["Architectures"] == ["arm64"]


def test_an_http_api_authorizer_uses_payload_2_and_is_keyed_on_the_credential() -> None:
    stack, layer = _stack()
    jwt = _jwt(stack, layer)
    api = apigwv2.HttpApi(stack, "Http")
    api.add_routes(
        path="/orders",
        methods=[apigwv2.HttpMethod.GET],
        integration=_lambda_integration(stack),
        authorizer=jwt.http_authorizer(api),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "REQUEST",
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": False,
            "IdentitySource": ["$request.header.authorization"],
            "AuthorizerResultTtlInSeconds": 300,
        },
    )
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        {"AuthorizationType": "CUSTOM", "AuthorizerId": Match.any_value()},
    )
    permissions = _resources(template, "AWS::Lambda::Permission")
    source_arns = [str(p.get("SourceArn")) for p in permissions]
    assert any("/authorizers/" in arn for arn in source_arns), source_arns


def _lambda_integration(stack: cdk.Stack) -> apigwv2.HttpRouteIntegration:
    from aws_cdk import aws_apigatewayv2_integrations as integrations
    from aws_cdk import aws_lambda as lambda_

    backend = lambda_.Function(
        stack,
        "Backend",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c):\n    return {}\n"),
    )
    return integrations.HttpLambdaIntegration("Backend", backend)


def test_a_cached_mtls_authorizer_is_refused() -> None:
    """Attack: replaying a cached Allow to a client with a revoked or unpinned certificate."""
    stack, layer = _stack()
    mtls = MtlsAuthorizer(
        stack,
        "Mtls",
        layer=layer,
        trust_anchors=ANCHORS,
        rules=[{"san_uri": "spiffe://example.com/device/{device}", "principal": "{device}"}],
        settings={"GATEHOUSE_MTLS_REVOCATION": "off"},
    )
    assert mtls.rest_authorizer()  # uncached by default: fine
    with pytest.raises(UnsafeAuthorizerError, match="mtls authorizer cannot be cached"):
        mtls.rest_authorizer(id="Cached", cache_ttl=cdk.Duration.seconds(60))


def test_a_cache_key_without_the_credential_is_refused() -> None:
    """Attack: a caller without a key sends the same x-tenant value and gets the cached Allow."""
    stack, layer = _stack()
    table = dynamodb.Table.from_table_name(stack, "Keys", "orders-keys")
    keys = ApiKeyAuthorizer(stack, "Keys2", layer=layer, table=table)
    with pytest.raises(UnsafeAuthorizerError, match="does not hold the x-api-key header") as error:
        keys.rest_authorizer(identity_sources=["method.request.header.x-tenant"])
    assert "method.request.header.x-api-key" in str(error.value)


def test_simple_responses_with_route_rules_are_refused() -> None:
    """Attack: an isAuthorized: true cached for GET /orders is replayed on DELETE /orders."""
    stack, layer = _stack()
    with pytest.raises(SettingsError, match="route rules need IAM responses"):
        _jwt(stack, layer, GATEHOUSE_HTTP_RESPONSE_FORMAT="simple")


def test_simple_responses_without_route_rules_are_enabled_on_the_http_authorizer() -> None:
    stack, layer = _stack()
    jwt = JwtAuthorizer(
        stack,
        "Jwt",
        layer=layer,
        issuers=[ISSUER],
        settings={
            "GATEHOUSE_HTTP_RESPONSE_FORMAT": "simple",
            "GATEHOUSE_JWT_UNMATCHED_ROUTES": "allow",
        },
    )
    jwt.http_authorizer(apigwv2.HttpApi(stack, "Http"))
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"EnableSimpleResponses": True, "AuthorizerPayloadFormatVersion": "2.0"},
    )


def test_an_http_cache_without_identity_source_is_refused() -> None:
    stack, layer = _stack()
    jwt = _jwt(stack, layer)
    api = apigwv2.HttpApi(stack, "Http")
    with pytest.raises(UnsafeAuthorizerError, match="needs an identity source"):
        jwt.http_authorizer(api, identity_sources=[])


def test_a_ttl_past_api_gateways_limit_is_refused() -> None:
    stack, layer = _stack()
    with pytest.raises(UnsafeAuthorizerError, match="0 to 3600"):
        _jwt(stack, layer).rest_authorizer(cache_ttl=cdk.Duration.hours(2))


def test_a_setting_the_runtime_refuses_fails_synth_with_the_runtime_message() -> None:
    stack, layer = _stack()
    with pytest.raises(SettingsError, match=r"GATEHOUSE_JWT_LEEWAY: unknown setting.*did you mean"):
        _jwt(stack, layer, GATEHOUSE_JWT_LEEWAY=30)


def test_an_issuer_without_audiences_fails_synth() -> None:
    stack, layer = _stack()
    with pytest.raises(SettingsError, match="GATEHOUSE_JWT_ISSUERS"):
        JwtAuthorizer(
            stack, "Jwt", layer=layer, issuers=[{"type": "oidc", "issuer": "https://x.example/"}]
        )


def test_deploy_time_values_are_checked_with_placeholders() -> None:
    stack, layer = _stack()
    pool = cognito.UserPool(stack, "Pool")
    client = pool.add_client("Client")
    jwt = JwtAuthorizer(stack, "Jwt", layer=layer, issuers=[cognito_issuer(pool, [client])])
    assert cdk.Token.is_unresolved(jwt.environment["GATEHOUSE_JWT_ISSUERS"])


def test_a_policy_bundle_the_runtime_cannot_load_fails_synth(tmp_path: Path) -> None:
    bundle = tmp_path / "broken.yaml"
    bundle.write_text("version: 1\nrules: [{nonsense: true}]\n")
    stack, layer = _stack()
    with pytest.raises(SettingsError, match=r"GATEHOUSE_POLICY_SOURCE: the bundle broken\.yaml"):
        PolicyAuthorizer(
            stack,
            "Policy",
            layer=layer,
            source=PolicySource.file(bundle),
            routes=["GET /orders"],
            authenticator="jwt_bearer",
            settings={"GATEHOUSE_JWT_ISSUERS": [ISSUER]},
        )


def test_a_setting_given_twice_is_refused() -> None:
    stack, layer = _stack()
    with pytest.raises(UnsafeAuthorizerError, match="both by a parameter and in settings"):
        JwtAuthorizer(
            stack, "Jwt", layer=layer, issuers=[ISSUER], settings={"GATEHOUSE_JWT_ISSUERS": "[]"}
        )


def test_a_missing_layer_directory_says_how_to_build_it(tmp_path: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Team")
    with pytest.raises(LayerNotBuiltError, match="gatehouse layer build --arch arm64"):
        GatehouseLayer(stack, "Gatehouse", directory=tmp_path)


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (None, "no readable gatehouse-layer.json"),
        ("not json", "no readable gatehouse-layer.json"),
        (
            {"arch": "x86_64", "platform": "host", "python_version": "3.11"},
            "built for this machine (--host, Python 3.11)",
        ),
        (
            {"arch": "x86_64", "platform": "manylinux2014_x86_64", "python_version": "3.14"},
            "built for x86_64, not arm64",
        ),
        (
            {"arch": "arm64", "platform": "manylinux2014_aarch64", "python_version": "3.12"},
            "built for Python 3.12, not the runtime's 3.14",
        ),
    ],
    ids=["no-manifest", "unreadable", "host", "other-arch", "other-python"],
)
def test_a_layer_that_would_fail_every_cold_start_is_refused_at_synth(
    tmp_path: Path, manifest: object, problem: str
) -> None:
    """What it stops: deploying a layer whose compiled wheels cannot load on the function
    (this machine's, another architecture's or another Python's): every cold start fails."""
    (tmp_path / "python" / "authorizers").mkdir(parents=True)
    if isinstance(manifest, dict):
        (tmp_path / "gatehouse-layer.json").write_text(json.dumps(manifest))
    elif isinstance(manifest, str):
        (tmp_path / "gatehouse-layer.json").write_text(manifest)
    stack = cdk.Stack(cdk.App(), "Team")
    with pytest.raises(LayerNotBuiltError, match=re.escape(problem)):
        GatehouseLayer(stack, "Gatehouse", directory=tmp_path)


def test_an_authorizer_for_certificate_bound_tokens_is_request_uncached_by_default() -> None:
    """Attack: a cached Allow (keyed on the token alone) replayed to a stolen bound token
    sent without its certificate; a TOKEN authorizer, which is never given the certificate."""
    stack, layer = _stack()
    bound = oidc_issuer("https://idp.example.com/", ["orders-api"], certificate_binding="required")
    jwt = JwtAuthorizer(stack, "Jwt", layer=layer, issuers=[bound], routes=RULES)
    api = apigw.RestApi(stack, "Api")
    api.root.add_resource("orders").add_method(
        "GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer()
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "REQUEST", "AuthorizerResultTtlInSeconds": 0},
    )
    with pytest.raises(UnsafeAuthorizerError, match="cannot key its cache on"):
        jwt.rest_authorizer(id="Cached", cache_ttl=cdk.Duration.seconds(60))
    with pytest.raises(UnsafeAuthorizerError, match="TOKEN authorizer is not given"):
        jwt.rest_authorizer(id="Token", type="TOKEN")
    with pytest.raises(UnsafeAuthorizerError, match="cannot key its cache on"):
        jwt.http_authorizer(apigwv2.HttpApi(stack, "Http"), cache_ttl=cdk.Duration.seconds(60))


# --- safe rollout: versions behind an alias, shifted by CodeDeploy -------------------------


def _rolled_out(rollout: Rollout) -> tuple[Template, JwtAuthorizer]:
    stack, layer = _stack()
    jwt = JwtAuthorizer(
        stack,
        "Jwt",
        layer=layer,
        issuers=[ISSUER],
        routes=RULES,
        function=FunctionOptions(rollout=rollout),
    )
    api = apigw.RestApi(stack, "Api")
    api.root.add_resource("orders").add_method(
        "GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer()
    )
    return Template.from_stack(stack), jwt


def test_a_rollout_shifts_an_alias_and_rolls_back_on_errors_or_fail_closed_decisions() -> None:
    # What it stops: a broken layer or settings change failing closed for all traffic at once.
    template, jwt = _rolled_out(Rollout("canary", percent=10, minutes=5))
    assert jwt.rollout is not None
    (alias,) = _resources(template, "AWS::Lambda::Alias")
    assert alias["Name"] == "live"
    (group,) = _resources(template, "AWS::CodeDeploy::DeploymentGroup")
    assert group["DeploymentStyle"]["DeploymentOption"] == "WITH_TRAFFIC_CONTROL"
    assert set(group["AutoRollbackConfiguration"]["Events"]) >= {"DEPLOYMENT_STOP_ON_ALARM"}
    names = {json.dumps(a["Name"]) for a in group["AlarmConfiguration"]["Alarms"]}
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert names == {json.dumps({"Ref": logical}) for logical in alarms}
    # Both counted from this function's own log: Lambda's Errors counts every 401 (a raised
    # Unauthorized), and the Gatehouse metrics are per kind across the account.
    assert {a["Properties"]["Namespace"] for a in alarms.values()} == {"Gatehouse/Functions"}
    patterns = {f["FilterPattern"] for f in _resources(template, "AWS::Logs::MetricFilter")}
    assert patterns == {CRASH_PATTERN, FAULT_PATTERN}
    (log_group,) = template.find_resources("AWS::Logs::LogGroup")
    for metric_filter in _resources(template, "AWS::Logs::MetricFilter"):
        assert metric_filter["LogGroupName"] == {"Ref": log_group}
    (config,) = _resources(template, "AWS::CodeDeploy::DeploymentConfig")
    assert config["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {"CanaryInterval": 5, "CanaryPercentage": 10},
    }
    # AND API Gateway invokes the alias, never $LATEST
    (authorizer,) = _resources(template, "AWS::ApiGateway::Authorizer")
    alias_id = next(iter(template.find_resources("AWS::Lambda::Alias")))
    assert {"Ref": alias_id} in authorizer["AuthorizerUri"]["Fn::Join"][1]
    (permission,) = [
        p for p in _resources(template, "AWS::Lambda::Permission")
        if p["Principal"] == "apigateway.amazonaws.com"
    ]  # fmt: skip
    assert permission["FunctionName"] == {"Ref": alias_id}


def test_a_linear_rollout_and_all_at_once() -> None:
    template, _ = _rolled_out(Rollout("linear", percent=20, minutes=2))
    (config,) = _resources(template, "AWS::CodeDeploy::DeploymentConfig")
    assert config["TrafficRoutingConfig"]["TimeBasedLinear"] == {
        "LinearInterval": 2,
        "LinearPercentage": 20,
    }
    template, _ = _rolled_out(Rollout("all_at_once"))
    assert template.find_resources("AWS::CodeDeploy::DeploymentConfig") == {}
    (group,) = _resources(template, "AWS::CodeDeploy::DeploymentGroup")
    assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"


def test_without_a_rollout_the_function_is_updated_in_place() -> None:
    stack, layer = _stack()
    jwt = _jwt(stack, layer)
    template = Template.from_stack(stack)
    assert jwt.rollout is None
    assert jwt.target is jwt.function
    assert template.find_resources("AWS::Lambda::Alias") == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"strategy": "blue_green"}, "strategy 'blue_green'"),
        ({"percent": 0}, "percent 0"),
        ({"percent": 100}, "percent 100"),
        ({"minutes": 0}, "minutes 0"),
        ({"minutes": True}, "minutes True"),
    ],
)
def test_a_rollout_codedeploy_would_refuse_is_refused(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        Rollout(**arguments)


def test_a_kms_key_encrypts_the_log_group_and_environment_and_data_keys_are_decryptable() -> None:
    # What it stops: an authorizer that cannot read a CMK-encrypted table (every key lookup
    # fails closed) or whose settings sit under an AWS-managed key only.
    stack, layer = _stack()
    key = kms.Key(stack, "Key")
    table_key = kms.Key(stack, "TableKey")
    table = dynamodb.TableV2(
        stack,
        "Keys",
        partition_key=dynamodb.Attribute(name="key_hash", type=dynamodb.AttributeType.STRING),
        encryption=dynamodb.TableEncryptionV2.customer_managed_key(table_key),
    )
    ApiKeyAuthorizer(
        stack, "Partners", layer=layer, table=table, function=FunctionOptions(kms_key=key)
    )
    template = Template.from_stack(stack)
    keys = {
        json.dumps({"Fn::GetAtt": [k, "Arn"]}) for k in template.find_resources("AWS::KMS::Key")
    }
    (function,) = _resources(template, "AWS::Lambda::Function")
    assert json.dumps(function["KmsKeyArn"]) in keys
    (group,) = _resources(template, "AWS::Logs::LogGroup")
    assert json.dumps(group["KmsKeyId"]) in keys
    decrypted = {
        json.dumps(s["Resource"])
        for p in _resources(template, "AWS::IAM::Policy")
        for s in p["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt"
    }
    assert decrypted == keys  # its own key and the table's, once each


def _built_layer(directory: Path, bytecode: str | None) -> Path:
    (directory / "python" / "authorizers").mkdir(parents=True)
    manifest = {
        "arch": "arm64",
        "platform": "manylinux2014_aarch64",
        "python_version": "3.14",
        "bytecode": bytecode,
    }
    (directory / "gatehouse-layer.json").write_text(json.dumps(manifest))
    return directory


@pytest.mark.parametrize("bytecode", [None, "cpython-311"], ids=["none", "another-python"])
def test_a_layer_without_the_runtimes_bytecode_is_refused_when_bytecode_is_required(
    tmp_path: Path, bytecode: str | None
) -> None:
    """What it stops: a production layer that compiles every module on every cold start
    (Lambda mounts /opt read-only, so nothing compiled there is kept)."""
    layer = _built_layer(tmp_path, bytecode)
    stack = cdk.Stack(cdk.App(), "Team")
    with pytest.raises(LayerWithoutBytecodeError, match=r"has no Python 3\.14 bytecode") as raised:
        GatehouseLayer(stack, "Gatehouse", directory=layer, require_bytecode=True)
    assert "require_bytecode=False" in str(raised.value)
    assert isinstance(raised.value, LayerNotBuiltError)  # one except clause catches both
    # Not required (the default): the same layer is taken.
    GatehouseLayer(stack, "Taken", directory=layer)


def test_a_layer_with_the_runtimes_bytecode_is_taken_when_bytecode_is_required(
    tmp_path: Path,
) -> None:
    layer = _built_layer(tmp_path, "cpython-314")
    stack = cdk.Stack(cdk.App(), "Team")
    GatehouseLayer(stack, "Gatehouse", directory=layer, require_bytecode=True)
    Template.from_stack(stack).resource_count_is("AWS::Lambda::LayerVersion", 1)
