"""An AWS WAF web ACL in front of one API Gateway REST API stage (L1: no WAFv2 L2 exists).

Rules, in priority order: a rate-based block per client IP (requests per 5 minutes), an
optional geo block, then the AWS managed rule groups that :class:`WafOptions` turns on (common,
known bad inputs, IP reputation, anonymous IP, SQL injection, admin protection, Bot Control),
each blocking or, for a first rollout, counting only. Logs go to a CloudWatch Logs group (WAF
requires the ``aws-waf-logs-`` name prefix) with the credential headers
(:data:`REDACTED_HEADERS`) redacted; its name ends in the stack's own id, so a retained group
never blocks re-creating a deleted stack. The association uses the stage ARN, which references
the stage, so it is created after it.

The common rule set's ``SizeRestrictions_BODY`` rule blocks a request body over 8 KB (WAF
inspects the first 8 KB of a regional resource's body): an API taking larger bodies counts that
group first (``count``) and reads the log before enforcing it. Capacity: the groups all on use
about 1,300 of the web ACL's 1,500 included WCUs.

References (AWS documentation):

- resources WAF protects (REST APIs, not HTTP APIs):
  https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html
- WAF on API Gateway:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html
- rate-based rules: https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
- managed rule groups: https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html
- logging to CloudWatch Logs, redaction:
  https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html and
  https://docs.aws.amazon.com/waf/latest/developerguide/logging-management.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

__all__ = [
    "DEFAULT_MANAGED_RULES",
    "MANAGED_RULE_GROUPS",
    "RATE_LIMIT_RANGE",
    "REDACTED_HEADERS",
    "WafOptions",
    "WafRules",
    "WebAcl",
    "check_waf_rules",
    "managed_group_enabled",
    "managed_rule",
    "waf_rules",
]

MANAGED_RULE_GROUPS: Final[Mapping[str, str]] = {
    "common": "AWSManagedRulesCommonRuleSet",
    "known_bad_inputs": "AWSManagedRulesKnownBadInputsRuleSet",
    "ip_reputation": "AWSManagedRulesAmazonIpReputationList",
    "anonymous_ip": "AWSManagedRulesAnonymousIpList",
    "sql_injection": "AWSManagedRulesSQLiRuleSet",
    "admin_protection": "AWSManagedRulesAdminProtectionRuleSet",
    "bot_control": "AWSManagedRulesBotControlRuleSet",
}
"""``WafOptions.managed_rules`` keys -> AWS managed rule group names (evaluated in this order)."""

DEFAULT_MANAGED_RULES: Final[Mapping[str, bool]] = {
    "common": True,
    "known_bad_inputs": True,
    "ip_reputation": True,
    "anonymous_ip": False,
    "sql_injection": True,
    "admin_protection": False,
    "bot_control": False,
}
"""Which managed groups are on unless said otherwise. ``anonymous_ip`` is off: it blocks VPN,
Tor and hosting-provider addresses, which legitimate API clients (CI, servers) often use.
``admin_protection`` is off: it blocks URI paths conventionally reserved for administration
(``/admin``...), which an API may use for its own authorized admin routes; turn it on in
``count`` mode first. ``bot_control`` is off: it is billed per request on top of WAF (common
inspection level here), and most API clients are bots by design."""

RATE_LIMIT_RANGE: Final = (10, 2_000_000_000)
"""The requests per IP per 5 minutes a WAF rate-based rule accepts (AWS WAF quota)."""

REDACTED_HEADERS: Final[tuple[str, ...]] = ("authorization", "x-api-key")
"""Headers whose values WAF replaces with ``REDACTED`` in its logs: they carry bearer tokens and
API keys, and a log group is readable by far more people than the credentials should be."""

_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_NAME: Final = re.compile(r"[\w-]{1,128}")


class WafRules(Protocol):
    """What :class:`WebAcl` reads from its ``settings``: a :class:`WafOptions`, or any object
    with these three attributes (the repository's stage passes its own pure-Python settings)."""

    @property
    def managed_rules(self) -> Mapping[str, bool]: ...

    @property
    def rate_limit(self) -> int: ...

    @property
    def geo_block(self) -> tuple[str, ...]: ...

    @property
    def count(self) -> tuple[str, ...]: ...


def check_waf_rules(rules: WafRules) -> None:
    """Raise :class:`ValueError` if ``rules`` would build a web ACL weaker than it appears to.

    An unknown ``managed_rules`` or ``count`` key (a typo would drop a protection without a
    word), a ``count`` group that is off, a ``rate_limit`` outside :data:`RATE_LIMIT_RANGE`, a
    malformed country code in ``geo_block``.
    """
    known = ", ".join(MANAGED_RULE_GROUPS)
    for what, keys in (("managed rule group(s)", rules.managed_rules), ("count", rules.count)):
        unknown = sorted(set(keys) - set(MANAGED_RULE_GROUPS))
        if unknown:
            raise ValueError(f"unknown {what} {unknown}; known: {known}")
    off = sorted(k for k in rules.count if not managed_group_enabled(rules, k))
    if off:
        raise ValueError(f"count: {off} are not on; turn them on in managed_rules to count them")
    low, high = RATE_LIMIT_RANGE
    if isinstance(rules.rate_limit, bool) or not low <= rules.rate_limit <= high:
        raise ValueError(f"rate_limit must be a whole number from {low} to {high}")
    bad = [c for c in rules.geo_block if not _COUNTRY.fullmatch(c)]
    if bad:
        raise ValueError(f"geo_block: not ISO 3166 alpha-2 country codes: {bad}")


def managed_group_enabled(rules: WafRules, key: str) -> bool:
    """Whether the managed group ``key`` is on: as given, else its default."""
    return rules.managed_rules.get(key, DEFAULT_MANAGED_RULES[key])


@dataclass(frozen=True, slots=True)
class WafOptions:
    """What the web ACL blocks. The defaults are the production choice; every field is optional.

    ``managed_rules``
        :data:`MANAGED_RULE_GROUPS` key -> on/off. A key left out keeps its default
        (:data:`DEFAULT_MANAGED_RULES`), so ``{"anonymous_ip": True}`` adds a group rather than
        silently turning the others off; turning a group off takes an explicit ``False``.
    ``rate_limit``
        Requests per client IP per 5 minutes before WAF blocks that IP (``RATE_LIMIT_RANGE``).
    ``geo_block``
        ISO 3166 alpha-2 country codes whose requests are blocked (none by default).
    ``count``
        Managed groups (keys of ``managed_rules``, turned on) whose rules only count matches
        (``overrideAction: count``): a first rollout reads the WAF log and the group's metrics
        before enforcing. None by default: every group on blocks.

    Raises
    ------
    ValueError
        See :func:`check_waf_rules`: an unknown ``managed_rules`` key, a ``rate_limit`` outside
        ``RATE_LIMIT_RANGE``, a malformed country code.
    """

    managed_rules: Mapping[str, bool] = field(default_factory=lambda: dict(DEFAULT_MANAGED_RULES))
    rate_limit: int = 2000
    geo_block: tuple[str, ...] = ()
    count: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_waf_rules(self)


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudWatchMetricsEnabled": True,
        "metricName": metric,
        "sampledRequestsEnabled": True,
    }


_GROUP_CONFIGS: Final[Mapping[str, list[dict[str, Any]]]] = {
    # Bot Control requires its inspection level; "common" (the targeted level costs more).
    "AWSManagedRulesBotControlRuleSet": [
        {"awsManagedRulesBotControlRuleSet": {"inspectionLevel": "COMMON"}}
    ],
}


def managed_rule(group: str, priority: int, *, count: bool = False) -> dict[str, Any]:
    """One AWS managed rule group: enforcing (``overrideAction: none``), or only counting."""
    statement: dict[str, Any] = {"vendorName": "AWS", "name": group}
    if group in _GROUP_CONFIGS:
        statement["managedRuleGroupConfigs"] = _GROUP_CONFIGS[group]
    return {
        "name": group,
        "priority": priority,
        "overrideAction": {"count": {}} if count else {"none": {}},
        "statement": {"managedRuleGroupStatement": statement},
        "visibilityConfig": _visibility(group),
    }


def waf_rules(options: WafRules) -> list[dict[str, Any]]:
    """The web ACL's rules for ``options``, in priority order (CloudFormation ``Rules``)."""
    rules: list[dict[str, Any]] = [
        {
            "name": "RateLimitPerIp",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rateBasedStatement": {
                    "limit": options.rate_limit,
                    "evaluationWindowSec": 300,
                    "aggregateKeyType": "IP",
                }
            },
            "visibilityConfig": _visibility("RateLimitPerIp"),
        }
    ]
    if options.geo_block:
        rules.append(
            {
                "name": "GeoBlock",
                "priority": 1,
                "action": {"block": {}},
                "statement": {"geoMatchStatement": {"countryCodes": list(options.geo_block)}},
                "visibilityConfig": _visibility("GeoBlock"),
            }
        )
    for offset, (key, group) in enumerate(MANAGED_RULE_GROUPS.items()):
        if managed_group_enabled(options, key):
            rules.append(managed_rule(group, 10 + offset, count=key in options.count))
    return rules


def _stage_arn(stage: apigw.IStage) -> str:
    if isinstance(stage, apigw.StageBase):  # a Stage, or one imported with from_stage_attributes
        return stage.stage_arn
    if not hasattr(stage, "rest_api"):
        raise TypeError(
            "WebAcl protects an API Gateway REST API stage (aws_apigateway.IStage); AWS WAF "
            "cannot be associated with an HTTP API (aws_apigatewayv2)"
        )
    # What StageBase.stage_arn computes, for a hand-written IStage.
    return cdk.Stack.of(stage).format_arn(
        service="apigateway",
        account="",
        resource="restapis",
        resource_name=f"{stage.rest_api.rest_api_id}/stages/{stage.stage_name}",
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )


class WebAcl(Construct):
    """A regional WAFv2 web ACL, associated with one REST API stage, logging with redaction.

    Only a REST API (API Gateway v1) stage can be protected: AWS WAF cannot be associated with
    an HTTP API (API Gateway v2). The AWS WAF Developer Guide lists the resources a web ACL
    protects ("Amazon API Gateway REST API", not HTTP APIs):
    https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html. So
    ``stage`` is typed ``aws_apigateway.IStage`` and anything else is refused. To filter an HTTP
    API, put a CloudFront distribution with a WAF web ACL in front of it (not built here).

    ::

        import aws_cdk as cdk
        from aws_cdk import aws_apigateway as apigw
        from gatehouse.cdk.waf import WafOptions, WebAcl

        stack = cdk.Stack(cdk.App(), "Orders")
        api = apigw.RestApi(stack, "Api")
        api.root.add_method("GET", apigw.MockIntegration())
        waf = WebAcl(stack, "Waf", stage=api.deployment_stage, settings=WafOptions(rate_limit=500))

    Contract
    --------
    - Rules (priority): ``RateLimitPerIp`` (0, always on: one client cannot exhaust the
      authorizers' and backends' concurrency), ``GeoBlock`` (1, only with ``geo_block``), the
      managed groups turned on (10 + their :data:`MANAGED_RULE_GROUPS` position), enforcing
      unless listed in ``count``.
      The default action is allow: WAF filters abuse, the authorizers decide access.
    - WAF logs every request to the log group ``aws-waf-logs-<name>-<stack uuid>`` (the last
      part of the stack id, new for each creation: a group retained from a deleted stack does
      not block creating it again) with the values of
      ``redacted_headers`` (default :data:`REDACTED_HEADERS`) replaced, so tokens and API keys
      never reach the logs. The group is kept on stack deletion and for a year by default:
      these are security records. ``kms_key`` encrypts it (its policy must let CloudWatch
      Logs use it: :func:`gatehouse.cdk.kms.stage_key`).
    - ``name`` (default: unique within the app, from the construct path) is the web ACL's name
      and its CloudWatch metric name (``metric_name``): pass ``metric_name`` to
      :class:`gatehouse.cdk.monitoring.ApiMonitoring` as ``web_acl_name`` for the
      blocked-requests alarm.

    Attributes: ``acl``, ``association``, ``log_group``, ``logging``, ``metric_name``.

    Raises
    ------
    TypeError
        If ``stage`` is not a REST API stage.
    ValueError
        If ``name`` is not 1-128 letters, digits, ``_`` or ``-`` (WAF's rule for names), or
        ``settings`` fails :func:`check_waf_rules`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: apigw.IStage,
        settings: WafRules | None = None,
        name: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        redacted_headers: Sequence[str] = REDACTED_HEADERS,
        kms_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        options: WafRules = settings if settings is not None else WafOptions()
        check_waf_rules(options)
        if name is None:
            name = cdk.Names.unique_resource_name(self, max_length=100)
        elif not cdk.Token.is_unresolved(name) and not _NAME.fullmatch(name):
            raise ValueError(f"WebAcl name {name!r}: use 1-128 letters, digits, '_' or '-'")
        stage_arn = _stage_arn(stage)
        self.metric_name = name
        self.acl = wafv2.CfnWebACL(
            self,
            "Acl",
            name=name,
            scope="REGIONAL",
            default_action={"allow": {}},
            visibility_config=_visibility(name),
            rules=waf_rules(options),
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage_arn, web_acl_arn=self.acl.attr_arn
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"aws-waf-logs-{name}-"
            + cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID)),
            retention=log_retention,
            removal_policy=removal_policy,
            encryption_key=kms_key,
        )
        self.logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.acl.attr_arn,
            log_destination_configs=[
                cdk.Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self.log_group.log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[{"singleHeader": {"Name": h.lower()}} for h in redacted_headers],
        )
