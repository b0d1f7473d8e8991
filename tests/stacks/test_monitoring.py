"""The monitoring stack (tap_cfn/stacks/monitoring.py): the one encrypted topic every alarm notifies,
the optional e-mail subscription and the dashboard, which does not grow with the services."""

from __future__ import annotations

import json
import re
from typing import Any

from tap_cfn import config as cfg
from tap_cfn import generator
from tests.conftest import SERVICES, Built
from tests.stacks.conftest import alarms
from tests.test_config import mutated

TOPIC = {"Ref": "AlarmTopicArn"}


def dashboard(b: Built) -> tuple[str, dict[str, Any]]:
    text = b.resource("monitoring", "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    return text, json.loads(text)


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
