"""Settings past Lambda's 4 KB environment: the split, the generated gatehouse.json, the runtime.

Unit tests of :func:`split_environment` and :func:`settings_file_text`, then one stack of
:class:`AuthorizerFunctions` rendered from an API model with 1,000 policy routes and a JWT
issuer with a preloaded 50-key JWKS: its template, its code assets, and the real authorizers
started from those assets as Lambda would start them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import app as app_module
from cdk_app.components.authorizer_functions import AuthorizerFunctions, DataAccess
from cdk_app.constants import REPO_ROOT
from cdk_app.settings import FunctionSettings
from gatehouse.api_model import (
    AUTHORIZER_HANDLERS,
    ApiModel,
    AuthorizerName,
    Resources,
    demo_api,
)
from gatehouse.cdk import GatehouseLayer, PolicySource
from gatehouse.cdk._code import stage_code_directory
from gatehouse.cdk._settings_file import (
    CONFIG_FILE_NAME,
    CONFIG_FILE_SETTING,
    LAMBDA_ENVIRONMENT_LIMIT_BYTES,
    TOKEN_SIZE_BYTES,
    EnvironmentTooLargeError,
    environment_size,
    settings_file_text,
    split_environment,
)

pytestmark = pytest.mark.cdk

LIMIT = LAMBDA_ENVIRONMENT_LIMIT_BYTES
TOKEN = cdk.Aws.ACCOUNT_ID  # an unresolved token that needs no construct
POLICY_BUNDLE = REPO_ROOT / "policies" / "demo.yaml"
TRUST_ANCHORS = REPO_ROOT / "cdk_app" / "pki" / "example-issuing-ca.pem"
CA_KEY_ID = "90:93:14:37:72:7F:66:79:DF:83:48:53:F0:55:40:A0:0A:46:BC:F0"
LAYER_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:gatehouse:1"
ISSUER = "https://idp.example.com/"
ROUTE_COUNT = 1_000
KEY_COUNT = 50


# --- the split ------------------------------------------------------------------------------


def test_an_environment_that_fits_is_returned_unchanged_without_a_file() -> None:
    env = {"GATEHOUSE_A": "x" * 1000, "GATEHOUSE_T": f"pool {TOKEN}", "OTHER": "y"}

    split = split_environment(env, function="S/fn")

    assert split.environment == env
    assert split.file_settings == {}


def test_size_is_compact_json_with_each_token_counted_conservatively() -> None:
    assert environment_size({"K": "v"}) == len('{"K":"v"}')
    with_token = {"K": f"a{TOKEN}b{TOKEN}"}
    assert environment_size(with_token) == len(json.dumps(with_token, separators=(",", ":"))) + (
        2 * TOKEN_SIZE_BYTES
    )


def test_too_big_moves_the_largest_token_free_settings_and_keeps_tokens() -> None:
    # GIVEN a token-bearing setting larger than any other, and three token-free ones
    env = {
        "GATEHOUSE_T": f"{TOKEN}" + "t" * 2500,
        "GATEHOUSE_A": "a" * 3000,
        "GATEHOUSE_B": "b" * 1500,
        "GATEHOUSE_C": "c",
        "POWERTOOLS_SERVICE_NAME": "n" * 100,  # not a Gatehouse setting: never moved
    }

    # WHEN it is split
    environment, moved = split_environment(env, function="S/fn")

    # THEN A then B moved (largest first, stopping once the rest fits); T stays, token and all
    assert moved == {"GATEHOUSE_A": env["GATEHOUSE_A"], "GATEHOUSE_B": env["GATEHOUSE_B"]}
    assert environment == {
        "GATEHOUSE_T": env["GATEHOUSE_T"],
        "GATEHOUSE_C": "c",
        "POWERTOOLS_SERVICE_NAME": env["POWERTOOLS_SERVICE_NAME"],
        CONFIG_FILE_SETTING: CONFIG_FILE_NAME,
    }
    assert environment_size(environment) <= LIMIT


def test_tokens_alone_too_big_is_an_error_naming_the_function_and_size() -> None:
    # GIVEN more token-bearing settings than fit, and a big movable one
    env = {f"GATEHOUSE_T{i}": f"arn:{TOKEN}" for i in range(LIMIT // TOKEN_SIZE_BYTES + 1)}
    env["GATEHOUSE_BIG"] = "x" * 5000

    # WHEN it is split THEN the error names the function, its size, the limit and the way out
    with pytest.raises(EnvironmentTooLargeError) as caught:
        split_environment(env, function="dev/Api/Authorizers/policy")
    message = str(caught.value)
    rest = {k: v for k, v in env.items() if k != "GATEHOUSE_BIG"}
    size = environment_size({**rest, CONFIG_FILE_SETTING: CONFIG_FILE_NAME})
    assert caught.value.size == size
    assert f"the environment of dev/Api/Authorizers/policy is {size} bytes" in message
    assert f"over Lambda's {LIMIT}-byte limit" in message
    assert "even with every token-free setting moved to gatehouse.json" in message
    assert "give those settings literal values" in message
    assert "or shorten them" in message


def test_an_environment_naming_its_own_config_file_is_never_split() -> None:
    env = {CONFIG_FILE_SETTING: "other.json", "GATEHOUSE_BIG": "x" * 5000}

    with pytest.raises(EnvironmentTooLargeError, match=r"sets GATEHOUSE_CONFIG_FILE itself"):
        split_environment(env, function="S/fn")


def test_settings_file_is_sorted_json_with_structured_json_values() -> None:
    text = settings_file_text(
        {
            "GATEHOUSE_Z_ROUTES": '["GET /a","GET /b"]',
            "GATEHOUSE_A_ISSUERS": '[{"type":"oidc"}]',
            "GATEHOUSE_M_SECONDS": "30",
            "GATEHOUSE_N_TEXT": "[not json",
            "GATEHOUSE_O_QUOTED": '"quoted"',
        }
    )

    assert text.endswith("}\n")
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert json.loads(text) == {
        "GATEHOUSE_Z_ROUTES": ["GET /a", "GET /b"],
        "GATEHOUSE_A_ISSUERS": [{"type": "oidc"}],
        "GATEHOUSE_M_SECONDS": "30",  # the exact variable text: only lists/objects are parsed
        "GATEHOUSE_N_TEXT": "[not json",
        "GATEHOUSE_O_QUOTED": '"quoted"',
    }


def test_a_staged_directory_refuses_two_files_of_one_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a data file named like the settings file (staged under tmp_path, not /tmp)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    clash = tmp_path / "data" / CONFIG_FILE_NAME
    clash.parent.mkdir()
    clash.write_text("{}\n")

    # THEN staging refuses rather than overwrite one with the other
    assert {p.name for p in stage_code_directory([clash], {}).iterdir()} == {CONFIG_FILE_NAME}
    with pytest.raises(ValueError, match=r"two files named gatehouse.json"):
        stage_code_directory([clash], {"GATEHOUSE_X": "1"})


# --- a stack whose settings do not fit --------------------------------------------------------


def _resources(stack: cdk.Stack) -> Resources:
    """The authorizers' state as deploy-time tokens (stack parameters), files in /var/task."""
    return Resources(
        region=stack.region,
        user_pool_id=cdk.CfnParameter(stack, "UserPoolId").value_as_string,
        client_ids=(cdk.CfnParameter(stack, "ClientId").value_as_string,),
        api_keys_table=cdk.CfnParameter(stack, "KeysTable").value_as_string,
        trust_anchors=f"/var/task/{TRUST_ANCHORS.name}",
        crls={CA_KEY_ID: "s3://pki-bucket/ca.crl"},
        policy_source=f"/var/task/{POLICY_BUNDLE.name}",
    )


@functools.cache
def _jwks() -> dict[str, Any]:
    """50 well-formed RSA-2048 public JWKs (one key under distinct kids: generation is slow)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {
        "keys": [
            {**jwk, "kid": f"key-{i:02d}", "use": "sig", "alg": "RS256"} for i in range(KEY_COUNT)
        ]
    }


def _large_model(stack: cdk.Stack) -> ApiModel:
    """The demo API wired to tokens, with 1,000 policy routes and a preloaded 50-key JWKS."""
    base = demo_api(_resources(stack))
    demo_routes = json.loads(base.authorizers["policy"].environment["GATEHOUSE_POLICY_ROUTES"])
    generated = [f"GET /items{i}/{{id}}" for i in range(ROUTE_COUNT - len(demo_routes))]
    issuer = {
        "type": "oidc",
        "issuer": ISSUER,
        "audiences": ["api://orders"],
        "algorithms": ["RS256"],
        "jwks": _jwks(),
    }
    jwt, policy = base.authorizers["jwt"], base.authorizers["policy"]
    changed = {
        "jwt": {**jwt.environment, "GATEHOUSE_JWT_ISSUERS": json.dumps([issuer])},
        "policy": {
            **policy.environment,
            "GATEHOUSE_POLICY_ROUTES": json.dumps([*demo_routes, *generated]),
        },
    }
    authorizers = {
        name: dataclasses.replace(model, environment=changed.get(name, model.environment))
        for name, model in base.authorizers.items()
    }
    return dataclasses.replace(base, authorizers=authorizers)


def _authorizer_functions(stack: cdk.Stack, model: ApiModel) -> AuthorizerFunctions:
    return AuthorizerFunctions(
        stack,
        "Authorizers",
        model=model,
        data_files={"mtls": (TRUST_ANCHORS,)},
        layer=GatehouseLayer.from_layer_version_arn(
            stack, "Layer", LAYER_ARN, architecture=lambda_.Architecture.ARM_64
        ),
        settings=FunctionSettings(),
        access=DataAccess(
            api_keys_table=dynamodb.Table.from_table_name(stack, "Keys", cdk.Fn.ref("KeysTable")),
            crls={CA_KEY_ID: (s3.Bucket.from_bucket_name(stack, "Pki", "pki-bucket"), "ca.crl")},
            policy_source=PolicySource.file(POLICY_BUNDLE),
        ),
        log_retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        stage_name="test",
    )


@dataclass
class Large:
    stack: cdk.Stack
    model: ApiModel
    functions: AuthorizerFunctions
    outdir: Path
    resources: dict[str, dict[str, Any]]  # the template's Resources

    def function(self, name: AuthorizerName) -> dict[str, Any]:
        """The AWS::Lambda::Function resource of authorizer ``name`` (found by its handler)."""
        (resource,) = [
            r
            for r in self.resources.values()
            if r["Type"] == "AWS::Lambda::Function"
            and r["Properties"]["Handler"] == AUTHORIZER_HANDLERS[name]
        ]
        return resource

    def asset_dir(self, name: AuthorizerName) -> Path:
        return self.outdir / self.function(name)["Metadata"]["aws:asset:path"]


def _synthesize_large(outdir: Path) -> Large:
    staging = outdir.with_name(f"{outdir.name}-staging")
    staging.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        # The staged code directories (tempfile.mkdtemp) go to pytest's tmp dir, not /tmp.
        patch.setattr(tempfile, "tempdir", str(staging))
        return _synthesize_large_into(outdir)


def _synthesize_large_into(outdir: Path) -> Large:
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-asset-metadata": True})
    stack = cdk.Stack(app, "Large", env=cdk.Environment(region="eu-west-1"))
    model = _large_model(stack)
    functions = _authorizer_functions(stack, model)
    template = app.synth().get_stack_artifact(stack.artifact_id).template
    return Large(
        stack=stack,
        model=model,
        functions=functions,
        outdir=outdir,
        resources=template["Resources"],
    )


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Large:
    return _synthesize_large(tmp_path_factory.mktemp("cdk.large"))


def _deployed(value: Any, refs: Mapping[str, str]) -> str:
    """A template environment value as CloudFormation resolves it (``Ref`` and ``Fn::Join``)."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return refs[value["Ref"]]
    separator, parts = value["Fn::Join"]
    return str(separator).join(_deployed(part, refs) for part in parts)


# Parameter values as deployed: each the full TOKEN_SIZE_BYTES, the most a token is counted as.
LONGEST_REFS = dict.fromkeys(("UserPoolId", "ClientId", "KeysTable"), "x" * TOKEN_SIZE_BYTES)
REAL_REFS = {
    "UserPoolId": "eu-west-1_AbCdEf123",
    "ClientId": "4q2n7k1m3p5r8s0t6u9v1w2x3y",
    "KeysTable": "gatehouse-dev-keys",
}


def _environment(large: Large, name: AuthorizerName, refs: Mapping[str, str]) -> dict[str, str]:
    variables = large.function(name)["Properties"]["Environment"]["Variables"]
    return {key: _deployed(value, refs) for key, value in variables.items()}


def test_the_large_model_does_not_fit_in_the_environment(large: Large) -> None:
    for name in ("jwt", "policy"):
        assert environment_size(large.model.authorizers[name].environment) > 4 * LIMIT


@pytest.mark.parametrize("name", ["jwt", "apikey", "mtls", "policy"])
def test_every_deployed_environment_is_under_the_limit(large: Large, name: AuthorizerName) -> None:
    deployed = _environment(large, name, LONGEST_REFS)
    assert len(json.dumps(deployed, separators=(",", ":")).encode()) <= LIMIT


def test_only_the_functions_that_needed_it_get_a_settings_file(large: Large) -> None:
    with_file = {
        name
        for name in large.model.authorizers
        if CONFIG_FILE_SETTING in large.function(name)["Properties"]["Environment"]["Variables"]
    }
    assert with_file == {"jwt", "policy"} == set(large.functions.file_settings)
    for name in with_file:
        variables = large.function(name)["Properties"]["Environment"]["Variables"]
        assert variables[CONFIG_FILE_SETTING] == CONFIG_FILE_NAME


@pytest.mark.parametrize(
    ("name", "moved", "data_file"),
    [
        ("jwt", "GATEHOUSE_JWT_ISSUERS", None),
        ("policy", "GATEHOUSE_POLICY_ROUTES", POLICY_BUNDLE),
    ],
)
def test_the_asset_holds_the_moved_settings_and_the_data_files(
    large: Large, name: AuthorizerName, moved: str, data_file: Path | None
) -> None:
    # GIVEN the model's settings, the function's environment and its code asset
    settings = large.model.authorizers[name].environment
    variables = large.function(name)["Properties"]["Environment"]["Variables"]
    asset = large.asset_dir(name)

    # THEN the moved setting is in gatehouse.json (structured), and only there
    document = json.loads((asset / CONFIG_FILE_NAME).read_text(encoding="utf-8"))
    assert document == {moved: json.loads(settings[moved])}
    assert (asset / CONFIG_FILE_NAME).read_text(encoding="utf-8") == settings_file_text(
        large.functions.file_settings[name]
    )
    assert set(variables) == (set(settings) - {moved}) | {CONFIG_FILE_SETTING}
    # AND the function's data file is beside it, byte for byte
    expected_files = {CONFIG_FILE_NAME} | ({data_file.name} if data_file else set())
    assert {p.name for p in asset.iterdir()} == expected_files
    if data_file is not None:
        assert (asset / data_file.name).read_bytes() == data_file.read_bytes()


def test_token_bearing_settings_stay_in_the_environment(large: Large) -> None:
    # The policy function's issuers name the user pool (a token): not movable, so still a
    # variable, which CloudFormation resolves at deploy time.
    variables = large.function("policy")["Properties"]["Environment"]["Variables"]
    assert "Fn::Join" in variables["GATEHOUSE_JWT_ISSUERS"]
    assert "UserPoolId" in json.dumps(variables["GATEHOUSE_JWT_ISSUERS"])


def test_functions_that_fit_keep_their_code_and_environment(large: Large) -> None:
    mtls = large.asset_dir("mtls")
    assert CONFIG_FILE_NAME not in {p.name for p in mtls.iterdir()}
    assert (mtls / TRUST_ANCHORS.name).read_bytes() == TRUST_ANCHORS.read_bytes()
    assert "ZipFile" in large.function("apikey")["Properties"]["Code"]  # the inline placeholder
    for name in ("apikey", "mtls"):
        variables = large.function(name)["Properties"]["Environment"]["Variables"]
        assert variables == large.stack.resolve(dict(large.model.authorizers[name].environment))


def test_the_staged_asset_is_deterministic(large: Large, tmp_path: Path) -> None:
    again = _synthesize_large(tmp_path)
    for name in ("jwt", "policy"):
        assert (
            again.function(name)["Properties"]["Code"] == large.function(name)["Properties"]["Code"]
        )


# --- the runtime reads what the synth wrote ---------------------------------------------------


def _lambda_environ(large: Large, name: AuthorizerName) -> dict[str, str]:
    """The function's deployed environment, with /var/task being its code asset."""
    return {
        **_environment(large, name, REAL_REFS),
        "LAMBDA_TASK_ROOT": str(large.asset_dir(name)),
    }


def test_the_jwt_authorizer_starts_from_the_generated_asset(large: Large) -> None:
    from authorizers.jwt_bearer.authorizer import JwtAuthorizer

    authorizer = JwtAuthorizer.from_environ(_lambda_environ(large, "jwt"), in_lambda=False)

    (profile,) = authorizer.config.issuers
    assert profile.issuer == ISSUER
    assert profile.preloaded_jwks is not None
    assert len(profile.preloaded_jwks["keys"]) == KEY_COUNT


def test_the_policy_authorizer_starts_from_the_generated_asset(large: Large) -> None:
    from authorizers.policy.authorizer import PolicyAuthorizer

    environ = _lambda_environ(large, "policy")
    # The bundle is at /var/task/demo.yaml in Lambda: here, in the asset directory.
    assert environ["GATEHOUSE_POLICY_SOURCE"] == f"/var/task/{POLICY_BUNDLE.name}"
    environ["GATEHOUSE_POLICY_SOURCE"] = str(large.asset_dir("policy") / POLICY_BUNDLE.name)

    authorizer = PolicyAuthorizer.from_environ(environ, in_lambda=False)

    assert len(authorizer.config.table.routes) == ROUTE_COUNT


# --- cdk synth reports it ---------------------------------------------------------------------


def test_app_py_reports_an_environment_that_cannot_fit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a model whose apikey function holds more tokens than 4 KB can carry
    def build() -> cdk.App:
        app = cdk.App(outdir=str(tmp_path))
        stack = cdk.Stack(app, "TooLarge")
        base = demo_api(_resources(stack))
        apikey = base.authorizers["apikey"]
        crowded = {f"GATEHOUSE_APIKEY_X{i}": f"{TOKEN}" for i in range(LIMIT // TOKEN_SIZE_BYTES)}
        authorizers = {
            **base.authorizers,
            "apikey": dataclasses.replace(apikey, environment={**apikey.environment, **crowded}),
        }
        _authorizer_functions(stack, dataclasses.replace(base, authorizers=authorizers))
        return app

    monkeypatch.setattr(app_module, "build_app", build)

    # WHEN app.py runs THEN it exits 2 naming the function, its size and the limit
    assert app_module.main() == 2
    err = capsys.readouterr().err
    assert err.startswith("gatehouse: the environment of TooLarge/Authorizers/apikey is ")
    assert f"bytes, over Lambda's {LIMIT}-byte limit" in err
    assert "Traceback" not in err
