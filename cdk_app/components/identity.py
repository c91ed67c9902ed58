"""Who issues the tokens the JWT and policy authorizers accept: a user pool the stage creates
(:class:`Identity`, ``identity.provider: cognito``), or a pool or OIDC issuer it does not
(:class:`ExternalIdentity`, ``existing_cognito`` / ``oidc``: no resources).

The created pool: password policy (12+ characters, all classes), MFA (TOTP) per stage, threat
protection per feature plan, deletion protection, no self sign-up; a resource server
``gatehouse`` with ``read``/``write`` scopes; an M2M client (client credentials, with a secret)
and a browser client (authorization code with PKCE, no secret); the demo groups; the hosted
domain. Only **access** tokens carry resource-server scopes, so the authorizers are configured with
``token_use: access`` (see docs/configuration.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from cdk_app.config import StageConfigError
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
            # Cognito's default sender is capped at 50 mails a day: production sends with SES.
            email=cognito.UserPoolEmail.with_ses(
                from_email=settings.email_from,
                reply_to=settings.email_reply_to,
                ses_region=settings.ses_region or cdk.Stack.of(self).region,
            )
            if settings.email_from is not None
            else None,
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
    def user_pool_id(self) -> str:
        """The pool's id (a deploy-time value)."""
        return self.user_pool.user_pool_id

    @property
    def client_ids(self) -> tuple[str, ...]:
        """The app clients whose access tokens the API accepts."""
        return (self.m2m_client.user_pool_client_id, self.browser_client.user_pool_client_id)

    @property
    def jwt_issuer(self) -> None:
        """Always ``None``: the issuer entry of a created pool is built from ``user_pool_id``
        and ``client_ids`` (:class:`gatehouse.api_model.Resources`)."""
        return None


_PRIVATE_MEMBERS: Final = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
"""JWK members of private or symmetric keys (RFC 7518 sections 6.2.2, 6.3.2 and 6.4.1)."""


def read_jwks_file(path: Path, key: str) -> dict[str, object]:
    """The JWKS document in ``path`` (``identity.jwks_file``), checked for what it is shipped as.

    ``key`` is the setting's full path in cdk.json, for the messages. The document must be a
    JSON object with a non-empty ``keys`` list of objects (RFC 7517 section 5) holding public
    keys only: the document goes into the function's settings, so a private or symmetric key
    there would be readable by anyone who can read the function's configuration. Whether each
    key is usable is checked again by the authorizer at cold start (docs/configuration.md).

    Raises
    ------
    cdk_app.config.StageConfigError
        If the file is missing or unreadable, is not such a document, or holds a private key.
    """

    def refuse(problem: str) -> StageConfigError:
        return StageConfigError([f"{key}: {path} {problem}"])

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise refuse("does not exist; put the repository-relative path of a JWKS file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise refuse(f"cannot be read ({type(error).__name__})") from None
    except ValueError as error:
        raise refuse(f"is not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise refuse('is not a JWKS: put a JSON object {"keys": [<public JWK>, ...]}')
    members: list[object] = document["keys"]
    if not members:
        raise refuse('has no key: put a JSON object {"keys": [<public JWK>, ...]}')
    for index, member in enumerate(members):
        if not isinstance(member, dict):
            raise refuse(f"keys[{index}] is not a JWK object")
        private = [name for name in _PRIVATE_MEMBERS if name in member]
        if private:
            raise refuse(
                f"keys[{index}] has private or symmetric key member {private[0]!r}: publish "
                "only the public keys (the issuer's jwks_uri document)"
            )
    return {str(name): value for name, value in document.items()}


class ExternalIdentity(Construct):
    """The issuer of a stage that creates no user pool; it holds no resource.

    ``provider: existing_cognito``: a pool created elsewhere, its app clients' access tokens.
    ``provider: oidc``: any OpenID Connect issuer.

    Parameters
    ----------
    settings:
        The stage's ``identity`` block (not ``provider: cognito``).
    jwks:
        The document of ``identity.jwks_file`` (:func:`read_jwks_file`), if the stage has one.

    Attributes
    ----------
    jwt_issuer:
        The ``GATEHOUSE_JWT_ISSUERS`` entry the JWT and policy authorizers trust
        (:meth:`cdk_app.settings.IdentitySettings.jwt_issuer`): literal values, no tokens.
    user_pool_id, client_ids:
        The existing pool and its app clients (``""`` and ``()`` for OIDC).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: IdentitySettings,
        jwks: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(scope, id)
        issuer = settings.jwt_issuer(jwks)
        if issuer is None:
            raise ValueError("ExternalIdentity is for provider existing_cognito or oidc")
        self.jwt_issuer: Mapping[str, object] = issuer
        self.user_pool_id = settings.existing_pool_id or ""
        self.client_ids = settings.client_ids
