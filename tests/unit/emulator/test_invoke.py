"""Checklist §6 step 4: what an invoke error means to the client."""

from __future__ import annotations

from typing import Any

from tests.unit.emulator.harness import TOKEN, Harness, body


def _raises(message: str) -> Any:
    def handler(event: dict[str, Any]) -> object:
        raise Exception(message)

    return handler


def _times_out(event: dict[str, Any]) -> object:
    raise TimeoutError


def test_error_message_exactly_unauthorized_is_401():
    harness = Harness(handlers={"tok": _raises("Unauthorized")})
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 401
    assert body(response) == {"message": "Unauthorized"}


def test_any_other_error_message_is_500_with_a_null_message():
    harness = Harness(handlers={"tok": _raises("Unauthorized: token expired")})
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 500
    assert body(response) == {"message": None}
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"


def test_timeout_is_500():
    harness = Harness(handlers={"tok": _times_out})
    response = harness.request("/profile", headers={"Authorization": TOKEN})
    assert response.status_code == 500
    assert body(response) == {"message": None}


def test_errors_are_not_cached():
    harness = Harness(handlers={"tok": _raises("boom")})
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/profile", headers={"Authorization": TOKEN})
    assert harness.calls("tok") == 2


def test_unauthorized_is_not_cached():
    harness = Harness(handlers={"tok": _raises("Unauthorized")})
    harness.request("/profile", headers={"Authorization": TOKEN})
    harness.request("/profile", headers={"Authorization": TOKEN})
    assert harness.calls("tok") == 2
