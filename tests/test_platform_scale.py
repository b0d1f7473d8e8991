"""GIVEN platforms from 1 to 100 services, WHEN generated, THEN every template stays within
CloudFormation's quotas, the wiring is complete at every depth, and the templates lint clean.

A story across modules (generator, topology, nesting, root and lint together), so at the top
level; how services are grouped and what growth leaves in place is tests/test_topology.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator
from tap_cfn.lint import lint
from tap_cfn.topology import GROUP_SIZE, listener_rules
from tests.platforms import platform, render
from tests.wiring import parse, quota_problems, wiring_problems

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("count", [1, 3, GROUP_SIZE, GROUP_SIZE + 1, 37, 100])
def test_templates_stay_within_quotas_and_are_fully_wired(count: int) -> None:
    files = render(platform(count))
    assert quota_problems(files) == []
    templates = parse(files)
    assert wiring_problems(templates) == []
    services = [t for stem, t in templates.items() if stem.startswith("service-")]
    assert len(services) == count
    ecs = [r for t in templates.values() for r in t["Resources"].values() if r["Type"] == "AWS::ECS::Service"]
    assert len(ecs) == count


def test_the_root_keeps_per_service_outputs_on_the_groups_when_they_would_overflow() -> None:
    small = parse(render(platform(20), formats=("json",)))["root"]["Outputs"]
    large = parse(render(platform(100), formats=("json",)))["root"]["Outputs"]
    assert "Api1ServiceName" in small  # the repository URIs are the registry stack's outputs
    assert "Api1ServiceName" not in large and {"AlbDnsName", "ClusterName", "VpcId"} <= set(large)


def test_a_large_platform_lints_clean(tmp_path: Path) -> None:
    """The grouped layout (root, groups, platform-wide and per-group parts) through cfn-lint."""
    files = render(platform(24), env="dev", formats=("json",))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    picked = [
        "root",
        "services-1",
        "services-3",
        "flowlogs",
        "notifications",
        "data",
        "cluster",
        "network",
        "security-3",
        "data-3",
        "loadbalancer-3",
        "service-worker-21",
        "service-api-22",
    ]
    assert lint([tmp_path / f"{stem}.json" for stem in picked]) == []


def test_the_eight_service_example_generates_and_lints_clean(tmp_path: Path) -> None:
    config = cfg.load(FIXTURES / "eight-services.yaml")
    assert len(config.services) == 8
    files = generator.render_environment(cfg.Deployment(config, "dev"), ["json", "yaml"])
    assert quota_problems(files) == [] and wiring_problems(parse(files)) == []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert lint(sorted(tmp_path.iterdir())) == []
    security = json.loads(files["network.json"])["Resources"]
    assert security["OrdersIngressFromWebhooks"]["Properties"]["FromPort"] == 9002
    assert security["PaymentsIngressFromOrders"]["Properties"]["FromPort"] == 9003
    rules = {r.service: r.priority for r in listener_rules(cfg.Deployment(config, "dev"))}
    assert rules == {"webhooks": 50, "api": 100, "admin": 200}
