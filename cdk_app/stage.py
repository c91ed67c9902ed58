"""One deployment stage (one AWS environment): every Gatehouse stack, configured by StageConfig."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.stacks.api_stack import ApiStack
from cdk_app.stacks.attach_stack import AttachStack
from cdk_app.stacks.identity_stack import IdentityStack


class GatehouseStage(cdk.Stage):
    """The stacks of one environment; its construct id is the stage name (``cdk deploy "dev/*"``).

    ``<stage>/Identity`` (stateful: Cognito, API-key table, PKI bucket), ``<stage>/Api`` (the
    layer, authorizers, API, WAF, monitoring) and, when the stage has an ``attach`` block,
    ``<stage>/Attach`` (authorizers on an existing API).

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
        self.identity = IdentityStack(
            self,
            "Identity",
            config=config,
            description=f"Gatehouse identity, API keys and PKI bucket ({config.name})",
            termination_protection=config.termination_protection,
        )
        self.api = ApiStack(
            self,
            "Api",
            config=config,
            state=self.identity,
            description=f"Gatehouse API and Lambda authorizers ({config.name})",
            termination_protection=config.termination_protection,
        )
        self.attach: AttachStack | None = None
        if config.attach is not None:
            self.attach = AttachStack(
                self,
                "Attach",
                config=config,
                attach=config.attach,
                state=self.identity,
                description=f"Gatehouse authorizers on an existing API ({config.name})",
                termination_protection=config.termination_protection,
            )

    @property
    def stacks(self) -> list[cdk.Stack]:
        """Every stack of the stage."""
        return [s for s in (self.identity, self.api, self.attach) if s is not None]
