"""``identity.provider``: a pool the stage creates (default), an existing pool, or any OIDC issuer.

Parsing and every refusal (pure); the issuer entry read back by the runtime's own reader, so
cdk.json and the authorizers cannot drift; ``identity.jwks_file``; local mode's refusal; and a
synthesis of a stage per new provider (no Cognito resources; the JWT and policy functions
trust the configured pool or issuer).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authorizers.core.clock import ManualClock
from authorizers.core.exceptions import AuthenticationError
from authorizers.jwt_bearer.authorizer import JwtAuthorizer
from authorizers.jwt_bearer.config import ISSUERS_VAR, JwtConfig
from authorizers.jwt_bearer.fetch import FetchError, check_url
from authorizers.jwt_bearer.issuers import COGNITO_POOL_ID, IssuerKind, TokenUse
from authorizers.jwt_bearer.keys import ASYMMETRIC_ALGORITHMS
from cdk_app.app_builder import build_app
from cdk_app.components.identity import read_jwks_file
from cdk_app.config import StageConfig, StageConfigError, load_stage_configs
from cdk_app.settings import _POOL_ID, JWT_ALGORITHMS, IdentitySettings
from cdk_app.stacks import identity_stack
from cdk_app.stage import GatehouseStage
from gatehouse.api_model import Resources, demo_api
from gatehouse.localmode.stack import StackError, _stage_settings
from tests.cdk.conftest import ATTACH, CONTEXT, Synthesized, resources_of, template_of
from tests.jwt_fixtures import NOW, Keys, default_claims

POOL_ID = "eu-west-1_AbCdEf123"
POOL_ARN = f"arn:aws:cognito-idp:eu-west-1:111111111111:userpool/{POOL_ID}"
CLIENTS = ["1example23456789", "2example23456789"]
ISSUER = "https://login.example.com/"
LOGIN = "https://login.example.com/authorize?client_id=spa&response_type=code"

EXISTING: dict[str, Any] = {
    "provider": "existing_cognito",
    "user_pool": POOL_ID,
    "client_ids": CLIENTS,
}
OIDC: dict[str, Any] = {"provider": "oidc", "issuer": ISSUER, "audiences": ["api://orders"]}
STAGE: dict[str, Any] = {
    "region": "eu-west-1",
    "removal_policy": "destroy",
    "termination_protection": False,
    "mtls": {"trust_anchors_file": "pki/ca.pem"},
}


def _context(identity: dict[str, Any], **blocks: Any) -> dict[str, object]:
    return {"gatehouse": {"stages": {"dev": {**STAGE, "identity": identity, **blocks}}}}


def load(identity: dict[str, Any], **blocks: Any) -> StageConfig:
    (config,) = load_stage_configs(_context(identity, **blocks))
    return config


def problems_of(identity: dict[str, Any], **blocks: Any) -> tuple[str, ...]:
    with pytest.raises(StageConfigError) as caught:
        load_stage_configs(_context(identity, **blocks))
    return caught.value.problems


def public_jwks(keys: Keys) -> dict[str, Any]:
    """One public RSA signing key (kid ``rsa-1``, the fixtures' default signer)."""
    (rsa,) = [k for k in keys.jwks()["keys"] if k["kid"] == "rsa-1"]
    return {"keys": [rsa]}


# ------------------------------------------------------------------------------------ parsing


def test_provider_cognito_is_the_default_and_means_exactly_the_created_pool() -> None:
    # GIVEN today's identity block, with and without an explicit provider
    implicit = load({"domain_prefix": "acme-auth"}).identity
    explicit = load({"provider": "cognito", "domain_prefix": "acme-auth"}).identity

    # THEN both are the created pool's settings, with no issuer entry of their own
    assert implicit == explicit == IdentitySettings(domain_prefix="acme-auth")
    assert implicit.creates_pool
    assert implicit.jwt_issuer() is None


@pytest.mark.parametrize("pool", [POOL_ID, POOL_ARN], ids=["id", "arn"])
def test_an_existing_pool_by_id_or_arn(pool: str) -> None:
    # GIVEN an existing pool named by its id or its ARN, and a login page
    identity = load({**EXISTING, "user_pool": pool, "login_url": LOGIN}).identity

    # THEN no pool is created, and the issuer is the pool's, for its clients' access tokens
    assert not identity.creates_pool
    assert identity.existing_pool_id == POOL_ID
    assert identity.client_ids == tuple(CLIENTS)
    assert identity.login_url == LOGIN
    assert identity.jwt_issuer() == {
        "type": "cognito",
        "user_pool_id": POOL_ID,
        "client_ids": CLIENTS,
        "token_use": "access",
        "algorithms": ["RS256"],
    }


def test_an_oidc_issuer_with_defaults_and_with_every_key() -> None:
    # GIVEN the minimal OIDC block, and one with every optional key
    minimal = load(OIDC).identity
    full = load(
        {
            **OIDC,
            "jwks_uri": "https://login.example.com/.well-known/jwks.json",
            "jwks_file": "idp/jwks.json",
            "algorithms": ["RS256", "ES256"],
            "login_url": LOGIN,
            "deletion_protection": False,
        }
    ).identity

    # THEN RS256 and discovery are the defaults, and every key is taken as given
    assert minimal.jwt_issuer() == {
        "type": "oidc",
        "issuer": ISSUER,
        "audiences": ["api://orders"],
        "algorithms": ["RS256"],
    }
    assert (full.jwks_file, full.login_url, full.deletion_protection) == (
        "idp/jwks.json",
        LOGIN,
        False,
    )
    assert full.jwt_issuer({"keys": []}) == {
        "type": "oidc",
        "issuer": ISSUER,
        "audiences": ["api://orders"],
        "algorithms": ["RS256", "ES256"],
        "jwks_uri": "https://login.example.com/.well-known/jwks.json",
        "jwks": {"keys": []},
    }


@pytest.mark.parametrize(
    ("identity", "key", "hint"),
    [
        # unknown keys, with a suggestion
        ({**EXISTING, "clientids": CLIENTS}, "clientids", 'did you mean "client_ids"?'),
        ({**OIDC, "audience": ["x"]}, "audience", 'did you mean "audiences"?'),
        ({**OIDC, "token_use": "access"}, "token_use", "unknown setting"),
        # a key of another provider
        (
            {**EXISTING, "domain_prefix": "acme-auth"},
            "domain_prefix",
            'only for provider "cognito"',
        ),
        ({**EXISTING, "callback_urls": ["https://a.example/cb"]}, "callback_urls", '"cognito"'),
        ({**OIDC, "mfa": "off"}, "mfa", 'only for provider "cognito", not "oidc"'),
        ({**OIDC, "access_token_minutes": 5}, "access_token_minutes", '"cognito"'),
        ({**OIDC, "user_pool": POOL_ID}, "user_pool", 'only for provider "existing_cognito"'),
        ({"domain_prefix": "acme-auth", "issuer": ISSUER}, "issuer", 'only for provider "oidc"'),
        (
            {"domain_prefix": "acme-auth", "login_url": LOGIN},
            "login_url",
            'only for provider "existing_cognito" and "oidc"',
        ),
        # the existing pool
        ({**EXISTING, "user_pool": "eu-west-1-AbCdEf123"}, "user_pool", "eu-west-1_AbCdEf123"),
        ({**EXISTING, "user_pool": "AbCdEf123"}, "user_pool", "or its ARN"),
        ({**EXISTING, "user_pool": "EU-WEST-1_AbCdEf123"}, "user_pool", "pool id"),
        ({**EXISTING, "user_pool": 123}, "user_pool", "pool id"),
        (
            {**EXISTING, "user_pool": POOL_ARN.replace(":userpool/", ":pool/")},
            "user_pool",
            "or its ARN",
        ),
        (
            {**EXISTING, "user_pool": POOL_ARN.replace("111111111111", "1111")},
            "user_pool",
            "or its ARN",
        ),
        (
            {**EXISTING, "user_pool": POOL_ARN.replace(":eu-west-1:", ":us-east-1:")},
            "user_pool",
            "must agree",
        ),
        ({**EXISTING, "user_pool": f"{POOL_ARN[:-9]}not-a-pool"}, "user_pool", "pool id"),
        ({"provider": "existing_cognito", "client_ids": CLIENTS}, "user_pool", "required"),
        ({**EXISTING, "client_ids": []}, "client_ids", "must not be empty"),
        ({"provider": "existing_cognito", "user_pool": POOL_ID}, "client_ids", "required"),
        ({**EXISTING, "client_ids": ["a b"]}, "client_ids", "app client ids"),
        ({**EXISTING, "client_ids": ["a", "a"]}, "client_ids", "distinct"),
        # the OIDC issuer
        ({**OIDC, "issuer": "http://login.example.com/"}, "issuer", "https://"),
        ({**OIDC, "issuer": "https://login.example.com/#x"}, "issuer", "https://"),
        ({**OIDC, "issuer": "https://login.example.com/?tenant=1"}, "issuer", "no query"),
        ({**OIDC, "issuer": "https://user@login.example.com/"}, "issuer", "no user info"),
        ({**OIDC, "issuer": "login.example.com"}, "issuer", "https://"),
        ({"provider": "oidc", "audiences": ["a"]}, "issuer", "required"),
        ({**OIDC, "audiences": []}, "audiences", "must not be empty"),
        ({"provider": "oidc", "issuer": ISSUER}, "audiences", "required"),
        ({**OIDC, "audiences": "api://orders"}, "audiences", "JSON list"),
        ({**OIDC, "jwks_uri": "http://login.example.com/jwks"}, "jwks_uri", "https://"),
        ({**OIDC, "jwks_file": "/etc/jwks.json"}, "jwks_file", "repository-relative"),
        ({**OIDC, "algorithms": ["HS256"]}, "algorithms", "asymmetric only"),
        ({**OIDC, "algorithms": []}, "algorithms", "must not be empty"),
        ({**OIDC, "login_url": "http://login.example.com/"}, "login_url", "https://"),
        ({**OIDC, "login_url": "https://login.example.com/it's"}, "login_url", "https://"),
        # the provider itself
        ({"provider": "okta"}, "provider", '"cognito", "existing_cognito", "oidc"'),
        ({"provider": None}, "provider", '"cognito", "existing_cognito", "oidc"'),
    ],
)
def test_each_refusal_names_the_full_key_and_what_to_put(
    identity: dict[str, Any], key: str, hint: str
) -> None:
    problems = problems_of(identity)
    matching = [p for p in problems if p.startswith(f"gatehouse.stages.dev.identity.{key}: ")]
    assert matching, problems
    assert hint in matching[0]


def test_every_problem_of_the_block_is_reported_at_once() -> None:
    problems = problems_of(
        {
            "provider": "oidc",
            "issuer": "http://login.example.com",
            "audiences": [],
            "domain_prefix": "acme-auth",
            "jwks_uri": "ftp://login.example.com/jwks",
        }
    )
    assert sorted(p.split(":", 1)[0].rsplit(".", 1)[1] for p in problems) == [
        "audiences",
        "domain_prefix",
        "issuer",
        "jwks_uri",
    ]


def test_an_unknown_provider_is_the_blocks_only_problem() -> None:
    # Every other key depends on the provider: reporting them too would only add noise.
    (problem,) = problems_of({"provider": "auth0", "issuer": "http://x", "mfa": "sometimes"})
    assert problem.startswith("gatehouse.stages.dev.identity.provider: ")


@pytest.mark.parametrize("identity", [EXISTING, OIDC], ids=["existing_cognito", "oidc"])
def test_login_redirect_is_refused_whatever_the_provider(identity: dict[str, Any]) -> None:
    # Attack: the stage's API-wide 302 sends API-key and mTLS clients to a login page.
    (problem,) = problems_of({**identity, "login_url": LOGIN}, api={"login_redirect": True})
    assert problem.startswith("gatehouse.stages.dev.api.login_redirect: ")
    assert "API-wide" in problem
    assert "set it to false" in problem


def test_the_cache_ttl_is_not_checked_against_a_lifetime_the_stage_does_not_set() -> None:
    # access_token_minutes configures the created pool's clients only
    config = load(OIDC, api={"authorizer_cache_seconds": 3600})
    assert config.api.authorizer_cache_seconds == 3600


# ------------------------------------------------------------------ the runtime reads it back


def _environment(identity: IdentitySettings, jwks: dict[str, Any] | None = None) -> Any:
    resources = Resources(  # no pool id or clients: only jwt_issuer can name the issuer
        region="eu-west-1",
        user_pool_id="",
        client_ids=(),
        api_keys_table="keys",
        trust_anchors="/var/task/ca.pem",
        crls={},
        policy_source="/var/task/demo.yaml",
        jwt_issuer=identity.jwt_issuer(jwks),
    )
    return demo_api(resources).authorizers


@pytest.mark.parametrize("pool", [POOL_ID, POOL_ARN], ids=["id", "arn"])
def test_the_runtime_reads_the_existing_pool_entry(pool: str) -> None:
    # GIVEN the settings the model gives the JWT and policy functions
    authorizers = _environment(load({**EXISTING, "user_pool": pool}).identity)
    jwt_env = dict(authorizers["jwt"].environment)

    # WHEN the deployed function's reader reads them
    config = JwtConfig.from_environ(jwt_env, in_lambda=True)

    # THEN it trusts the pool's regional issuer, for its clients' access tokens
    (profile,) = config.issuers
    expected = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"
    assert profile.kind is IssuerKind.COGNITO
    assert profile.issuer == expected
    assert profile.jwks_uri == f"{expected}/.well-known/jwks.json"
    assert profile.audiences == frozenset(CLIENTS)
    assert profile.token_use is TokenUse.ACCESS
    # AND the policy function trusts exactly the same issuer
    assert authorizers["policy"].environment[ISSUERS_VAR] == jwt_env[ISSUERS_VAR]


@pytest.mark.parametrize(
    ("extra", "with_jwks"),
    [({}, False), ({"jwks_uri": "https://keys.example.com/jwks"}, True), ({}, True)],
    ids=["discovery", "preloaded", "static"],
)
def test_the_runtime_reads_the_oidc_entry(
    extra: dict[str, Any], with_jwks: bool, keys: Keys
) -> None:
    identity = load({**OIDC, "algorithms": ["RS256", "ES256"], **extra}).identity
    jwks = public_jwks(keys) if with_jwks else None
    authorizers = _environment(identity, jwks)
    jwt_env = dict(authorizers["jwt"].environment)

    (profile,) = JwtConfig.from_environ(jwt_env, in_lambda=True).issuers

    assert profile.kind is IssuerKind.OIDC
    assert profile.issuer == ISSUER  # byte for byte, trailing "/" included
    assert profile.audiences == frozenset({"api://orders"})
    assert profile.algorithms == frozenset({"RS256", "ES256"})
    assert profile.jwks_uri == extra.get("jwks_uri")
    assert profile.preloaded_jwks == jwks
    assert authorizers["policy"].environment[ISSUERS_VAR] == jwt_env[ISSUERS_VAR]


def test_a_token_of_the_oidc_issuer_verifies_against_the_jwks_file_keys(
    keys: Keys, make_token: Callable[..., str]
) -> None:
    # GIVEN an authorizer cold-started from the settings of an OIDC stage with static keys
    identity = load(OIDC).identity
    environment = dict(_environment(identity, public_jwks(keys))["jwt"].environment)

    def no_network(uri: str) -> object:
        raise AssertionError(f"static keys are never fetched ({uri})")

    authorizer = JwtAuthorizer.from_environ(
        environment, in_lambda=True, fetch=no_network, clock=ManualClock(NOW)
    )

    # THEN a token of that issuer and audience verifies, another audience's does not
    verified = authorizer.verifier.verify(make_token(default_claims(iss=ISSUER)))
    assert verified.claims["sub"] == "user-1"
    with pytest.raises(AuthenticationError):
        authorizer.verifier.verify(make_token(default_claims(iss=ISSUER, aud="api://other")))


def test_the_pool_id_rule_and_the_algorithms_are_the_runtimes() -> None:
    assert _POOL_ID.pattern == COGNITO_POOL_ID.pattern
    assert frozenset(JWT_ALGORITHMS) == ASYMMETRIC_ALGORITHMS


@pytest.mark.parametrize(
    "url",
    [
        "https://login.example.com/",
        "https://login.example.com:8443/tenant",
        "https://login.example.com:99999/",
        "https://user:pw@login.example.com/",
        "https:///no-host",
        "https://login.example.com/ space",
        "https://login.exämple.com/",
        "http://127.0.0.1/",
        "ftp://login.example.com/",
    ],
)
def test_a_url_the_config_accepts_is_one_the_runtime_accepts(url: str) -> None:
    try:
        check_url(url)
        runtime_accepts = True
    except FetchError:
        runtime_accepts = False
    config_accepts = not any(
        p.startswith("gatehouse.stages.dev.identity.jwks_uri")
        for p in _problems_or_none({**OIDC, "jwks_uri": url})
    )
    assert config_accepts == runtime_accepts


def _problems_or_none(identity: dict[str, Any]) -> tuple[str, ...]:
    try:
        load_stage_configs(_context(identity))
    except StageConfigError as error:
        return error.problems
    return ()


def test_jwt_issuer_and_local_jwks_uri_do_not_mix() -> None:
    resources = Resources(
        region="eu-west-1",
        user_pool_id="",
        client_ids=(),
        api_keys_table="keys",
        trust_anchors="ca.pem",
        crls={},
        policy_source="/p.yaml",
        cognito_jwks_uri="http://127.0.0.1:5055/pool/.well-known/jwks.json",
        jwt_issuer=load(OIDC).identity.jwt_issuer(),
    )
    with pytest.raises(ValueError, match="cognito_jwks_uri"):
        demo_api(resources)


# ---------------------------------------------------------------------------- identity.jwks_file


KEY = "gatehouse.stages.dev.identity.jwks_file"


def test_a_jwks_file_is_read_as_it_is(tmp_path: Path, keys: Keys) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(public_jwks(keys)))
    assert read_jwks_file(path, KEY) == public_jwks(keys)


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('["keys"]', "is not a JWKS"),
        ('{"keys": {}}', "is not a JWKS"),
        ('{"keys": []}', "has no key"),
        ('{"keys": ["rsa"]}', "keys[0] is not a JWK object"),
        ('{"keys": [{"kty": "RSA", "kid": "a", "n": "x", "e": "AQAB", "d": "y"}]}', "'d'"),
        ('{"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]}', "'k'"),
    ],
)
def test_a_bad_jwks_file_is_a_configuration_error(
    tmp_path: Path, content: str | None, hint: str
) -> None:
    path = tmp_path / "jwks.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(StageConfigError) as caught:
        read_jwks_file(path, KEY)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{KEY}: {path} ")
    assert hint in problem


# ---------------------------------------------------------------------------------- local mode


@pytest.mark.parametrize("identity", [EXISTING, OIDC], ids=["existing_cognito", "oidc"])
def test_local_mode_refuses_a_stage_that_creates_no_pool(
    tmp_path: Path, identity: dict[str, Any]
) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": _context(identity)}))

    with pytest.raises(StackError) as raised:
        _stage_settings(cdk_json, "dev")

    assert str(raised.value) == (
        "--stage 'dev': local mode emulates a created Cognito pool; provider "
        f"{identity['provider']!r} (identity.provider in cdk.json) is deploy-only"
    )
    assert '"provider": "cognito"' in raised.value.hint


# ----------------------------------------------------------------------------------- synthesis

JWKS_FILE = "idp/jwks.json"
DEV_IDENTITY: dict[str, Any] = {**EXISTING, "user_pool": POOL_ARN, "deletion_protection": False}
PROD_IDENTITY: dict[str, Any] = {
    **OIDC,
    "jwks_file": JWKS_FILE,
    "algorithms": ["RS256", "ES256"],
    "login_url": LOGIN,
}


def providers_context() -> dict[str, Any]:
    """The repository's stages with the new providers: dev on an existing pool (and attached
    to an existing API), prod on an OIDC issuer with a JWKS file and a login page."""
    context = copy.deepcopy(CONTEXT)
    stages = context["gatehouse"]["stages"]
    stages["dev"]["identity"] = DEV_IDENTITY
    stages["dev"]["attach"] = ATTACH
    stages["prod"]["identity"] = PROD_IDENTITY
    return context


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[Synthesized]:
    files = tmp_path_factory.mktemp("repo")
    (files / "idp").mkdir()
    (files / JWKS_FILE).write_text(json.dumps(public_jwks(keys)))
    resolve = identity_stack.repo_path
    with pytest.MonkeyPatch.context() as patch:
        # Only identity.jwks_file resolves into the temporary "repository".
        patch.setattr(identity_stack, "repo_path", lambda p: files / p)
        outdir = tmp_path_factory.mktemp("cdk.providers")
        app = build_app(providers_context(), outdir=str(outdir), builtin_validation=False)
    assert identity_stack.repo_path is resolve
    stages = {c.stage_name: c for c in app.node.children if isinstance(c, GatehouseStage)}
    yield Synthesized(app=app, assembly=app.synth(), outdir=outdir, stages=stages)


def _issuers_of(synth: Synthesized, stage: str, stack: Any, name: str) -> list[dict[str, Any]]:
    """``GATEHOUSE_JWT_ISSUERS`` of one function: its variable, or its gatehouse.json entry."""
    template = template_of(synth, stack)
    description = f"Gatehouse {name} authorizer ({stage})"
    (function,) = [
        f
        for f in resources_of(template, "AWS::Lambda::Function")
        if f.get("Description") == description
    ]
    variables = function["Environment"]["Variables"]
    text = variables.get(ISSUERS_VAR)
    if text is None:  # moved past Lambda's 4 KB
        functions = getattr(stack, "authorizer_functions", None) or stack.functions
        text = functions.file_settings[name][ISSUERS_VAR]
    assert isinstance(text, str), "no deploy-time value in the issuer entry"
    issuers: list[dict[str, Any]] = json.loads(text)
    JwtConfig.from_environ({ISSUERS_VAR: text}, in_lambda=True)  # the runtime accepts it
    return issuers


@pytest.mark.cdk
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_identity_stack_creates_no_cognito_resource(stage: str, providers: Synthesized) -> None:
    template = template_of(providers, providers.stages[stage].identity)
    resources = template.to_json()["Resources"].values()

    assert template.find_resources("AWS::Cognito::UserPool") == {}
    assert not [r["Type"] for r in resources if r["Type"].startswith("AWS::Cognito::")]
    # AND the API-key table and the PKI bucket stay, with their outputs; no pool outputs
    assert len(resources_of(template, "AWS::DynamoDB::GlobalTable")) == 1
    assert len(resources_of(template, "AWS::S3::Bucket")) == 1
    outputs = {k for k in template.to_json()["Outputs"] if not k.startswith("PublishOutput")}
    assert outputs == {"ApiKeysTable", "PkiBucket"}  # cross-stack exports aside


@pytest.mark.cdk
def test_the_api_keys_table_keeps_its_deletion_protection_setting(providers: Synthesized) -> None:
    for stage, protected in (("dev", False), ("prod", True)):
        template = template_of(providers, providers.stages[stage].identity)
        (table,) = resources_of(template, "AWS::DynamoDB::GlobalTable")
        assert table["Replicas"][0]["DeletionProtectionEnabled"] is protected


@pytest.mark.cdk
def test_an_existing_pool_stage_trusts_that_pool(providers: Synthesized) -> None:
    stage = providers.stages["dev"]
    expected = [
        {
            "type": "cognito",
            "user_pool_id": POOL_ID,
            "client_ids": CLIENTS,
            "token_use": "access",
            "algorithms": ["RS256"],
        }
    ]
    for name in ("jwt", "policy"):
        assert _issuers_of(providers, "dev", stage.api, name) == expected
    # AND the authorizers attached to the existing API trust it too
    assert stage.attach is not None
    assert _issuers_of(providers, "dev", stage.attach, "jwt") == expected


@pytest.mark.cdk
def test_an_oidc_stage_trusts_that_issuer_with_the_jwks_file_keys(
    providers: Synthesized, keys: Keys
) -> None:
    stage = providers.stages["prod"]
    expected = [
        {
            "type": "oidc",
            "issuer": ISSUER,
            "audiences": ["api://orders"],
            "algorithms": ["RS256", "ES256"],
            "jwks": public_jwks(keys),
        }
    ]
    for name in ("jwt", "policy"):
        assert _issuers_of(providers, "prod", stage.api, name) == expected


@pytest.mark.cdk
def test_an_oidc_stage_answers_401_with_a_challenge_not_a_302(providers: Synthesized) -> None:
    template = template_of(providers, providers.stages["prod"].api)
    (unauthorized,) = [
        r
        for r in resources_of(template, "AWS::ApiGateway::GatewayResponse")
        if r["ResponseType"] == "UNAUTHORIZED"
    ]
    assert "StatusCode" not in unauthorized  # API Gateway's 401
    parameters = unauthorized["ResponseParameters"]
    assert "gatewayresponse.header.Location" not in parameters
    assert parameters["gatewayresponse.header.WWW-Authenticate"] == "'Bearer'"


@pytest.mark.cdk
def test_a_missing_jwks_file_stops_the_synthesis_naming_the_key() -> None:
    context = copy.deepcopy(CONTEXT)
    context["gatehouse"]["stages"]["prod"]["identity"] = {
        **PROD_IDENTITY,
        "jwks_file": "idp/no-such-jwks.json",
    }
    with pytest.raises(StageConfigError) as caught:
        build_app({**context, "stage": "prod"}, builtin_validation=False)
    (problem,) = caught.value.problems
    assert problem.startswith("gatehouse.stages.prod.identity.jwks_file: ")
    assert "no-such-jwks.json does not exist" in problem
