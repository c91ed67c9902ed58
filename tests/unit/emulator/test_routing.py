"""Routing as API Gateway (REST) does it: on the raw, still percent-encoded path, and by
precedence (literal over ``{param}`` over ``{proxy+}``, a method over ``ANY``), never by the
order the routes are declared in."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder

from gatehouse.emulator.config import Route, precedence
from gatehouse.emulator.gateway import raw_path
from tests.unit.emulator.harness import PREFIX, TOKEN, Harness

TENANT_ROUTES = (
    Route("GET", "/tenants/{tenant}/orders", "req"),
    Route("GET", "/tenants/acme/orders", "tok"),
)
REQ = {"X-Token": "t-1"}


@pytest.mark.parametrize(
    ("sent", "tenant"),
    [
        ("/tenants/acme%2F..%2Fglobex/orders", "acme%2F..%2Fglobex"),
        ("/tenants/%61cme/orders", "%61cme"),
        ("/tenants/a%20b/orders", "a%20b"),
    ],
    ids=["encoded slash and dots", "encoded letter", "encoded space"],
)
def test_routes_on_the_raw_path_and_passes_it_on_encoded(sent, tenant):
    # GIVEN a {tenant} route and a literal acme route
    harness = Harness(routes=TENANT_ROUTES)
    # WHEN the path holds percent-escapes (WSGI's PATH_INFO would have them decoded)
    response = harness.request(sent, headers=REQ, query="tenant=x")
    # THEN the raw path is routed: %2F is not a separator, %61cme is not the literal acme
    assert response.status_code == 200
    (event,) = harness.events["req"]
    assert harness.events["tok"] == []
    assert event["resource"] == "/tenants/{tenant}/orders"
    # and path, pathParameters and methodArn carry the path as sent, as API Gateway's do
    assert event["path"] == sent
    assert event["pathParameters"] == {"tenant": tenant}
    assert event["methodArn"] == f"{PREFIX}/GET{sent}"
    assert event["requestContext"]["path"] == f"/dev{sent}"
    (proxied,) = harness.backend_events
    assert proxied["path"] == sent
    assert proxied["pathParameters"] == {"tenant": tenant}


def test_raw_path_comes_from_the_request_line_without_the_query():
    environ = EnvironBuilder(path="/a%2Fb/c", query_string="x=%2F").get_environ()
    assert environ["PATH_INFO"] == "/a/b/c"  # what WSGI gives: decoded
    assert raw_path(environ) == "/a%2Fb/c"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"REQUEST_URI": "/x%2Fy?q=1#f"}, "/x%2Fy"),
        ({"RAW_URI": "/x%2Fy?q=1"}, "/x%2Fy"),
        ({"REQUEST_URI": "http://h:1/x%2Fy?q=1"}, "/x%2Fy"),
        ({"REQUEST_URI": "?q"}, "/"),
        ({"PATH_INFO": "/a b/c"}, "/a%20b/c"),
        ({}, "/"),
    ],
    ids=["request uri", "gunicorn raw uri", "absolute form", "empty path", "no raw uri", "none"],
)
def test_raw_path_sources(environ, expected):
    assert raw_path(environ) == expected


def test_a_specific_route_wins_over_a_greedy_proxy_declared_first():
    # GIVEN an open ANY /{proxy+} declared before GET /admin/reports (TOKEN authorizer)
    routes = (Route("ANY", "/{proxy+}", None), Route("GET", "/admin/reports", "tok"))
    harness = Harness(routes=routes)
    # WHEN /admin/reports is called without a token THEN its authorizer answers, not the proxy
    assert harness.request("/admin/reports").status_code == 401
    # and with one trailing / too (REST APIs ignore it when routing)
    assert harness.request("/admin/reports/").status_code == 401
    assert harness.backend_events == []
    response = harness.request("/admin/reports", headers={"Authorization": TOKEN})
    assert response.status_code == 200
    assert harness.backend_events[-1]["resource"] == "/admin/reports"
    # AND other paths and methods still reach the proxy
    assert harness.request("/other/thing").status_code == 200
    assert harness.backend_events[-1]["pathParameters"] == {"proxy": "other/thing"}
    assert harness.request("/admin/reports", method="POST").status_code == 200
    assert harness.backend_events[-1]["resource"] == "/{proxy+}"


def test_a_parameter_wins_over_a_greedy_segment_and_a_literal_over_a_parameter():
    routes = (
        Route("GET", "/pets/{proxy+}", None),
        Route("GET", "/pets/{id}", "req"),
        Route("GET", "/pets/mine", "tok"),
    )
    harness = Harness(routes=routes)
    assert harness.request("/pets/mine").status_code == 401  # tok: no Authorization
    assert harness.request("/pets/42").status_code == 401  # req: cached, no X-Token
    assert harness.request("/pets/42/photos").status_code == 200
    assert harness.backend_events[-1]["resource"] == "/pets/{proxy+}"


def test_a_method_wins_over_any_on_the_same_path():
    routes = (Route("ANY", "/orders", None), Route("GET", "/orders", "tok"))
    harness = Harness(routes=routes)
    assert harness.request("/orders").status_code == 401
    assert harness.request("/orders", method="DELETE").status_code == 200


def test_precedence_key_orders_segment_kinds_left_to_right():
    ordered = [
        ("GET", "/a/b"),
        ("ANY", "/a/b"),
        ("GET", "/a/{x}"),
        ("GET", "/a/{proxy+}"),
        ("GET", "/{x}/b"),
        ("GET", "/{proxy+}"),
    ]
    assert sorted(ordered, key=lambda r: precedence(*r)) == ordered
