"""What a synthesized template asks local mode to serve: its REST and HTTP APIs, the Lambda
functions behind them, and the tables, buckets and usage plans they use (docs/local.md,
"Your own API: --template").

:func:`read_app` turns a :class:`~gatehouse.localmode.cfn.LoadedTemplate` into a
:class:`TemplateApp`, or refuses with a :class:`~gatehouse.localmode.cfn.TemplateError` that
names the resource local mode cannot emulate. Physical names are chosen here, deterministic
per stack and logical id, so that a function's environment (``Ref`` to its table) resolves
before anything starts.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gatehouse.api_model import AUTHORIZER_HANDLERS
from gatehouse.emulator.config import AuthorizerSpec, IdentitySource, Route
from gatehouse.emulator.http_api import HttpAuthorizerSpec, HttpRoute, Integration
from gatehouse.emulator.responses import RESPONSE_TYPES, CustomResponse
from gatehouse.localmode.cfn import LoadedTemplate, Resolver, TemplateError, Unresolvable

GATEHOUSE_HANDLERS: Final = frozenset(AUTHORIZER_HANDLERS.values())

#: Present, not emulated, and worth saying so at start.
_NOT_EMULATED: Final = re.compile(
    r"AWS::WAFv2::.*|AWS::ApiGateway::(DomainName|BasePathMapping)|"
    r"AWS::ApiGatewayV2::(DomainName|ApiMapping)"
)
_REST_KINDS: Final = frozenset({"TOKEN", "REQUEST"})
_DEFAULT_FUNCTION_TIMEOUT: Final = 3.0


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A Lambda function local mode runs in a worker."""

    logical_id: str
    name: str
    handler: str
    runtime: str
    environment: Mapping[str, str] = field(repr=False)
    code_dir: Path | None = None
    inline_code: str | None = field(default=None, repr=False)
    layers: tuple[Path, ...] = ()
    timeout_seconds: float = _DEFAULT_FUNCTION_TIMEOUT

    @property
    def gatehouse(self) -> bool:
        return self.handler in GATEHOUSE_HANDLERS


@dataclass(frozen=True, slots=True)
class TableSpec:
    logical_id: str
    name: str
    key_schema: tuple[Mapping[str, str], ...]
    attributes: tuple[Mapping[str, str], ...]


@dataclass(frozen=True, slots=True)
class UsagePlanSpec:
    logical_id: str
    name: str
    api: str
    stage: str
    throttle: Mapping[str, Any]
    quota: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RestApiSpec:
    """A REST API stage: routes with their backend function (``None``: an HTTP proxy stub)."""

    logical_id: str
    api_id: str
    name: str
    stage: str
    routes: tuple[Route, ...]
    backends: Mapping[tuple[str, str], str | None]
    authorizers: Mapping[str, AuthorizerSpec]
    authorizer_functions: Mapping[str, str]
    api_key_source: str = "HEADER"
    method_throttle: tuple[float, int] | None = None
    method_throttles: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    resource_policy: Mapping[str, Any] | None = None
    gateway_responses: Mapping[str, CustomResponse] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HttpApiSpec:
    logical_id: str
    api_id: str
    name: str
    stage: str
    routes: tuple[HttpRoute, ...]
    authorizers: Mapping[str, HttpAuthorizerSpec]
    authorizer_functions: Mapping[str, str]
    throttle: tuple[float, int] | None = None
    stage_variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TemplateApp:
    """Everything local mode starts for one stack."""

    stack_name: str
    region: str
    account: str
    rest_apis: tuple[RestApiSpec, ...]
    http_apis: tuple[HttpApiSpec, ...]
    functions: Mapping[str, FunctionSpec]
    tables: tuple[TableSpec, ...]
    buckets: Mapping[str, str]
    usage_plans: tuple[UsagePlanSpec, ...]
    #: Resource types present but not emulated (WAF, custom domains...), with their counts.
    not_emulated: Mapping[str, int]


def local_id(stack: str, logical_id: str) -> str:
    """A 10-character API id (``[a-z0-9]``, as API Gateway's), stable per stack and resource."""
    digest = hashlib.sha256(f"{stack}/{logical_id}".encode()).hexdigest()
    return digest[:10]


def read_app(template: LoadedTemplate, *, region: str, account: str) -> TemplateApp:
    """What ``template`` serves, or :class:`TemplateError` naming what cannot be emulated."""
    return _Reader(template, region, account).read()


class _Reader:
    def __init__(
        self,
        template: LoadedTemplate,
        region: str,
        account: str,
        readers: dict[str, _Reader] | None = None,
    ) -> None:
        self.template = template
        self.resources = template.resources
        self.stack = template.stack_name
        self.resolver = Resolver(template, region=region, account=account)
        self.region = region
        self.account = account
        # The stacks it depends on (a stage's other stacks): their outputs answer its
        # Fn::GetStackOutput, and their tables and buckets are made with it.
        #: Every stack read for this one, by name: a stack two others depend on is read once.
        self.readers = readers if readers is not None else {}
        self.readers[self.stack] = self
        self.dependencies = {
            name: self.readers.get(name) or _Reader(dependency, region, account, self.readers)
            for name, dependency in template.dependencies.items()
        }
        self.resolver.stacks.update({n: r.resolver for n, r in self.dependencies.items()})
        self._name_everything()

    # -- physical names -------------------------------------------------------------------------

    def _name_everything(self) -> None:
        refs, attributes = self.resolver.refs, self.resolver.attributes
        for logical, resource in self.resources.items():
            kind = resource["Type"]
            properties = resource.get("Properties") or {}
            if kind in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
                api_id = local_id(self.stack, logical)
                refs[logical] = api_id
                attributes[logical, "RootResourceId"] = f"{logical}/"
                attributes[logical, "ApiId"] = api_id
                attributes[logical, "ApiEndpoint"] = f"http://{api_id}.localhost"
            elif kind == "AWS::Lambda::Function":
                name = self._given(properties.get("FunctionName")) or f"{self.stack}-{logical}"
                refs[logical] = name
                attributes[logical, "Arn"] = (
                    f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
                )
            elif kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
                name = self._given(properties.get("TableName")) or f"{self.stack}-{logical}"
                refs[logical] = name
                arn = f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
                attributes[logical, "Arn"] = arn
                attributes[logical, "StreamArn"] = f"{arn}/stream/local"
            elif kind == "AWS::S3::Bucket":
                name = (
                    self._given(properties.get("BucketName"))
                    or (f"{self.stack}-{logical}".lower()[:63])
                )
                refs[logical] = name
                attributes[logical, "Arn"] = f"arn:aws:s3:::{name}"
                attributes[logical, "DomainName"] = f"{name}.s3.amazonaws.com"
                attributes[logical, "RegionalDomainName"] = f"{name}.s3.{self.region}.amazonaws.com"
            elif kind == "AWS::Cognito::UserPool":
                # The shape of a pool id (REGION_ID): an issuer URL built from it is one
                # --issuer-jwks can name.
                pool = f"{self.region}_{local_id(self.stack, logical)}"
                refs[logical] = pool
                attributes[logical, "Arn"] = (
                    f"arn:aws:cognito-idp:{self.region}:{self.account}:userpool/{pool}"
                )
                attributes[logical, "ProviderURL"] = (
                    f"cognito-idp.{self.region}.amazonaws.com/{pool}"
                )
            elif kind == "AWS::Cognito::UserPoolClient":
                refs[logical] = local_id(self.stack, logical)
            elif kind == "AWS::ApiGateway::Resource":
                refs[logical] = logical
            elif kind in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
                refs[logical] = str(properties.get("StageName", logical))
            else:
                refs.setdefault(logical, logical)
        for logical, properties in self._of_type("AWS::Lambda::Alias"):
            # After every function has its name: Ref is the alias's qualified ARN.
            function = str(self._value(logical, properties.get("FunctionName"), "FunctionName"))
            if not function.startswith("arn:"):
                function = f"arn:aws:lambda:{self.region}:{self.account}:function:{function}"
            refs[logical] = f"{function}:{self._value(logical, properties.get('Name'), 'Name')}"

    def _given(self, value: Any) -> str | None:
        if value is None:
            return None
        try:
            return self.resolver.text(value, "a name")
        except Unresolvable:
            return None

    # -- helpers ----------------------------------------------------------------------------------

    def _fail(self, logical: str, message: str, hint: str) -> TemplateError:
        kind = self.resources.get(logical, {}).get("Type", "?")
        return TemplateError(f"{logical} ({kind}): {message}", hint)

    def _value(self, logical: str, value: Any, what: str) -> Any:
        try:
            return self.resolver.resolve(value)
        except (Unresolvable, TypeError, ValueError, IndexError, KeyError) as error:
            raise self._fail(
                logical,
                f"cannot resolve {what} ({error})",
                "local mode resolves Ref, GetAtt, Join, Sub, Select, Split and If, and "
                "GetStackOutput of the stacks it depends on in the cloud assembly (pass cdk.out, "
                "not a template file); Fn::ImportValue and parameters without defaults are not "
                "known",
            ) from None

    def _of_type(self, *kinds: str) -> list[tuple[str, Mapping[str, Any]]]:
        return [
            (logical, resource.get("Properties") or {})
            for logical, resource in self.resources.items()
            if resource["Type"] in kinds
        ]

    def _function_of(self, logical: str, uri: Any, what: str) -> str:
        """The logical id of the function an integration or authorizer URI invokes (itself, or
        a version or alias of it: local mode runs the template's one code)."""
        text = str(self._value(logical, uri, what))
        for candidate, resource in self.resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            arn = self.resolver.attributes[candidate, "Arn"]
            invoked = (
                text.split("/functions/", 1)[1].removesuffix("/invocations")
                if ("/functions/" in text)
                else text
            )
            if invoked == arn or invoked.startswith(f"{arn}:"):
                return candidate
        raise self._fail(
            logical,
            f"{what} invokes a function that is not in this stack",
            "local mode runs the stack's own functions only",
        )

    # -- the whole --------------------------------------------------------------------------------

    def read(self) -> TemplateApp:
        not_emulated: Counter[str] = Counter()
        for resource in self.resources.values():
            if _NOT_EMULATED.fullmatch(resource["Type"]):
                not_emulated[resource["Type"]] += 1
        rest = tuple(
            self._rest_api(logical, p) for logical, p in self._of_type("AWS::ApiGateway::RestApi")
        )
        http = tuple(
            self._http_api(logical, p) for logical, p in self._of_type("AWS::ApiGatewayV2::Api")
        )
        if not rest and not http:
            raise TemplateError(
                f"{self.template.source}: stack {self.stack} defines no REST or HTTP API",
                "pass the template of the stack that defines the API",
            )
        used = {
            f
            for api in rest
            for f in (*api.authorizer_functions.values(), *api.backends.values())
            if f
        }
        used |= {f for api in http for f in api.authorizer_functions.values()}
        used |= {
            r.integration.function for api in http for r in api.routes if r.integration.function
        }
        functions = {logical: self._function(logical) for logical in sorted(used)}
        authorizer_functions = [
            *(item for api in rest for item in api.authorizer_functions.items()),
            *(item for api in http for item in api.authorizer_functions.items()),
        ]
        for name, logical in authorizer_functions:
            if not functions[logical].gatehouse:
                raise self._fail(
                    logical,
                    f"authorizer {name} runs {functions[logical].handler!r}, which is not a "
                    "Gatehouse handler",
                    "local mode runs Gatehouse authorizers (gatehouse.cdk constructs); "
                    f"their handlers are {', '.join(sorted(GATEHOUSE_HANDLERS))}",
                )
        return TemplateApp(
            stack_name=self.stack,
            region=self.region,
            account=self.account,
            rest_apis=rest,
            http_apis=http,
            functions=functions,
            tables=tuple(self._tables()),
            buckets=self._buckets(),
            usage_plans=tuple(self._usage_plans()),
            not_emulated=dict(sorted(not_emulated.items())),
        )

    # -- functions, tables, plans ---------------------------------------------------------------

    def _function(self, logical: str) -> FunctionSpec:
        properties = self.resources[logical].get("Properties") or {}
        if properties.get("PackageType") == "Image":
            raise self._fail(logical, "a container image function", "local mode runs zip functions")
        runtime = str(properties.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise self._fail(
                logical,
                f"runtime {runtime or '(none)'} is not Python",
                "local mode runs Python functions in workers; answer this route elsewhere",
            )
        code = properties.get("Code") or {}
        inline = code.get("ZipFile")
        code_dir = (
            None if inline is not None else self._asset(logical, code.get("S3Key"), "its code")
        )
        layers = tuple(self._layer(logical, layer) for layer in properties.get("Layers") or ())
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        environment = {
            str(key): str(self._value(logical, value, f"environment variable {key}"))
            for key, value in variables.items()
        }
        return FunctionSpec(
            logical_id=logical,
            name=self.resolver.refs[logical],
            handler=str(properties.get("Handler", "")),
            runtime=runtime,
            environment=environment,
            code_dir=code_dir,
            inline_code=None if inline is None else str(self._value(logical, inline, "ZipFile")),
            layers=layers,
            timeout_seconds=float(properties.get("Timeout", _DEFAULT_FUNCTION_TIMEOUT)),
        )

    def _asset(self, logical: str, key: Any, what: str) -> Path:
        text = str(self._value(logical, key, what)) if key is not None else ""
        path = self.template.assets.get(text)
        if path is None or not path.is_dir():
            raise self._fail(
                logical,
                f"{what} ({text or 'no S3Key'}) is not an asset staged in the cloud assembly",
                "run cdk synth and pass the cdk.out directory (or the template beside its "
                "*.assets.json)",
            )
        return path

    def _layer(self, function: str, layer: Any) -> Path:
        if not (isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in self.resources):
            raise self._fail(
                function, "a layer from outside the stack", "local mode needs the layer's files"
            )
        logical = str(layer["Ref"])
        content = (self.resources[logical].get("Properties") or {}).get("Content") or {}
        return self._asset(logical, content.get("S3Key"), "the layer's content")

    def _buckets(self) -> dict[str, str]:
        """Logical id (``stack/logical`` for a dependency's) -> bucket name, each once."""
        return {
            logical if reader is self else f"{reader.stack}/{logical}": reader.resolver.refs[
                logical
            ]
            for reader in self.readers.values()
            for logical, _ in reader._of_type("AWS::S3::Bucket")
        }

    def _tables(self) -> list[TableSpec]:
        """The tables of this stack and of every stack it depends on, each once."""
        return [t for reader in self.readers.values() for t in reader._own_tables()]

    def _own_tables(self) -> list[TableSpec]:
        tables: list[TableSpec] = []
        for logical, properties in self._of_type(
            "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"
        ):
            tables.append(
                TableSpec(
                    logical_id=logical,
                    name=self.resolver.refs[logical],
                    key_schema=tuple(
                        self._value(logical, properties.get("KeySchema"), "KeySchema")
                    ),
                    attributes=tuple(
                        self._value(logical, properties.get("AttributeDefinitions"), "attributes")
                    ),
                )
            )
        return tables

    def _usage_plans(self) -> list[UsagePlanSpec]:
        plans = []
        for logical, properties in self._of_type("AWS::ApiGateway::UsagePlan"):
            for stage in self._value(logical, properties.get("ApiStages") or [], "ApiStages"):
                plans.append(
                    UsagePlanSpec(
                        logical_id=logical,
                        name=str(
                            self._value(logical, properties.get("UsagePlanName", logical), "name")
                        ),
                        api=str(stage.get("ApiId")),
                        stage=str(stage.get("Stage")),
                        throttle=self._value(logical, properties.get("Throttle") or {}, "Throttle"),
                        quota=self._value(logical, properties.get("Quota") or {}, "Quota"),
                    )
                )
        return plans

    # -- REST APIs --------------------------------------------------------------------------------

    def _rest_api(self, logical: str, properties: Mapping[str, Any]) -> RestApiSpec:
        if "Body" in properties or "BodyS3Location" in properties:
            raise self._fail(
                logical,
                "an API defined by an OpenAPI body",
                "local mode reads Resource, Method and Authorizer resources (what CDK's RestApi "
                "synthesizes)",
            )
        api_id = self.resolver.refs[logical]
        mine = [
            (m, p)
            for m, p in self._of_type("AWS::ApiGateway::Method")
            if self._value(m, p.get("RestApiId"), "RestApiId") == api_id
        ]
        authorizers: dict[str, AuthorizerSpec] = {}
        authorizer_functions: dict[str, str] = {}
        routes: list[Route] = []
        backends: dict[tuple[str, str], str | None] = {}
        for method_logical, method in mine:
            http_method = str(method.get("HttpMethod", "")).upper()
            path = self._rest_path(method_logical, method.get("ResourceId"), logical)
            integration = method.get("Integration") or {}
            kind = integration.get("Type")
            if http_method == "OPTIONS" and kind == "MOCK":
                continue  # a CORS preflight; the emulator answers OPTIONS itself
            if kind == "AWS_PROXY":
                backend: str | None = self._function_of(
                    method_logical, integration.get("Uri"), "its integration"
                )
            elif kind == "HTTP_PROXY":
                backend = None
            else:
                raise self._fail(
                    method_logical,
                    f"integration type {kind} is not emulated",
                    "local mode serves Lambda proxy (AWS_PROXY) and HTTP proxy integrations",
                )
            authorization = str(method.get("AuthorizationType", "NONE"))
            authorizer = None
            if authorization == "CUSTOM":
                authorizer_logical = self._ref_target(method_logical, method.get("AuthorizerId"))
                authorizer = self._rest_authorizer(
                    authorizer_logical, authorizers, authorizer_functions
                )
            elif authorization != "NONE":
                raise self._fail(
                    method_logical,
                    f"authorization type {authorization} is not emulated",
                    "local mode runs Lambda (CUSTOM) authorizers; IAM and Cognito authorizers "
                    "are API Gateway's own",
                )
            routes.append(
                Route(
                    http_method,
                    path,
                    authorizer,
                    api_key_required=bool(method.get("ApiKeyRequired", False)),
                )
            )
            backends[http_method, path] = backend
        stage_name, throttle, per_method, variables = self._rest_stage(logical, api_id)
        policy = properties.get("Policy")
        return RestApiSpec(
            logical_id=logical,
            api_id=api_id,
            name=str(self._value(logical, properties.get("Name", logical), "Name")),
            stage=stage_name,
            routes=tuple(routes),
            backends=backends,
            authorizers=authorizers,
            authorizer_functions=authorizer_functions,
            api_key_source=str(properties.get("ApiKeySourceType", "HEADER")),
            method_throttle=throttle,
            method_throttles=per_method,
            stage_variables=variables,
            resource_policy=None if policy is None else self._value(logical, policy, "Policy"),
            gateway_responses=self._gateway_responses(api_id),
        )

    def _gateway_responses(self, api_id: str) -> dict[str, CustomResponse]:
        """The API's ``AWS::ApiGateway::GatewayResponse`` customizations, by ResponseType."""
        found: dict[str, CustomResponse] = {}
        for logical, properties in self._of_type("AWS::ApiGateway::GatewayResponse"):
            if self._value(logical, properties.get("RestApiId"), "RestApiId") != api_id:
                continue
            kind = str(self._value(logical, properties.get("ResponseType"), "ResponseType"))
            if kind in found:
                raise self._fail(
                    logical,
                    f"a second gateway response of type {kind} for this API",
                    "API Gateway keeps one per type: remove one",
                )
            if kind not in RESPONSE_TYPES:
                raise self._fail(
                    logical,
                    f"ResponseType {kind} is not one API Gateway knows",
                    "see 'Gateway response types' in the API Gateway developer guide",
                )
            parameters = self._value(
                logical, properties.get("ResponseParameters") or {}, "ResponseParameters"
            )
            templates = self._value(
                logical, properties.get("ResponseTemplates") or {}, "ResponseTemplates"
            )
            if not isinstance(templates, dict) or not isinstance(parameters, dict):
                raise self._fail(
                    logical,
                    "ResponseParameters and ResponseTemplates are objects",
                    "fix the gateway response",
                )
            other = [key for key in parameters if not key.startswith("gatewayresponse.header.")]
            if other:
                raise self._fail(
                    logical,
                    f"response parameter {other[0]} is not emulated",
                    "local mode sets gateway response headers (gatewayresponse.header.NAME)",
                )
            status = properties.get("StatusCode")
            try:
                found[kind] = CustomResponse(
                    status_code=None
                    if status is None
                    else int(self._value(logical, status, "StatusCode")),
                    headers=tuple(
                        (key.removeprefix("gatewayresponse.header."), str(value))
                        for key, value in parameters.items()
                    ),
                    template=templates.get("application/json"),
                )
            except ValueError as error:
                raise self._fail(logical, str(error), "fix the gateway response") from None
        return found

    def _ref_target(self, logical: str, value: Any) -> str:
        if isinstance(value, dict) and value.get("Ref") in self.resources:
            return str(value["Ref"])
        raise self._fail(logical, "refers to a resource outside the stack", "keep it in this stack")

    def _rest_path(self, logical: str, resource_id: Any, api: str) -> str:
        parts: list[str] = []
        current = self._value(logical, resource_id, "ResourceId")
        for _ in range(64):
            if current == f"{api}/":
                return "/" + "/".join(reversed(parts))
            resource = self.resources.get(str(current))
            if resource is None or resource["Type"] != "AWS::ApiGateway::Resource":
                break
            properties = resource.get("Properties") or {}
            parts.append(str(properties.get("PathPart", "")))
            current = self._value(str(current), properties.get("ParentId"), "ParentId")
        raise self._fail(logical, "its resource path cannot be followed to the API's root", "")

    def _rest_authorizer(
        self, logical: str, specs: dict[str, AuthorizerSpec], functions: dict[str, str]
    ) -> str:
        properties = self.resources[logical].get("Properties") or {}
        name = str(properties.get("Name", logical))
        if name in specs:
            return name
        kind = str(properties.get("Type", ""))
        if kind not in _REST_KINDS:
            raise self._fail(
                logical,
                f"authorizer type {kind} is not emulated",
                "local mode runs Lambda TOKEN and REQUEST authorizers",
            )
        sources = [
            s.strip() for s in str(properties.get("IdentitySource", "")).split(",") if s.strip()
        ]
        try:
            specs[name] = AuthorizerSpec(
                name=name,
                type="TOKEN" if kind == "TOKEN" else "REQUEST",
                identity_sources=tuple(IdentitySource.parse(s) for s in sources),
                cache_ttl_seconds=int(properties.get("AuthorizerResultTtlInSeconds", 300)),
                validation_regex=properties.get("IdentityValidationExpression"),
            )
        except (ValueError, re.error) as error:
            raise self._refused_authorizer(logical, error) from None
        functions[name] = self._authorizer_function(logical)
        return name

    def _authorizer_function(self, logical: str) -> str:
        """The function authorizer ``logical`` invokes (REST and HTTP APIs alike)."""
        uri = (self.resources[logical].get("Properties") or {}).get("AuthorizerUri")
        return self._function_of(logical, uri, "its AuthorizerUri")

    def _refused_authorizer(self, logical: str, error: Exception) -> TemplateError:
        return self._fail(logical, str(error), "API Gateway refuses this authorizer too")

    def _rest_stage(
        self, api: str, api_id: str
    ) -> tuple[str, tuple[float, int] | None, dict[str, tuple[float, int]], dict[str, str]]:
        """The stage's name, default throttle, per-method throttles (``"POST /a/{b}"``: a
        ``MethodSettings`` entry's ``ResourcePath`` is the path with ``/`` escaped as ``~1``, as
        in a JSON pointer) and variables."""
        stages = [
            (logical, p)
            for logical, p in self._of_type("AWS::ApiGateway::Stage")
            if self._value(logical, p.get("RestApiId"), "RestApiId") == api_id
        ]
        if not stages:
            raise self._fail(
                api, "the REST API has no stage", "deploy it to a stage (CDK does by default)"
            )
        logical, properties = stages[0]
        throttle = None
        per_method: dict[str, tuple[float, int]] = {}
        for setting in self._value(
            logical, properties.get("MethodSettings") or [], "MethodSettings"
        ):
            rate, burst = setting.get("ThrottlingRateLimit"), setting.get("ThrottlingBurstLimit")
            if rate is None or burst is None:  # 0 and 0 is API Gateway's way to block a method
                continue
            path, method = str(setting.get("ResourcePath")), str(setting.get("HttpMethod"))
            if path == "/*" and method == "*":
                throttle = (float(rate), int(burst))
            elif path.startswith("/") and method != "*":
                route = path[1:].replace("~1", "/").replace("~0", "~")  # "/~1a" -> "/a"
                per_method[f"{method} {route}"] = (float(rate), int(burst))
        variables = self._value(logical, properties.get("Variables") or {}, "Variables")
        return (
            str(properties.get("StageName", "prod")),
            throttle,
            per_method,
            {str(k): str(v) for k, v in variables.items()},
        )

    # -- HTTP APIs --------------------------------------------------------------------------------

    def _http_api(self, logical: str, properties: Mapping[str, Any]) -> HttpApiSpec:
        protocol = properties.get("ProtocolType", "HTTP")
        if protocol != "HTTP":
            raise self._fail(
                logical, f"protocol {protocol} is not emulated", "local mode serves HTTP APIs"
            )
        if "Body" in properties or "BodyS3Location" in properties or "Target" in properties:
            raise self._fail(
                logical,
                "an API defined by an OpenAPI body or quick create",
                "local mode reads Route, Integration and Authorizer resources",
            )
        api_id = self.resolver.refs[logical]
        authorizers: dict[str, HttpAuthorizerSpec] = {}
        authorizer_functions: dict[str, str] = {}
        routes: list[HttpRoute] = []
        stage_name, throttle, route_throttles, variables = self._http_stage(logical, api_id)
        for route_logical, route in self._of_type("AWS::ApiGatewayV2::Route"):
            if self._value(route_logical, route.get("ApiId"), "ApiId") != api_id:
                continue
            key = str(route.get("RouteKey", ""))
            integration = self._http_integration(route_logical, route.get("Target"))
            authorization = str(route.get("AuthorizationType", "NONE"))
            authorizer = None
            if authorization == "CUSTOM":
                target = self._ref_target(route_logical, route.get("AuthorizerId"))
                authorizer = self._http_authorizer(target, authorizers, authorizer_functions)
            elif authorization != "NONE":
                raise self._fail(
                    route_logical,
                    f"authorization type {authorization} is not emulated",
                    "local mode runs Lambda (CUSTOM) authorizers",
                )
            try:
                routes.append(HttpRoute(key, integration, authorizer, route_throttles.get(key)))
            except ValueError as error:
                raise self._fail(route_logical, str(error), "") from None
        return HttpApiSpec(
            logical_id=logical,
            api_id=api_id,
            name=str(self._value(logical, properties.get("Name", logical), "Name")),
            stage=stage_name,
            routes=tuple(routes),
            authorizers=authorizers,
            authorizer_functions=authorizer_functions,
            throttle=throttle,
            stage_variables=variables,
        )

    def _http_integration(self, route: str, target: Any) -> Integration:
        text = str(self._value(route, target, "Target") or "")
        logical = text.removeprefix("integrations/")
        resource = self.resources.get(logical)
        if resource is None or resource["Type"] != "AWS::ApiGatewayV2::Integration":
            raise self._fail(route, "its target is not an integration of this stack", "")
        properties = resource.get("Properties") or {}
        kind = properties.get("IntegrationType")
        parameters = self._value(
            logical, properties.get("RequestParameters") or {}, "RequestParameters"
        )
        try:
            if kind == "AWS_PROXY":
                return Integration(
                    "lambda",
                    function=self._function_of(
                        logical, properties.get("IntegrationUri"), "its IntegrationUri"
                    ),
                    payload_version=str(properties.get("PayloadFormatVersion", "2.0")),  # type: ignore[arg-type]
                )
            if kind == "HTTP_PROXY":
                uri = properties.get("IntegrationUri", "")
                return Integration(
                    "http",
                    uri=str(self._value(logical, uri, "IntegrationUri")),
                    request_parameters={str(k): str(v) for k, v in parameters.items()},
                )
        except ValueError as error:
            raise self._fail(logical, str(error), "") from None
        raise self._fail(
            logical,
            f"integration type {kind} is not emulated",
            "local mode serves Lambda proxy (AWS_PROXY) and HTTP proxy integrations",
        )

    def _http_authorizer(
        self, logical: str, specs: dict[str, HttpAuthorizerSpec], functions: dict[str, str]
    ) -> str:
        properties = self.resources[logical].get("Properties") or {}
        name = str(properties.get("Name", logical))
        if name in specs:
            return name
        kind = properties.get("AuthorizerType")
        if kind != "REQUEST":
            raise self._fail(
                logical,
                f"authorizer type {kind} is not emulated",
                "local mode runs Lambda (REQUEST) authorizers; JWT authorizers are API "
                "Gateway's own",
            )
        try:
            specs[name] = HttpAuthorizerSpec(
                name=name,
                payload_version=str(properties.get("AuthorizerPayloadFormatVersion", "2.0")),  # type: ignore[arg-type]
                simple_responses=bool(properties.get("EnableSimpleResponses", False)),
                identity_sources=tuple(str(s) for s in properties.get("IdentitySource") or ()),
                cache_ttl_seconds=int(properties.get("AuthorizerResultTtlInSeconds", 0)),
            )
        except ValueError as error:
            raise self._refused_authorizer(logical, error) from None
        functions[name] = self._authorizer_function(logical)
        return name

    def _http_stage(
        self, api: str, api_id: str
    ) -> tuple[str, tuple[float, int] | None, dict[str, tuple[float, int]], dict[str, str]]:
        stages = [
            (logical, p)
            for logical, p in self._of_type("AWS::ApiGatewayV2::Stage")
            if self._value(logical, p.get("ApiId"), "ApiId") == api_id
        ]
        if not stages:
            return "$default", None, {}, {}
        logical, properties = stages[0]

        def limits(settings: Mapping[str, Any]) -> tuple[float, int] | None:
            rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
            return (float(rate), int(burst)) if rate is not None and burst else None

        default = limits(
            self._value(logical, properties.get("DefaultRouteSettings") or {}, "settings")
        )
        per_route = {
            str(key): found
            for key, settings in self._value(
                logical, properties.get("RouteSettings") or {}, "settings"
            ).items()
            if (found := limits(settings)) is not None
        }
        variables = self._value(logical, properties.get("StageVariables") or {}, "StageVariables")
        return (
            str(properties.get("StageName", "$default")),
            default,
            per_route,
            {str(k): str(v) for k, v in variables.items()},
        )
