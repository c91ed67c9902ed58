"""Strict methodArn/routeArn parsing and rebuilding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authorizers.core.exceptions import InvalidRequestError, Reason
from authorizers.core.route_arn import HTTP_METHODS, parse_route_arn

BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"


def test_rest_arn_keeps_every_part_and_the_concrete_path():
    arn = parse_route_arn(f"{BASE}/GET/pets/42")
    assert (arn.partition, arn.region, arn.account, arn.api_id, arn.stage) == (
        "aws",
        "eu-west-1",
        "123456789012",
        "abcdef1234",
        "prod",
    )
    assert (arn.method, arn.path) == ("GET", "/pets/42")
    assert arn.arn == f"{BASE}/GET/pets/42"


def test_root_path_is_slash_and_rebuilds_with_the_trailing_slash():
    arn = parse_route_arn(f"{BASE}/GET/")
    assert arn.path == "/"
    assert arn.arn == f"{BASE}/GET/"


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov", "aws-iso-b"])
def test_partition_is_kept_so_china_and_govcloud_policies_match(partition):
    arn = parse_route_arn(
        f"arn:{partition}:execute-api:cn-north-1:123456789012:abcdef1234/prod/GET/x"
    )
    assert arn.partition == partition
    assert arn.all_routes().startswith(f"arn:{partition}:")


def test_colons_in_the_path_are_part_of_the_path():
    # Powertools' parser splits on ":" and truncates "events:batch" (see quirks tests).
    arn = parse_route_arn(f"{BASE}/POST/events:batch")
    assert arn.path == "/events:batch"


def test_http_default_stage_and_websocket_route_keys():
    http = parse_route_arn("arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/$default/GET/a")
    assert http.stage == "$default"
    ws = parse_route_arn(f"{BASE}/$connect", websocket=True)
    assert ws.is_websocket and ws.method is None and ws.path == "$connect"
    assert ws.all_routes() == f"{BASE}/*"
    assert ws.arn == f"{BASE}/$connect"


@pytest.mark.parametrize(
    "path",
    ["pets/*", "pets/?", "*", "pets/1\r\nx", "a\x00b", "a b", "a\u2028b"],
    ids=["star", "question", "bare-star", "crlf", "nul", "space", "line-separator"],
)
def test_wildcard_injection_and_control_characters_in_the_path_are_refused(path):
    # Attack: a request path holding "*" echoed into a policy becomes a wildcard resource.
    with pytest.raises(InvalidRequestError) as caught:
        parse_route_arn(f"{BASE}/GET/{path}")
    assert caught.value.reason is Reason.MALFORMED_EVENT


@pytest.mark.parametrize(
    "arn",
    [
        None,
        42,
        "",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/FETCH/x",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/get/x",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET",
        "arn:aws:execute-api:eu-west-1:12345:abcdef1234/prod/GET/x",
        "arn:aws:lambda:eu-west-1:123456789012:abcdef1234/prod/GET/x",
        "arn:aws:execute-api:*:123456789012:abcdef1234/prod/GET/x",
        "arn:aws:execute-api:eu-west-1:123456789012:*/prod/GET/x",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/GET/x",
        f"{BASE}/GET/" + "a" * 1600,
    ],
    ids=[
        "none",
        "int",
        "empty",
        "unknown-verb",
        "lowercase-verb",
        "no-path",
        "short-account",
        "other-service",
        "wildcard-region",
        "wildcard-api",
        "wildcard-stage",
        "over-1600-bytes",
    ],
)
def test_malformed_arns_are_refused(arn):
    with pytest.raises(InvalidRequestError):
        parse_route_arn(arn)


def test_websocket_route_key_must_not_hold_wildcards():
    with pytest.raises(InvalidRequestError):
        parse_route_arn(f"{BASE}/$conn*", websocket=True)


segment = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="*?/"),
    min_size=1,
    max_size=12,
)


@given(
    partition=st.sampled_from(["aws", "aws-cn", "aws-us-gov"]),
    region=st.sampled_from(["eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"]),
    account=st.from_regex(r"\d{12}", fullmatch=True),
    api=st.from_regex(r"[a-z0-9]{10}", fullmatch=True),
    stage=st.from_regex(r"[A-Za-z0-9_-]{1,20}|\$default", fullmatch=True),
    method=st.sampled_from(sorted(HTTP_METHODS)),
    segments=st.lists(segment, max_size=6),
)
def test_parse_then_build_is_the_identity(partition, region, account, api, stage, method, segments):
    text = f"arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{method}/" + "/".join(
        segments
    )
    arn = parse_route_arn(text)
    assert arn.arn == text
    assert parse_route_arn(arn.arn) == arn
