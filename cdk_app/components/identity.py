"""The Cognito user pool that issues the tokens the JWT and policy authorizers accept.

Password policy (12+ characters, all classes), MFA (TOTP) per stage, threat protection per
feature plan, deletion protection, no self sign-up; a resource server ``gatehouse`` with
``read``/``write`` scopes; an M2M client (client credentials, with a secret) and a browser
client (authorization code with PKCE, no secret); the demo groups; the hosted domain.
Only **access** tokens carry resource-server scopes, so the authorizers are configured with
``token_use: access`` (see docs/configuration.md).
"""

from __future__ import annotations

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from cdk_app.settings import IdentitySettings

RESOURCE_SERVER: Final = "gatehouse"
SCOPES: Final = ("read", "write")
GROUPS: Final = ("admins", "readers", "tenant-acme", "tenant-globex")

_MFA: Final = {
    "off": cognito.Mfa.OFF,
    "optional": cognito.Mfa.OPTIONAL,
    "required": cognito.Mfa.REQUIRED,
}
_THREAT: Final = {
    "off": cognito.StandardThreatProtectionMode.NO_ENFORCEMENT,
    "audit": cognito.StandardThreatProtectionMode.AUDIT_ONLY,
    "enforced": cognito.StandardThreatProtectionMode.FULL_FUNCTION,
}


class Identity(Construct):
    """User pool, resource server, app clients, groups and hosted domain of one stage.

    Attributes
    ----------
    user_pool, m2m_client, browser_client, domain:
        The resources.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: IdentitySettings,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        plus = settings.feature_plan == "plus"
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            feature_plan=cognito.FeaturePlan.PLUS if plus else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=_THREAT[settings.threat_protection] if plus else None,
            mfa=_MFA[settings.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False)
            if settings.mfa != "off"
            else None,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=settings.deletion_protection,
            removal_policy=removal_policy,
        )
        scopes = {
            name: cognito.ResourceServerScope(scope_name=name, scope_description=f"{name} access")
            for name in SCOPES
        }
        server = self.user_pool.add_resource_server(
            "ResourceServer", identifier=RESOURCE_SERVER, scopes=list(scopes.values())
        )
        api_scopes = [cognito.OAuthScope.resource_server(server, s) for s in scopes.values()]
        token_validity = cdk.Duration.minutes(settings.access_token_minutes)
        self.m2m_client = self.user_pool.add_client(
            "M2MClient",
            generate_secret=True,
            prevent_user_existence_errors=True,
            access_token_validity=token_validity,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True), scopes=api_scopes
            ),
        )
        self.browser_client = self.user_pool.add_client(
            "BrowserClient",
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=token_validity,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, *api_scopes[:1]],
                callback_urls=list(settings.callback_urls) or None,
                logout_urls=list(settings.logout_urls) or None,
            ),
        )
        for group in GROUPS:
            cognito.UserPoolGroup(
                self,
                f"Group-{group}",
                user_pool=self.user_pool,
                group_name=group,
                description=f"Gatehouse demo group {group}",
            )
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=settings.domain_prefix),
        )
        self.domain_prefix = settings.domain_prefix

    @property
    def client_ids(self) -> tuple[str, ...]:
        """The app clients whose access tokens the API accepts."""
        return (self.m2m_client.user_pool_client_id, self.browser_client.user_pool_client_id)

    def login_url(self, redirect_uri: str) -> str:
        """The hosted login page of the browser client, returning to ``redirect_uri``."""
        return self.domain.sign_in_url(self.browser_client, redirect_uri=redirect_uri)
