"""The alarm table (tap_cfn/stacks/alarms.py): every alarm watches the right metric of the right
resource with the configured threshold (figures from the operations issue, not copied from the output)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import SERVICES, Built
from tests.stacks.conftest import ALB_SERVICES, alarms, build
from tests.test_config import mutated

CAMEL = {"frontend": "Frontend", "api-gateway": "ApiGateway", "processing": "Processing"}
# The issue's defaults, as documented on the config fields.
CPU_HIGH, MEMORY_HIGH, TARGET_5XX, UNHEALTHY, P99 = 85.0, 85.0, 10, 1, 2.0
MIN_TASKS = 2


def dimensions(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def _shortfall(expression: str, desired: float, running: float) -> float:
    """Evaluate the alarm's metric-math expression (IF and arithmetic) for one datapoint."""
    assert re.fullmatch(r"[A-Za-z0-9<>=(), .-]+", expression)
    return float(
        eval(expression, {"IF": lambda c, t, f: t if c else f}, {"desired": desired, "running": running})
    )


def test_cpu_and_memory_alarms_watch_this_service_in_this_cluster(env_built: Built) -> None:
    for svc in SERVICES:
        stem = f"service-{svc}"
        service_name = env_built.resource(stem, "Service")["Properties"]["ServiceName"]
        assert env_built.fed_by(stem, "ClusterName") == {
            "Fn::GetAtt": ["ClusterStack", "Outputs.ClusterName"]
        }
        found = alarms(env_built, stem)
        for logical, metric, threshold in (
            ("CpuHighAlarm", "CPUUtilization", CPU_HIGH),
            ("MemoryHighAlarm", "MemoryUtilization", MEMORY_HIGH),
        ):
            props = found[logical]
            assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
                "AWS/ECS",
                metric,
                "Average",
            )
            # the dimension is the very name the service is created with (a string, no GetAtt cycle)
            assert dimensions(props) == {"ClusterName": {"Ref": "ClusterName"}, "ServiceName": service_name}
            assert props["Threshold"] == threshold
            assert props["ComparisonOperator"] == "GreaterThanThreshold"
            assert (props["Period"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (60, 5, 3)


def test_running_tasks_alarm_fires_below_the_minimum_in_force(env_built: Built) -> None:
    for svc in SERVICES:
        stem = f"service-{svc}"
        props = alarms(env_built, stem)["RunningTasksLowAlarm"]
        service_name = env_built.resource(stem, "Service")["Properties"]["ServiceName"]
        queries = {q["Id"]: q for q in props["Metrics"]}
        for query_id, metric in (("running", "RunningTaskCount"), ("desired", "DesiredTaskCount")):
            stat = queries[query_id]["MetricStat"]
            assert stat["Metric"]["Namespace"] == "ECS/ContainerInsights"
            assert stat["Metric"]["MetricName"] == metric
            assert dimensions(stat["Metric"]) == {
                "ClusterName": {"Ref": "ClusterName"},
                "ServiceName": service_name,
            }
            assert queries[query_id]["ReturnData"] is False
        (result,) = [q for q in queries.values() if q.get("ReturnData")]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)

        expression, threshold = result["Expression"], props["Threshold"]

        def fires(
            desired: float, running: float, expression: str = expression, threshold: float = threshold
        ) -> bool:
            return _shortfall(expression, desired, running) > threshold

        assert fires(desired=MIN_TASKS, running=MIN_TASKS - 1)
        assert not fires(desired=MIN_TASKS, running=MIN_TASKS)
        assert not fires(desired=6, running=4)  # scaled out and catching up: still above the minimum
        assert fires(desired=6, running=1)
        assert not fires(desired=0, running=0)  # a scheduled window scaled the service to zero


def test_services_behind_the_alb_alarm_on_their_own_target_group(env_built: Built) -> None:
    lb = env_built.stack("network")
    for svc in ALB_SERVICES:
        stem, tg = f"service-{svc}", f"{CAMEL[svc]}TargetGroupFullName"
        assert env_built.fed_by(stem, tg) == {"Fn::GetAtt": ["NetworkStack", f"Outputs.{tg}"]}
        assert lb["Outputs"][tg]["Value"] == {
            "Fn::GetAtt": [f"{CAMEL[svc]}TargetGroup", "TargetGroupFullName"]
        }
        assert env_built.fed_by(stem, "AlbFullName") == {
            "Fn::GetAtt": ["NetworkStack", "Outputs.AlbFullName"]
        }
        found = alarms(env_built, stem)
        expected = {
            "Target5xxAlarm": (
                "HTTPCode_Target_5XX_Count",
                "Sum",
                TARGET_5XX,
                "GreaterThanOrEqualToThreshold",
            ),
            "UnhealthyHostsAlarm": (
                "UnHealthyHostCount",
                "Maximum",
                UNHEALTHY,
                "GreaterThanOrEqualToThreshold",
            ),
            "LatencyP99Alarm": ("TargetResponseTime", "p99", P99, "GreaterThanThreshold"),
        }
        for logical, (metric, stat, threshold, comparison) in expected.items():
            props = found[logical]
            assert props["Namespace"] == "AWS/ApplicationELB" and props["MetricName"] == metric
            assert props.get("Statistic", props.get("ExtendedStatistic")) == stat
            assert dimensions(props) == {"LoadBalancer": {"Ref": "AlbFullName"}, "TargetGroup": {"Ref": tg}}
            assert (props["Threshold"], props["ComparisonOperator"]) == (threshold, comparison)
            assert props["TreatMissingData"] == "notBreaching"
    assert set(alarms(env_built, "service-processing")) == {
        "CpuHighAlarm",
        "MemoryHighAlarm",
        "RunningTasksLowAlarm",
    }
    assert "AlbFullName" not in env_built.stack("service-processing")["Parameters"]


def test_load_balancer_alarms_watch_this_load_balancer(env_built: Built) -> None:
    assert env_built.fed_by("monitoring", "AlbFullName") == {
        "Fn::GetAtt": ["NetworkStack", "Outputs.AlbFullName"]
    }
    found = alarms(env_built, "monitoring")
    assert set(found) == {"Alb5xxAlarm", "AlbRejectedConnectionsAlarm"}
    for logical, metric, threshold in (
        ("Alb5xxAlarm", "HTTPCode_ELB_5XX_Count", 10),
        ("AlbRejectedConnectionsAlarm", "RejectedConnectionCount", 1),
    ):
        props = found[logical]
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
            "AWS/ApplicationELB",
            metric,
            "Sum",
        )
        assert dimensions(props) == {"LoadBalancer": {"Ref": "AlbFullName"}}
        assert (props["Threshold"], props["ComparisonOperator"]) == (
            threshold,
            "GreaterThanOrEqualToThreshold",
        )


def test_alarm_names_are_unique_and_follow_the_convention(env_built: Built) -> None:
    names = [
        props["AlarmName"]["Fn::Sub"]
        for _, _, resource in env_built.all_resources()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for props in [resource["Properties"]]
    ]
    assert len(names) == len(set(names)) == 2 * 6 + 3 + 2
    assert all(re.fullmatch(r"tap-alarm-[a-z0-9-]+-\$\{EnvironmentSuffix\}", n) for n in names)
    assert "tap-alarm-api-gateway-latency-p99-${EnvironmentSuffix}" in names


def test_thresholds_come_from_the_environment_and_the_service_override() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["alarms"] = {"cpu_high": 70, "period": 300, "evaluation_periods": 3}
        raw["environments"]["prod"]["alarms"]["datapoints_to_alarm"] = 2
        raw["services"][1]["alarms"] = {"p99_latency": 0.5, "target_5xx": 50}

    raw = mutated(change)
    prod, dev = build(raw, "prod"), build(raw, "dev")
    api = alarms(prod, "service-api-gateway")
    assert api["LatencyP99Alarm"]["Threshold"] == 0.5
    assert api["Target5xxAlarm"]["Threshold"] == 50
    assert api["CpuHighAlarm"]["Threshold"] == 70.0
    assert (api["CpuHighAlarm"]["Period"], api["CpuHighAlarm"]["EvaluationPeriods"]) == (300, 3)
    assert api["CpuHighAlarm"]["DatapointsToAlarm"] == 2
    running = api["RunningTasksLowAlarm"]["Metrics"]
    assert {q["MetricStat"]["Period"] for q in running if "MetricStat" in q} == {300}
    assert alarms(prod, "service-frontend")["LatencyP99Alarm"]["Threshold"] == P99
    assert alarms(dev, "service-api-gateway")["CpuHighAlarm"]["Threshold"] == CPU_HIGH
    assert alarms(dev, "service-api-gateway")["LatencyP99Alarm"]["Threshold"] == 0.5


def test_a_service_without_a_minimum_has_no_running_tasks_alarm() -> None:
    raw = mutated(lambda r: r["services"][2].update(min=0))
    b = build(raw, "dev")
    assert "RunningTasksLowAlarm" not in alarms(b, "service-processing")
    # nothing left to guard its deployments with: the circuit breaker still does
    config = b.resource("service-processing", "Service")["Properties"]["DeploymentConfiguration"]
    assert "Alarms" not in config and config["DeploymentCircuitBreaker"]["Rollback"] is True


def test_a_canary_service_s_target_alarms_watch_both_of_its_target_groups() -> None:
    def canary(raw: dict[str, Any]) -> None:
        raw["services"][1]["deployment"] = {"strategy": "canary"}

    built = build(mutated(canary), "dev")
    found = alarms(built, "service-api-gateway")
    for key, stat, expression in (
        ("Target5xxAlarm", "Sum", "FILL(first, 0) + FILL(second, 0)"),
        ("UnhealthyHostsAlarm", "Maximum", "FILL(first, 0) + FILL(second, 0)"),
        ("LatencyP99Alarm", "p99", "MAX([first, second])"),
    ):
        first, second, both = found[key]["Metrics"]
        groups = [q["MetricStat"]["Metric"]["Dimensions"][1]["Value"] for q in (first, second)]
        assert groups == [{"Ref": "ApiGatewayTargetGroupFullName"}, {"Ref": "ApiGatewayTargetGroup2FullName"}]
        assert {first["MetricStat"]["Stat"], second["MetricStat"]["Stat"]} == {stat}
        assert (both["Expression"], both["ReturnData"]) == (expression, True)
        assert not {"MetricName", "Period", "Statistic", "ExtendedStatistic"} & set(found[key])
    # a rolling service keeps its plain one-group alarms
    assert alarms(built, "service-frontend")["Target5xxAlarm"]["MetricName"] == "HTTPCode_Target_5XX_Count"
