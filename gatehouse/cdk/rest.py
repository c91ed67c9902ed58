"""Protections for a REST API you define: access logs, gateway responses, usage plans.

Small functions rather than a wrapper around ``RestApi``, so they apply to an API built any
way (``RestApi``, ``SpecRestApi``, ``LambdaRestApi``).

- :func:`access_log_format`: a JSON access-log line with the authorizer's outcome (status,
  latency, error), the API key id, the client certificate (serial, subject, issuer, expiry;
  never the PEM), the user agent, the integration's status and error, the WAF response code
  and the X-Ray trace id;
- :func:`add_gateway_responses`: the ``WWW-Authenticate`` challenge on every 401
  (:mod:`gatehouse.challenge`), CORS headers on the gateway's own 401/403/4XX/5XX answers
  (without them a browser sees a CORS error instead of the 401), and optionally UNAUTHORIZED
  as a 302 to a login page, for an API only browsers call (gateway responses are API-wide);
- :func:`add_usage_plans`: one usage plan per tier for the API-key authorizer, which returns
  the tenant's usage-plan key (set ``api_key_source_type=AUTHORIZER`` on the API).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from aws_cdk import aws_apigateway as apigw

from gatehouse.challenge import www_authenticate

__all__ = ["UsagePlanTier", "access_log_format", "add_gateway_responses", "add_usage_plans"]

_PERIOD: Final = {"DAY": apigw.Period.DAY, "WEEK": apigw.Period.WEEK, "MONTH": apigw.Period.MONTH}
_CORS_RESPONSES: Final = (
    apigw.ResponseType.UNAUTHORIZED,
    apigw.ResponseType.ACCESS_DENIED,
    apigw.ResponseType.DEFAULT_4_XX,
    apigw.ResponseType.DEFAULT_5_XX,
)
# A literal header value is written in single quotes and must not split the response:
# printable ASCII (RFC 9110 field values may be wider, API Gateway's quoting is not) but "'".
_UNQUOTABLE: Final = re.compile(r"[^\x20-\x26\x28-\x7e]")


def access_log_format() -> apigw.AccessLogFormat:
    """JSON access log line: the standard fields plus the authorizer's outcome.

    Example: ``deploy_options=apigw.StageOptions(access_log_destination=
    apigw.LogGroupLogDestination(group), access_log_format=access_log_format())``.
    """
    f = apigw.AccessLogField
    return apigw.AccessLogFormat.custom(
        json.dumps(
            {
                "requestId": f.context_request_id(),
                "apiId": f.context_api_id(),
                "stage": f.context_stage(),
                "extendedRequestId": f.context_extended_request_id(),
                "ip": f.context_identity_source_ip(),
                "caller": f.context_identity_caller(),
                "user": f.context_identity_user(),
                "requestTime": f.context_request_time(),
                "httpMethod": f.context_http_method(),
                "resourcePath": f.context_resource_path(),
                "status": f.context_status(),
                "protocol": f.context_protocol(),
                "responseLength": f.context_response_length(),
                "responseLatency": f.context_response_latency(),
                "principalId": f.context_authorizer_principal_id(),
                "authorizerStatus": f.context_authorizer_status(),
                "authorizerLatency": f.context_authorizer_latency(),
                "authorizerError": f.context_authorizer_error(),
                "apiKeyId": f.context_identity_api_key_id(),
                "userAgent": f.context_identity_user_agent(),
                "clientCertSerial": f.context_identity_client_cert_serial_number(),
                "clientCertSubject": f.context_identity_client_cert_subject_dn(),
                "clientCertIssuer": f.context_identity_client_cert_issuner_dn(),
                "clientCertNotAfter": f.context_identity_client_cert_validity_not_after(),
                "integrationStatus": f.context_integration_status(),
                "integrationLatency": f.context_integration_latency(),
                "integrationError": f.context_integration_error_message(),
                "wafResponseCode": f.context_waf_response_code(),
                "errorMessage": f.context_error_message(),
                "xrayTraceId": f.context_xray_trace_id(),
            }
        )
    )


def add_gateway_responses(
    api: apigw.RestApi,
    *,
    cors_allow_origins: Sequence[str] = (),
    allow_headers: Sequence[str] = ("Authorization", "Content-Type", "x-api-key"),
    login_url: str | None = None,
    challenge: str | None = None,
) -> list[apigw.GatewayResponse]:
    """The 401's challenge, CORS headers on the gateway's own error responses, and
    optionally the login 302.

    ``challenge``: the UNAUTHORIZED response's ``WWW-Authenticate`` (RFC 9110 section
    11.6.1), ``Bearer`` by default; :func:`gatehouse.challenge.api_challenge` adds ``DPoP``
    when the API's issuers accept it. One allowed origin is stated; several are echoed from
    the request's ``Origin`` (the gateway's own error bodies carry no data, and no
    credentials are allowed), with ``Vary: Origin``. ``login_url``: UNAUTHORIZED becomes a
    302 there (and has no challenge), for every route of the API: give it only to an API
    that browsers alone call, never to one API-key, mTLS or machine clients call. Returns
    the responses added. Raises ValueError for a challenge or login URL that cannot be a
    literal header value.

    Example: ``add_gateway_responses(api, cors_allow_origins=["https://app.example.com"])``.
    """
    if login_url is not None and challenge is not None:
        raise ValueError("challenge: a 302 to login_url answers UNAUTHORIZED, not a 401")
    challenge = www_authenticate() if challenge is None else challenge
    if not challenge.strip():
        raise ValueError("challenge: empty (a 401 must name how to authenticate)")
    for name, value in (("challenge", challenge), ("login_url", login_url or "")):
        if _UNQUOTABLE.search(value):
            raise ValueError(f"{name}: printable ASCII without a quote (') in a header value")
    origins = tuple(cors_allow_origins)
    headers: dict[str, str] = {}
    if origins:
        headers = {
            "Access-Control-Allow-Origin": f"'{origins[0]}'"
            if len(origins) == 1
            else "method.request.header.Origin",
            "Access-Control-Allow-Headers": f"'{','.join(allow_headers)}'",
            "Vary": "'Origin'",
        }
    added: list[apigw.GatewayResponse] = []
    for response_type in _CORS_RESPONSES:
        extra: dict[str, str] = {}
        status: str | None = None
        if response_type.response_type == "UNAUTHORIZED":
            if login_url is not None:
                status = "302"
                extra = {"Location": login_url}
            else:
                extra = {"WWW-Authenticate": challenge}
        if not headers and not extra:
            continue
        added.append(
            api.add_gateway_response(
                f"Response-{response_type.response_type}",
                type=response_type,
                status_code=status,
                response_headers={**headers, **{k: f"'{v}'" for k, v in extra.items()}},
            )
        )
    return added


@dataclass(frozen=True, slots=True)
class UsagePlanTier:
    """One usage-plan tier: API Gateway enforces it (429) before the backend is called."""

    name: str
    rate_limit: float  # steady-state requests per second
    burst_limit: int
    quota_limit: int
    quota_period: Literal["DAY", "WEEK", "MONTH"] = "DAY"


def add_usage_plans(
    api: apigw.RestApi, tiers: Sequence[UsagePlanTier], *, description: str = "Gatehouse tier"
) -> dict[str, apigw.UsagePlan]:
    """One usage plan per tier on ``api``'s deployment stage; tier name -> plan.

    ``gatehouse keys create --plan NAME`` attaches a key to one of them.
    """
    return {
        tier.name: api.add_usage_plan(
            f"UsagePlan-{tier.name}",
            name=tier.name,
            description=f"{description} {tier.name}",
            throttle=apigw.ThrottleSettings(
                rate_limit=tier.rate_limit, burst_limit=tier.burst_limit
            ),
            quota=apigw.QuotaSettings(limit=tier.quota_limit, period=_PERIOD[tier.quota_period]),
            api_stages=[apigw.UsagePlanPerApiStage(api=api, stage=api.deployment_stage)],
        )
        for tier in tiers
    }
