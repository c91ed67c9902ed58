"""``BrowserLogin``: Gatehouse's login function and its three routes on your API.

``GET /auth/login``, ``GET /auth/callback`` and ``GET /auth/logout`` (docs/login.md): an
OpenID Connect authorization-code login with state, PKCE (S256) and nonce, ending in the
HttpOnly session cookie a :class:`~gatehouse.cdk.JwtAuthorizer` with
``GATEHOUSE_JWT_SESSION_COOKIE`` reads on the API's browser routes. The function verifies the
tokens with that authorizer's own issuer settings, copied from it, so the two cannot disagree.
The key sealing a started login is a generated Secrets Manager secret the function alone reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from gatehouse.cdk._code import function_code
from gatehouse.cdk._function import GatehouseFunction, acknowledge
from gatehouse.cdk._settings_file import split_environment
from gatehouse.cdk._validate import check_settings
from gatehouse.cdk.authorizers import (
    FunctionOptions,
    JwtAuthorizer,
    UnsafeAuthorizerError,
    _no_network,
)
from gatehouse.cdk.layer import GatehouseLayer, LayerRef

__all__ = ["LOGIN_ROUTES", "BrowserLogin"]

#: The routes the construct adds (all GET, none behind an authorizer).
LOGIN_ROUTES = ("/auth/login", "/auth/callback", "/auth/logout")

_OPEN_ROUTES_REASON = (
    "The login routes are how a browser gets a session, so they cannot require one; each "
    "refuses anything but its own step (docs/login.md)"
)
_ROTATION_REASON = (
    "The secret seals a login for at most its transaction window (10 minutes by default); "
    "replacing it ends only logins in progress, so it is rotated by redeploying, not by a "
    "rotation function"
)


class BrowserLogin(GatehouseFunction):
    """The login function, its sealing key and its routes on ``api``.

    Parameters
    ----------
    scope, id:
        Construct scope and id.
    layer:
        The Gatehouse layer.
    api:
        A REST API (``apigw.RestApi``) or an HTTP API (``apigwv2.HttpApi``). The routes are
        added with no authorizer: the API must not have a default one.
    authorizer:
        The JWT authorizer of the API's browser routes; it must read the session cookie
        (``GATEHOUSE_JWT_SESSION_COOKIE``). Its issuer settings are the function's.
    authorize_url, token_url:
        The provider's endpoints (Cognito: ``https://<domain>/oauth2/authorize`` and
        ``/oauth2/token``).
    client_id:
        The provider's public app client for the browser (no secret).
    redirect_uri:
        This API's ``/auth/callback`` URL, exactly as registered with the provider.
    allowed_origins:
        Origins a return URL may name besides a path on the API's host.
    default_return, logout_url, scopes:
        ``GATEHOUSE_LOGIN_DEFAULT_RETURN``, ``_LOGOUT_URL`` and ``_SCOPES``.
    replay_table:
        A DynamoDB table (partition key ``pk``, TTL ``expires_at``: the DPoP replay table's
        schema) making each login's state single-use across instances; the function may put
        items in it. ``None``: per instance, with the provider's single-use codes behind it.
    settings:
        Any other ``GATEHOUSE_LOGIN_*`` setting of docs/configuration.md.
    function:
        Sizing (:class:`~gatehouse.cdk.FunctionOptions`; the default timeout here is 10 s:
        the callback calls the provider and may fetch its keys). ``rollout`` is refused: the
        routes invoke the function, not an alias.

    Attributes
    ----------
    function, role, log_group:
        The Lambda function and its role and log group.
    key:
        The generated secret sealing started logins.
    environment:
        The function's settings.

    Example
    -------
    ::

        import aws_cdk as cdk
        from aws_cdk import aws_apigateway as apigw
        from gatehouse.cdk import BrowserLogin, GatehouseLayer, JwtAuthorizer, oidc_issuer

        stack = cdk.Stack(cdk.App(), "Portal")
        layer = GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64")
        jwt = JwtAuthorizer(
            stack,
            "Jwt",
            layer=layer,
            issuers=[oidc_issuer("https://idp.example.com/", ["portal"])],
            settings={"GATEHOUSE_JWT_SESSION_COOKIE": "__Host-gatehouse-session"},
        )
        api = apigw.RestApi(stack, "Api")
        BrowserLogin(
            stack,
            "Login",
            layer=layer,
            api=api,
            authorizer=jwt,
            authorize_url="https://idp.example.com/oauth2/authorize",
            token_url="https://idp.example.com/oauth2/token",
            client_id="portal-web",
            redirect_uri="https://portal.example.com/auth/callback",
        )
    """

    handler = "authorizers.login.handler.lambda_handler"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer: GatehouseLayer | LayerRef,
        api: apigw.IRestApi | apigwv2.HttpApi,
        authorizer: JwtAuthorizer,
        authorize_url: str,
        token_url: str,
        client_id: str,
        redirect_uri: str,
        allowed_origins: Sequence[str] = (),
        default_return: str = "/",
        logout_url: str | None = None,
        scopes: Sequence[str] = ("openid",),
        replay_table: dynamodb.ITable | None = None,
        settings: Mapping[str, str] | None = None,
        function: FunctionOptions | None = None,
    ) -> None:
        path = f"{scope.node.path}/{id}"
        if not cdk.Token.is_unresolved(redirect_uri) and not redirect_uri.split("?", 1)[0].endswith(
            LOGIN_ROUTES[1]
        ):
            raise UnsafeAuthorizerError(
                f"{path}: redirect_uri {redirect_uri!r} is not this API's {LOGIN_ROUTES[1]}: the "
                "provider would send the browser where no callback is served"
            )
        if not authorizer.environment.get("GATEHOUSE_JWT_SESSION_COOKIE"):
            raise UnsafeAuthorizerError(
                f"{path}: {authorizer.node.path} does not read the session cookie: give it "
                "GATEHOUSE_JWT_SESSION_COOKIE (e.g. __Host-gatehouse-session)"
            )
        options = function or FunctionOptions(timeout_seconds=10)
        if options.rollout is not None:
            raise ValueError(
                f"{path}: the login function does not roll out through CodeDeploy (its routes "
                "invoke the function itself): leave FunctionOptions.rollout unset"
            )
        login: dict[str, str] = {
            "GATEHOUSE_LOGIN_AUTHORIZE_URL": authorize_url,
            "GATEHOUSE_LOGIN_TOKEN_URL": token_url,
            "GATEHOUSE_LOGIN_CLIENT_ID": client_id,
            "GATEHOUSE_LOGIN_REDIRECT_URI": redirect_uri,
            "GATEHOUSE_LOGIN_SCOPES": ",".join(scopes),
            "GATEHOUSE_LOGIN_DEFAULT_RETURN": default_return,
        }
        if allowed_origins:
            login["GATEHOUSE_LOGIN_ALLOWED_ORIGINS"] = ",".join(allowed_origins)
        if logout_url is not None:
            login["GATEHOUSE_LOGIN_LOGOUT_URL"] = logout_url
        if replay_table is not None:
            login["GATEHOUSE_LOGIN_REPLAY_TABLE"] = replay_table.table_name
        for name, value in (settings or {}).items():
            if not name.startswith("GATEHOUSE_LOGIN_") or name in (
                *login,
                "GATEHOUSE_LOGIN_KEY_SECRET",
                "GATEHOUSE_LOGIN_REPLAY_TABLE",
            ):
                raise UnsafeAuthorizerError(
                    f"{path}: setting {name}: pass a GATEHOUSE_LOGIN_* setting the construct "
                    "does not set itself (the JWT settings come from the authorizer)"
                )
            login[name] = value
        # The authorizer's settings minus its route rules (they guard routes, not logins).
        environment = {
            **{k: v for k, v in authorizer.environment.items() if k != "GATEHOUSE_JWT_ROUTES"},
            **login,
        }
        # Checked before anything is created: a refused setting leaves no half construct.
        check_settings(
            scope, _reader, {**environment, "GATEHOUSE_LOGIN_KEY_SECRET": "placeholder"}, {}
        )
        key = secretsmanager.Secret(
            scope,
            f"{id}Key",
            description="Gatehouse login: the key sealing logins in progress",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            encryption_key=options.kms_key,
        )
        key.apply_removal_policy(options.removal_policy)
        acknowledge(key, "AwsSolutions-SMG4", _ROTATION_REASON)
        environment["GATEHOUSE_LOGIN_KEY_SECRET"] = key.secret_arn
        kept, moved = split_environment(environment, function=path)
        self.environment: dict[str, str] = environment
        super().__init__(
            scope,
            id,
            handler=self.handler,
            code=function_code([], moved),
            layers=[layer.layer],
            architecture=layer.architecture,
            memory_mb=options.memory_mb,
            timeout_seconds=options.timeout_seconds,
            reserved_concurrency=options.reserved_concurrency,
            environment=kept,
            log_retention=options.log_retention,
            removal_policy=options.removal_policy,
            description=options.description or "Gatehouse browser login",
            kms_key=options.kms_key,
        )
        self.key = key
        key.grant_read(self.role)
        if replay_table is not None:
            # The replay guard's one call: a conditional PutItem per callback.
            self.allow(["dynamodb:PutItem"], [replay_table.table_arn])
            self.allow_decrypt(replay_table.encryption_key)
        self._add_routes(api)

    def _add_routes(self, api: apigw.IRestApi | apigwv2.HttpApi) -> None:
        if isinstance(api, apigwv2.HttpApi):
            http = integrations.HttpLambdaIntegration("LoginIntegration", self.function)
            for route in LOGIN_ROUTES:
                for added in api.add_routes(
                    path=route,
                    methods=[apigwv2.HttpMethod.GET],
                    integration=http,
                    # Explicit: an API's default authorizer would otherwise guard the login.
                    authorizer=apigwv2.HttpNoneAuthorizer(),
                ):
                    acknowledge(added, "AwsSolutions-APIG4", _OPEN_ROUTES_REASON)
            return
        integration = apigw.LambdaIntegration(self.function)
        auth = api.root.get_resource("auth") or api.root.add_resource("auth")
        for route in LOGIN_ROUTES:
            method = auth.add_resource(route.rsplit("/", 1)[1]).add_method(
                "GET",
                integration,
                authorization_type=apigw.AuthorizationType.NONE,
                api_key_required=False,  # whatever the API's default method options say
            )
            acknowledge(method, "AwsSolutions-APIG4", _OPEN_ROUTES_REASON)
            acknowledge(method, "AwsSolutions-COG4", _OPEN_ROUTES_REASON)


def _reader(environment: Mapping[str, str]) -> object:
    from authorizers.login.app import LoginApp  # noqa: PLC0415 - the runtime, at synth only

    return LoginApp.from_environ(
        environment,
        in_lambda=True,
        fetch=_no_network,
        post=lambda url, form: _no_network(url),
        secret=lambda: "",
    )
