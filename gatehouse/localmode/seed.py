"""Seed a fresh moto server with everything the demo API needs.

- Cognito: a user pool, an app client (USER_PASSWORD_AUTH), groups, and the demo users alice
  (``admins``, ``tenant-acme``), bob (``readers``, ``tenant-acme``) and carol (``readers``,
  ``tenant-globex``), each with an access token from ``initiate_auth``;
- API Gateway: the REST API (``apiKeySource = AUTHORIZER``) and the stage's usage plans;
- DynamoDB: the API key table, with one key per demo tenant, issued through the same code as
  ``gatehouse keys create`` (tenant key on the plan, hashed record);
- S3: the CRL of the local CA, and the policy bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from authorizers.api_key.keys import Environment, generate
from authorizers.api_key.record import PARTITION_KEY, KeyRecord, KeyStatus
from gatehouse.api_model import UsagePlanModel
from gatehouse.keystore import KeyTable
from gatehouse.localmode.pki import LocalPki
from gatehouse.usage_plans import attach, ensure_tenant_key, find_usage_plan

DEMO_PASSWORD: Final = "Gatehouse-Local-1!"  # noqa: S105 - a local demo user's password
USERS: Final[Mapping[str, tuple[str, ...]]] = {
    "alice": ("admins", "tenant-acme"),
    "bob": ("readers", "tenant-acme"),
    "carol": ("readers", "tenant-globex"),
}
#: tenant -> (usage plan index in the stage's plans, scopes)
API_KEY_TENANTS: Final[Mapping[str, tuple[int, frozenset[str]]]] = {
    "acme": (0, frozenset({"reports:read"})),
    "globex": (1, frozenset({"reports:read", "reports:write"})),
}
TABLE: Final = "gatehouse-local-api-keys"
PKI_BUCKET: Final = "gatehouse-local-pki"
POLICY_BUCKET: Final = "gatehouse-local-policies"
CRL_KEY: Final = "crl/local-ca.crl"
POLICY_KEY: Final = "demo.yaml"


@dataclass(frozen=True, slots=True)
class DemoKey:
    tenant: str
    plan: str
    scopes: frozenset[str]
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Seeded:
    """What was created, for the model's :class:`Resources` and the walkthrough."""

    user_pool_id: str
    client_id: str
    tokens: Mapping[str, str] = field(repr=False)
    api_id: str = ""
    table: str = TABLE
    keys: Mapping[str, DemoKey] = field(default_factory=dict, repr=False)
    crl_uri: str = ""
    policy_uri: str = ""
    policy_seeded: bool = False


Clients = Callable[[str], Any]


def seed_cognito(cognito: Any) -> tuple[str, str, dict[str, str]]:
    """User pool, app client, groups, users; returns pool id, client id and access tokens."""
    pool = cognito.create_user_pool(PoolName="gatehouse-local")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="gatehouse-local-web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for group in sorted({g for groups in USERS.values() for g in groups}):
        cognito.create_group(GroupName=group, UserPoolId=pool)
    tokens: dict[str, str] = {}
    for user, groups in USERS.items():
        cognito.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool, Username=user, Password=DEMO_PASSWORD, Permanent=True
        )
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
        auth = cognito.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": DEMO_PASSWORD},
        )["AuthenticationResult"]
        tokens[user] = auth["AccessToken"]
    return pool, client, tokens


def seed_api(apigateway: Any, *, stage: str, plans: tuple[UsagePlanModel, ...]) -> str:
    """The REST API (``apiKeySource = AUTHORIZER``) and the stage's usage plans."""
    api_id = str(
        apigateway.create_rest_api(
            name="gatehouse-demo",
            apiKeySource="AUTHORIZER",
            endpointConfiguration={"types": ["REGIONAL"]},
        )["id"]
    )
    for plan in plans:
        apigateway.create_usage_plan(
            name=plan.name,
            apiStages=[{"apiId": api_id, "stage": stage}],
            throttle={"rateLimit": float(plan.rate_limit), "burstLimit": plan.burst_limit},
            quota={"limit": plan.quota_limit, "period": plan.quota_period},
        )
    return api_id


def seed_keys(
    apigateway: Any,
    dynamodb: Any,
    *,
    api_id: str,
    stage: str,
    plans: tuple[UsagePlanModel, ...],
    now: int,
) -> dict[str, DemoKey]:
    """The key table and one key per demo tenant, the way ``gatehouse keys create`` does it."""
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = KeyTable(dynamodb, TABLE)
    keys: dict[str, DemoKey] = {}
    for tenant, (plan_index, scopes) in API_KEY_TENANTS.items():
        plan = plans[min(plan_index, len(plans) - 1)].name
        plan_id = find_usage_plan(apigateway, name=plan, api_id=api_id, stage=stage)
        tenant_key = ensure_tenant_key(apigateway, tenant)
        attach(apigateway, plan_id=plan_id, key=tenant_key)
        issued = generate(Environment.LIVE)
        table.put_new(
            KeyRecord(
                key_hash=issued.key_hash,
                key_id=issued.key_id,
                tenant=tenant,
                status=KeyStatus.ACTIVE.value,
                scopes=scopes,
                created_at=now,
                expires_at=None,
                usage_plan=plan,
                usage_identifier_key=tenant_key.value,
            )
        )
        keys[tenant] = DemoKey(tenant=tenant, plan=plan, scopes=scopes, secret=issued.secret)
    return keys


def _bucket(s3: Any, name: str, region: str) -> None:
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def seed_objects(
    s3: Any, *, region: str, pki: LocalPki, policy_bundle: Path
) -> tuple[str, str, bool]:
    """The CRL and the policy bundle in S3; returns their URIs and whether the bundle exists."""
    _bucket(s3, PKI_BUCKET, region)
    s3.put_object(Bucket=PKI_BUCKET, Key=CRL_KEY, Body=pki.crl_der)
    _bucket(s3, POLICY_BUCKET, region)
    seeded = policy_bundle.is_file()
    if seeded:
        s3.put_object(Bucket=POLICY_BUCKET, Key=POLICY_KEY, Body=policy_bundle.read_bytes())
    return f"s3://{PKI_BUCKET}/{CRL_KEY}", f"s3://{POLICY_BUCKET}/{POLICY_KEY}", seeded


def seed_all(
    clients: Clients,
    *,
    region: str,
    stage: str,
    plans: tuple[UsagePlanModel, ...],
    pki: LocalPki,
    policy_bundle: Path,
    now: int,
) -> Seeded:
    pool, client, tokens = seed_cognito(clients("cognito-idp"))
    apigateway = clients("apigateway")
    api_id = seed_api(apigateway, stage=stage, plans=plans)
    keys = seed_keys(
        apigateway, clients("dynamodb"), api_id=api_id, stage=stage, plans=plans, now=now
    )
    crl_uri, policy_uri, policy_seeded = seed_objects(
        clients("s3"), region=region, pki=pki, policy_bundle=policy_bundle
    )
    return Seeded(
        user_pool_id=pool,
        client_id=client,
        tokens=tokens,
        api_id=api_id,
        keys=keys,
        crl_uri=crl_uri,
        policy_uri=policy_uri,
        policy_seeded=policy_seeded,
    )
