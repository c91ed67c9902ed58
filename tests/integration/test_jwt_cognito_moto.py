"""A real Cognito flow against moto: pool, client, group, user, tokens from ``initiate_auth``,
verified through the JWT authorizer with keys fetched over HTTP from a moto server on loopback.

moto's tokens carry the real Cognito issuer URL (``https://cognito-idp.<region>...``), so the
configuration points only the *JWKS URI* at the local server (local mode); the issuer check is
not weakened.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from authorizers.core.exceptions import Unauthorized
from authorizers.core.pipeline import ColdStart, handle
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from tests.conftest import load_event

pytestmark = pytest.mark.enable_socket  # loopback only: the moto server binds 127.0.0.1
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cognito(moto_url: str) -> dict[str, Any]:
    client = boto3.client(
        "cognito-idp",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pool = client.create_user_pool(PoolName="gatehouse-test")["UserPool"]["Id"]
    app = client.create_user_pool_client(
        UserPoolId=pool,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    client.create_group(GroupName="admins", UserPoolId=pool)
    client.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
    client.admin_set_user_password(
        UserPoolId=pool, Username="alice", Password="Correct-Horse-9!", Permanent=True
    )
    client.admin_add_user_to_group(UserPoolId=pool, Username="alice", GroupName="admins")
    auth = client.initiate_auth(
        ClientId=app,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Correct-Horse-9!"},
    )["AuthenticationResult"]
    return {"pool": pool, "client": app, "access": auth["AccessToken"], "id": auth["IdToken"]}


def _authorizer(moto_url: str, cognito: dict[str, Any], **issuer: Any) -> ColdStart[Any]:
    config = {
        "type": "cognito",
        "user_pool_id": cognito["pool"],
        "client_ids": [cognito["client"]],
        "token_use": "access",
        "algorithms": ["RS256"],
        "jwks_uri": f"{moto_url}/{cognito['pool']}/.well-known/jwks.json",
        **issuer,
    }
    environ = {
        "GATEHOUSE_JWT_ISSUERS": json.dumps([config]),
        "GATEHOUSE_JWT_ALLOW_LOOPBACK_HTTP": "true",
        "GATEHOUSE_JWT_CONTEXT_CLAIMS": "sub,username,groups,token_use",
        "GATEHOUSE_TRACING": "false",
    }
    return ColdStart("jwt", lambda: JwtAuthorizer.from_environ(environ, in_lambda=False))


def _event(token: str) -> dict[str, Any]:
    event = load_event("rest_token")
    event["authorizationToken"] = f"Bearer {token}"
    return event


def test_cognito_access_token_from_initiate_auth_is_allowed(moto_url, cognito):
    response = handle(_event(cognito["access"]), _authorizer(moto_url, cognito))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert response["context"]["username"] == "alice"
    assert response["context"]["groups"] == "admins"
    assert response["context"]["token_use"] == "access"


def test_id_token_presented_as_access_token_is_401(moto_url, cognito):
    # Row 19: token-type confusion.
    with pytest.raises(Unauthorized):
        handle(_event(cognito["id"]), _authorizer(moto_url, cognito))


def test_id_tokens_verify_when_configured_for_them(moto_url, cognito):
    response = handle(_event(cognito["id"]), _authorizer(moto_url, cognito, token_use="id"))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_another_app_client_is_401(moto_url, cognito):
    # Row 18: audience replay across app clients.
    cold = _authorizer(moto_url, cognito, client_ids=["some-other-client"])
    with pytest.raises(Unauthorized):
        handle(_event(cognito["access"]), cold)


def test_group_requirement_is_enforced_as_deny(moto_url, cognito):
    cold = _authorizer(moto_url, cognito, required_groups=["auditors"])
    response = handle(_event(cognito["access"]), cold)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert response["context"]["reason"] == "NotInGroup"
