"""The four Gatehouse authorizers as CDK constructs, for REST and HTTP APIs you define.

Each construct is one Lambda function (the handler is in :class:`~gatehouse.cdk.GatehouseLayer`,
the function's own code holds only its data files) with exactly the permissions it needs, and
settings that are checked at synth time by the runtime's own readers, so a setting the function
would refuse at cold start fails ``cdk synth`` with the same message. From a construct you get:

- :meth:`~GatehouseAuthorizer.rest_authorizer`: a REST API TOKEN or REQUEST authorizer;
- :meth:`~GatehouseAuthorizer.http_authorizer`: an HTTP API Lambda authorizer (payload 2.0,
  IAM or simple responses as the function is configured).

Both refuse, at synth, a result cache that could replay one caller's Allow to another
(:mod:`gatehouse.cache_key`): a cached mTLS authorizer (the client certificate is never a cache
key), a cache key without the credential header, an HTTP API cache with no identity source, and
simple responses cached for an authorizer with route rules (a cached ``isAuthorized: true`` is
replayed on every route of the API, whatever the rules say). docs/constructs.md has a worked
example per construct.

Settings are the names and values of docs/configuration.md (``GATEHOUSE_JWT_ISSUERS`` ...):
strings as a variable holds them, numbers, booleans, or JSON lists and objects. The resources
an authorizer reads (API-key table, CRL objects, policy source) are typed parameters, so the
construct can grant exactly them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, ClassVar, Final, Literal, cast

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from gatehouse.api_model import TOKEN_VALIDATION_REGEX, AuthorizerName
from gatehouse.cache_key import (
    CacheKeyError,
    CacheKeyWords,
    check_cache_key,
    credential_header,
    session_cookie,
    simple_responses,
    token_binding,
)
from gatehouse.cdk._code import TASK_ROOT, bundled_file, function_code
from gatehouse.cdk._function import GatehouseFunction
from gatehouse.cdk._settings_file import split_environment
from gatehouse.cdk._validate import check_settings
from gatehouse.cdk.layer import GatehouseLayer, LayerRef
from gatehouse.cdk.rollout import Rollout, RolloutResources, add_rollout

if TYPE_CHECKING:
    from aws_cdk import aws_cognito as cognito

__all__ = [
    "ApiKeyAuthorizer",
    "FunctionOptions",
    "GatehouseAuthorizer",
    "JwtAuthorizer",
    "MtlsAuthorizer",
    "PolicyAuthorizer",
    "PolicySource",
    "SettingValue",
    "UnsafeAuthorizerError",
    "cognito_issuer",
    "oidc_issuer",
]

SettingValue = str | int | float | bool | Sequence[object] | Mapping[str, object]
"""One setting's value: the variable's text, a number, a boolean, or a JSON list or object."""

MAX_TTL_SECONDS: Final = 3600
"""API Gateway's limit on a Lambda authorizer's result cache (REST and HTTP APIs)."""

_REST_WORDS: Final = CacheKeyWords(
    ttl="cache_ttl of",
    identity_source="identity_sources with",
    header_prefix="method.request.header.",
)
_HTTP_WORDS: Final = CacheKeyWords(
    ttl="cache_ttl of", identity_source="identity_sources with", header_prefix="$request.header."
)
_DEFAULT_TTL: Final = cdk.Duration.minutes(5)
_CONFIG_FILE_SETTING: Final = "GATEHOUSE_CONFIG_FILE"


class UnsafeAuthorizerError(ValueError):
    """An authorizer configuration API Gateway would accept but that is unsafe or cannot
    work; the message names the construct and says what to change."""


@dataclass(frozen=True, slots=True)
class FunctionOptions:
    """Sizing and housekeeping of an authorizer's function.

    The defaults suit an authorizer: 256 MB, a 5 s timeout (upstream calls stay well inside
    it), a year of logs, resources retained. ``rollout``: publish versions behind the ``live``
    alias, shifted by CodeDeploy with rollback alarms (:mod:`gatehouse.cdk.rollout`); ``None``
    updates the function in place. ``kms_key``: a customer-managed key for the function's log
    group and environment (:func:`gatehouse.cdk.kms.stage_key` makes one); a table or bucket
    the function reads may have its own, which the construct lets it decrypt with.
    """

    memory_mb: int = 256
    timeout_seconds: int = 5
    reserved_concurrency: int | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN
    description: str | None = None
    rollout: Rollout | None = None
    kms_key: kms.IKey | None = None


def cognito_issuer(
    user_pool: cognito.IUserPool | str,
    clients: Sequence[cognito.IUserPoolClient | str],
    *,
    token_use: Literal["access", "id"] = "access",  # noqa: S107 (a claim value)
    algorithms: Sequence[str] = ("RS256",),
    **options: object,
) -> dict[str, object]:
    """One ``GATEHOUSE_JWT_ISSUERS`` entry for a Cognito user pool (a construct or its id).

    ``clients``: the app clients whose tokens the API accepts (constructs or ids); ``options``:
    any other issuer key of docs/configuration.md (``required_scopes``, ``jwks``...).
    """
    pool_id = user_pool if isinstance(user_pool, str) else user_pool.user_pool_id
    client_ids = [c if isinstance(c, str) else c.user_pool_client_id for c in clients]
    return {
        "type": "cognito",
        "user_pool_id": pool_id,
        "client_ids": client_ids,
        "token_use": token_use,
        "algorithms": list(algorithms),
        **options,
    }


def oidc_issuer(
    issuer: str,
    audiences: Sequence[str],
    *,
    algorithms: Sequence[str] = ("RS256",),
    jwks_uri: str | None = None,
    **options: object,
) -> dict[str, object]:
    """One ``GATEHOUSE_JWT_ISSUERS`` entry for any OIDC issuer (Auth0, Entra ID, Okta...).

    Without ``jwks_uri`` the keys are found by OIDC discovery; ``options``: any other issuer
    key of docs/configuration.md (``jwks`` for a preloaded set, ``required_scopes``...).
    """
    entry: dict[str, object] = {
        "type": "oidc",
        "issuer": issuer,
        "audiences": list(audiences),
        "algorithms": list(algorithms),
        **options,
    }
    if jwks_uri is not None:
        entry["jwks_uri"] = jwks_uri
    return entry


def _plain(value: object) -> object:
    """Tuples and other sequences as lists, mappings as dicts (JSON's shapes)."""
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    return value


def _setting_texts(settings: Mapping[str, object], where: str) -> dict[str, str]:
    from authorizers.core.settings_file import setting_text  # noqa: PLC0415 - lazy

    return {name: setting_text(name, _plain(value), where) for name, value in settings.items()}


class GatehouseAuthorizer(GatehouseFunction):
    """What the four authorizer constructs share (use one of them).

    Attributes
    ----------
    function, role, log_group:
        The Lambda function and its role and log group.
    environment:
        The settings as the function's variables (tokens included), before any move to its
        settings file.
    file_settings:
        The settings moved to ``/var/task/gatehouse.json`` because the environment would
        exceed Lambda's 4 KB (empty when none had to move).
    """

    kind: ClassVar[AuthorizerName]
    handler: ClassVar[str]

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer: GatehouseLayer | LayerRef,
        settings: Mapping[str, object],
        files: Sequence[Path] = (),
        function: FunctionOptions | None = None,
    ) -> None:
        options = function or FunctionOptions()
        if _CONFIG_FILE_SETTING in settings:
            raise UnsafeAuthorizerError(
                f"{scope.node.path}/{id}: {_CONFIG_FILE_SETTING} is managed by the construct "
                "(settings past Lambda's 4 KB move to gatehouse.json by themselves): pass the "
                "settings themselves"
            )
        environment = _setting_texts(settings, f"the {id} construct's settings")
        shipped = {str(TASK_ROOT / path.name): path for path in files}
        check_settings(scope, self._reader(), environment, shipped)
        path = f"{scope.node.path}/{id}"
        kept, moved = split_environment(environment, function=path)
        self.environment: dict[str, str] = environment
        self.file_settings: dict[str, str] = moved
        super().__init__(
            scope,
            id,
            handler=self.handler,
            code=function_code(files, moved),
            layers=[layer.layer],
            architecture=layer.architecture,
            memory_mb=options.memory_mb,
            timeout_seconds=options.timeout_seconds,
            reserved_concurrency=options.reserved_concurrency,
            environment=kept,
            log_retention=options.log_retention,
            removal_policy=options.removal_policy,
            description=options.description or f"Gatehouse {self.kind} authorizer",
            kms_key=options.kms_key,
        )
        #: What API Gateway invokes: the ``live`` alias with a rollout, else the function.
        self.target: lambda_.IFunction = self.function
        self.rollout: RolloutResources | None = None
        if options.rollout is not None:
            self.rollout = add_rollout(self, self.function, self.log_group, options.rollout)
            self.target = self.rollout.alias

    @classmethod
    def _reader(cls) -> Callable[[Mapping[str, str]], object]:
        raise NotImplementedError

    # --- what API Gateway sends and caches on ---------------------------------------------

    def _credential(self) -> str | None:
        """The header the credential is read from (lower case), or ``None`` (certificate)."""
        return credential_header(self.kind, self.environment)

    def _per_request(self) -> bool:
        """No identity source, no cache: the credential is a certificate, a bound token, or
        a session cookie whose CSRF proof is checked per request."""
        return (
            self._credential() is None
            or token_binding(self.kind, self.environment) is not None
            or session_cookie(self.kind, self.environment)
        )

    def _default_ttl(self) -> cdk.Duration:
        if self._per_request():
            return cdk.Duration.seconds(0)  # nothing API Gateway can key a cache on
        return _DEFAULT_TTL

    def _check_cache(
        self, *, token: bool, sources: tuple[str, ...], ttl: int, words: CacheKeyWords
    ) -> None:
        if not 0 <= ttl <= MAX_TTL_SECONDS:
            raise UnsafeAuthorizerError(
                f"{self.node.path}: cache_ttl of {ttl} s is outside API Gateway's 0 to "
                f"{MAX_TTL_SECONDS} s"
            )
        try:
            check_cache_key(
                kind=self.kind,
                function=self.node.path,
                token=token,
                identity_sources=sources,
                ttl=ttl,
                environment=self.environment,
                words=words,
            )
        except CacheKeyError as error:
            raise UnsafeAuthorizerError(f"{self.node.path}: {error}; {error.hint}") from None

    def rest_authorizer(
        self,
        scope: Construct | None = None,
        id: str = "RestAuthorizer",
        *,
        type: Literal["TOKEN", "REQUEST"] | None = None,
        identity_sources: Sequence[str] | None = None,
        cache_ttl: cdk.Duration | None = None,
        name: str | None = None,
    ) -> apigw.IAuthorizer:
        """A REST API authorizer invoking this function (create one per API).

        Defaults: a TOKEN authorizer on the credential header, with API Gateway's
        ``Bearer`` pre-check, for JWT; a REQUEST authorizer keyed on the credential header
        for API keys and policy; for mTLS (and a policy authorizer that authenticates with
        the certificate), bound tokens and a browser session cookie, a REQUEST authorizer
        with no identity source and no cache, since none of these can be a cache key. The
        cache TTL defaults to 5 minutes.

        Raises
        ------
        UnsafeAuthorizerError
            A cache that could replay one caller's Allow to another, a TTL outside 0-3600 s,
            a TOKEN authorizer for a credential that is not a bearer header, or malformed
            identity sources.
        """
        from gatehouse.attach_plan import parse_identity_source  # noqa: PLC0415 - pure

        credential = self._credential()
        # A TOKEN event carries neither a certificate, a proof nor a cookie.
        cookie = session_cookie(self.kind, self.environment)
        bound = token_binding(self.kind, self.environment) or cookie
        chosen = type or ("TOKEN" if self.kind == "jwt" and not bound else "REQUEST")
        if chosen == "TOKEN" and cookie:
            raise UnsafeAuthorizerError(
                f"{self.node.path}: reads the session cookie, which a TOKEN authorizer does not "
                "pass: use type REQUEST"
            )
        if chosen == "TOKEN" and self.kind not in ("jwt", "policy"):
            raise UnsafeAuthorizerError(
                f"{self.node.path}: a TOKEN authorizer passes only a bearer header; the "
                f"{self.kind} authorizer needs the request (type REQUEST)"
            )
        if chosen == "TOKEN" and credential is None:
            raise UnsafeAuthorizerError(
                f"{self.node.path}: authenticates with the client certificate, which a TOKEN "
                "authorizer does not pass: use type REQUEST"
            )
        if identity_sources is None:
            # A session authorizer takes a cookie or a bearer header: requiring either as an
            # identity source would turn the other away with API Gateway's own 401.
            identity_sources = (
                [f"method.request.header.{_header(credential)}"]
                if credential and not cookie
                else []
            )
        sources = tuple(identity_sources)
        if sources or chosen == "TOKEN":
            try:
                parse_identity_source(",".join(sources), token=chosen == "TOKEN")
            except ValueError as error:
                raise UnsafeAuthorizerError(f"{self.node.path}: identity_sources {error}") from None
        ttl = cache_ttl if cache_ttl is not None else self._default_ttl()
        seconds = int(ttl.to_seconds())
        self._check_cache(token=chosen == "TOKEN", sources=sources, ttl=seconds, words=_REST_WORDS)
        scope = scope or self
        authorizer_name = name or self.node.id
        if chosen == "TOKEN":
            return apigw.TokenAuthorizer(
                scope,
                id,
                authorizer_name=authorizer_name,
                handler=self.target,
                identity_source=sources[0],
                validation_regex=TOKEN_VALIDATION_REGEX if credential == "authorization" else None,
                results_cache_ttl=ttl,
            )
        authorizer = apigw.RequestAuthorizer(
            scope,
            id,
            authorizer_name=authorizer_name,
            handler=self.target,
            identity_sources=list(sources),
            results_cache_ttl=ttl,
        )
        if not sources:
            # CloudFormation takes no IdentitySource better than an empty one.
            resource = cast("apigw.CfnAuthorizer", authorizer.node.default_child)
            resource.add_property_deletion_override("IdentitySource")
        return authorizer

    def http_authorizer(
        self,
        api: apigwv2.IHttpApi,
        id: str = "HttpAuthorizer",
        *,
        scope: Construct | None = None,
        identity_sources: Sequence[str] | None = None,
        cache_ttl: cdk.Duration | None = None,
        name: str | None = None,
    ) -> apigwv2.IHttpRouteAuthorizer:
        """An HTTP API (API Gateway v2) Lambda authorizer on ``api`` invoking this function.

        Payload format 2.0; IAM policy responses, or simple ``{"isAuthorized": ...}`` ones
        when the function's ``GATEHOUSE_HTTP_RESPONSE_FORMAT`` is ``simple``. Identity
        sources default to the credential header (``$request.header.authorization``...);
        the cache TTL to 5 minutes. For the client certificate, bound tokens and a session
        cookie: no identity source and TTL 0. The invoke permission is
        scoped to this API's authorizers.

        Raises
        ------
        UnsafeAuthorizerError
            Caching with no identity source, or any cache key the REST rules refuse.
        """
        credential = self._credential()
        if identity_sources is None:
            cookie = session_cookie(self.kind, self.environment)
            identity_sources = (
                [f"$request.header.{credential}"] if credential and not cookie else []
            )
        sources = tuple(identity_sources)
        bad = [
            s for s in sources if not s.startswith(("$request.", "$context.", "$stageVariables."))
        ]
        if bad:
            raise UnsafeAuthorizerError(
                f"{self.node.path}: identity source {bad[0]!r}: expected $request.header.X, "
                "$request.querystring.X, $context.X or $stageVariables.X"
            )
        ttl = cache_ttl if cache_ttl is not None else self._default_ttl()
        seconds = int(ttl.to_seconds())
        simple = simple_responses(self.environment)
        if seconds and not sources:
            raise UnsafeAuthorizerError(
                f"{self.node.path}: an HTTP API authorizer with caching needs an identity "
                "source to key the cache on (API Gateway refuses it): give identity_sources "
                "with the credential header, or cache_ttl of 0"
            )
        self._check_cache(token=False, sources=sources, ttl=seconds, words=_HTTP_WORDS)
        scope = scope or self
        authorizer = apigwv2.HttpAuthorizer(
            scope,
            id,
            http_api=api,
            type=apigwv2.HttpAuthorizerType.LAMBDA,
            authorizer_name=name or self.node.id,
            identity_source=list(sources),
            authorizer_uri=_invocation_uri(self),
            payload_format_version=apigwv2.AuthorizerPayloadVersion.VERSION_2_0,
            enable_simple_responses=simple,
            results_cache_ttl=ttl,
        )
        stack = cdk.Stack.of(scope)
        self.target.add_permission(
            f"{cdk.Names.unique_id(authorizer)}Invoke",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=stack.format_arn(
                service="execute-api",
                resource=api.api_id,
                resource_name=f"authorizers/{authorizer.authorizer_id}",
            ),
        )
        return apigwv2.HttpAuthorizer.from_http_authorizer_attributes(
            scope,
            f"{id}Route",
            authorizer_id=authorizer.authorizer_id,
            authorizer_type="CUSTOM",
        )


def _header(name: str | None) -> str:
    """The header as API Gateway's REST identity source spells it (``Authorization``)."""
    return {"authorization": "Authorization"}.get(name or "", name or "")


def _invocation_uri(fn: GatehouseAuthorizer) -> str:
    stack = cdk.Stack.of(fn)
    return (
        f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
        f"{fn.target.function_arn}/invocations"
    )


# --- the four authorizers ---------------------------------------------------------------------


def _merge(
    where: str, settings: Mapping[str, SettingValue] | None, typed: Mapping[str, object]
) -> dict[str, object]:
    given: dict[str, object] = dict(settings or {})
    for name, value in typed.items():
        if name in given:
            raise UnsafeAuthorizerError(
                f"{where}: {name} is set both by a parameter and in settings: keep one"
            )
        given[name] = value
    return given


class JwtAuthorizer(GatehouseAuthorizer):
    """The JWT/JWKS authorizer: Cognito user pools and any OIDC issuer.

    Parameters
    ----------
    scope, id:
        Construct scope and id.
    layer:
        The :class:`~gatehouse.cdk.GatehouseLayer` (or a published one,
        :meth:`~gatehouse.cdk.GatehouseLayer.from_layer_version_arn`).
    issuers:
        The trusted issuers (:func:`cognito_issuer`, :func:`oidc_issuer`); required.
    routes:
        Route rules (``GATEHOUSE_JWT_ROUTES``): every route this authorizer guards, with
        the scopes or groups it needs.
    settings:
        Any other setting of docs/configuration.md (``GATEHOUSE_JWT_LEEWAY_SECONDS``...).
    function:
        Sizing (:class:`FunctionOptions`).

    Example
    -------
    ::

        import aws_cdk as cdk
        from aws_cdk import aws_apigateway as apigw
        from gatehouse.cdk import GatehouseLayer, JwtAuthorizer, oidc_issuer

        stack = cdk.Stack(cdk.App(), "Orders")
        jwt = JwtAuthorizer(
            stack,
            "Jwt",
            layer=GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64"),
            issuers=[oidc_issuer("https://idp.example.com/", ["orders-api"])],
            routes=[{"route": "GET /orders", "scopes": ["orders:read"]}],
        )
        api = apigw.RestApi(stack, "Api")
        api.root.add_resource("orders").add_method(
            "GET", apigw.MockIntegration(), authorizer=jwt.rest_authorizer()
        )
    """

    kind = "jwt"
    handler = "authorizers.jwt_bearer.handler.lambda_handler"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer: GatehouseLayer | LayerRef,
        issuers: Sequence[Mapping[str, object]] | None = None,
        routes: Sequence[Mapping[str, object]] | None = None,
        settings: Mapping[str, SettingValue] | None = None,
        function: FunctionOptions | None = None,
    ) -> None:
        typed: dict[str, object] = {}
        if issuers is not None:
            typed["GATEHOUSE_JWT_ISSUERS"] = list(issuers)
        if routes is not None:
            typed["GATEHOUSE_JWT_ROUTES"] = list(routes)
        super().__init__(
            scope,
            id,
            layer=layer,
            settings=_merge(f"{scope.node.path}/{id}", settings, typed),
            function=function,
        )

    @classmethod
    def _reader(cls) -> Callable[[Mapping[str, str]], object]:
        from authorizers.jwt_bearer.authorizer import JwtAuthorizer as Runtime  # noqa: PLC0415

        return lambda env: Runtime.from_environ(env, in_lambda=True, fetch=_no_network)


class ApiKeyAuthorizer(GatehouseAuthorizer):
    """The API-key authorizer: hashed keys in a DynamoDB table (``gatehouse keys``).

    Parameters
    ----------
    table:
        The keys table (the schema ``gatehouse keys`` writes); the function may only
        ``dynamodb:GetItem`` on it.
    routes:
        Route rules (``GATEHOUSE_APIKEY_ROUTES``) with the scopes each route needs.
    settings, function, layer:
        As for :class:`JwtAuthorizer`.

    Example
    -------
    ::

        import aws_cdk as cdk
        from aws_cdk import aws_dynamodb as dynamodb
        from gatehouse.cdk import ApiKeyAuthorizer, GatehouseLayer

        stack = cdk.Stack(cdk.App(), "Orders")
        table = dynamodb.Table.from_table_name(stack, "Keys", "orders-api-keys")
        keys = ApiKeyAuthorizer(
            stack,
            "ApiKeys",
            layer=GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64"),
            table=table,
            routes=[{"route": "GET /reports", "scopes": ["reports:read"]}],
        )
    """

    kind = "apikey"
    handler = "authorizers.api_key.handler.lambda_handler"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer: GatehouseLayer | LayerRef,
        table: dynamodb.ITable,
        routes: Sequence[Mapping[str, object]] | None = None,
        settings: Mapping[str, SettingValue] | None = None,
        function: FunctionOptions | None = None,
    ) -> None:
        typed: dict[str, object] = {"GATEHOUSE_APIKEY_TABLE": table.table_name}
        if routes is not None:
            typed["GATEHOUSE_APIKEY_ROUTES"] = list(routes)
        super().__init__(
            scope,
            id,
            layer=layer,
            settings=_merge(f"{scope.node.path}/{id}", settings, typed),
            function=function,
        )
        self.allow(["dynamodb:GetItem"], [table.table_arn])
        self.allow_decrypt(table.encryption_key)

    @classmethod
    def _reader(cls) -> Callable[[Mapping[str, str]], object]:
        from authorizers.api_key.config import ApiKeyConfig  # noqa: PLC0415 - lazy

        return ApiKeyConfig.from_environ


class MtlsAuthorizer(GatehouseAuthorizer):
    """The client-certificate authorizer (behind an API Gateway mTLS custom domain).

    Parameters
    ----------
    trust_anchors:
        The PEM file of CA certificates the chain must end at (the same file as the domain's
        truststore); shipped in the function's code.
    rules:
        ``GATEHOUSE_MTLS_RULES``: which certificates are admitted and how they map to a
        principal and tenant.
    crls:
        CA key id (hex) -> (bucket, object key) of its CRL; the function may only
        ``s3:GetObject`` these objects.
    settings, function, layer:
        As for :class:`JwtAuthorizer`.

    API Gateway cannot key a result cache on the client certificate, so this authorizer is
    never cached: :meth:`rest_authorizer` and :meth:`http_authorizer` refuse a TTL.

    Example
    -------
    ::

        import aws_cdk as cdk
        from aws_cdk import aws_s3 as s3
        from gatehouse.cdk import GatehouseLayer, MtlsAuthorizer

        stack = cdk.Stack(cdk.App(), "Devices")
        crls = s3.Bucket.from_bucket_name(stack, "Crls", "example-pki-crls")
        mtls = MtlsAuthorizer(
            stack,
            "Mtls",
            layer=GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64"),
            trust_anchors="pki/issuing-ca.pem",
            rules=[{"san_uri": "spiffe://example.com/device/{device}", "principal": "{device}"}],
            # Each CA's CRL, by the CA's key id (its Subject Key Identifier:
            # openssl x509 -noout -ext subjectKeyIdentifier -in pki/issuing-ca.pem).
            crls={"90:93:14:37:72:7F:66:79:DF:83:48:53:F0:55:40:A0:0A:46:BC:F0": (
                crls, "crl/issuing-ca.crl"
            )},
        )
    """

    kind = "mtls"
    handler = "authorizers.mtls.handler.lambda_handler"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer: GatehouseLayer | LayerRef,
        trust_anchors: str | Path,
        rules: Sequence[Mapping[str, object]] | None = None,
        crls: Mapping[str, tuple[s3.IBucket, str]] | None = None,
        settings: Mapping[str, SettingValue] | None = None,
        function: FunctionOptions | None = None,
    ) -> None:
        anchors = bundled_file(Path(trust_anchors), "trust anchors")
        typed: dict[str, object] = {"GATEHOUSE_MTLS_TRUST_ANCHORS": str(TASK_ROOT / anchors.name)}
        if rules is not None:
            typed["GATEHOUSE_MTLS_RULES"] = list(rules)
        if crls:
            typed["GATEHOUSE_MTLS_CRLS"] = {
                key_id: f"s3://{bucket.bucket_name}/{key}" for key_id, (bucket, key) in crls.items()
            }
        super().__init__(
            scope,
            id,
            layer=layer,
            settings=_merge(f"{scope.node.path}/{id}", settings, typed),
            files=(anchors,),
            function=function,
        )
        if crls:
            self.allow(
                ["s3:GetObject"], [bucket.arn_for_objects(key) for bucket, key in crls.values()]
            )
            for bucket, _ in crls.values():
                self.allow_decrypt(bucket.encryption_key)

    @classmethod
    def _reader(cls) -> Callable[[Mapping[str, str]], object]:
        from authorizers.mtls.config import MtlsConfig  # noqa: PLC0415 - lazy

        return MtlsConfig.from_environ


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where the policy authorizer reads its Cedar bundle (build with a class method)."""

    setting: str
    files: tuple[Path, ...] = ()
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    key: kms.IKey | None = None  # the source's own encryption key, to decrypt with

    @classmethod
    def file(cls, path: str | Path) -> PolicySource:
        """A bundle file shipped in the function's code (checked and compiled at synth)."""
        bundle = bundled_file(Path(path), "policy bundle")
        return cls(setting=str(TASK_ROOT / bundle.name), files=(bundle,))

    @classmethod
    def s3_object(cls, bucket: s3.IBucket, key: str) -> PolicySource:
        """An S3 object, refreshed at run time; the function may only ``s3:GetObject`` it."""
        return cls(
            setting=f"s3://{bucket.bucket_name}/{key}",
            actions=("s3:GetObject",),
            resources=(bucket.arn_for_objects(key),),
            key=bucket.encryption_key,
        )

    @classmethod
    def ssm_parameter(cls, parameter: ssm.IParameter) -> PolicySource:
        """An SSM parameter, refreshed at run time; the function may only read it."""
        return cls(
            setting=f"ssm:{parameter.parameter_name}",
            actions=("ssm:GetParameter",),
            resources=(parameter.parameter_arn,),
        )


class PolicyAuthorizer(GatehouseAuthorizer):
    """The policy authorizer: an authenticator (JWT, API key or mTLS), then Cedar decides.

    Parameters
    ----------
    source:
        The policy bundle (:class:`PolicySource`); a shipped file is compiled at synth, so a
        bundle the function could not load fails ``cdk synth``.
    routes:
        ``GATEHOUSE_POLICY_ROUTES``: every route the authorizer guards (``GET /orders/{id}``,
        with the API's own ``{param}`` names).
    authenticator:
        ``jwt_bearer`` (the JWT settings, e.g. ``GATEHOUSE_JWT_ISSUERS``, go in ``settings``),
        ``api_key`` (give ``table``) or ``mtls``.
    table:
        The keys table, with the ``api_key`` authenticator.
    settings, function, layer:
        As for :class:`JwtAuthorizer`.

    Example
    -------
    ::

        import aws_cdk as cdk
        from gatehouse.cdk import GatehouseLayer, PolicyAuthorizer, PolicySource, oidc_issuer

        stack = cdk.Stack(cdk.App(), "Orders")
        policy = PolicyAuthorizer(
            stack,
            "Policy",
            layer=GatehouseLayer(stack, "Gatehouse", directory="build/layer/arm64"),
            source=PolicySource.file("policies/orders.yaml"),
            routes=["GET /tenants/{tenant}/orders"],
            authenticator="jwt_bearer",
            settings={
                "GATEHOUSE_JWT_ISSUERS": [oidc_issuer("https://idp.example.com/", ["orders"])]
            },
        )
    """

    kind = "policy"
    handler = "authorizers.policy.handler.lambda_handler"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer: GatehouseLayer | LayerRef,
        source: PolicySource,
        routes: Sequence[str] | None = None,
        authenticator: Literal["jwt_bearer", "api_key", "mtls"] | None = None,
        table: dynamodb.ITable | None = None,
        settings: Mapping[str, SettingValue] | None = None,
        function: FunctionOptions | None = None,
    ) -> None:
        typed: dict[str, object] = {"GATEHOUSE_POLICY_SOURCE": source.setting}
        if authenticator is not None:
            typed["GATEHOUSE_POLICY_AUTHENTICATOR"] = authenticator
        if routes is not None:
            typed["GATEHOUSE_POLICY_ROUTES"] = list(routes)
        if table is not None:
            typed["GATEHOUSE_APIKEY_TABLE"] = table.table_name
        super().__init__(
            scope,
            id,
            layer=layer,
            settings=_merge(f"{scope.node.path}/{id}", settings, typed),
            files=source.files,
            function=function,
        )
        if source.actions:
            self.allow(source.actions, source.resources)
        self.allow_decrypt(source.key)
        if table is not None:
            self.allow(["dynamodb:GetItem"], [table.table_arn])
            self.allow_decrypt(table.encryption_key)

    @classmethod
    def _reader(cls) -> Callable[[Mapping[str, str]], object]:
        from authorizers.core.exceptions import ConfigurationError  # noqa: PLC0415 - lazy
        from authorizers.policy.authorizer import PolicyAuthorizer as Runtime  # noqa: PLC0415
        from authorizers.policy.bundle import BundleError  # noqa: PLC0415
        from authorizers.policy.engine import compile_bundle  # noqa: PLC0415

        def read(env: Mapping[str, str]) -> object:
            authorizer = Runtime.from_environ(env, in_lambda=True, load=False, fetch=_no_network)
            source = env.get("GATEHOUSE_POLICY_SOURCE", "")
            if not PurePosixPath(source).is_absolute():
                return authorizer  # s3:// or ssm: read at run time
            config = authorizer.config
            try:
                return compile_bundle(
                    Path(source).read_bytes(),
                    config.table,
                    headers=config.headers,
                    require_cacheable=config.cached,
                )
            except BundleError as error:
                raise ConfigurationError(
                    "GATEHOUSE_POLICY_SOURCE", f"the bundle {Path(source).name} is refused: {error}"
                ) from None

        return read


def _no_network(url: str) -> object:
    """Synth never fetches: a reader that would is a bug, not a configuration to accept."""
    raise RuntimeError(f"the synth-time settings check must not fetch {url}")
