"""GIVEN platforms from 1 to 100 services, WHEN generated, THEN every template stays within
CloudFormation's quotas, the wiring is complete at every depth, and growth never moves
what already exists.

Platform-wide (generator, topology grouping, nesting, lint together), so at the top level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator
from tap_cfn.lint import lint
from tap_cfn.topology import GROUP_SIZE, listener_rules
from tests.platforms import platform
from tests.wiring import parse, quota_problems, wiring_problems

FIXTURES = Path(__file__).parent / "fixtures"


def render(raw: dict, env: str = "prod", formats: tuple[str, ...] = ("json", "yaml")) -> dict[str, str]:
    return generator.render_environment(cfg.Deployment(cfg.parse(raw, "platform.yaml"), env), formats)


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


def test_one_hundred_services_are_grouped_in_tens() -> None:
    templates = parse(render(platform(100)))
    root_stacks = {r["Properties"]["TemplateURL"] for r in templates["root"]["Resources"].values()}
    assert {f"services-{k}.json" for k in range(1, 11)} <= root_stacks
    assert "service-web.json" not in root_stacks  # services sit in their group
    group = templates["services-3"]["Resources"]
    nested = sorted(r["Properties"]["TemplateURL"] for r in group.values())
    assert nested[:3] == ["data-3.json", "loadbalancer-3.json", "security-3.json"]
    assert len(nested) == 3 + 10  # its data, load balancer and security parts, then ten services
    # the platform-wide stacks hold no per-service resources
    assert {r["Type"] for r in templates["data"]["Resources"].values()} == {
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",  # the platform key
    }
    lb_types = [r["Type"] for r in templates["network"]["Resources"].values()]
    assert lb_types.count("AWS::ElasticLoadBalancingV2::TargetGroup") == 1  # the default action's


def test_cross_group_security_rules_refer_only_to_earlier_groups() -> None:
    templates = parse(render(platform(100)))
    # worker-30 (group 4) is called by api-29 (group 3): the rule lives in group 4's security stack
    security4 = templates["security-4"]
    ingress = security4["Resources"]["Worker30IngressFromApi29"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "Api29SecurityGroupId"}
    assert ingress["GroupId"] == {"Fn::GetAtt": ["Worker30SecurityGroup", "GroupId"]}
    for stem, template in templates.items():
        if stem.startswith("security-"):
            group = int(stem.split("-")[1])
            for name in template.get("Parameters", {}):
                owner = name.removesuffix("SecurityGroupId")
                if owner not in {"Alb", name} and name.endswith("SecurityGroupId"):
                    index = int(owner.removeprefix("Api").removeprefix("Worker")) if owner != "Web" else 0
                    assert index // 10 + 1 < group, (stem, name)  # services 0-9 in group 1, ...


def test_appending_services_moves_nothing_and_renumbers_no_rule() -> None:
    before, after = platform(37), platform(38)
    old = parse(render(before, formats=("json",)))
    new = parse(render(after, formats=("json",)))
    changed = set()
    for stem, template in old.items():
        for logical_id, resource in template["Resources"].items():
            moved = new[stem]["Resources"][logical_id]
            if resource["Type"] == "AWS::CloudFormation::Stack":  # may be fed one more parameter
                assert moved["Properties"]["TemplateURL"] == resource["Properties"]["TemplateURL"]
                resource, moved = resource["Properties"]["Parameters"], moved["Properties"]["Parameters"]
                assert resource.items() <= moved.items(), (stem, logical_id)
            elif moved != resource:
                changed.add((stem, logical_id))
    assert changed == set()
    assert set(new) - set(old) == {"service-api-37"}
    old_rules = {r.service: r.priority for r in listener_rules(cfg.Deployment(cfg.parse(before), "dev"))}
    new_rules = {r.service: r.priority for r in listener_rules(cfg.Deployment(cfg.parse(after), "dev"))}
    assert {k: new_rules[k] for k in old_rules} == old_rules


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
