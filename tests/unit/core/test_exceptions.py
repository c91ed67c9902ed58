"""The error tree: fixed reasons, safe messages, and the exact 401 contract."""

from __future__ import annotations

import pytest

from authorizers.core.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    AuthorizerError,
    ConfigurationError,
    InvalidRequestError,
    Reason,
    Unauthorized,
    UpstreamError,
)


@pytest.mark.parametrize(
    ("error_type", "default"),
    [
        (InvalidRequestError, Reason.MALFORMED_EVENT),
        (AuthenticationError, Reason.INVALID_CLAIMS),
        (AccessDeniedError, Reason.POLICY_DENY),
        (UpstreamError, Reason.UPSTREAM_UNAVAILABLE),
    ],
)
def test_each_error_carries_a_reason_and_its_message_is_only_that_reason(error_type, default):
    # GIVEN an error raised without a reason THEN it carries its kind's default reason
    assert error_type().reason is default
    # AND a given reason is the whole message (nothing else can leak through str())
    error = error_type(Reason.EXPIRED)
    assert str(error) == "Expired"
    assert isinstance(error, AuthorizerError)


def test_configuration_error_names_the_setting_and_the_fix_but_has_a_fixed_reason():
    error = ConfigurationError("GATEHOUSE_JWT_ISSUER", "required and not set; the issuer URL")
    assert error.reason is Reason.CONFIGURATION
    assert str(error) == "GATEHOUSE_JWT_ISSUER: required and not set; the issuer URL"


def test_unauthorized_message_is_exactly_what_api_gateway_maps_to_401():
    # Any other message (even "Unauthorized: expired") makes API Gateway answer 500.
    assert str(Unauthorized()) == "Unauthorized"
    assert Unauthorized().args == ("Unauthorized",)


def test_access_denied_keeps_the_authenticated_principal():
    error = AccessDeniedError(Reason.INSUFFICIENT_SCOPE, principal_id="user-1")
    assert error.principal_id == "user-1"
    assert error.reason is Reason.INSUFFICIENT_SCOPE


def test_reasons_are_unique_metric_safe_identifiers():
    values = [reason.value for reason in Reason]
    assert len(values) == len(set(values))
    assert all(value.isalnum() and value[0].isupper() for value in values)
