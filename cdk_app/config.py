"""Stage settings: a typed, validated view of the ``gatehouse`` block in ``cdk.json`` context.

``cdk.json`` holds every environment in code (CDK best practice "model all production stages in
code")::

    "context": {
      "gatehouse": {
        "stages": {
          "dev":  {"region": "eu-west-1", "removal_policy": "destroy", ...},
          "prod": {"account": "222222222222", "region": "eu-west-1", ...}
        }
      }
    }

and ``cdk synth -c stage=prod`` optionally narrows synthesis to one of them.

The defaults are the production-safe ones (retain resources, termination protection on, a year
of logs); a disposable stage opts out explicitly in its own settings. Nothing depends on a
stage's *name*: ``prod`` differs from ``dev`` only through what ``cdk.json`` says.

Validation follows the authorizers' settings reader (:mod:`authorizers.core.config`): unknown
keys are errors (a misspelt ``termination_protecton`` must not silently leave protection at
its default), and every message names the stage and key and says what to put there. All
problems are reported at once in one :class:`StageConfigError`.

This module is pure Python (no ``aws_cdk`` import), so it is cheap to test and to import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal, TypeVar

from cdk_app.settings import (
    AttachSettings,
    FunctionSettings,
    IdentitySettings,
    MonitoringSettings,
    MtlsSettings,
    PolicySettings,
    Reader,
    WafSettings,
    parse_api,
    parse_attach,
    parse_functions,
    parse_identity,
    parse_monitoring,
    parse_mtls,
    parse_policy,
    parse_waf,
    unknown_key_message,
)
from gatehouse.api_model import ApiSettings

__all__ = [
    "ALLOW_NO_BYTECODE_KEY",
    "ARCHITECTURES",
    "CONTEXT_KEY",
    "LOG_RETENTION_DAYS",
    "REMOVAL_POLICIES",
    "STAGE_SELECTOR_KEY",
    "ArchitectureName",
    "RemovalPolicyName",
    "StageConfig",
    "StageConfigError",
    "load_stage_configs",
]

CONTEXT_KEY: Final = "gatehouse"
"""The context key (in ``cdk.json``) that holds all Gatehouse settings."""

STAGE_SELECTOR_KEY: Final = "stage"
"""Optional context key (``-c stage=NAME``) that narrows synthesis to one stage."""

ALLOW_NO_BYTECODE_KEY: Final = "allow_layer_without_bytecode"
"""Optional context key (``-c allow_layer_without_bytecode=true``): let production stages
deploy a layer built without bytecode (where no Python of the runtime's version was found)."""

ArchitectureName = Literal["arm64", "x86_64"]
RemovalPolicyName = Literal["destroy", "retain"]

ARCHITECTURES: Final[tuple[ArchitectureName, ...]] = ("arm64", "x86_64")
REMOVAL_POLICIES: Final[tuple[RemovalPolicyName, ...]] = ("destroy", "retain")

LOG_RETENTION_DAYS: Final[tuple[int, ...]] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
    731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""Retention periods CloudWatch Logs accepts that aws-cdk-lib 2.275 ``RetentionDays`` can express.

"Never expire" is deliberately not offered: unbounded log retention is a cost and data-retention
decision nobody should make by default.
"""

_STAGE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_ACCOUNT = re.compile(r"[0-9]{12}")
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")

_T = TypeVar("_T")

_DEFAULT_ARCHITECTURE: Final[ArchitectureName] = "arm64"
_DEFAULT_LOG_RETENTION_DAYS: Final = 365
_DEFAULT_REMOVAL_POLICY: Final[RemovalPolicyName] = "retain"
_DEFAULT_TERMINATION_PROTECTION: Final = True


class StageConfigError(ValueError):
    """The ``gatehouse`` context is invalid.

    Attributes
    ----------
    problems:
        One line per problem, each naming the stage and key (``gatehouse.stages.<stage>.<key>``)
        and what to put there. ``str(error)`` lists them all.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid Gatehouse stage configuration in cdk.json context:\n{lines}")


@dataclass(frozen=True, slots=True)
class StageConfig:
    """The settings of one deployment stage (one AWS environment).

    Build these with :func:`load_stage_configs`, which validates them; the defaults here are the
    production-safe ones.

    Attributes
    ----------
    name:
        Stage name: the ``cdk.Stage`` construct id, so ``cdk deploy "<name>/*"`` deploys it.
    region:
        AWS region, e.g. ``eu-west-1``.
    account:
        12-digit AWS account id, or ``None`` for an account-agnostic stage (whatever account the
        CLI credentials point at). Required for any stage that protects its resources.
    architecture:
        Lambda architecture of the layer (and later the functions).
    log_retention_days:
        CloudWatch Logs retention for the stage's log groups.
    removal_policy:
        ``retain`` keeps stateful resources (and old layer versions) when they leave the stack;
        ``destroy`` deletes them.
    termination_protection:
        CloudFormation termination protection on every stack of the stage.
    production:
        A production stage (default false): its layer must carry bytecode for the runtime's
        Python (:attr:`requires_layer_bytecode`), or every cold start compiles every module.
    allow_layer_without_bytecode:
        Set for every stage from ``-c allow_layer_without_bytecode=true`` (the build machine
        had no Python of the runtime's version): a production stage takes such a layer.
    kms_key:
        ``"create"`` (a key of the stage's own, :func:`gatehouse.cdk.kms.stage_key`), a KMS key
        ARN, or ``None``: AWS-owned and AWS-managed keys. It encrypts the log groups, the
        Lambda environments, the alarm topic, the API-key table and the PKI bucket.
    api:
        The demo API's settings (``api`` block), shared with local mode.
    identity, functions, mtls, policy, waf, monitoring:
        The other blocks (:mod:`cdk_app.settings`); ``mtls.trust_anchors_file`` is required,
        and so are ``identity.domain_prefix`` (``provider: cognito``, the default),
        ``identity.user_pool`` and ``client_ids`` (``existing_cognito``) or
        ``identity.issuer`` and ``audiences`` (``oidc``).
    attach:
        An existing REST API to attach authorizers to (``attach`` block), or ``None``.
    """

    name: str
    region: str
    account: str | None = None
    architecture: ArchitectureName = _DEFAULT_ARCHITECTURE
    log_retention_days: int = _DEFAULT_LOG_RETENTION_DAYS
    removal_policy: RemovalPolicyName = _DEFAULT_REMOVAL_POLICY
    termination_protection: bool = _DEFAULT_TERMINATION_PROTECTION
    production: bool = False
    allow_layer_without_bytecode: bool = False
    kms_key: str | None = None
    api: ApiSettings = field(default_factory=ApiSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    functions: FunctionSettings = field(default_factory=FunctionSettings)
    mtls: MtlsSettings = field(default_factory=MtlsSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    waf: WafSettings = field(default_factory=WafSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    attach: AttachSettings | None = None

    @property
    def is_protected(self) -> bool:
        """Whether the stage keeps its resources or refuses deletion (a long-lived environment)."""
        return self.removal_policy == "retain" or self.termination_protection

    @property
    def requires_layer_bytecode(self) -> bool:
        """Whether the stage refuses a layer without bytecode for the runtime's Python."""
        return self.production and not self.allow_layer_without_bytecode


class _Problems:
    """Collects the problems of one stage; each line starts with the key's full path."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{self.where}.{key}: {message}")


def _choice_hint(options: tuple[object, ...]) -> str:
    return "one of " + ", ".join(f'"{o}"' if isinstance(o, str) else str(o) for o in options)


def _account(value: object) -> str | None:
    return value if isinstance(value, str) and _ACCOUNT.fullmatch(value) else None


def _region(value: object) -> str | None:
    return value if isinstance(value, str) and _REGION.fullmatch(value) else None


def _architecture(value: object) -> ArchitectureName | None:
    return value if value in ARCHITECTURES else None


def _log_retention_days(value: object) -> int | None:
    # bool is an int subclass and 14.0 == 14: accept only a JSON integer.
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in LOG_RETENTION_DAYS else None


def _removal_policy(value: object) -> RemovalPolicyName | None:
    return value if value in REMOVAL_POLICIES else None


def _boolean(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _kms_key(value: object) -> str | None:
    if value == "create" or (isinstance(value, str) and _KMS_KEY_ARN.fullmatch(value)):
        return value
    return None


_ACCOUNT_HINT: Final = (
    'put the 12-digit AWS account id as a JSON string in quotes, e.g. "123456789012" '
    "(a JSON number would lose leading zeros)"
)
_REGION_HINT: Final = 'put an AWS region name, e.g. "region": "eu-west-1"'
_HINTS: Final[Mapping[str, str]] = {
    "account": _ACCOUNT_HINT,
    "region": _REGION_HINT,
    "architecture": f"put {_choice_hint(ARCHITECTURES)} (default: arm64)",
    "log_retention_days": (
        f"put a number of days CloudWatch Logs allows: {_choice_hint(LOG_RETENTION_DAYS)}"
    ),
    "removal_policy": (
        f'put {_choice_hint(REMOVAL_POLICIES)} ("retain", the default, for any environment '
        "with data worth keeping)"
    ),
    "termination_protection": "put true or false (a JSON boolean, not a string)",
    "production": (
        "put true or false (a JSON boolean, not a string); a production stage refuses a layer "
        "without bytecode"
    ),
    "kms_key": (
        'put "create" (a key of the stage\'s own) or a KMS key ARN, e.g. '
        '"arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"'
    ),
}
_BLOCKS: Final = ("api", "identity", "functions", "mtls", "policy", "waf", "monitoring", "attach")
_KNOWN_KEYS: Final = (*_HINTS, *_BLOCKS)


def _setting(
    raw: Mapping[str, object],
    key: str,
    parse: Callable[[object], _T | None],
    default: _T,
    problems: _Problems,
) -> _T:
    """``raw[key]`` parsed, or ``default`` when absent or invalid (an invalid value is recorded)."""
    if key not in raw:
        return default
    parsed = parse(raw[key])
    if parsed is None:
        problems.add(key, _HINTS[key])
        return default
    return parsed


_unknown_key_message = unknown_key_message


def _check_across_blocks(config: StageConfig, stage: _Problems) -> None:
    """Rules that involve settings of more than one block."""
    identity = config.identity
    if config.kms_key not in (None, "create") and config.kms_key.split(":")[3] != config.region:
        stage.add(
            "kms_key",
            f"the key is in {config.kms_key.split(':')[3]}, the stage in {config.region}: "
            "CloudWatch Logs, Lambda, DynamoDB and S3 use a key of their own region only",
        )
    if config.api.login_redirect:
        # demo_api's API always has API-key, mTLS and policy routes (ApiModel says the same).
        stage.add(
            "api.login_redirect",
            "API Gateway's UNAUTHORIZED response is API-wide, and the stage's API has API-key, "
            "mTLS and policy routes too: the 302 would send their machine clients to a login "
            "page instead of a 401; set it to false (every 401 then carries WWW-Authenticate, "
            "docs/cdk.md)",
        )
    if (
        identity.creates_pool
        and config.api.authorizer_cache_seconds > identity.access_token_minutes * 60
    ):
        stage.add(
            "api.authorizer_cache_seconds",
            "longer than identity.access_token_minutes: a cached Allow would outlive the "
            "tokens; keep the cache TTL at or below the access-token lifetime",
        )
    if config.api.private_vpc_endpoint_ids and config.mtls.domain_name is not None:
        stage.add(
            "api.private_vpc_endpoint_ids",
            "a PRIVATE API cannot use the regional mTLS custom domain; drop one of "
            "api.private_vpc_endpoint_ids and mtls.domain_name",
        )


def _load_stage(name: str, raw: object, problems: list[str]) -> StageConfig | None:
    """One stage's settings, or ``None`` after appending its problems to ``problems``."""
    where = f"{CONTEXT_KEY}.stages.{name}"
    if not _STAGE_NAME.fullmatch(name):
        problems.append(
            f"{where}: invalid stage name; it becomes a construct id and part of CloudFormation "
            "stack names, so use a lowercase letter followed by up to 31 lowercase letters, "
            'digits or hyphens, e.g. "dev" or "prod-eu"'
        )
        return None
    if not isinstance(raw, Mapping):
        problems.append(f'{where}: must be an object of settings, e.g. {{"region": "eu-west-1"}}')
        return None

    stage = _Problems(where)
    for key in raw:
        if key not in _KNOWN_KEYS:
            stage.add(str(key), _unknown_key_message(str(key), _KNOWN_KEYS))
    if "region" not in raw:
        stage.add("region", f"required and missing; {_REGION_HINT}")

    def block(key: str) -> Reader:
        return Reader(raw.get(key), f"{where}.{key}", stage.items)

    config = StageConfig(
        name=name,
        region=_setting(raw, "region", _region, "", stage),
        account=_setting(raw, "account", _account, None, stage),
        architecture=_setting(raw, "architecture", _architecture, _DEFAULT_ARCHITECTURE, stage),
        log_retention_days=_setting(
            raw, "log_retention_days", _log_retention_days, _DEFAULT_LOG_RETENTION_DAYS, stage
        ),
        removal_policy=_setting(
            raw, "removal_policy", _removal_policy, _DEFAULT_REMOVAL_POLICY, stage
        ),
        termination_protection=_setting(
            raw,
            "termination_protection",
            _boolean,
            _DEFAULT_TERMINATION_PROTECTION,
            stage,
        ),
        production=_setting(raw, "production", _boolean, False, stage),
        kms_key=_setting(raw, "kms_key", _kms_key, None, stage),
        api=parse_api(block("api")),
        identity=parse_identity(block("identity")),
        functions=parse_functions(block("functions")),
        mtls=parse_mtls(block("mtls")),
        policy=parse_policy(block("policy")),
        waf=parse_waf(block("waf")),
        monitoring=parse_monitoring(block("monitoring")),
        attach=parse_attach(block("attach")),
    )
    _check_across_blocks(config, stage)
    if not stage.items and config.is_protected and config.account is None:
        stage.add(
            "account",
            "required for a stage that retains resources or has termination protection (an "
            "explicit account keeps a long-lived stage from landing in whatever account the CLI "
            f"credentials point at); {_ACCOUNT_HINT}; or make the stage disposable with "
            '"removal_policy": "destroy" and "termination_protection": false',
        )
    if stage.items:
        problems.extend(stage.items)
        return None
    return config


def load_stage_configs(context: Mapping[str, object]) -> list[StageConfig]:
    """Validate the Gatehouse context and return the stages to synthesize.

    Parameters
    ----------
    context:
        The app's context values: ``gatehouse`` (required: ``{"stages": {name: settings}}``)
        ``stage`` (optional: the one stage name to synthesize, from ``-c stage=NAME``) and
        ``allow_layer_without_bytecode`` (optional, ``true`` or ``false``).

    Returns
    -------
    list[StageConfig]
        Every configured stage in ``cdk.json`` order, or only the selected one.

    Raises
    ------
    StageConfigError
        Listing every problem found, each naming the stage and key and what to put there.
    """
    block = context.get(CONTEXT_KEY)
    if not isinstance(block, Mapping):
        raise StageConfigError(
            [
                f'context "{CONTEXT_KEY}" is missing or not an object; cdk.json needs "context": '
                f'{{"{CONTEXT_KEY}": {{"stages": {{"dev": {{"region": "eu-west-1"}}}}}}}}'
            ]
        )
    problems: list[str] = [
        f"{CONTEXT_KEY}.{key}: {_unknown_key_message(str(key), ('stages',))}"
        for key in block
        if key != "stages"
    ]
    stages = block.get("stages")
    if not isinstance(stages, Mapping) or not stages:
        problems.append(
            f"{CONTEXT_KEY}.stages: must be a non-empty object mapping stage names to settings, "
            'e.g. {"dev": {"region": "eu-west-1"}}'
        )
        raise StageConfigError(problems)

    configs = [
        config
        for name, raw in stages.items()
        if (config := _load_stage(str(name), raw, problems)) is not None
    ]
    selected = context.get(STAGE_SELECTOR_KEY)
    valid = ", ".join(str(name) for name in stages)
    if selected is not None and (not isinstance(selected, str) or selected not in stages):
        problems.append(
            f"-c {STAGE_SELECTOR_KEY}={selected}: unknown stage; use one of: {valid} "
            f"(or leave out -c {STAGE_SELECTOR_KEY} to synthesize all)"
        )
    allow = _command_line_boolean(context.get(ALLOW_NO_BYTECODE_KEY))
    if allow is None:
        problems.append(
            f"-c {ALLOW_NO_BYTECODE_KEY}={context.get(ALLOW_NO_BYTECODE_KEY)}: put true or false"
        )
    if problems:
        raise StageConfigError(problems)
    if allow:
        configs = [replace(c, allow_layer_without_bytecode=True) for c in configs]
    if selected is not None:
        return [c for c in configs if c.name == selected]
    return configs


def _command_line_boolean(value: object) -> bool | None:
    """A ``-c key=value`` flag: absent is false; the CLI hands over strings, tests booleans."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower())
