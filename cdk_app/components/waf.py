"""The stage's WAFv2 web ACL: the public :mod:`gatehouse.cdk.waf` construct, re-exported.

``cdk_app.stacks.api_stack`` builds :class:`WebAcl` from the stage's ``waf`` settings,
:class:`cdk_app.settings.WafSettings`, which satisfies :class:`gatehouse.cdk.waf.WafRules`
(it stays a pure-Python copy of :class:`gatehouse.cdk.waf.WafOptions` so that local mode loads
stage settings without aws-cdk-lib; a test keeps the two in step).
"""

from __future__ import annotations

from gatehouse.cdk.waf import (
    DEFAULT_MANAGED_RULES,
    MANAGED_RULE_GROUPS,
    REDACTED_HEADERS,
    WafOptions,
    WafRules,
    WebAcl,
    managed_rule,
    waf_rules,
)

__all__ = [
    "DEFAULT_MANAGED_RULES",
    "MANAGED_RULE_GROUPS",
    "REDACTED_HEADERS",
    "WafOptions",
    "WafRules",
    "WebAcl",
    "managed_rule",
    "waf_rules",
]
