"""The stateful stack: Cognito per stage, the API-key table schema, the PKI bucket."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from authorizers.api_key.record import PARTITION_KEY
from cdk_app.components.identity import GROUPS, RESOURCE_SERVER
from tests.cdk.conftest import STAGES, Synthesized, resources_of, template_of

pytestmark = pytest.mark.cdk


@pytest.mark.parametrize("name", list(STAGES))
def test_user_pool_follows_the_stage_settings(name: str, repo: Synthesized) -> None:
    identity = STAGES[name]["identity"]
    template = template_of(repo, repo.stages[name].identity)
    (pool,) = resources_of(template, "AWS::Cognito::UserPool")

    assert (
        pool["MfaConfiguration"]
        == {"required": "ON", "optional": "OPTIONAL", "off": "OFF"}[identity["mfa"]]
    )
    assert pool["UserPoolTier"] == identity["feature_plan"].upper()
    assert pool["DeletionProtection"] == (
        "ACTIVE" if identity["deletion_protection"] else "INACTIVE"
    )
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(
        password[k]
        for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    if identity["threat_protection"] == "enforced":
        assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    else:
        assert pool.get("UserPoolAddOns", {}).get("AdvancedSecurityMode") in (None, "OFF")


def test_prod_user_pool_is_retained(repo: Synthesized) -> None:
    template = template_of(repo, repo.stages["prod"].identity)
    template.has_resource("AWS::Cognito::UserPool", {"DeletionPolicy": "Retain"})


@pytest.mark.parametrize("name", list(STAGES))
def test_the_pool_mails_through_ses_where_the_stage_names_a_sender(
    name: str, repo: Synthesized
) -> None:
    # Cognito's default sender is limited to 50 mails a day and its own address.
    (pool,) = resources_of(template_of(repo, repo.stages[name].identity), "AWS::Cognito::UserPool")
    identity = STAGES[name]["identity"]
    if "email_from" not in identity:
        assert "EmailConfiguration" not in pool
        return
    email = pool["EmailConfiguration"]
    assert email["EmailSendingAccount"] == "DEVELOPER"
    assert email["From"] == identity["email_from"]
    assert email["ReplyToEmailAddress"] == identity["email_reply_to"]
    assert "arn:" in json.dumps(email["SourceArn"]) and ":ses:" in json.dumps(email["SourceArn"])


@pytest.mark.parametrize("name", list(STAGES))
def test_clients_resource_server_groups_and_domain(name: str, repo: Synthesized) -> None:
    template = template_of(repo, repo.stages[name].identity)

    template.has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "Identifier": RESOURCE_SERVER,
            "Scopes": [
                Match.object_like({"ScopeName": "read"}),
                Match.object_like({"ScopeName": "write"}),
            ],
        },
    )
    clients = resources_of(template, "AWS::Cognito::UserPoolClient")
    assert len(clients) == 2
    (m2m,) = [c for c in clients if c.get("GenerateSecret")]
    (browser,) = [c for c in clients if not c.get("GenerateSecret")]
    assert m2m["AllowedOAuthFlows"] == ["client_credentials"]
    assert browser["AllowedOAuthFlows"] == ["code"]
    assert browser["CallbackURLs"] == STAGES[name]["identity"]["callback_urls"]
    assert "implicit" not in browser["AllowedOAuthFlows"]
    groups = {g["GroupName"] for g in resources_of(template, "AWS::Cognito::UserPoolGroup")}
    assert groups == set(GROUPS) >= {"admins", "readers", "tenant-acme", "tenant-globex"}
    template.has_resource_properties(
        "AWS::Cognito::UserPoolDomain", {"Domain": STAGES[name]["identity"]["domain_prefix"]}
    )


@pytest.mark.parametrize("name", list(STAGES))
def test_api_keys_table_matches_the_authorizer_schema(name: str, repo: Synthesized) -> None:
    template = template_of(repo, repo.stages[name].identity)
    (table,) = resources_of(template, "AWS::DynamoDB::GlobalTable")
    assert table["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "key_hash", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    (replica,) = table["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert replica["DeletionProtectionEnabled"] is STAGES[name]["identity"]["deletion_protection"]


@pytest.mark.parametrize("name", list(STAGES))
def test_pki_bucket_is_versioned_encrypted_private_and_tls_only(
    name: str, repo: Synthesized
) -> None:
    template = template_of(repo, repo.stages[name].identity)
    # S3-managed keys, or the stage's own KMS key (kms_key: prod)
    by_default = (
        {"SSEAlgorithm": "AES256"}
        if "kms_key" not in STAGES[name]
        else {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": Match.any_value()}
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"ServerSideEncryptionByDefault": by_default})
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize("name", list(STAGES))
def test_stateful_resources_follow_the_removal_policy(name: str, repo: Synthesized) -> None:
    policy = "Retain" if STAGES[name]["removal_policy"] == "retain" else "Delete"
    template = template_of(repo, repo.stages[name].identity)
    for type_ in ("AWS::Cognito::UserPool", "AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket"):
        template.has_resource(type_, {"DeletionPolicy": policy, "UpdateReplacePolicy": policy})
