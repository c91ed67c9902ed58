"""The stage's PKI bucket: the CRLs the mTLS authorizer reads (``crl/...``).

Versioned (a bad CRL upload can be rolled back), encrypted (SSE-S3), TLS only, every kind of
public access blocked, owner-enforced object ownership (no ACLs). The issuing CA's process
publishes CRLs here; the mTLS function may read exactly the configured CRL objects.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


class PkiBucket(Construct):
    """Attributes: ``bucket``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        removal_policy: cdk.RemovalPolicy,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption=s3.BucketEncryption.KMS if kms_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=kms_key,
            bucket_key_enabled=kms_key is not None,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            auto_delete_objects=False,
        )

    def uri(self, key: str) -> str:
        """``s3://<bucket>/<key>`` (the form ``GATEHOUSE_MTLS_CRLS`` takes)."""
        return f"s3://{self.bucket.bucket_name}/{key}"
