"""Optional AWS Config managed rules for the API's posture (``monitoring.config_rules``).

Execution logging, WAF association, X-Ray and the backend client certificate (Config's
``API_GW_SSL_ENABLED``), evaluated on API Gateway stages. They need an AWS Config recorder in
the account and region (usually set up once by the organisation); they only report, never
change anything.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_config as config
from constructs import Construct

RULES: Final = {
    "ExecutionLogging": (
        config.ManagedRuleIdentifiers.API_GW_EXECUTION_LOGGING_ENABLED,
        {"loggingLevel": "ERROR,INFO"},
    ),
    "WafAssociated": (config.ManagedRuleIdentifiers.API_GW_ASSOCIATED_WITH_WAF, {}),
    "XRay": (config.ManagedRuleIdentifiers.API_GW_XRAY_ENABLED, {}),
    "BackendTls": (config.ManagedRuleIdentifiers.API_GW_SSL_ENABLED, {}),
}


class ApiConfigRules(Construct):
    """Attributes: ``rules`` (id -> rule)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.rules = {
            name: config.ManagedRule(
                self,
                name,
                identifier=identifier,
                input_parameters=parameters or None,
                rule_scope=config.RuleScope.from_resources([config.ResourceType.APIGATEWAY_STAGE]),
            )
            for name, (identifier, parameters) in RULES.items()
        }
