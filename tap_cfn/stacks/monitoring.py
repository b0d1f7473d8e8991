"""Monitoring stack: the one SNS topic every alarm notifies (KMS-encrypted, optional e-mail
subscription), the load balancer's alarms and the operations dashboard.

The per-service alarms live in each service stack, beside the service whose deployments they
guard. The dashboard finds the services with CloudWatch SEARCH expressions scoped to this
deployment's cluster and load balancer, so this stack's size and parameters do not grow with the
number of services.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import Equals, Not, Ref, Template, cloudwatch, sns

from tap_cfn.config import Deployment
from tap_cfn.contract import (
    ALARM_EMAIL,
    ALARM_TOPIC_ARN,
    ALB_FULL_NAME,
    CLUSTER_NAME,
    DASHBOARD_NAME,
    KMS_KEY_ARN,
)
from tap_cfn.stacks.base import StackBuilder

HAS_ALARM_EMAIL = "HasAlarmEmail"
WIDGET_WIDTH, WIDGET_HEIGHT = 12, 6  # two widgets per row of the 24-unit grid


def build(dep: Deployment) -> Template:
    s = StackBuilder(dep, "alarm topic, load balancer alarms and the operations dashboard")
    email = s.param(ALARM_EMAIL)
    s.template.add_condition(HAS_ALARM_EMAIL, Not(Equals(email, "")))
    topic = s.add(
        sns.Topic(
            "AlarmTopic",
            TopicName=s.name("alarms"),
            DisplayName=f"{dep.project} {dep.env_name} alarms",
            KmsMasterKeyId=s.param(KMS_KEY_ARN),
            Tags=s.tags("alarms"),
        )
    )
    s.add(
        sns.SubscriptionResource(
            "AlarmEmailSubscription",
            Condition=HAS_ALARM_EMAIL,
            Protocol="email",
            Endpoint=email,
            TopicArn=Ref(topic),
        )
    )
    alarms = dep.env.alarms
    balancer = [cloudwatch.MetricDimension(Name="LoadBalancer", Value=s.param(ALB_FULL_NAME))]
    for logical, what, metric, threshold, meaning in (
        ("Alb5xxAlarm", "alb-5xx", "HTTPCode_ELB_5XX_Count", alarms.alb_5xx, "5xx responses generated"),
        (
            "AlbRejectedConnectionsAlarm",
            "alb-rejected-connections",
            "RejectedConnectionCount",
            alarms.rejected_connections,
            "connections rejected",
        ),
    ):
        s.add(
            cloudwatch.Alarm(
                logical,
                AlarmName=s.name("alarm", what),
                AlarmDescription=(
                    f"The load balancer: at least {threshold} {meaning} by the load balancer itself "
                    f"per period, in {alarms.datapoints_to_alarm} of {alarms.evaluation_periods} "
                    f"periods of {alarms.period} s"
                ),
                Namespace="AWS/ApplicationELB",
                MetricName=metric,
                Dimensions=balancer,
                Statistic="Sum",
                Period=alarms.period,
                EvaluationPeriods=alarms.evaluation_periods,
                DatapointsToAlarm=alarms.datapoints_to_alarm,
                Threshold=threshold,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                # Both are only reported when something happened: no data is good news.
                TreatMissingData="notBreaching",
                AlarmActions=[Ref(topic)],
                OKActions=[Ref(topic)],
            )
        )
    dashboard = s.add(
        cloudwatch.Dashboard(
            "Dashboard",
            DashboardName=s.name("dashboard"),
            DashboardBody=s.sub(dashboard_body(dep, s.var(CLUSTER_NAME), s.var(ALB_FULL_NAME))),
        )
    )
    s.output(ALARM_TOPIC_ARN, Ref(topic))
    s.output(DASHBOARD_NAME, Ref(dashboard))
    return s.template


def _search(schema: str, scope: str, metric: str, stat: str, period: int) -> str:
    """A CloudWatch SEARCH expression: every metric of `schema` within `scope` (this deployment)."""
    return f"SEARCH('{{{schema}}} {scope} MetricName=\"{metric}\"', '{stat}', {period})"


def dashboard_body(dep: Deployment, cluster: str, balancer: str) -> str:
    """The dashboard's JSON, as Fn::Sub text: `cluster` and `balancer` are ${...} variables.
    Sorted keys and a fixed widget order keep it byte-identical on regeneration."""
    period = dep.env.alarms.period
    by_target_group = ("AWS/ApplicationELB,LoadBalancer,TargetGroup", f'LoadBalancer="{balancer}"')
    by_balancer = ("AWS/ApplicationELB,LoadBalancer", f'LoadBalancer="{balancer}"')
    by_service = ("AWS/ECS,ClusterName,ServiceName", f'ClusterName="{cluster}"')
    by_service_insights = ("ECS/ContainerInsights,ClusterName,ServiceName", f'ClusterName="{cluster}"')
    panels: list[tuple[str, list[str], dict[str, Any]]] = [
        (
            "Requests per service",
            [_search(*by_target_group, "RequestCount", "Sum", period)],
            {},
        ),
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
            {"yAxis": {"left": {"min": 0, "max": 100}}},
        ),
        (
            "Memory utilisation per service (%)",
            [_search(*by_service, "MemoryUtilization", "Average", period)],
            {"yAxis": {"left": {"min": 0, "max": 100}}},
        ),
        (
            "Running tasks per service",
            [_search(*by_service_insights, "RunningTaskCount", "Average", period)],
            {"yAxis": {"left": {"min": 0}}},
        ),
        (
            "Load balancer: rejected connections",
            [_search(*by_balancer, "RejectedConnectionCount", "Sum", period)],
            {"yAxis": {"left": {"min": 0}}},
        ),
    ]
    widgets = []
    for index, (title, expressions, extra) in enumerate(panels):
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
