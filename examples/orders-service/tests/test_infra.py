"""The Orders stack as ``cdk synth`` builds it: Gatehouse's authorizers on a REST and an HTTP
API, checked by cdk-nag, cfn-lint and assertions on the template's values.

The app is synthesized once per session (tests/conftest.py), offline: the layer comes from
``gatehouse layer build`` (cached in build/layer/arm64), nothing calls AWS.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from gatehouse.cdk import LayerWithoutBytecodeError, UnsafeAuthorizerError

from orders_service.infra import (
    KEYS_PARTITION_KEY,
    KEYS_TTL_ATTRIBUTE,
    LOGIN_SETTINGS,
    PARTNER_ROUTES,
    PORTAL_SETTINGS,
    PRINCIPAL_HEADER,
    STAFF_ROUTES,
    STOCK_ROUTE,
    OrdersStack,
    create_app,
)
from tests.conftest import CONTEXT, Synthesized, app_context

REGION = CONTEXT["orders:region"]
ACCOUNT = {"Ref": "AWS::AccountId"}
TOKEN_REGEX = r"^Bearer [-0-9A-Za-z._~+/]+=*$"
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.fixture(scope="module")
def template(orders: Synthesized) -> Template:
    return Template.from_json(orders.template)


def _only(orders: Synthesized, kind: str, api: Any = None) -> tuple[str, dict[str, Any]]:
    """The one resource of ``kind`` (of the HTTP API ``api``, when given)."""
    items = orders.of_type(kind).items()
    if api is not None:
        items = [(k, v) for k, v in items if v.get("ApiId") == {"Ref": orders.logical_id(api)}]
    (item,) = items
    return item


def _join(*parts: object) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def _invoked(orders: Synthesized, invoked: Any) -> dict[str, Any]:
    """What API Gateway invokes: a function, or for a Gatehouse authorizer its ``live`` alias
    when it rolls out through CodeDeploy (``authorizer.target``), else its function."""
    target = getattr(invoked, "target", invoked)
    if target is getattr(invoked, "function", invoked):
        return {"Fn::GetAtt": [orders.logical_id(target), "Arn"]}
    return {"Ref": orders.logical_id(target)}


def _permissions_of(orders: Synthesized, function: Any) -> list[dict[str, Any]]:
    invoked = _invoked(orders, function)
    return [
        p
        for p in orders.of_type("AWS::Lambda::Permission").values()
        if p["FunctionName"] == invoked
    ]


def _resource_paths(orders: Synthesized) -> dict[str, str]:
    """Logical id of each AWS::ApiGateway::Resource -> its full path (``/orders/{id}``)."""
    parts = orders.of_type("AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        resource = parts[logical_id]
        parent = resource["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{resource['PathPart']}"

    return {logical_id: path(logical_id) for logical_id in parts}


# --- the checks a team runs on every synthesis ---------------------------------------------------


def test_synthesis_is_clean_under_cdk_nag(orders: Synthesized) -> None:
    # GIVEN the app synthesized with the AwsSolutions and Serverless packs registered
    report = json.loads((orders.outdir / "validation-report.json").read_text())

    # THEN no plugin reported anything (every finding this design accepts is acknowledged)
    assert report["pluginReports"] == []


def test_an_unacknowledged_finding_fails_synthesis(layer_dir: Path, tmp_path: Path) -> None:
    # GIVEN the same app plus a bucket with neither access logs nor TLS enforcement
    app, stack = create_app(app_context(layer_dir), outdir=str(tmp_path))
    s3.Bucket(stack, "Careless")

    # WHEN it is synthesized THEN cdk-nag fails it, naming the rules
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (v["ruleName"], c["constructPath"])
        for r in report["pluginReports"]
        for v in r["violations"]
        for c in v["violatingConstructs"]
    }
    assert {rule for rule, _ in findings} == {"AwsSolutions-S1", "AwsSolutions-S10"}
    assert {path for _, path in findings} == {"Orders/Careless/Resource"}


def _layer_built(layer_dir: Path, tmp_path: Path, *, bytecode: str | None) -> Path:
    """The fixture's layer, its build record saying whether it carries ``bytecode``."""
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "python").symlink_to((layer_dir / "python").resolve(), target_is_directory=True)
    manifest = json.loads((layer_dir / "gatehouse-layer.json").read_text(encoding="utf-8"))
    record = json.dumps({**manifest, "bytecode": bytecode})
    (layer / "gatehouse-layer.json").write_text(record, encoding="utf-8")
    return layer


def test_a_production_synth_refuses_a_layer_without_bytecode(
    layer_dir: Path, tmp_path: Path
) -> None:
    # What it stops: a production deploy whose every cold start compiles every module of the
    # layer (about twice as slow), because the layer was built where no Python 3.14 was found.
    layer = _layer_built(layer_dir, tmp_path, bytecode=None)
    context = {**app_context(layer), "orders:production": "true"}  # as -c passes it
    with pytest.raises(LayerWithoutBytecodeError, match=r"has no Python 3\.14 bytecode"):
        create_app(context, outdir=str(tmp_path / "out"))


def test_a_production_synth_takes_a_layer_with_the_runtimes_bytecode(
    layer_dir: Path, tmp_path: Path
) -> None:
    layer = _layer_built(layer_dir, tmp_path, bytecode="cpython-314")
    _, stack = create_app(
        {**app_context(layer), "orders:production": True}, outdir=str(tmp_path / "out")
    )
    assert stack.staff.function.runtime.name == "python3.14"


def test_a_production_flag_that_is_not_a_boolean_is_refused(layer_dir: Path) -> None:
    with pytest.raises(ValueError, match="'orders:production' is 'yes': expected true or false"):
        create_app({**app_context(layer_dir), "orders:production": "yes"})


def test_cfn_lint_finds_no_errors(orders: Synthesized) -> None:
    # GIVEN the synthesized template
    (path,) = orders.outdir.glob("*.template.json")

    # WHEN cfn-lint checks it (exit code bits: 2 error, 4 warning, 8 informational)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [cfn_lint, "-t", path, "--regions", REGION, "--format", "parseable"],
        capture_output=True,
        text=True,
        check=False,
    )

    # THEN it reports no error (CDK's own W3005 warnings aside)
    errors = [line for line in result.stdout.splitlines() if re.search(r":E\d{4}:", line)]
    assert result.returncode & 2 == 0, result.stdout + result.stderr
    assert errors == []


# --- the REST API ------------------------------------------------------------------------------


def test_staff_routes_have_a_token_authorizer_on_the_authorization_header(
    orders: Synthesized, template: Template
) -> None:
    stack = orders.stack
    api = orders.logical_id(stack.rest_api)
    function = _invoked(orders, stack.staff)  # the live alias: staff rolls out by CodeDeploy

    authorizer = orders.of_type("AWS::ApiGateway::Authorizer")[
        orders.logical_id(stack.rest_authorizers["staff"])
    ]

    assert authorizer["Type"] == "TOKEN"
    assert authorizer["RestApiId"] == {"Ref": api}
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert authorizer["IdentityValidationExpression"] == TOKEN_REGEX
    assert authorizer["AuthorizerResultTtlInSeconds"] == 300
    assert function in authorizer["AuthorizerUri"]["Fn::Join"][1]
    # AND only API Gateway's bearer pre-check lets a header through to the function
    assert re.fullmatch(TOKEN_REGEX, "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    assert not re.fullmatch(TOKEN_REGEX, "Basic dXNlcjpwYXNz")
    template.resource_count_is("AWS::ApiGateway::Authorizer", 2)


def test_partner_route_has_a_request_authorizer_keyed_on_x_api_key(
    orders: Synthesized, template: Template
) -> None:
    stack = orders.stack
    function = _invoked(orders, stack.partners)

    authorizer = orders.of_type("AWS::ApiGateway::Authorizer")[
        orders.logical_id(stack.rest_authorizers["partners"])
    ]

    assert authorizer["Type"] == "REQUEST"
    assert authorizer["IdentitySource"] == "method.request.header.x-api-key"
    assert authorizer["AuthorizerResultTtlInSeconds"] == 300
    assert function in authorizer["AuthorizerUri"]["Fn::Join"][1]
    # AND the authorizer's usage-plan key meters the partner against the "basic" plan
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"Name": "orders", "ApiKeySourceType": "AUTHORIZER"}
    )
    (_, plan) = _only(orders, "AWS::ApiGateway::UsagePlan")
    assert plan["UsagePlanName"] == "basic"
    assert plan["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    assert plan["Quota"] == {"Limit": 10000, "Period": "DAY"}
    (stage_id, _) = _only(orders, "AWS::ApiGateway::Stage")
    assert plan["ApiStages"][0]["Stage"] == {"Ref": stage_id}


def test_every_method_is_custom_authorized_by_its_authorizer(orders: Synthesized) -> None:
    stack = orders.stack
    staff = {"Ref": orders.logical_id(stack.rest_authorizers["staff"])}
    partners = {"Ref": orders.logical_id(stack.rest_authorizers["partners"])}
    paths = _resource_paths(orders)
    methods = orders.of_type("AWS::ApiGateway::Method")

    # THEN the API has exactly the routes of the rules, each behind its Gatehouse authorizer
    found = {
        f"{m['HttpMethod']} {paths[m['ResourceId']['Ref']]}": (
            m["AuthorizationType"],
            m["AuthorizerId"],
            m["ApiKeyRequired"],
        )
        for m in methods.values()
    }
    assert found == {
        **{rule["route"]: ("CUSTOM", staff, False) for rule in STAFF_ROUTES},
        **{rule["route"]: ("CUSTOM", partners, True) for rule in PARTNER_ROUTES},
    }
    # AND every path parameter is required (the request validator checks it)
    (validator_id, validator) = _only(orders, "AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestParameters"] is True
    for method in methods.values():
        assert method["RequestValidatorId"] == {"Ref": validator_id}
        if paths[method["ResourceId"]["Ref"]].endswith("{id}"):
            assert method["RequestParameters"] == {"method.request.path.id": True}


def test_authorizer_invoke_permissions_name_their_own_authorizer(orders: Synthesized) -> None:
    stack = orders.stack
    api = {"Ref": orders.logical_id(stack.rest_api)}
    for name, construct in (("staff", stack.staff), ("partners", stack.partners)):
        authorizer = {"Ref": orders.logical_id(stack.rest_authorizers[name])}
        rest = [p for p in _permissions_of(orders, construct) if api in _source_parts(p)]
        # THEN API Gateway may invoke the function only as this API's authorizer
        assert [p["SourceArn"] for p in rest] == [
            _join(f"arn:aws:execute-api:{REGION}:", ACCOUNT, ":", api, "/authorizers/", authorizer)
        ], name
        assert rest[0]["Principal"] == "apigateway.amazonaws.com"
    # AND nothing else may invoke them: the staff function also serves the HTTP API (tested
    # below), the partner function serves this API only
    assert len(_permissions_of(orders, stack.staff)) == 2
    assert len(_permissions_of(orders, stack.partners)) == 1
    assert (
        not [  # and the staff function itself, behind its alias, by nobody
            p
            for p in orders.of_type("AWS::Lambda::Permission").values()
            if p["FunctionName"] == {"Fn::GetAtt": [orders.logical_id(stack.staff.function), "Arn"]}
        ]
    )


def _source_parts(permission: dict[str, Any]) -> list[Any]:
    """The parts of a permission's ``SourceArn`` join (``[]`` when it has none)."""
    source = permission.get("SourceArn")
    return source["Fn::Join"][1] if isinstance(source, dict) else []


@pytest.mark.parametrize("route", [r["route"] for r in (*STAFF_ROUTES, *PARTNER_ROUTES)])
def test_backend_invoke_permission_is_scoped_to_api_stage_method_and_path(
    orders: Synthesized, route: str
) -> None:
    stack = orders.stack
    api = {"Ref": orders.logical_id(stack.rest_api)}
    (stage_id, _) = _only(orders, "AWS::ApiGateway::Stage")
    method, path = route.split(" ", 1)
    pattern = re.sub(r"\{[^}]+\}", "*", path)

    # THEN the route's function has one permission: this API, stage, method and path only
    # (no test-invoke-stage permission, no other route's)
    (permission,) = _permissions_of(orders, stack.backends[route])
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"] == _join(
        f"arn:aws:execute-api:{REGION}:",
        ACCOUNT,
        ":",
        api,
        "/",
        {"Ref": stage_id},
        f"/{method}{pattern}",
    )


def test_rest_stage_logs_traces_throttles_and_is_behind_waf(orders: Synthesized) -> None:
    (stage_id, stage) = _only(orders, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "live"
    assert stage["TracingEnabled"] is True
    (settings,) = stage["MethodSettings"]
    assert settings["LoggingLevel"] == "INFO"
    assert settings["DataTraceEnabled"] is False
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (100, 200)
    assert json.loads(stage["AccessLogSetting"]["Format"])["authorizerStatus"] == (
        "$context.authorizer.status"
    )
    (_, association) = _only(orders, "AWS::WAFv2::WebACLAssociation")
    assert {"Ref": stage_id} in association["ResourceArn"]["Fn::Join"][1]
    (_, logging) = _only(orders, "AWS::WAFv2::LoggingConfiguration")
    assert logging["RedactedFields"] == [
        {"SingleHeader": {"Name": "authorization"}},
        {"SingleHeader": {"Name": "x-api-key"}},
    ]


def test_every_rest_401_names_its_scheme(orders: Synthesized) -> None:
    # RFC 9110 section 11.6.1: a 401 carries WWW-Authenticate; staff tokens are plain
    # bearer tokens (no DPoP issuer), so the challenge is Bearer alone.
    (_, unauthorized) = _only(orders, "AWS::ApiGateway::GatewayResponse")
    assert unauthorized["ResponseType"] == "UNAUTHORIZED"
    assert "StatusCode" not in unauthorized
    assert unauthorized["ResponseParameters"] == {
        "gatewayresponse.header.WWW-Authenticate": "'Bearer realm=\"orders\"'"
    }


# --- the HTTP API and its private integration --------------------------------------------------


def test_http_api_authorizer_is_a_payload_2_request_authorizer_on_the_bearer_header(
    orders: Synthesized,
) -> None:
    stack = orders.stack
    api = {"Ref": orders.logical_id(stack.http_api)}
    (authorizer_id, authorizer) = _only(orders, "AWS::ApiGatewayV2::Authorizer", stack.http_api)

    assert authorizer["ApiId"] == api
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["IdentitySource"] == ["$request.header.authorization"]
    assert authorizer["AuthorizerResultTtlInSeconds"] == 300
    assert authorizer["EnableSimpleResponses"] is False  # IAM policies: per-route answers
    staff = _invoked(orders, stack.staff)
    assert staff in authorizer["AuthorizerUri"]["Fn::Join"][1]
    # AND the invoke permission names this API's authorizer only
    (permission,) = [p for p in _permissions_of(orders, stack.staff) if api in _source_parts(p)]
    assert permission["SourceArn"] == _join(
        f"arn:aws:execute-api:{REGION}:",
        ACCOUNT,
        ":",
        api,
        "/authorizers/",
        {"Ref": authorizer_id},
    )


def test_http_route_is_custom_authorized_and_goes_through_the_vpc_link(
    orders: Synthesized,
) -> None:
    stack = orders.stack
    (authorizer_id, _) = _only(orders, "AWS::ApiGatewayV2::Authorizer", stack.http_api)
    (integration_id, integration) = _only(orders, "AWS::ApiGatewayV2::Integration", stack.http_api)
    (link_id, link) = _only(orders, "AWS::ApiGatewayV2::VpcLink")
    (_, route) = _only(orders, "AWS::ApiGatewayV2::Route", stack.http_api)

    assert route["RouteKey"] == STOCK_ROUTE["route"]
    assert route["AuthorizationType"] == "CUSTOM"
    assert route["AuthorizerId"] == {"Ref": authorizer_id}
    assert route["Target"] == _join("integrations/", {"Ref": integration_id})

    assert integration["ConnectionType"] == "VPC_LINK"
    assert integration["ConnectionId"] == {"Ref": link_id}
    assert integration["IntegrationType"] == "HTTP_PROXY"
    assert integration["IntegrationUri"] == {"Ref": orders.logical_id(stack.listener)}
    # The stock service learns the caller from a header only the gateway sets
    assert integration["RequestParameters"] == {
        f"overwrite:header.{PRINCIPAL_HEADER}": "$context.authorizer.principalId"
    }
    isolated = [{"Ref": orders.logical_id(s)} for s in stack.vpc.isolated_subnets]
    assert link["SubnetIds"] == isolated
    assert link["SecurityGroupIds"] == [{"Fn::GetAtt": [_link_group(orders), "GroupId"]}]


def _link_group(orders: Synthesized) -> str:
    (link,) = orders.of_type("AWS::ApiGatewayV2::VpcLink").values()
    return str(link["SecurityGroupIds"][0]["Fn::GetAtt"][0])


def test_the_load_balancer_is_internal_and_reachable_only_from_the_vpc_link(
    orders: Synthesized, template: Template
) -> None:
    stack = orders.stack
    (_, alb) = _only(orders, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    isolated = [{"Ref": orders.logical_id(s)} for s in stack.vpc.isolated_subnets]
    assert alb["Scheme"] == "internal"
    assert alb["Subnets"] == isolated
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    # AND the only way in is port 80 from the VPC link's security group
    (_, ingress) = _only(orders, "AWS::EC2::SecurityGroupIngress")
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [_link_group(orders), "GroupId"]}
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 80, 80)
    for group in orders.of_type("AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group
    # AND the VPC has no way out: isolated subnets, no NAT, no internet gateway
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    # AND only this account's stock target group may invoke the stock function
    (permission,) = _permissions_of(orders, stack.backends[STOCK_ROUTE["route"]])
    assert permission["Principal"] == "elasticloadbalancing.amazonaws.com"
    assert permission["SourceAccount"] == ACCOUNT
    assert permission["SourceArn"] == _join(
        f"arn:aws:elasticloadbalancing:{REGION}:", ACCOUNT, ":targetgroup/Orders-stock/*"
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"Name": "Orders-stock", "TargetType": "lambda"},
    )


# --- the authorizer functions ----------------------------------------------------------------


def test_jwt_function_trusts_the_oidc_issuer_with_scoped_route_rules(orders: Synthesized) -> None:
    functions = orders.of_type("AWS::Lambda::Function")
    staff = functions[orders.logical_id(orders.stack.staff.function)]
    variables = staff["Environment"]["Variables"]

    assert staff["Handler"] == "authorizers.jwt_bearer.handler.lambda_handler"
    assert json.loads(variables["GATEHOUSE_JWT_ISSUERS"]) == [
        {
            "type": "oidc",
            "issuer": CONTEXT["orders:issuer"],
            "audiences": CONTEXT["orders:audiences"],
            "algorithms": ["RS256"],
        }
    ]
    assert json.loads(variables["GATEHOUSE_JWT_ROUTES"]) == [*STAFF_ROUTES, STOCK_ROUTE]
    # AND it runs on the layer built for arm64
    (layer_id, layer) = _only(orders, "AWS::Lambda::LayerVersion")
    assert staff["Layers"] == [{"Ref": layer_id}]
    assert staff["Architectures"] == layer["CompatibleArchitectures"] == ["arm64"]
    assert staff["Runtime"] == "python3.14"


def test_api_key_function_reads_the_keys_table_with_the_gatehouse_keys_schema(
    orders: Synthesized,
) -> None:
    stack = orders.stack
    table_id = orders.logical_id(stack.keys_table)
    (_, table) = _only(orders, "AWS::DynamoDB::GlobalTable")
    assert table["KeySchema"] == [{"AttributeName": KEYS_PARTITION_KEY, "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": KEYS_PARTITION_KEY, "AttributeType": "S"}
    ]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": KEYS_TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    (replica,) = table["Replicas"]
    assert replica["DeletionProtectionEnabled"] is True
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}

    function = orders.of_type("AWS::Lambda::Function")[orders.logical_id(stack.partners.function)]
    variables = function["Environment"]["Variables"]
    assert variables["GATEHOUSE_APIKEY_TABLE"] == {"Ref": table_id}
    assert json.loads(variables["GATEHOUSE_APIKEY_ROUTES"]) == list(PARTNER_ROUTES)
    # AND its role may read one item at a time from that table, and nothing else of it
    role = {"Ref": orders.logical_id(stack.partners.role)}
    statements = [
        s
        for p in orders.of_type("AWS::IAM::Policy").values()
        if role in p["Roles"]
        for s in p["PolicyDocument"]["Statement"]
        if "dynamodb" in json.dumps(s["Action"])
    ]
    assert statements == [
        {
            "Action": "dynamodb:GetItem",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
        }
    ]


def _statements(orders: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """Every identity-policy statement: from IAM::Policy resources and roles' inline policies."""
    found = [
        (logical_id, s)
        for logical_id, p in orders.of_type("AWS::IAM::Policy").items()
        for s in p["PolicyDocument"]["Statement"]
    ]
    for logical_id, role in orders.of_type("AWS::IAM::Role").items():
        found += [
            (logical_id, s)
            for p in role.get("Policies", [])
            for s in p["PolicyDocument"]["Statement"]
        ]
    return found


def _listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_iam_except_the_acknowledged_xray_actions(orders: Synthesized) -> None:
    wildcard = []
    for logical_id, statement in _statements(orders):
        actions = _listed(statement["Action"])
        assert statement["Effect"] == "Allow", logical_id
        # THEN no action is a wildcard
        assert not [a for a in actions if "*" in a], (logical_id, statement)
        # AND a "*" resource only ever carries X-Ray's two write actions
        if "*" in _listed(statement["Resource"]):
            assert set(actions) == XRAY_ACTIONS, (logical_id, statement)
            wildcard.append(logical_id)
    # One per traced function: 3 Gatehouse authorizers, the login function, 5 REST backends,
    # the stock service and 2 portal backends
    assert len(wildcard) == 12
    # AND no role carries a managed policy (AWSLambdaBasicExecutionRole allows every log group)
    # but CodeDeploy's, with the AWS policy scoped to shifting Lambda aliases
    for logical_id, role in orders.of_type("AWS::IAM::Role").items():
        if "codedeploy.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"]):
            (managed,) = role["ManagedPolicyArns"]
            assert "AWSCodeDeployRoleForLambdaLimited" in json.dumps(managed), logical_id
            continue
        assert "ManagedPolicyArns" not in role, logical_id


# --- what the constructs refuse ---------------------------------------------------------------


@pytest.fixture(scope="module")
def unsynthesized(layer_dir: Path) -> OrdersStack:
    """A fresh stack to try unsafe authorizers on (never synthesized)."""
    _, stack = create_app(app_context(layer_dir))
    return stack


def test_a_partner_cache_keyed_on_another_header_is_refused(unsynthesized: OrdersStack) -> None:
    """Attack: a caller without a key sends the same x-partner-id and gets a cached Allow."""
    with pytest.raises(
        UnsafeAuthorizerError,
        match=r"Orders/PartnerKeys: the result cache is keyed on "
        r"method\.request\.header\.x-partner-id, which does not hold the x-api-key header.*"
        r"pass identity_sources with method\.request\.header\.x-api-key \(plus any others\), "
        r"or cache_ttl of 0",
    ):
        unsynthesized.partners.rest_authorizer(
            id="ByPartnerId",
            identity_sources=["method.request.header.x-partner-id"],
            cache_ttl=cdk.Duration.minutes(5),
        )


def test_an_http_cache_without_identity_source_is_refused(unsynthesized: OrdersStack) -> None:
    """API Gateway would refuse it at deploy time; the construct says so at synth."""
    with pytest.raises(
        UnsafeAuthorizerError,
        match=r"Orders/StaffJwt: an HTTP API authorizer with caching needs an identity source.*"
        r"give identity_sources with the credential header, or cache_ttl of 0",
    ):
        unsynthesized.staff.http_authorizer(
            unsynthesized.http_api,
            "Unkeyed",
            identity_sources=[],
            cache_ttl=cdk.Duration.minutes(5),
        )


def test_monitoring_alarms_on_both_authorizers_and_both_apis(template: Template) -> None:
    for description in (
        "staff authorizer: crashes or timeouts (callers get 500)",
        "partners authorizer: Unauthorized decisions per minute (401s)",
        "API 5XX responses per minute (authorizer or backend failing)",
        "WAF blocked requests in 5 minutes (attack, or a rule hitting real traffic)",
    ):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm", {"AlarmDescription": description}
        )
    template.resource_count_is("AWS::SNS::Topic", 2)
    template.all_resources_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": Match.exact(CONTEXT["orders:alarm_emails"][0])},
    )


# --- the portal: a browser login and a session-cookie authorizer --------------------------------


def test_portal_login_routes_are_open_and_every_other_route_is_custom_authorized(
    orders: Synthesized,
) -> None:
    stack = orders.stack
    api = {"Ref": orders.logical_id(stack.portal_api)}
    routes = {
        r["RouteKey"]: r
        for r in orders.of_type("AWS::ApiGatewayV2::Route").values()
        if r["ApiId"] == api
    }
    assert sorted(routes) == sorted(
        ["GET /auth/login", "GET /auth/callback", "GET /auth/logout"]
        + [rule["route"] for rule in PORTAL_SETTINGS["GATEHOUSE_JWT_ROUTES"]]
    )
    for key, route in routes.items():
        expected = "NONE" if key.startswith("GET /auth/") else "CUSTOM"
        assert route.get("AuthorizationType", "NONE") == expected, key


def test_the_session_authorizer_has_no_cache_and_no_identity_source(orders: Synthesized) -> None:
    """The CSRF proof is per request: a cached Allow for a GET must never answer a POST."""
    stack = orders.stack
    (_, authorizer) = _only(orders, "AWS::ApiGatewayV2::Authorizer", stack.portal_api)
    assert authorizer.get("AuthorizerResultTtlInSeconds", 0) == 0
    assert not authorizer.get("IdentitySource")


def test_the_login_function_reads_its_key_and_the_portal_issuer(orders: Synthesized) -> None:
    stack = orders.stack
    environment = stack.portal_login.environment
    assert (
        environment["GATEHOUSE_JWT_SESSION_COOKIE"]
        == PORTAL_SETTINGS["GATEHOUSE_JWT_SESSION_COOKIE"]
    )
    # Every login.json setting is deployed, as the test of the login reads it
    for name, value in LOGIN_SETTINGS.items():
        expected = ",".join(value) if isinstance(value, list) else str(value)
        assert environment[name] == expected, name
    # AND only the login function may read the sealing key, and only that secret
    (secret_id, _) = _only(orders, "AWS::SecretsManager::Secret")
    grants = [
        (logical_id, statement)
        for logical_id, statement in _statements(orders)
        if "secretsmanager:GetSecretValue" in _listed(statement["Action"])
    ]
    ((policy_id, grant),) = grants
    assert grant["Resource"] == {"Ref": secret_id}
    policy = orders.of_type("AWS::IAM::Policy")[policy_id]
    assert policy["Roles"] == [{"Ref": orders.logical_id(stack.portal_login.role)}]
