"""tap_cfn/topology.py at scale: GIVEN platforms of up to 100 services, WHEN generated, THEN services
sit in groups of GROUP_SIZE, security rules across groups point only to earlier groups, and appending
a service moves nothing and renumbers no listener rule."""

from __future__ import annotations

from tap_cfn import config as cfg
from tap_cfn.topology import listener_rules
from tests.platforms import platform, render
from tests.wiring import parse


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
