"""One deployment stage (one AWS environment): every Gatehouse stack, configured by StageConfig."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.stacks.api_stack import ApiStack


class GatehouseStage(cdk.Stage):
    """The stacks of one environment; its construct id is the stage name (``cdk deploy "dev/*"``).

    Parameters
    ----------
    scope:
        The app.
    config:
        The stage's validated settings. The environment is explicit (account and region) when the
        config names an account, and region-only (account from the CLI credentials) otherwise.
    """

    def __init__(self, scope: Construct, *, config: StageConfig) -> None:
        super().__init__(
            scope,
            config.name,
            env=cdk.Environment(account=config.account, region=config.region),
        )
        self.config = config
        self.api = ApiStack(
            self,
            "Api",
            config=config,
            description=f"Gatehouse API and Lambda authorizers ({config.name})",
            termination_protection=config.termination_protection,
        )
