"""cdk-nag wiring, and every acknowledgement of a finding with its reason.

cdk-nag v3 packs are CDK policy-validation plugins (no longer Aspects): registered on the app,
they check every stage's stacks at synthesis, and any violation (warnings included) fails
``app.synth()`` in-process and makes ``cdk synth`` exit non-zero. A finding that is right for
this design is acknowledged on the narrowest construct with a reason, in
:func:`acknowledge_findings`, so that all exceptions to the rule packs are reviewed in one place.

The acknowledgements, by construct:

- every Lambda function acknowledges its own two findings (:mod:`gatehouse.cdk._function`,
  so a team's app sees none from the public constructs): ``AwsSolutions-IAM5[Resource::*]``
  on its role (X-Ray's ``PutTraceSegments`` and ``PutTelemetryRecords`` support no resource
  scoping) and ``Serverless-LambdaDLQ`` (invoked synchronously by API Gateway);
- every Lambda-authorized method: ``AwsSolutions-COG4`` (a Lambda authorizer instead of a
  Cognito one is the product); the open health check: ``AwsSolutions-APIG4`` and ``COG4``;
- the PKI bucket: ``AwsSolutions-S1`` (see the reason);
- the alarm e-mail subscriptions: ``Serverless-SNSRedrivePolicy``;
- only when the stage's settings choose it: ``AwsSolutions-COG2`` (MFA not required) and
  ``AwsSolutions-COG8`` (Essentials feature plan, no threat protection).
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from cdk_app.components.identity import Identity
from cdk_app.stage import GatehouseStage
from gatehouse.cdk._function import acknowledge


def apply_nag(app: cdk.App) -> None:
    """Register the AwsSolutions and Serverless rule packs on ``app`` and acknowledge findings.

    Call once, after every stage has been created.
    """
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    acknowledge_findings(app)


LAMBDA_AUTHORIZER_REASON = (
    "Guarded by a Gatehouse Lambda (CUSTOM) authorizer on purpose: the product is Lambda "
    "authorizers (JWT, API key, mTLS, Cedar policy), not the Cognito user pool authorizer"
)
HEALTH_REASON = (
    "The health check is deliberately open (load balancers and uptime probes carry no "
    "credentials); it returns no data, and WAF and stage throttling still apply"
)
PKI_ACCESS_LOG_REASON = (
    "The bucket holds CRLs, which are public by nature; writes come from the CA's publishing "
    "job and reads from one authorizer role scoped to named objects. Audit object access with "
    "CloudTrail S3 data events where required; an access-log bucket would need the same "
    "exemption itself"
)
SNS_REDRIVE_REASON = (
    "E-mail subscription for alarm notifications: an undeliverable e-mail cannot be replayed "
    "from an SQS DLQ, and the alarm state stays visible in CloudWatch and on the dashboard"
)


def _methods(methods: Mapping[str, apigw.Method]) -> None:
    for route_key, method in methods.items():
        if route_key == "GET /health":
            acknowledge(method, "AwsSolutions-APIG4", HEALTH_REASON)
            acknowledge(method, "AwsSolutions-COG4", HEALTH_REASON)
        else:
            acknowledge(method, "AwsSolutions-COG4", LAMBDA_AUTHORIZER_REASON)


def acknowledge_stage(stage: GatehouseStage) -> None:
    """Acknowledge the findings this design accepts in one stage."""
    identity = stage.config.identity
    created = stage.identity.identity
    pool = created.user_pool if isinstance(created, Identity) else None
    if pool is not None and identity.mfa != "required":
        acknowledge(
            pool,
            "AwsSolutions-COG2",
            f'MFA is "{identity.mfa}" by this stage\'s settings (identity.mfa in cdk.json): a '
            "disposable stage without real users; protected stages set it to required",
        )
    if pool is not None and identity.feature_plan != "plus":
        acknowledge(
            pool,
            "AwsSolutions-COG8",
            "Essentials feature plan by this stage's settings (identity.feature_plan in cdk.json): "
            "Plus, needed for threat protection, is a paid tier chosen per stage",
        )
    acknowledge(stage.identity.pki.bucket, "AwsSolutions-S1", PKI_ACCESS_LOG_REASON)

    api = stage.api
    _methods(api.rest_api.methods)
    for child in api.monitoring.topic.node.children:
        if isinstance(child, sns.Subscription):
            acknowledge(child, "Serverless-SNSRedrivePolicy", SNS_REDRIVE_REASON)

    if stage.attach is not None:
        _methods(stage.attach.methods)


def acknowledge_findings(app: cdk.App) -> None:
    """Acknowledge the findings this design accepts in every stage of ``app``."""
    for child in app.node.children:
        if isinstance(child, GatehouseStage):
            acknowledge_stage(child)
