"""Each Powertools builder quirk we work around (listed in authorizers/core/responses.py),
shown on the pinned Powertools and next to our fix. If Powertools fixes one, its test here
fails: then revisit whether our own renderer is still needed for that case."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    parse_api_gateway_arn,
)

from authorizers.core.config import HttpResponseFormat
from authorizers.core.decision import Decision
from authorizers.core.request import normalize
from authorizers.core.route_arn import parse_route_arn
from tests.conftest import load_event

CN_ARN = "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/prod/GET/pets"


def test_quirk_1_from_route_arn_drops_the_partition():
    theirs = APIGatewayAuthorizerResponse.from_route_arn(CN_ARN, principal_id="u")
    theirs.allow_all_routes()
    assert theirs.asdict()["policyDocument"]["Statement"][0]["Resource"][0].startswith("arn:aws:")
    ours = parse_route_arn(CN_ARN).all_routes()
    assert ours.startswith("arn:aws-cn:")


def test_quirk_2_conditions_come_out_as_a_json_list():
    theirs = APIGatewayAuthorizerResponse.from_route_arn(CN_ARN, principal_id="u")
    theirs.allow_route("GET", "/pets", conditions=[{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}])
    condition = theirs.asdict()["policyDocument"]["Statement"][0]["Condition"]
    assert isinstance(condition, list)  # not IAM grammar; we never emit conditions


@pytest.mark.parametrize("path", ["/files/a%20b", "/users/~me", "/events:batch", "/a@b", "/k=v"])
def test_quirk_3_legal_path_characters_are_rejected(path):
    theirs = APIGatewayAuthorizerResponse.from_route_arn(CN_ARN, principal_id="u")
    with pytest.raises(ValueError):
        theirs.allow_route("GET", path)
    # Ours renders the same request fine.
    event = load_event("rest_request")
    event["methodArn"] = f"arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET{path}"
    request = normalize(event)
    render_ok = Decision.allow_all(request, "u")
    from authorizers.core.responses import render

    assert render(render_ok, request, HttpResponseFormat.IAM)["principalId"] == "u"


def test_quirk_4_root_path_parses_to_empty_and_cannot_be_allowed():
    parsed = parse_api_gateway_arn(
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/"
    )
    assert parsed.resource == ""
    theirs = APIGatewayAuthorizerResponse.from_route_arn(parsed.arn, principal_id="u")
    with pytest.raises(ValueError):
        theirs.allow_route("GET", parsed.resource)
    ours = parse_route_arn("arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/")
    assert ours.path == "/"


def test_quirk_5_templates_are_literal_in_iam():
    # Passing event["resource"] ("/pets/{petId}") builds a policy that matches no real request.
    theirs = APIGatewayAuthorizerResponse.from_route_arn(CN_ARN, principal_id="u")
    theirs.allow_route("GET", "/pets/{petId}")
    resource = theirs.asdict()["policyDocument"]["Statement"][0]["Resource"][0]
    assert resource.endswith("/GET/pets/{petId}")
    from authorizers.core.routes import RouteTemplate

    assert RouteTemplate.parse("GET /pets/{petId}").glob() == "/pets/*"


def test_quirk_6_context_is_not_validated():
    theirs = APIGatewayAuthorizerResponse.from_route_arn(
        CN_ARN, principal_id="u", context={"obj": {"a": 1}, "list": [1]}
    )
    theirs.allow_all_routes()
    assert theirs.asdict()["context"] == {"obj": {"a": 1}, "list": [1]}  # a 500 on REST


def test_quirk_7_colon_in_the_path_is_truncated_by_the_arn_parser():
    arn = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/POST/events:batch"
    assert parse_api_gateway_arn(arn).resource == "events"
    assert parse_route_arn(arn).path == "/events:batch"
