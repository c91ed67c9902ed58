"""The API stack: everything stateless that serves requests.

For now it composes only the authorizers layer. The authorizer functions, the RestApi with its
Lambda authorizers and usage plans, and the WAF web ACL arrive with the CDK issue; stateful
resources (Cognito) will live in their own stack.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from cdk_app.components.authorizers_layer import AuthorizersLayer
from cdk_app.config import StageConfig
from cdk_app.constants import ARCHITECTURES


class ApiStack(cdk.Stack):
    """Layer (and, later, authorizer functions, API and WAF) of one stage.

    Parameters
    ----------
    scope, id:
        Construct scope (a :class:`cdk_app.stage.GatehouseStage`) and id.
    config:
        The stage's settings.
    **kwargs:
        Passed to ``cdk.Stack`` (``env``, ``termination_protection``, ...).
    """

    def __init__(self, scope: Construct, id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.authorizers_layer = AuthorizersLayer(
            self,
            "AuthorizersLayer",
            architecture=ARCHITECTURES[config.architecture],
            removal_policy=_removal_policy(config),
        )


def _removal_policy(config: StageConfig) -> cdk.RemovalPolicy:
    return (
        cdk.RemovalPolicy.RETAIN if config.removal_policy == "retain" else cdk.RemovalPolicy.DESTROY
    )
