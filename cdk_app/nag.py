"""cdk-nag wiring, and every acknowledgement of a finding with its reason.

cdk-nag v3 packs are CDK policy-validation plugins (no longer Aspects): registered on the app,
they check every stage's stacks at synthesis, and any violation (warnings included) fails
``app.synth()`` in-process and makes ``cdk synth`` exit non-zero. A finding that is right for
this design is acknowledged on the narrowest construct with a reason, in
:func:`acknowledge_findings`, so that all exceptions to the rule packs are reviewed in one place.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def apply_nag(app: cdk.App) -> None:
    """Register the AwsSolutions and Serverless rule packs on ``app`` and acknowledge findings.

    Call once, after every stage has been created.
    """
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    acknowledge_findings(app)


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` and its descendants.

    Parameters
    ----------
    scope:
        The narrowest construct the finding is about.
    rule_id:
        ``AwsSolutions-IAM5`` or, for one granular finding, ``AwsSolutions-IAM5[Resource::*]``.
    reason:
        Why this finding is acceptable here; it is kept in the validation report.
    """
    if len(reason.strip()) < 10:
        raise ValueError(f"acknowledging {rule_id} needs a real reason, not {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def acknowledge_findings(app: cdk.App) -> None:
    """Acknowledge the findings this design accepts, each with its reason.

    None are needed yet: the stages contain only the authorizers layer, which no rule flags.
    Expected once the authorizer functions and the API arrive: ``AwsSolutions-COG4`` per
    method (Lambda authorizer by design), ``Serverless-LambdaDLQ`` (invoked synchronously by
    API Gateway) and ``AwsSolutions-IAM5[Resource::*]`` for X-Ray. Add them here via
    :func:`acknowledge`.
    """
    del app  # nothing to acknowledge yet
