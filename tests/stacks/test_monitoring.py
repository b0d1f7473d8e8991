"""GIVEN the config, WHEN the templates are built, THEN every alarm watches the right metric of the
right resource with the configured threshold and notifies the one encrypted topic; deployments are
guarded by the service's alarms; the dashboard names this deployment's resources; scaling follows
the config (figures from the operations issue, not copied from the output)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator
from tests.conftest import SERVICES, Built
from tests.test_config import mutated

CAMEL = {"frontend": "Frontend", "api-gateway": "ApiGateway", "processing": "Processing"}
ALB_SERVICES = ("frontend", "api-gateway")
TOPIC = {"Ref": "AlarmTopicArn"}
# The issue's defaults, as documented on the config fields.
CPU_HIGH, MEMORY_HIGH, TARGET_5XX, UNHEALTHY, P99 = 85.0, 85.0, 10, 1, 2.0
MIN_TASKS = 2


def alarms(b: Built, stem: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in b.resources(stem, "AWS::CloudWatch::Alarm").items()}


def dimensions(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def build(raw: dict[str, Any], env: str) -> Built:
    return Built(cfg.Deployment(cfg.parse(raw), env))


def test_every_alarm_notifies_the_one_topic_of_the_monitoring_stack(env_built: Built) -> None:
    topic = env_built.stack("monitoring")["Outputs"]["AlarmTopicArn"]["Value"]
    assert topic == {"Ref": "AlarmTopic"}
    for svc in SERVICES:
        stem = f"service-{svc}"
        assert env_built.fed_by(stem, "AlarmTopicArn") == {
            "Fn::GetAtt": ["MonitoringStack", "Outputs.AlarmTopicArn"]
        }
        for props in alarms(env_built, stem).values():
            assert props["AlarmActions"] == [TOPIC] and props["OKActions"] == [TOPIC]
    for props in alarms(env_built, "monitoring").values():
        assert props["AlarmActions"] == [topic] and props["OKActions"] == [topic]


def test_the_topic_is_encrypted_with_the_deployment_key_that_cloudwatch_may_use(env_built: Built) -> None:
    topic = env_built.resource("monitoring", "AlarmTopic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "KmsKeyArn"}
    assert env_built.fed_by("monitoring", "KmsKeyArn") == {"Fn::GetAtt": ["DataStack", "Outputs.KmsKeyArn"]}
    assert env_built.stack("data")["Outputs"]["KmsKeyArn"]["Value"] == {"Fn::GetAtt": ["Key", "Arn"]}
    key = env_built.resource("data", "Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        st
        for st in key["KeyPolicy"]["Statement"]
        if st["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    ]
    assert len(cloudwatch) == 1
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(cloudwatch[0]["Action"])


def test_the_email_subscription_exists_only_when_an_address_is_given(env_built: Built) -> None:
    monitoring = env_built.stack("monitoring")
    subscription = monitoring["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert monitoring["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert subscription["Properties"] == {
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
        "TopicArn": {"Ref": "AlarmTopic"},
    }
    parameter = env_built.root["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    assert env_built.fed_by("monitoring", "AlarmEmail") == {"Ref": "AlarmEmail"}
    for accepted in ("", "oncall@example.com", "team+alerts@ops.example.co.uk"):
        assert re.fullmatch(parameter["AllowedPattern"], accepted), accepted
    for refused in ("oncall", "oncall@example", "on call@example.com", "a@b@c.com"):
        assert not re.fullmatch(parameter["AllowedPattern"], refused), refused


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


def _shortfall(expression: str, desired: float, running: float) -> float:
    """Evaluate the alarm's metric-math expression (IF and arithmetic) for one datapoint."""
    assert re.fullmatch(r"[A-Za-z0-9<>=(), .-]+", expression)
    return float(
        eval(expression, {"IF": lambda c, t, f: t if c else f}, {"desired": desired, "running": running})
    )


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
    lb = env_built.stack("loadbalancer")
    for svc in ALB_SERVICES:
        stem, tg = f"service-{svc}", f"{CAMEL[svc]}TargetGroupFullName"
        assert env_built.fed_by(stem, tg) == {"Fn::GetAtt": ["LoadBalancerStack", f"Outputs.{tg}"]}
        assert lb["Outputs"][tg]["Value"] == {
            "Fn::GetAtt": [f"{CAMEL[svc]}TargetGroup", "TargetGroupFullName"]
        }
        assert env_built.fed_by(stem, "AlbFullName") == {
            "Fn::GetAtt": ["LoadBalancerStack", "Outputs.AlbFullName"]
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
        "Fn::GetAtt": ["LoadBalancerStack", "Outputs.AlbFullName"]
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


def test_deployments_roll_back_on_the_services_symptom_alarms(env_built: Built) -> None:
    for svc in SERVICES:
        stem = f"service-{svc}"
        config = env_built.resource(stem, "Service")["Properties"]["DeploymentConfiguration"]
        assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert (config["MinimumHealthyPercent"], config["MaximumPercent"]) == (100, 200)
        guarded = config["Alarms"]
        assert guarded["Enable"] is True and guarded["Rollback"] is True
        listed = {ref["Ref"] for ref in guarded["AlarmNames"]}
        expected = {"RunningTasksLowAlarm"}
        if svc in ALB_SERVICES:
            expected |= {"Target5xxAlarm", "UnhealthyHostsAlarm", "LatencyP99Alarm"}
        assert listed == expected
        assert not listed & {"CpuHighAlarm", "MemoryHighAlarm"}  # saturation is for auto scaling
        assert listed <= set(alarms(env_built, stem))


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


def dashboard(b: Built) -> tuple[str, dict[str, Any]]:
    text = b.resource("monitoring", "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    return text, json.loads(text)


def test_the_dashboard_shows_this_deployments_services(env_built: Built) -> None:
    text, body = dashboard(env_built)
    assert json.dumps(body, sort_keys=True, separators=(",", ":")) == text  # deterministic
    assert set(re.findall(r"\$\{([^}!]+)\}", text)) == {"AWS::Region", "ClusterName", "AlbFullName"}
    assert env_built.fed_by("monitoring", "ClusterName") == {
        "Fn::GetAtt": ["ClusterStack", "Outputs.ClusterName"]
    }
    shown: dict[tuple[str, str], str] = {}
    for widget in body["widgets"]:
        props = widget["properties"]
        assert props["region"] == "${AWS::Region}" and props["title"]
        for (query,) in props["metrics"]:
            match = re.fullmatch(
                r"SEARCH\('\{(?P<schema>[^}]+)\} (?P<scope>\S+) MetricName=\"(?P<metric>\w+)\"', "
                r"'(?P<stat>\w+)', (?P<period>\d+)\)",
                query["expression"],
            )
            assert match, query["expression"]
            namespace = match["schema"].split(",")[0]
            # scoped to this deployment: its cluster or its load balancer, never the whole account
            expected_scope = {
                "AWS/ECS": 'ClusterName="${ClusterName}"',
                "ECS/ContainerInsights": 'ClusterName="${ClusterName}"',
                "AWS/ApplicationELB": 'LoadBalancer="${AlbFullName}"',
            }[namespace]
            assert match["scope"] == expected_scope
            shown[(namespace, match["metric"])] = match["stat"]
    assert shown[("AWS/ApplicationELB", "RequestCount")] == "Sum"
    assert shown[("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")] == "Sum"
    assert shown[("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")] == "Sum"
    assert shown[("AWS/ApplicationELB", "TargetResponseTime")] == "p99"
    assert shown[("AWS/ECS", "CPUUtilization")] == "Average"
    assert shown[("AWS/ECS", "MemoryUtilization")] == "Average"
    assert ("ECS/ContainerInsights", "RunningTaskCount") in shown
    cells = set()
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        for dx in range(widget["width"]):
            for dy in range(widget["height"]):
                cell = (widget["x"] + dx, widget["y"] + dy)
                assert cell not in cells, "widgets overlap"
                cells.add(cell)


def _many_services(count: int) -> dict[str, Any]:
    def change(raw: dict[str, Any]) -> None:
        extra = [
            {
                "name": f"svc{i}",
                "port": 8000 + i,
                "cpu": 256,
                "memory": 512,
                "route": {"type": "alb", "path": f"/s{i}/*"},
            }
            for i in range(count)
        ]
        raw["services"].extend(extra)

    return mutated(change)


def _stacks(raw: dict[str, Any], env: str) -> dict[str, dict[str, Any]]:
    """Every stack by stem, at any depth (a large platform nests its services in groups)."""
    return generator.build_environment(cfg.Deployment(cfg.parse(raw), env))


def test_the_monitoring_stack_does_not_grow_with_the_services() -> None:
    few, many = _stacks(_many_services(0), "prod"), _stacks(_many_services(40), "prod")
    assert "services-4" not in few and len(many) > len(few)  # 43 services: nested in groups
    assert few["monitoring"] == many["monitoring"]
    assert set(many["monitoring"]["Parameters"]) == {
        "AlarmEmail",
        "AlbFullName",
        "ClusterName",
        "EnvironmentSuffix",
        "KmsKeyArn",
    }
    last = many["service-svc39"]["Resources"]
    assert sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in last.values()) == 6
    assert len(json.dumps(many["monitoring"])) < 51_200 / 4


def test_memory_and_request_scaling_track_the_right_metrics() -> None:
    raw = mutated(
        lambda r: r["services"][1].update(scaling={"memory_target": 75, "requests_per_target": 500})
    )
    b = build(raw, "prod")
    stem = "service-api-gateway"
    policies = {
        k: v["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for k, v in b.resources(stem, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
    }
    assert set(policies) == {"CpuScalingPolicy", "MemoryScalingPolicy", "RequestsScalingPolicy"}
    memory = policies["MemoryScalingPolicy"]
    assert memory["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageMemoryUtilization"
    }
    assert memory["TargetValue"] == 75.0
    requests = policies["RequestsScalingPolicy"]
    assert requests["TargetValue"] == 500.0
    spec = requests["PredefinedMetricSpecification"]
    assert spec["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    # app/<alb>/<id>/targetgroup/<tg>/<id>: this service's target group on this load balancer
    assert spec["ResourceLabel"] == {"Fn::Sub": "${AlbFullName}/${ApiGatewayTargetGroupFullName}"}
    assert b.fed_by(stem, "ApiGatewayTargetGroupFullName") == {
        "Fn::GetAtt": ["LoadBalancerStack", "Outputs.ApiGatewayTargetGroupFullName"]
    }
    for props in b.resources(stem, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
        assert props["Properties"]["ScalingTargetId"] == {"Ref": "ScalableTarget"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_scheduled_window_replaces_the_bounds_and_gives_them_back(env: str) -> None:
    window = {
        "start": "cron(0 20 ? * MON-FRI *)",
        "end": "cron(0 7 ? * MON-FRI *)",
        "timezone": "Europe/Berlin",
        "min": 0,
        "max": 1,
    }
    raw = mutated(lambda r: r["environments"]["dev"].update(scheduled_scaling=window))
    raw["services"][0].update(min=3, desired=3, max=12)
    b = build(raw, env)
    for svc, (low, high) in {"frontend": (3, 12), "api-gateway": (2, 10), "processing": (2, 10)}.items():
        (target,) = b.resources(f"service-{svc}", "AWS::ApplicationAutoScaling::ScalableTarget").values()
        actions = target["Properties"].get("ScheduledActions")
        if env == "prod":
            assert actions is None
            continue
        assert actions == [
            {
                "ScheduledActionName": "window-start",
                "Schedule": "cron(0 20 ? * MON-FRI *)",
                "Timezone": "Europe/Berlin",
                "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 1},
            },
            {
                "ScheduledActionName": "window-end",
                "Schedule": "cron(0 7 ? * MON-FRI *)",
                "Timezone": "Europe/Berlin",
                "ScalableTargetAction": {"MinCapacity": low, "MaxCapacity": high},
            },
        ]
