"""The monitoring stack (tap_cfn/stacks/monitoring.py): the load balancer's alarms and the dashboard,
which does not grow with the services; no stack waits for it."""

from __future__ import annotations

import json
import re
from typing import Any

from tap_cfn import config as cfg
from tap_cfn import generator
from tests.conftest import Built
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


def test_the_load_balancer_alarms_notify_the_topic_of_the_notifications_stack(env_built: Built) -> None:
    assert env_built.fed_by("monitoring", "AlarmTopicArn") == {
        "Fn::GetAtt": ["NotificationsStack", "Outputs.AlarmTopicArn"]
    }
    made = alarms(env_built, "monitoring")
    assert made
    for props in made.values():
        assert props["AlarmActions"] == [TOPIC] and props["OKActions"] == [TOPIC]


def test_no_stack_waits_for_the_monitoring_stack(env_built: Built) -> None:
    for logical_id, stack in env_built.root["Resources"].items():
        assert "MonitoringStack" not in str(stack.get("Properties", {}).get("Parameters", {})), logical_id
        assert "MonitoringStack" not in stack.get("DependsOn", []), logical_id


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
        "AlarmTopicArn",
        "AlbFullName",
        "ClusterName",
        "EnvironmentSuffix",
    }
    last = many["service-svc39"]["Resources"]
    assert sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in last.values()) == 6
    assert len(json.dumps(many["monitoring"])) < 51_200 / 4
