"""Checklist §6 step 9: what reaches the integration."""

from __future__ import annotations

from gatehouse.emulator.backend import demo_backend
from tests.unit.emulator.harness import TOKEN, Harness, body, policy


def test_principal_and_stringified_context_reach_the_backend():
    context = {"tenant": "acme", "admin": True, "level": 3, "ratio": 0.5}
    harness = Harness(handlers={"tok": lambda e: policy(principal="alice", context=context)})
    harness.request("/profile", headers={"Authorization": TOKEN})
    authorizer = harness.backend_events[0]["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "alice"
    assert authorizer["tenant"] == "acme"
    assert authorizer["admin"] == "true"
    assert authorizer["level"] == "3"
    assert authorizer["ratio"] == "0.5"
    assert isinstance(authorizer["integrationLatency"], int)


def test_cached_answers_propagate_the_same_context():
    harness = Harness(handlers={"tok": lambda e: policy(principal="bob", context={"t": "x"})})
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/admin/reports", headers={"Authorization": TOKEN})
    second = harness.backend_events[1]["requestContext"]["authorizer"]
    assert (second["principalId"], second["t"]) == ("bob", "x")


def test_open_route_has_no_authorizer_block():
    harness = Harness()
    harness.request("/health")
    assert "authorizer" not in harness.backend_events[0]["requestContext"]


def test_demo_backend_echoes_route_principal_and_context_never_headers():
    harness = Harness(handlers={"tok": lambda e: policy(principal="alice", context={"t": "x"})})
    harness.gateway.backend = demo_backend
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    echoed = body(response)
    assert echoed["route"] == "GET /profile"
    assert echoed["principalId"] == "alice"
    assert echoed["authorizer"]["t"] == "x"
    assert TOKEN not in response.get_data(as_text=True)
