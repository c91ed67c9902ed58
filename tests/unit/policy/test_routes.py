"""Route-table matching and its normalization rules (authorizers/policy/routes.py).

Each rule is a test; each security test names the attack it stops.
"""

from __future__ import annotations

import pytest

from authorizers.policy.routes import RouteTable, RouteTableError, params_of
from tests.unit.policy.helpers import demo_table, request

TABLE = RouteTable.parse(
    [
        "GET /tenants/{tenant}/orders",
        "GET /tenants/{tenant}/orders/{id}",
        "GET /tenants/{tenant}/orders/summary",
        "ANY /files/{proxy+}",
        "GET /files/{proxy+}",
        "GET /",
        "POST /tenants/{tenant}/orders",
    ]
)


def resolve(method: str, path: str, resource: str | None = None):
    return TABLE.resolve(request(method, path, resource=resource))


def test_a_template_binds_its_parameters():
    # GIVEN a table route with two parameters WHEN a concrete path matches
    match = resolve("GET", "/tenants/acme/orders/7")
    # THEN the action is the template and the parameters are decoded values
    assert match is not None
    assert match.action == "GET /tenants/{tenant}/orders/{id}"
    assert dict(match.params) == {"tenant": "acme", "id": "7"}


def test_a_literal_segment_beats_a_parameter():
    match = resolve("GET", "/tenants/acme/orders/summary")
    assert match is not None and match.action == "GET /tenants/{tenant}/orders/summary"


def test_greedy_proxy_takes_the_rest_of_the_path():
    match = resolve("GET", "/files/a/b/c.txt")
    assert match is not None and match.action == "GET /files/{proxy+}"
    assert match.params["proxy"] == "a/b/c.txt"


def test_a_method_route_beats_any_and_any_takes_other_methods():
    assert resolve("GET", "/files/x").action == "GET /files/{proxy+}"  # type: ignore[union-attr]
    assert resolve("PUT", "/files/x").action == "ANY /files/{proxy+}"  # type: ignore[union-attr]


def test_greedy_proxy_needs_at_least_one_segment():
    assert resolve("PUT", "/files") is None
    assert resolve("PUT", "/files/") is None


def test_root_route():
    match = resolve("GET", "/")
    assert match is not None and match.action == "GET /"


def test_one_trailing_slash_is_ignored():
    match = resolve("GET", "/tenants/acme/orders/")
    assert match is not None and match.action == "GET /tenants/{tenant}/orders"


def test_double_slash_never_matches():
    """Attack: '/tenants//orders' or '/tenants/acme//orders' read differently by a backend
    that collapses slashes; we deny instead of guessing."""
    assert resolve("GET", "/tenants//orders") is None
    assert resolve("GET", "/tenants/acme//orders") is None
    assert resolve("GET", "/tenants/acme/orders//") is None


@pytest.mark.parametrize(
    "path",
    [
        "/tenants/acme/../globex/orders",
        "/tenants/../orders",
        "/tenants/./orders",
        "/tenants/acme/%2e%2e/globex/orders",
        "/tenants/acme/%2E%2e/orders",
        "/files/a/../../etc/passwd",
        "/files/%2e",
    ],
)
def test_dot_segments_are_refused(path):
    """Attack: path traversal into another tenant (acme/../globex) or out of a proxy."""
    assert resolve("GET", path) is None


@pytest.mark.parametrize(
    "path",
    ["/tenants/acme%2F..%2Fglobex/orders", "/tenants/acme%2fglobex/orders/7"],
)
def test_an_encoded_slash_in_a_parameter_is_refused(path):
    """Attack: %2F smuggling a separator into a single-segment parameter."""
    assert resolve("GET", path) is None


def test_an_encoded_slash_in_a_proxy_segment_is_refused():
    assert resolve("GET", "/files/a%2Fb") is None


def test_percent_escapes_are_decoded_in_parameters():
    match = resolve("GET", "/tenants/ac%20me/orders")
    assert match is not None and match.params["tenant"] == "ac me"
    assert match.raw_params["tenant"] == "ac%20me"


@pytest.mark.parametrize("segment", ["acme%zz", "acme%2", "%ff%fe"])
def test_malformed_or_non_utf8_escapes_are_refused(segment):
    """Attack: an escape two layers read differently (one decodes, one passes it through)."""
    assert resolve("GET", f"/tenants/{segment}/orders") is None


def test_paths_are_case_sensitive():
    """Attack: '/Tenants/...' skipping a rule written for '/tenants/...'."""
    assert resolve("GET", "/Tenants/acme/orders") is None
    assert resolve("get".upper(), "/tenants/acme/ORDERS") is None


def test_the_method_must_match():
    assert resolve("DELETE", "/tenants/acme/orders") is None


def test_a_named_route_must_be_in_the_table():
    # The event says API Gateway routed to a template the table does not list: unknown.
    assert resolve("GET", "/tenants/acme/orders", resource="/tenants/{tenant}/invoices") is None


def test_a_named_route_must_match_the_path():
    """Attack: a forged/odd event whose resource and path disagree."""
    assert resolve("GET", "/tenants/acme/orders/7", resource="/tenants/{tenant}/orders") is None


def test_a_named_route_is_used_as_named():
    match = resolve("GET", "/tenants/acme/orders/summary", resource="/tenants/{tenant}/orders/{id}")
    assert match is not None and match.action == "GET /tenants/{tenant}/orders/{id}"


def test_a_named_route_falls_back_to_any():
    match = resolve("PUT", "/files/a", resource="/files/{proxy+}")
    assert match is not None and match.action == "ANY /files/{proxy+}"


def test_websocket_and_token_events():
    table = demo_table()
    token = request("GET", "/tenants/acme/orders", kind="rest_token")
    match = table.resolve(token)
    assert match is not None and match.action == "GET /tenants/{tenant}/orders"
    from authorizers.core.request import normalize
    from tests.conftest import load_event

    assert table.resolve(normalize(load_event("websocket_connect"))) is None


def test_http_api_route_key_names_the_route():
    from authorizers.core.request import normalize
    from tests.conftest import load_event

    event = load_event("http_v2")
    event["routeArn"] = (
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/tenants/acme/orders"
    )
    event["routeKey"] = "GET /tenants/{tenant}/orders"
    match = demo_table().resolve(normalize(event))
    assert match is not None and match.params["tenant"] == "acme"
    event["routeKey"] = "$default"
    assert demo_table().resolve(normalize(event)) is not None  # resolved from the path


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ([], "empty"),
        (["GET /a", "GET /a"], "twice"),
        (["FETCH /a"], "METHOD"),
        ([3], "string"),
        (["GET /{proxy+}/x"], "last"),
        # A literal that would make "%2F"/"%2e" or a dot segment a legitimate request: the
        # cached answer's explicit Denies for them would then deny it.
        (["GET /a%2Fb"], "percent-escape"),
        (["GET /x/%2e/{id}"], "percent-escape"),
        (["GET /x/.."], "literal segment may not be"),
        (["GET /./x"], "literal segment may not be"),
    ],
)
def test_bad_tables_are_refused(routes, problem):
    with pytest.raises(RouteTableError, match=problem):
        RouteTable.parse(routes)


def test_params_of():
    assert params_of(TABLE.routes[1]) == ("tenant", "id")
    assert TABLE.params(TABLE.routes[3]) == ("proxy",)
    assert len(TABLE) == 7 and TABLE.routes[0] in TABLE
