"""Monitoring stack: the load balancer's alarms (notifying the topic of the notifications stack)
and the operations dashboard. It waits for the load balancer; no stack waits for it.

The per-service alarms live in each service stack, beside the service whose deployments they
guard. The dashboard finds the services with CloudWatch SEARCH expressions scoped to this
deployment's cluster and load balancer, so this stack's size and parameters do not grow with the
number of services.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import Ref, Template, cloudwatch, xray

from tap_cfn import naming
from tap_cfn.config import Deployment
from tap_cfn.contract import ALARM_TOPIC_ARN, ALB_FULL_NAME, CLUSTER_NAME, DASHBOARD_NAME
from tap_cfn.stacks import alarms, tracing
from tap_cfn.stacks.base import StackBuilder

TRACE_GROUP = "traces"  # the X-Ray group's name: <project>-traces-<suffix>
WIDGET_WIDTH, WIDGET_HEIGHT = 12, 6  # two widgets per row of the 24-unit grid


def build(dep: Deployment) -> Template:
    s = StackBuilder(dep, "load balancer alarms, the operations dashboard and, with tracing, the X-Ray group")
    alarms.add(s, None, s.param(ALARM_TOPIC_ARN))
    _trace_group(s)
    dashboard = s.add(
        cloudwatch.Dashboard(
            "Dashboard",
            DashboardName=s.name("dashboard"),
            DashboardBody=s.sub(dashboard_body(dep, s.var(CLUSTER_NAME), s.var(ALB_FULL_NAME))),
        )
    )
    s.output(DASHBOARD_NAME, Ref(dashboard))
    return s.template


def _trace_group(s: StackBuilder) -> None:
    """With tracing on: an X-Ray group of this deployment's traces (its services by the name their
    traces carry). X-Ray publishes a group's ApproximateTraceCount to CloudWatch every minute, which
    the dashboard shows (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-groups.html)."""
    if s.dep.env.tracing is None:
        return
    services = " OR ".join(f'service("{tracing.service_name(s.dep, svc.name)}")' for svc in s.dep.services)
    s.add(
        xray.Group(
            "TraceGroup",
            GroupName=s.name(TRACE_GROUP),
            FilterExpression=s.sub(services),
            InsightsConfiguration=xray.InsightsConfiguration(InsightsEnabled=False),
            Tags=s.tags(TRACE_GROUP),
        )
    )


def _search(schema: str, scope: str, metric: str, stat: str, period: int) -> str:
    """A CloudWatch SEARCH expression: every metric of `schema` within `scope` (this deployment)."""
    return f"SEARCH('{{{schema}}} {scope} MetricName=\"{metric}\"', '{stat}', {period})"


Panel = tuple[str, list[str], dict[str, Any]]


def _panels(period: int, cluster: str, balancer: str, traces: str | None = None) -> list[Panel]:
    """(title, SEARCH expressions, extra widget properties) per dashboard widget, in grid order."""
    by_target_group = ("AWS/ApplicationELB,LoadBalancer,TargetGroup", f'LoadBalancer="{balancer}"')
    by_balancer = ("AWS/ApplicationELB,LoadBalancer", f'LoadBalancer="{balancer}"')
    by_service = ("AWS/ECS,ClusterName,ServiceName", f'ClusterName="{cluster}"')
    by_service_insights = ("ECS/ContainerInsights,ClusterName,ServiceName", f'ClusterName="{cluster}"')
    percent = {"yAxis": {"left": {"min": 0, "max": 100}}}
    from_zero = {"yAxis": {"left": {"min": 0}}}
    return [
        ("Requests per service", [_search(*by_target_group, "RequestCount", "Sum", period)], {}),
        (
            "5xx errors: per service (targets) and by the load balancer",
            [
                _search(*by_target_group, "HTTPCode_Target_5XX_Count", "Sum", period),
                _search(*by_balancer, "HTTPCode_ELB_5XX_Count", "Sum", period),
            ],
            {},
        ),
        (
            "Target response time p99 per service (seconds)",
            [_search(*by_target_group, "TargetResponseTime", "p99", period)],
            {},
        ),
        (
            "Unhealthy targets per service",
            [_search(*by_target_group, "UnHealthyHostCount", "Maximum", period)],
            {},
        ),
        (
            "CPU utilisation per service (%)",
            [_search(*by_service, "CPUUtilization", "Average", period)],
            percent,
        ),
        (
            "Memory utilisation per service (%)",
            [_search(*by_service, "MemoryUtilization", "Average", period)],
            percent,
        ),
        (
            "Running tasks per service",
            [_search(*by_service_insights, "RunningTaskCount", "Average", period)],
            from_zero,
        ),
        (
            "Load balancer: rejected connections",
            [_search(*by_balancer, "RejectedConnectionCount", "Sum", period)],
            from_zero,
        ),
    ] + _trace_panels(period, traces)


def _trace_panels(period: int, traces: str | None) -> list[Panel]:
    """Traces X-Ray recorded for the deployment's group (`traces`: its name), where tracing is on."""
    if traces is None:
        return []
    by_group = ("AWS/X-Ray,GroupName", f'GroupName="{traces}"')
    return [
        (
            "Traces recorded (X-Ray; the trace map is in the X-Ray console)",
            [_search(*by_group, "ApproximateTraceCount", "Sum", period)],
            {"yAxis": {"left": {"min": 0}}},
        )
    ]


def dashboard_body(dep: Deployment, cluster: str, balancer: str) -> str:
    """The dashboard's JSON, as Fn::Sub text: `cluster` and `balancer` are ${...} variables.
    Sorted keys and a fixed widget order keep it byte-identical on regeneration."""
    period = dep.env.alarms.period
    widgets = []
    traces = naming.name_text(dep.project, TRACE_GROUP) if dep.env.tracing is not None else None
    for index, (title, expressions, extra) in enumerate(_panels(period, cluster, balancer, traces)):
        widgets.append(
            {
                "type": "metric",
                "x": (index % 2) * WIDGET_WIDTH,
                "y": (index // 2) * WIDGET_HEIGHT,
                "width": WIDGET_WIDTH,
                "height": WIDGET_HEIGHT,
                "properties": {
                    "title": title,
                    "region": "${AWS::Region}",
                    "view": "timeSeries",
                    "stacked": False,
                    "period": period,
                    "metrics": [
                        [{"expression": expression, "id": f"e{i + 1}"}]
                        for i, expression in enumerate(expressions)
                    ],
                    **extra,
                },
            }
        )
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
