"""The stage's alarms, dashboard and alarm topic: :mod:`gatehouse.cdk.monitoring`, re-exported.

``cdk_app.stacks.api_stack`` builds :class:`Monitoring` (the public
:class:`gatehouse.cdk.monitoring.ApiMonitoring`) from the stage's ``monitoring`` settings,
:class:`cdk_app.settings.MonitoringSettings`, which satisfies
:class:`gatehouse.cdk.monitoring.AlarmThresholds` (a pure-Python copy of
:class:`gatehouse.cdk.monitoring.MonitoringOptions` plus ``config_rules``, so that local mode
loads stage settings without aws-cdk-lib; a test keeps the two in step). docs/deploy.md says what
each alarm means and what to do.
"""

from __future__ import annotations

from gatehouse.cdk.monitoring import (
    ISSUER_AUTHORIZERS,
    METRIC_AUTHORIZER,
    METRIC_NAMESPACE,
    POLICY_ALARMS,
    AlarmSpec,
    AlarmThresholds,
    ApiMonitoring,
    MonitoringOptions,
    decisions_metric,
)
from gatehouse.cdk.monitoring import ApiMonitoring as Monitoring

__all__ = [
    "ISSUER_AUTHORIZERS",
    "METRIC_AUTHORIZER",
    "METRIC_NAMESPACE",
    "POLICY_ALARMS",
    "AlarmSpec",
    "AlarmThresholds",
    "ApiMonitoring",
    "Monitoring",
    "MonitoringOptions",
    "decisions_metric",
]
