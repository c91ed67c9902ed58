"""The nested blocks of one stage's settings (``api``, ``identity``, ``functions``, ...).

Each block is a frozen dataclass whose defaults are the production-safe choice; a parser reads
it from the stage's ``cdk.json`` object with :class:`Reader`, which records every problem
(wrong type, out of range, unknown key with a suggestion) under the block's full key path and
falls back to the default, so :func:`cdk_app.config.load_stage_configs` reports all problems
at once. Pure Python: no ``aws_cdk`` import (local mode loads stage settings without CDK).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar
from urllib.parse import urlsplit

from gatehouse.api_model import (
    ApiSettings,
    AuthorizerName,
    MethodThrottle,
    UsagePlanModel,
    demo_route_keys,
)

__all__ = [
    "JWT_ALGORITHMS",
    "PROVIDERS",
    "AttachRoute",
    "AttachSettings",
    "FunctionSettings",
    "IdentitySettings",
    "MonitoringSettings",
    "MtlsSettings",
    "PolicySettings",
    "ProviderName",
    "Reader",
    "WafSettings",
    "parse_api",
    "parse_attach",
    "parse_functions",
    "parse_identity",
    "parse_monitoring",
    "parse_mtls",
    "parse_policy",
    "parse_waf",
    "unknown_key_message",
]

_T = TypeVar("_T")
_D = TypeVar("_D", str, None)


def _pick(value: object, options: tuple[_T, ...]) -> _T | None:
    for option in options:
        if value == option and type(value) is type(option):
            return option
    return None


MfaName = Literal["off", "optional", "required"]
FeaturePlanName = Literal["essentials", "plus"]
ThreatProtectionName = Literal["off", "audit", "enforced"]

MANAGED_RULE_GROUPS: Final[Mapping[str, str]] = {
    "common": "AWSManagedRulesCommonRuleSet",
    "known_bad_inputs": "AWSManagedRulesKnownBadInputsRuleSet",
    "ip_reputation": "AWSManagedRulesAmazonIpReputationList",
    "anonymous_ip": "AWSManagedRulesAnonymousIpList",
    "sql_injection": "AWSManagedRulesSQLiRuleSet",
    "admin_protection": "AWSManagedRulesAdminProtectionRuleSet",
    "bot_control": "AWSManagedRulesBotControlRuleSet",
}
"""``waf.managed_rules`` keys -> AWS managed rule group names (evaluated in this order)."""

_DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DOMAIN_NAME = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_CERT_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}")
_URL = re.compile(r"https://[^\s]+|http://localhost(:[0-9]+)?(/[^\s]*)?")
_ORIGIN = re.compile(r"https://[a-z0-9.-]+(:[0-9]+)?|http://localhost(:[0-9]+)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_SES_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
_GROUP_NAME = re.compile("|".join(MANAGED_RULE_GROUPS))
_HEX_ID = re.compile(r"[0-9a-fA-F]{2}(:?[0-9a-fA-F]{2}){3,63}")
_S3_KEY = re.compile(r"[A-Za-z0-9!_.*'()/-]{1,1024}")
_REPO_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
_VPCE = re.compile(r"vpce-[0-9a-f]{8,17}")
_REST_API_ID = re.compile(r"[a-z0-9]{10}")
_STAGE = re.compile(r"[A-Za-z0-9_]{1,128}")
_ROUTE_PATH = re.compile(
    r"/([A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\+?\})(/([A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\+?\}))*"
)
_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "ANY")
_AUTHORIZERS: Final[tuple[AuthorizerName, ...]] = ("jwt", "apikey", "mtls", "policy")


def unknown_key_message(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f"unknown setting; {hint}known settings: {', '.join(known)}"


class Reader:
    """Reads one JSON object of settings; every problem is appended to ``problems``.

    Each accessor returns the parsed value, or ``default`` when the key is absent or invalid.
    Call :meth:`done` last: keys nobody asked for are reported as unknown.
    """

    def __init__(self, raw: object, where: str, problems: list[str]) -> None:
        self.where = where
        self.problems = problems
        self.asked: list[str] = []
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: must be an object of settings")
            raw = {}
        self.raw: Mapping[str, object] = raw

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}.{key}: {message}")

    def _get(self, key: str, default: _T, parse: Callable[[object], _T | None], hint: str) -> _T:
        self.asked.append(key)
        if key not in self.raw:
            return default
        parsed = parse(self.raw[key])
        if parsed is None:
            self.add(key, hint)
            return default
        return parsed

    def bool(self, key: str, default: bool) -> bool:
        return self._get(
            key,
            default,
            lambda v: v if isinstance(v, bool) else None,
            "put true or false (a JSON boolean, not a string)",
        )

    def int(self, key: str, default: int, low: int, high: int) -> int:
        def parse(value: object) -> int | None:
            if isinstance(value, bool) or not isinstance(value, int):
                return None
            return value if low <= value <= high else None

        return self._get(key, default, parse, f"put a whole number from {low} to {high}")

    def number(self, key: str, default: float, low: float, high: float) -> float:
        def parse(value: object) -> float | None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return float(value) if low <= value <= high else None

        return self._get(key, default, parse, f"put a number from {low:g} to {high:g}")

    def choice(self, key: str, default: _T, options: tuple[_T, ...]) -> _T:
        shown = ", ".join(f'"{o}"' for o in options)
        return self._get(key, default, lambda v: _pick(v, options), f"put one of {shown}")

    def string(self, key: str, default: _D, pattern: re.Pattern[str], hint: str) -> str | _D:
        def parse(value: object) -> str | _D | None:
            return value if isinstance(value, str) and pattern.fullmatch(value) else None

        return self._get(key, default, parse, hint)

    def strings(
        self, key: str, default: tuple[str, ...], pattern: re.Pattern[str], hint: str
    ) -> tuple[str, ...]:
        def parse(value: object) -> tuple[str, ...] | None:
            if not isinstance(value, list) or len(set(map(str, value))) != len(value):
                return None
            if not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
                return None
            return tuple(value)

        return self._get(key, default, parse, f"put a JSON list of distinct {hint}")

    def block(self, key: str) -> Reader:
        self.asked.append(key)
        return Reader(self.raw.get(key), f"{self.where}.{key}", self.problems)

    def done(self) -> None:
        known = tuple(self.asked)
        for key in self.raw:
            if key not in known:
                self.add(str(key), unknown_key_message(str(key), known))


# ---------------------------------------------------------------------------------------- api


def _usage_plans(reader: Reader) -> tuple[UsagePlanModel, ...]:
    reader.asked.append("usage_plans")
    raw = reader.raw.get("usage_plans")
    if raw is None:
        return ApiSettings().usage_plans
    if not isinstance(raw, list) or not raw:
        reader.add("usage_plans", 'put a non-empty JSON list of {"name", "rate_limit", ...}')
        return ApiSettings().usage_plans
    plans: list[UsagePlanModel] = []
    for index, item in enumerate(raw):
        plan = Reader(item, f"{reader.where}.usage_plans[{index}]", reader.problems)
        name = plan.string(
            "name", "", re.compile(r"[a-z][a-z0-9-]{0,31}"), 'put a tier name, e.g. "basic"'
        )
        if "name" not in plan.raw:
            plan.add("name", 'required; put a tier name, e.g. "basic"')
        plans.append(
            UsagePlanModel(
                name=name,
                rate_limit=plan.number("rate_limit", 10, 0.1, 10_000),
                burst_limit=plan.int("burst_limit", 20, 1, 5_000),
                quota_limit=plan.int("quota_limit", 10_000, 1, 1_000_000_000),
                quota_period=plan.choice("quota_period", "DAY", ("DAY", "WEEK", "MONTH")),
            )
        )
        plan.done()
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        reader.add("usage_plans", "tier names must be distinct")
    return tuple(plans)


def _method_throttles(reader: Reader) -> tuple[MethodThrottle, ...]:
    reader.asked.append("method_throttles")
    raw = reader.raw.get("method_throttles")
    if raw is None:
        return ()
    routes = demo_route_keys()
    if not isinstance(raw, list):
        reader.add("method_throttles", 'put a JSON list of {"route", "rate_limit", "burst_limit"}')
        return ()
    throttles: list[MethodThrottle] = []
    for index, item in enumerate(raw):
        entry = Reader(item, f"{reader.where}.method_throttles[{index}]", reader.problems)
        route = entry.choice("route", "", routes)
        if "route" not in entry.raw:
            entry.add("route", "required; put one of the API's routes, e.g. " + repr(routes[-1]))
        throttles.append(
            MethodThrottle(
                route=route,
                rate_limit=entry.number("rate_limit", 10, 0.1, 10_000),
                burst_limit=entry.int("burst_limit", 20, 1, 5_000),
            )
        )
        entry.done()
    listed = [t.route for t in throttles]
    if len(set(listed)) != len(listed):
        reader.add("method_throttles", "a route is listed twice")
    return tuple(t for t in throttles if t.route)


def parse_api(reader: Reader) -> ApiSettings:
    default = ApiSettings()
    settings = ApiSettings(
        authorizer_cache_seconds=reader.int(
            "authorizer_cache_seconds", default.authorizer_cache_seconds, 0, 3600
        ),
        usage_plans=_usage_plans(reader),
        cors_allow_origins=reader.strings(
            "cors_allow_origins",
            default.cors_allow_origins,
            _ORIGIN,
            'origins, e.g. ["https://app.example.com"] (no "*")',
        ),
        login_redirect=reader.bool("login_redirect", default.login_redirect),
        policy_mode=reader.choice("policy_mode", default.policy_mode, ("enforce", "shadow")),
        policy_refresh_seconds=reader.int(
            "policy_refresh_seconds", default.policy_refresh_seconds, 5, 86_400
        ),
        throttling_rate_limit=reader.number(
            "throttling_rate_limit", default.throttling_rate_limit, 1, 10_000
        ),
        throttling_burst_limit=reader.int(
            "throttling_burst_limit", default.throttling_burst_limit, 1, 5_000
        ),
        method_throttles=_method_throttles(reader),
        private_vpc_endpoint_ids=reader.strings(
            "private_vpc_endpoint_ids",
            default.private_vpc_endpoint_ids,
            _VPCE,
            'VPC endpoint ids, e.g. ["vpce-0123456789abcdef0"]',
        ),
    )
    reader.done()
    return settings


# ----------------------------------------------------------------------------------- identity

ProviderName = Literal["cognito", "existing_cognito", "oidc"]
PROVIDERS: Final[tuple[ProviderName, ...]] = ("cognito", "existing_cognito", "oidc")
"""``identity.provider``: a pool the stage creates, an existing pool, or any OIDC issuer."""

JWT_ALGORITHMS: Final = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
"""The asymmetric signature algorithms the JWT authorizer accepts (docs/configuration.md)."""

# The JWT authorizer's own pool-id rule (authorizers.jwt_bearer.issuers.COGNITO_POOL_ID, kept
# equal by a test): the region is the part before "_".
_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)_[A-Za-z0-9]+")
_POOL_ARN = re.compile(
    r"arn:aws[a-z-]*:cognito-idp:(?P<region>[a-z0-9-]+):[0-9]{12}:userpool/(?P<pool>[^/\s]+)"
)
_CLIENT_ID = re.compile(r"[\w+]{1,128}")  # Cognito's app client id pattern
_AUDIENCE = re.compile(r"\S{1,1024}")
_POOL_HINT: Final = (
    'put the pool id, e.g. "eu-west-1_AbCdEf123", or its ARN, e.g. '
    '"arn:aws:cognito-idp:eu-west-1:111111111111:userpool/eu-west-1_AbCdEf123"'
)

_ONLY_FOR: Final[Mapping[str, tuple[ProviderName, ...]]] = {
    "domain_prefix": ("cognito",),
    "mfa": ("cognito",),
    "feature_plan": ("cognito",),
    "threat_protection": ("cognito",),
    "callback_urls": ("cognito",),
    "logout_urls": ("cognito",),
    "access_token_minutes": ("cognito",),
    "email_from": ("cognito",),
    "email_reply_to": ("cognito",),
    "ses_region": ("cognito",),
    "user_pool": ("existing_cognito",),
    "client_ids": ("existing_cognito",),
    "issuer": ("oidc",),
    "audiences": ("oidc",),
    "jwks_uri": ("oidc",),
    "jwks_file": ("oidc",),
    "algorithms": ("oidc",),
    "login_url": ("existing_cognito", "oidc"),
}
"""The ``identity`` keys that apply to some providers only (``provider`` and
``deletion_protection``, which also protects the API-key table, apply to all)."""


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """Who issues the tokens the JWT and policy authorizers accept (``identity`` block).

    ``provider`` chooses:

    - ``cognito`` (default): the stage creates a user pool. ``domain_prefix`` is the hosted UI /
      token endpoint prefix (``https://<prefix>.auth.<region>.amazoncognito.com``), unique in
      the region; ``mfa`` ... ``access_token_minutes`` configure the pool and its clients;
      ``email_from`` (with ``email_reply_to``, ``ses_region``) sends the pool's mail through
      Amazon SES from that verified address instead of Cognito's default sender (a daily
      quota of 50, from ``no-reply@verificationemail.com``).
    - ``existing_cognito``: a pool created elsewhere. ``user_pool`` is its id or ARN (the id
      names the pool's region); ``client_ids`` the app clients whose *access* tokens the API
      accepts.
    - ``oidc``: any OpenID Connect issuer. ``issuer`` is its exact ``iss``; ``audiences`` the
      accepted ``aud`` values; keys from ``jwks_uri``, else OIDC discovery; ``jwks_file``
      (repository-relative JWKS) is preloaded into the settings.

    ``login_url`` (``existing_cognito``, ``oidc``): the provider's login page, checked and kept
    for a browser login; unused while ``api.login_redirect`` is refused.
    ``deletion_protection`` covers the user pool (when created) and the API-key table.
    """

    domain_prefix: str = ""
    mfa: MfaName = "required"
    feature_plan: FeaturePlanName = "plus"
    threat_protection: ThreatProtectionName = "enforced"
    deletion_protection: bool = True
    callback_urls: tuple[str, ...] = ()
    logout_urls: tuple[str, ...] = ()
    access_token_minutes: int = 60
    provider: ProviderName = "cognito"
    user_pool: str | None = None
    client_ids: tuple[str, ...] = ()
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    jwks_uri: str | None = None
    jwks_file: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    login_url: str | None = None
    email_from: str | None = None
    email_reply_to: str | None = None
    ses_region: str | None = None

    @property
    def creates_pool(self) -> bool:
        """Whether the stage creates its own user pool (``provider: cognito``)."""
        return self.provider == "cognito"

    @property
    def existing_pool_id(self) -> str | None:
        """The existing pool's id (from ``user_pool``, an id or an ARN), else ``None``."""
        if self.user_pool is None:
            return None
        arn = _POOL_ARN.fullmatch(self.user_pool)
        return arn["pool"] if arn else self.user_pool

    def jwt_issuer(self, jwks: Mapping[str, object] | None = None) -> dict[str, object] | None:
        """The ``GATEHOUSE_JWT_ISSUERS`` entry for a pool or issuer the stage does not create.

        ``None`` for ``provider: cognito`` (the entry names the created pool, a deploy-time
        value: :func:`gatehouse.api_model.demo_api` builds it). ``jwks``: the document read from
        ``jwks_file`` (``oidc`` only), preloaded under the issuer's ``jwks`` key: with
        ``jwks_uri`` it seeds the cache, without one the keys are static and never fetched.
        """
        if self.provider == "existing_cognito":
            return {
                "type": "cognito",
                "user_pool_id": self.existing_pool_id,
                "client_ids": list(self.client_ids),
                "token_use": "access",
                "algorithms": ["RS256"],
            }
        if self.provider == "oidc":
            entry: dict[str, object] = {
                "type": "oidc",
                "issuer": self.issuer,
                "audiences": list(self.audiences),
                "algorithms": list(self.algorithms),
            }
            if self.jwks_uri is not None:
                entry["jwks_uri"] = self.jwks_uri
            if jwks is not None:
                entry["jwks"] = dict(jwks)
            return entry
        return None


def _https_url(value: object, *, query: bool = True) -> str | None:
    """``value`` if it is an https URL the JWT authorizer's fetcher would accept, else ``None``.

    The runtime's rule (``authorizers.jwt_bearer.fetch.check_url``, at cold start): ASCII, no
    whitespace or control characters, a host, a valid port, no user info, scheme https. Also
    no fragment, no ``'`` (API Gateway quotes header values with it) and, with
    ``query=False``, no query: an issuer identifier has neither (RFC 8414 section 2).
    """
    if not isinstance(value, str) or not value.isascii() or "#" in value or "'" in value:
        return None
    if any(c <= " " or c == "\x7f" for c in value) or (not query and "?" in value):
        return None
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return value


def _url(reader: Reader, key: str, example: str, *, query: bool = True) -> str | None:
    reader.asked.append(key)
    if key not in reader.raw:
        return None
    url = _https_url(reader.raw[key], query=query)
    if url is None:
        rules = "a host, no user info" + ("" if query else ", no query") + ', no "#" or "\'"'
        reader.add(key, f'put an https:// URL ({rules}), e.g. "{example}"')
    return url


def _required(reader: Reader, key: str, hint: str) -> None:
    if key not in reader.raw:
        reader.add(key, f"required with this provider; {hint}")
    elif reader.raw[key] == []:
        reader.add(key, f"must not be empty; {hint}")


def _own_keys(reader: Reader, provider: ProviderName) -> Reader:
    """A reader over the keys that apply to ``provider``; each key of another provider is
    reported here, naming the provider it belongs to."""
    own: dict[str, object] = {}
    for key, value in reader.raw.items():
        owners = _ONLY_FOR.get(str(key))
        if owners is None or provider in owners:
            own[str(key)] = value
            continue
        names = " and ".join(f'"{o}"' for o in owners)
        reader.add(
            str(key),
            f'only for provider {names}, not "{provider}"; remove it (or put '
            f'"provider": "{owners[0]}")',
        )
    keys = Reader(own, reader.where, reader.problems)
    keys.asked.append("provider")
    return keys


def _parse_created_pool(reader: Reader) -> IdentitySettings:
    default = IdentitySettings()
    prefix = reader.string(
        "domain_prefix",
        "",
        _DOMAIN_PREFIX,
        'put the hosted-UI domain prefix: lowercase letters, digits, hyphens, e.g. "acme-auth"',
    )
    if "domain_prefix" not in reader.raw:
        reader.add("domain_prefix", 'required; put a prefix unique in the region, e.g. "acme-auth"')
    elif "cognito" in prefix or "aws" in prefix or "amazon" in prefix:
        reader.add(
            "domain_prefix", 'Cognito refuses prefixes containing "aws", "amazon" or "cognito"'
        )
    settings = IdentitySettings(
        domain_prefix=prefix,
        mfa=reader.choice("mfa", default.mfa, ("off", "optional", "required")),
        feature_plan=reader.choice("feature_plan", default.feature_plan, ("essentials", "plus")),
        threat_protection=reader.choice(
            "threat_protection", default.threat_protection, ("off", "audit", "enforced")
        ),
        deletion_protection=reader.bool("deletion_protection", default.deletion_protection),
        callback_urls=reader.strings(
            "callback_urls", (), _URL, 'https URLs, e.g. ["https://app.example.com/callback"]'
        ),
        logout_urls=reader.strings(
            "logout_urls", (), _URL, 'https URLs, e.g. ["https://app.example.com/"]'
        ),
        access_token_minutes=reader.int(
            "access_token_minutes", default.access_token_minutes, 5, 1440
        ),
        email_from=reader.string(
            "email_from", None, _EMAIL, 'put an SES-verified address, e.g. "no-reply@example.com"'
        ),
        email_reply_to=reader.string(
            "email_reply_to", None, _EMAIL, 'put an address, e.g. "support@example.com"'
        ),
        ses_region=reader.string(
            "ses_region", None, _SES_REGION, 'put the SES region, e.g. "eu-west-1"'
        ),
    )
    if settings.email_from is None and (settings.email_reply_to or settings.ses_region):
        reader.add("email_from", "required with email_reply_to or ses_region (the SES sender)")
    if settings.threat_protection != "off" and settings.feature_plan != "plus":
        reader.add(
            "threat_protection",
            'threat protection needs "feature_plan": "plus"; or put "threat_protection": "off"',
        )
    return settings


def _parse_existing_pool(reader: Reader) -> IdentitySettings:
    reader.asked.append("user_pool")
    pool = reader.raw.get("user_pool")
    if "user_pool" not in reader.raw:
        reader.add("user_pool", f"required with this provider; {_POOL_HINT}")
    elif not isinstance(pool, str) or not (_POOL_ID.fullmatch(pool) or _POOL_ARN.fullmatch(pool)):
        reader.add("user_pool", _POOL_HINT)
        pool = None
    elif (arn := _POOL_ARN.fullmatch(pool)) is not None:
        pool_id = _POOL_ID.fullmatch(arn["pool"])
        if pool_id is None:
            reader.add("user_pool", _POOL_HINT)
            pool = None
        elif pool_id["region"] != arn["region"]:
            reader.add(
                "user_pool",
                f"the ARN names region {arn['region']}, its pool id region {pool_id['region']} "
                f'(the part before "_"); they must agree; {_POOL_HINT}',
            )
            pool = None
    clients_hint = 'app client ids whose access tokens the API accepts, e.g. ["1example23456789"]'
    _required(reader, "client_ids", f"put {clients_hint}")
    return IdentitySettings(
        provider="existing_cognito",
        deletion_protection=reader.bool("deletion_protection", True),
        user_pool=pool if isinstance(pool, str) else None,
        client_ids=reader.strings("client_ids", (), _CLIENT_ID, clients_hint),
        login_url=_url(reader, "login_url", "https://login.example.com/"),
    )


def _parse_oidc(reader: Reader) -> IdentitySettings:
    default = IdentitySettings()
    _required(
        reader, "issuer", 'put the exact "iss" of the tokens, e.g. "https://login.example.com/"'
    )
    _required(reader, "audiences", 'put the accepted "aud" values, e.g. ["api://orders"]')
    if reader.raw.get("algorithms") == []:
        reader.add("algorithms", f"must not be empty; put some of {', '.join(JWT_ALGORITHMS)}")
    return IdentitySettings(
        provider="oidc",
        deletion_protection=reader.bool("deletion_protection", default.deletion_protection),
        issuer=_url(reader, "issuer", "https://login.example.com/", query=False),
        audiences=reader.strings(
            "audiences", (), _AUDIENCE, 'audience strings, e.g. ["api://orders"]'
        ),
        jwks_uri=_url(reader, "jwks_uri", "https://login.example.com/.well-known/jwks.json"),
        jwks_file=reader.string(
            "jwks_file",
            None,
            _REPO_PATH,
            'put the repository-relative path of a JWKS JSON file, e.g. "pki/idp-jwks.json"',
        ),
        algorithms=reader.strings(
            "algorithms",
            default.algorithms,
            re.compile("|".join(JWT_ALGORITHMS)),
            f"algorithms among {', '.join(JWT_ALGORITHMS)} (asymmetric only)",
        ),
        login_url=_url(reader, "login_url", "https://login.example.com/authorize?client_id=..."),
    )


def parse_identity(reader: Reader) -> IdentitySettings:
    """The ``identity`` block: ``provider`` (default ``cognito``) and that provider's keys.

    A key of another provider is an error naming the provider it belongs to. A ``provider``
    that is not one of :data:`PROVIDERS` is the block's only problem (every other key depends
    on it).
    """
    provider: ProviderName = reader.choice("provider", IdentitySettings().provider, PROVIDERS)
    if "provider" in reader.raw and _pick(reader.raw["provider"], PROVIDERS) is None:
        return IdentitySettings()
    keys = _own_keys(reader, provider)
    if provider == "existing_cognito":
        settings = _parse_existing_pool(keys)
    elif provider == "oidc":
        settings = _parse_oidc(keys)
    else:
        settings = _parse_created_pool(keys)
    keys.done()
    return settings


# ---------------------------------------------------------------------------------- functions


@dataclass(frozen=True, slots=True)
class RolloutSettings:
    """How a new authorizer version takes traffic (``functions.rollout``): the pure-Python
    twin of ``gatehouse.cdk.rollout.Rollout`` (same fields and defaults)."""

    strategy: Literal["canary", "linear", "all_at_once"] = "canary"
    percent: int = 10
    minutes: int = 5


@dataclass(frozen=True, slots=True)
class FunctionSettings:
    """Every Lambda function of a stage (``functions`` block). ``rollout``: the authorizers
    deploy as versions behind an alias shifted by CodeDeploy; ``None``: in place."""

    memory_mb: int = 512
    timeout_seconds: int = 5
    reserved_concurrency: int | None = None
    rollout: RolloutSettings | None = None


def _rollout(reader: Reader) -> RolloutSettings | None:
    present = reader.raw.get("rollout") is not None  # null: in place, as when absent
    block = reader.block("rollout")
    default = RolloutSettings()
    rollout = RolloutSettings(
        strategy=block.choice("strategy", default.strategy, ("canary", "linear", "all_at_once")),
        percent=block.int("percent", default.percent, 1, 99),
        minutes=block.int("minutes", default.minutes, 1, 2880),
    )
    block.done()
    return rollout if present else None


def parse_functions(reader: Reader) -> FunctionSettings:
    default = FunctionSettings()
    reserved: int | None = None
    if "reserved_concurrency" in reader.raw:
        reserved = reader.int("reserved_concurrency", 0, 1, 1000) or None
    else:
        reader.asked.append("reserved_concurrency")
    settings = FunctionSettings(
        memory_mb=reader.int("memory_mb", default.memory_mb, 128, 10_240),
        timeout_seconds=reader.int("timeout_seconds", default.timeout_seconds, 1, 29),
        reserved_concurrency=reserved,
        rollout=_rollout(reader),
    )
    reader.done()
    return settings


# --------------------------------------------------------------------------------------- mtls


@dataclass(frozen=True, slots=True)
class MtlsSettings:
    """Client certificates (``mtls`` block).

    ``trust_anchors_file`` (repository-relative PEM) is bundled with the mTLS function and, with
    a custom domain, is the API Gateway truststore. ``crls`` maps each CA's key id (hex) to the
    object key of its CRL in the stage's PKI bucket.
    """

    trust_anchors_file: str = ""
    crls: Mapping[str, str] = field(default_factory=dict)
    domain_name: str | None = None
    certificate_arn: str | None = None


def parse_mtls(reader: Reader) -> MtlsSettings:
    anchors = reader.string(
        "trust_anchors_file",
        "",
        _REPO_PATH,
        'put the repository-relative path of the issuing CAs\' PEM, e.g. "pki/ca.pem"',
    )
    if "trust_anchors_file" not in reader.raw:
        reader.add(
            "trust_anchors_file", 'required; put a repository-relative PEM path, e.g. "pki/ca.pem"'
        )
    reader.asked.append("crls")
    raw_crls = reader.raw.get("crls", {})
    crls: dict[str, str] = {}
    if not isinstance(raw_crls, Mapping):
        reader.add("crls", 'put an object {"<CA key id hex>": "crl/<name>.crl"}')
    else:
        for key_id, object_key in raw_crls.items():
            if not _HEX_ID.fullmatch(str(key_id)) or not (
                isinstance(object_key, str) and _S3_KEY.fullmatch(object_key)
            ):
                reader.add(
                    f"crls.{key_id}",
                    "put the CA's Subject Key Identifier in hex as the key and the CRL's object "
                    'key in the stage\'s PKI bucket as the value, e.g. "crl/issuing-ca.crl"',
                )
                continue
            crls[str(key_id)] = object_key
    domain = reader.string(
        "domain_name", None, _DOMAIN_NAME, 'put a DNS name, e.g. "api.example.com"'
    )
    certificate = reader.string(
        "certificate_arn",
        None,
        _CERT_ARN,
        "put the ARN of an ACM certificate in the stage's region",
    )
    if (domain is None) != (certificate is None):
        reader.add("domain_name", "the custom domain needs both domain_name and certificate_arn")
    reader.done()
    return MtlsSettings(
        trust_anchors_file=anchors, crls=crls, domain_name=domain, certificate_arn=certificate
    )


# ------------------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Where the policy authorizer's policy set comes from (``policy`` block).

    ``bundle``: a repository-relative file shipped inside the policy function's code, so a
    policy change is a reviewed, versioned deployment that CloudFormation can roll back.
    ``source``: an external ``s3://bucket/key`` or ``ssm:/name`` instead (managed out of band).
    """

    bundle: str = "policies/demo.yaml"
    source: str | None = None


def parse_policy(reader: Reader) -> PolicySettings:
    bundle = reader.string(
        "bundle",
        "policies/demo.yaml",
        _REPO_PATH,
        'put a repository-relative path, e.g. "policies/demo.yaml"',
    )
    source = reader.string(
        "source",
        None,
        re.compile(r"s3://[a-z0-9.-]{3,63}/\S+|ssm:/[A-Za-z0-9_./-]+"),
        'put "s3://bucket/key" or "ssm:/parameter/name" (or leave out to bundle the file)',
    )
    reader.done()
    return PolicySettings(bundle=bundle, source=source)


# ---------------------------------------------------------------------------------------- waf


@dataclass(frozen=True, slots=True)
class WafSettings:
    """The WAFv2 web ACL in front of the stage (``waf`` block)."""

    managed_rules: Mapping[str, bool] = field(
        default_factory=lambda: {
            "common": True,
            "known_bad_inputs": True,
            "ip_reputation": True,
            "anonymous_ip": False,
            "sql_injection": True,
            "admin_protection": False,
            "bot_control": False,
        }
    )
    rate_limit: int = 2000  # requests per IP per 5 minutes
    geo_block: tuple[str, ...] = ()
    count: tuple[str, ...] = ()  # managed groups that only count, for a first rollout


def parse_waf(reader: Reader) -> WafSettings:
    rules = reader.block("managed_rules")
    defaults = WafSettings().managed_rules
    managed = {name: rules.bool(name, defaults[name]) for name in MANAGED_RULE_GROUPS}
    rules.done()
    settings = WafSettings(
        managed_rules=managed,
        rate_limit=reader.int("rate_limit", 2000, 10, 2_000_000_000),
        geo_block=reader.strings(
            "geo_block", (), _COUNTRY, 'ISO 3166 alpha-2 country codes, e.g. ["KP"]'
        ),
        count=reader.strings(
            "count",
            (),
            _GROUP_NAME,
            f'managed_rules keys that only count, e.g. ["admin_protection"] (of '
            f"{', '.join(MANAGED_RULE_GROUPS)})",
        ),
    )
    off = [group for group in settings.count if not managed[group]]
    if off:
        reader.add("count", f"{', '.join(off)} not on in managed_rules: turn it on to count it")
    reader.done()
    return settings


# --------------------------------------------------------------------------------- monitoring


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    """Alarms, their thresholds and who gets told (``monitoring`` block)."""

    alarm_emails: tuple[str, ...] = ()
    authorizer_duration_p99_ms: int = 1000
    deny_per_minute: int = 50
    unauthorized_per_minute: int = 100
    decision_errors_per_minute: int = 1
    api_4xx_rate_percent: float = 10.0
    api_latency_p99_ms: int = 2000
    waf_blocked_per_5_minutes: int = 500
    throttled_per_5_minutes: int = 50
    config_rules: bool = False


def parse_monitoring(reader: Reader) -> MonitoringSettings:
    default = MonitoringSettings()
    settings = MonitoringSettings(
        alarm_emails=reader.strings("alarm_emails", (), _EMAIL, "e-mail addresses"),
        authorizer_duration_p99_ms=reader.int(
            "authorizer_duration_p99_ms", default.authorizer_duration_p99_ms, 10, 30_000
        ),
        deny_per_minute=reader.int("deny_per_minute", default.deny_per_minute, 1, 1_000_000),
        unauthorized_per_minute=reader.int(
            "unauthorized_per_minute", default.unauthorized_per_minute, 1, 1_000_000
        ),
        decision_errors_per_minute=reader.int(
            "decision_errors_per_minute", default.decision_errors_per_minute, 1, 1_000_000
        ),
        api_4xx_rate_percent=reader.number(
            "api_4xx_rate_percent", default.api_4xx_rate_percent, 0.1, 100
        ),
        api_latency_p99_ms=reader.int("api_latency_p99_ms", default.api_latency_p99_ms, 10, 29_000),
        throttled_per_5_minutes=reader.int(
            "throttled_per_5_minutes", default.throttled_per_5_minutes, 1, 1_000_000_000
        ),
        waf_blocked_per_5_minutes=reader.int(
            "waf_blocked_per_5_minutes", default.waf_blocked_per_5_minutes, 1, 1_000_000_000
        ),
        config_rules=reader.bool("config_rules", default.config_rules),
    )
    reader.done()
    return settings


# ------------------------------------------------------------------------------------- attach


@dataclass(frozen=True, slots=True)
class AttachRoute:
    """One route the attach stack adds to the existing API, guarded by ``authorizer``."""

    method: str
    path: str
    authorizer: AuthorizerName


@dataclass(frozen=True, slots=True)
class AttachSettings:
    """An existing REST API to put Gatehouse authorizers on (``attach`` block)."""

    rest_api_id: str
    root_resource_id: str
    stage_name: str
    routes: tuple[AttachRoute, ...]
    deployment_revision: int = 1


def parse_attach(reader: Reader) -> AttachSettings | None:
    if not reader.raw:
        reader.done()
        return None
    hint = "put the id API Gateway shows, e.g. 'a1b2c3d4e5'"
    for key in ("rest_api_id", "root_resource_id", "stage_name", "routes"):
        if key not in reader.raw:
            reader.add(key, "required for attaching to an existing API")
    api_id = reader.string("rest_api_id", "", _REST_API_ID, hint)
    root_id = reader.string("root_resource_id", "", _REST_API_ID, hint)
    stage = reader.string("stage_name", "", _STAGE, 'put the stage name, e.g. "prod"')
    revision = reader.int("deployment_revision", 1, 1, 1_000_000)
    reader.asked.append("routes")
    raw_routes = reader.raw.get("routes", [])
    routes: list[AttachRoute] = []
    if not isinstance(raw_routes, list) or ("routes" in reader.raw and not raw_routes):
        reader.add("routes", 'put a non-empty list of {"method", "path", "authorizer"}')
        raw_routes = []
    for index, item in enumerate(raw_routes):
        route = Reader(item, f"{reader.where}.routes[{index}]", reader.problems)
        method = route.choice("method", "GET", _METHODS)
        path = route.string("path", "/", _ROUTE_PATH, 'put a path, e.g. "/orders/{id}"')
        authorizer = route.choice("authorizer", "jwt", _AUTHORIZERS)
        for key in ("method", "path", "authorizer"):
            if key not in route.raw:
                route.add(key, "required")
        route.done()
        routes.append(AttachRoute(method=method, path=path, authorizer=authorizer))
    reader.done()
    return AttachSettings(
        rest_api_id=api_id,
        root_resource_id=root_id,
        stage_name=stage,
        routes=tuple(routes),
        deployment_revision=revision,
    )
