"""The optional mTLS custom domain: API Gateway checks client certificates against a truststore.

The truststore is the stage's trust anchors PEM (the same file bundled with the mTLS
authorizer), shipped as a CDK file asset: S3 in the bootstrap bucket (versioned, encrypted,
TLS-only, private), content-addressed, so a changed PEM gets a new key and CloudFormation
updates the domain's truststore. No Docker and no custom-resource Lambda are needed to put it
in S3. The REST API's default ``execute-api`` endpoint is disabled when this domain exists, so
no client can go around the certificate check.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct


class MtlsDomain(Construct):
    """Attributes: ``domain``, ``truststore`` (the asset)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        certificate_arn: str,
        truststore_file: Path,
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, id)
        self.truststore = s3_assets.Asset(self, "Truststore", path=str(truststore_file))
        self.domain = apigw.DomainName(
            self,
            "Domain",
            domain_name=domain_name,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
            mtls=apigw.MTLSConfig(bucket=self.truststore.bucket, key=self.truststore.s3_object_key),
        )
        self.domain.add_base_path_mapping(api, stage=api.deployment_stage)
