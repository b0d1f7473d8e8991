"""Every CloudWatch alarm of a deployment, as rows of one table: the per-service alarms (made in
each service stack, beside the service whose deployments they guard) and the load balancer's
(made in the monitoring stack). A row says what is measured and when it breaches; `add` turns
rows into alarms with the environment's period, M-of-N window and the one SNS topic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from troposphere import cloudwatch as cw

from tap_cfn.config import Alarms, Deployment, Service, needs_alternate_target_group
from tap_cfn.contract import ALB_FULL_NAME, CLUSTER_NAME, TARGET_GROUP2_FULL_NAME, TARGET_GROUP_FULL_NAME
from tap_cfn.stacks.base import StackBuilder

SERVICE, PLATFORM = "service", "platform"


@dataclass(frozen=True)
class AlarmRow:
    """One alarm. `metric` holds the metric properties (Namespace, MetricName, Statistic, ... or a
    metric-math `Metrics` list); `guards` says whether it rolls a service's deployment back."""

    key: str  # logical ID prefix: CpuHigh -> CpuHighAlarm
    what: str  # name part: <project>-alarm-<owner>-<what>-<suffix>
    meaning: str
    threshold: float
    comparison: str
    missing: str  # TreatMissingData
    guards: bool = False
    metric: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Applies:
    """When a row exists, and how to make it: `make(s, svc, thresholds)` returns the row."""

    scope: str
    when: Callable[[Service | None], bool]
    make: Callable[..., AlarmRow]


def _ecs_dimensions(s: StackBuilder, svc: Service) -> list[cw.MetricDimension]:
    # The service's deterministic name rather than GetAtt: the service lists these alarms by name
    # in its DeploymentConfiguration, so they must not depend on it.
    return [
        cw.MetricDimension(Name="ClusterName", Value=s.param(CLUSTER_NAME)),
        cw.MetricDimension(Name="ServiceName", Value=s.name("service", svc.name)),
    ]


def _target_metric(s: StackBuilder, svc: Service, metric: str, **stat: str) -> dict[str, Any]:
    dimensions = [
        cw.MetricDimension(Name="LoadBalancer", Value=s.param(ALB_FULL_NAME)),
        cw.MetricDimension(Name="TargetGroup", Value=s.param(TARGET_GROUP_FULL_NAME, svc.name)),
    ]
    return {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": dimensions, **stat}


def _utilisation(key: str, what: str, metric: str, field_name: str) -> Callable[..., AlarmRow]:
    def make(s: StackBuilder, svc: Service, t: Alarms) -> AlarmRow:
        threshold = getattr(t, field_name)
        return AlarmRow(
            key,
            what,
            f"average {metric} above {threshold:g} %",
            threshold,
            "GreaterThanThreshold",
            "missing",
            # Saturation under load is auto scaling's job, not a reason to roll a release back.
            guards=False,
            metric={
                "Namespace": "AWS/ECS",
                "MetricName": metric,
                "Dimensions": _ecs_dimensions(s, svc),
                "Statistic": "Average",
            },
        )

    return make


def _running_tasks_low(s: StackBuilder, svc: Service, t: Alarms) -> AlarmRow:
    """Running tasks short of the minimum in force: the lower of `min` and the desired count, so
    that a scheduled window scaling to zero pages no one (auto scaling keeps desired >= min)."""

    def insights(metric_id: str, metric: str) -> cw.MetricDataQuery:
        return cw.MetricDataQuery(
            Id=metric_id,
            MetricStat=cw.MetricStat(
                Metric=cw.Metric(
                    Namespace="ECS/ContainerInsights", MetricName=metric, Dimensions=_ecs_dimensions(s, svc)
                ),
                Period=t.period,
                Stat="Average",
            ),
            ReturnData=False,
        )

    shortfall = cw.MetricDataQuery(
        Id="shortfall",
        Expression=f"IF(desired < {svc.min}, desired, {svc.min}) - running",
        Label="Tasks short of the minimum",
        ReturnData=True,
    )
    return AlarmRow(
        "RunningTasksLow",
        "running-tasks-low",
        f"fewer running tasks than its minimum of {svc.min} (or the desired count, when lower)",
        0,
        "GreaterThanThreshold",
        "missing",
        guards=True,
        metric={
            "Metrics": [
                insights("running", "RunningTaskCount"),
                insights("desired", "DesiredTaskCount"),
                shortfall,
            ]
        },
    )


def _target(
    key: str, what: str, metric: str, field_name: str, meaning: str, **stat: str
) -> Callable[..., AlarmRow]:
    """A target-group alarm: only reported while there is traffic or targets, so no data is no trouble."""

    def make(s: StackBuilder, svc: Service, t: Alarms) -> AlarmRow:
        threshold = getattr(t, field_name)
        comparison = (
            "GreaterThanThreshold" if field_name == "p99_latency" else "GreaterThanOrEqualToThreshold"
        )
        return AlarmRow(
            key,
            what,
            meaning.format(threshold),
            threshold,
            comparison,
            "notBreaching",
            guards=True,
            metric=(
                _both_groups(s, svc, metric, t.period, stat)
                if needs_alternate_target_group(svc)
                else _target_metric(s, svc, metric, **stat)
            ),
        )

    return make


def _both_groups(
    s: StackBuilder, svc: Service, metric: str, period: int, stat: dict[str, str]
) -> dict[str, Any]:
    """A target-group metric over both groups of a blue/green, canary or linear service: ECS moves
    production between them at every release, so after the first one it may be on the second
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html).
    Counts add up; the p99 latency is the higher of the two."""

    def query(metric_id: str, group: object) -> cw.MetricDataQuery:
        dimensions = [
            cw.MetricDimension(Name="LoadBalancer", Value=s.param(ALB_FULL_NAME)),
            cw.MetricDimension(Name="TargetGroup", Value=group),
        ]
        return cw.MetricDataQuery(
            Id=metric_id,
            MetricStat=cw.MetricStat(
                Metric=cw.Metric(Namespace="AWS/ApplicationELB", MetricName=metric, Dimensions=dimensions),
                Period=period,
                Stat=stat.get("Statistic") or stat["ExtendedStatistic"],
            ),
            ReturnData=False,
        )

    expression = "MAX([first, second])" if "ExtendedStatistic" in stat else "FILL(first, 0) + FILL(second, 0)"
    return {
        "Metrics": [
            query("first", s.param(TARGET_GROUP_FULL_NAME, svc.name)),
            query("second", s.param(TARGET_GROUP2_FULL_NAME, svc.name)),
            cw.MetricDataQuery(
                Id="both", Expression=expression, Label=f"{metric}, both target groups", ReturnData=True
            ),
        ]
    }


def _balancer(key: str, what: str, metric: str, field_name: str, meaning: str) -> Callable[..., AlarmRow]:
    def make(s: StackBuilder, _svc: None, t: Alarms) -> AlarmRow:
        threshold = getattr(t, field_name)
        return AlarmRow(
            key,
            what,
            f"at least {threshold} {meaning} by the load balancer itself per period",
            threshold,
            "GreaterThanOrEqualToThreshold",
            # Both are only reported when something happened: no data is good news.
            "notBreaching",
            metric={
                "Namespace": "AWS/ApplicationELB",
                "MetricName": metric,
                "Dimensions": [cw.MetricDimension(Name="LoadBalancer", Value=s.param(ALB_FULL_NAME))],
                "Statistic": "Sum",
            },
        )

    return make


def _always(_svc: Service | None) -> bool:
    return True


def _behind_alb(svc: Service | None) -> bool:
    return svc is not None and svc.route.behind_alb


# The table. A bad release shows as missing tasks, 5xx, unhealthy targets or latency: those guard
# deployments; CPU and memory do not.
TABLE: tuple[Applies, ...] = (
    Applies(SERVICE, _always, _utilisation("CpuHigh", "cpu-high", "CPUUtilization", "cpu_high")),
    Applies(SERVICE, _always, _utilisation("MemoryHigh", "memory-high", "MemoryUtilization", "memory_high")),
    Applies(SERVICE, lambda svc: svc is not None and svc.min > 0, _running_tasks_low),
    Applies(
        SERVICE,
        _behind_alb,
        _target(
            "Target5xx",
            "5xx",
            "HTTPCode_Target_5XX_Count",
            "target_5xx",
            "at least {} 5xx responses from its targets per period",
            Statistic="Sum",
        ),
    ),
    Applies(
        SERVICE,
        _behind_alb,
        _target(
            "UnhealthyHosts",
            "unhealthy-hosts",
            "UnHealthyHostCount",
            "unhealthy_hosts",
            "at least {} unhealthy targets",
            Statistic="Maximum",
        ),
    ),
    Applies(
        SERVICE,
        _behind_alb,
        _target(
            "LatencyP99",
            "latency-p99",
            "TargetResponseTime",
            "p99_latency",
            "p99 target response time above {:g} s",
            ExtendedStatistic="p99",
        ),
    ),
    Applies(
        PLATFORM,
        _always,
        _balancer("Alb5xx", "alb-5xx", "HTTPCode_ELB_5XX_Count", "alb_5xx", "5xx responses generated"),
    ),
    Applies(
        PLATFORM,
        _always,
        _balancer(
            "AlbRejectedConnections",
            "alb-rejected-connections",
            "RejectedConnectionCount",
            "rejected_connections",
            "connections rejected",
        ),
    ),
)


def rows(s: StackBuilder, dep: Deployment, svc: Service | None) -> list[AlarmRow]:
    """The rows of `svc` (None: the platform's), with its thresholds."""
    scope = PLATFORM if svc is None else SERVICE
    thresholds = dep.env.alarms if svc is None else dep.alarms(svc)
    return [a.make(s, svc, thresholds) for a in TABLE if a.scope == scope and a.when(svc)]


def add(s: StackBuilder, svc: Service | None, topic: object) -> list[tuple[cw.Alarm, bool]]:
    """Make the alarms of `svc` (None: the platform's) in `s`; returns (alarm, guards deployments)."""
    dep = s.dep
    t = dep.env.alarms if svc is None else dep.alarms(svc)
    owner = "The load balancer" if svc is None else svc.name
    window = f"{t.datapoints_to_alarm} of {t.evaluation_periods} periods of {t.period} s"
    made = []
    for row in rows(s, dep, svc):
        metric = dict(row.metric)
        if "Metrics" not in metric:  # a metric-math alarm carries the period in each query instead
            metric["Period"] = t.period
        alarm = cw.Alarm(
            f"{row.key}Alarm",
            AlarmName=s.name("alarm", row.what if svc is None else f"{svc.name}-{row.what}"),
            AlarmDescription=f"{owner}: {row.meaning}, in {window}",
            EvaluationPeriods=t.evaluation_periods,
            DatapointsToAlarm=t.datapoints_to_alarm,
            Threshold=row.threshold,
            ComparisonOperator=row.comparison,
            TreatMissingData=row.missing,
            AlarmActions=[topic],
            OKActions=[topic],
            **metric,
        )
        made.append((s.add(alarm), row.guards))
    return made
