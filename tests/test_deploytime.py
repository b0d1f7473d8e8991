"""The deploy-time model on a hand-made stack tree whose critical paths are worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tap_cfn import deploytime
from tap_cfn.diagram.model import STACK_TYPE, Stacks

# Made-up resource types with round weights; a nested stack costs 30 s of its own.
SECONDS = {"Test::Key": 60, "Test::Log": 2, "Test::Nat": 150, "Test::Service": 180}
OVERHEAD = 30


def stack(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"Type": STACK_TYPE, "Properties": {"TemplateURL": "x.json", "Parameters": parameters}}


# root: KeysStack (a key, 60 s) -> NetworkStack (a log group encrypted with the key, 2 s, and a
# NAT gateway needing nothing, 150 s) -> AppStack (a service writing to that log group, 180 s).
TREE = Stacks(
    templates={
        "": {
            "Resources": {
                "KeysStack": stack({}),
                "NetworkStack": stack({"KeyArn": {"Fn::GetAtt": ["KeysStack", "Outputs.KeyArn"]}}),
                "AppStack": stack({"LogName": {"Fn::GetAtt": ["NetworkStack", "Outputs.LogName"]}}),
            }
        },
        "KeysStack": {
            "Resources": {"Key": {"Type": "Test::Key"}},
            "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}},
        },
        "NetworkStack": {
            "Parameters": {"KeyArn": {"Type": "String"}},
            "Resources": {
                "Log": {"Type": "Test::Log", "Properties": {"KmsKeyId": {"Ref": "KeyArn"}}},
                "Nat": {"Type": "Test::Nat", "Properties": {}},
            },
            "Outputs": {"LogName": {"Value": {"Ref": "Log"}}},
        },
        "AppStack": {
            "Parameters": {"LogName": {"Type": "String"}},
            "Resources": {
                "Service": {"Type": "Test::Service", "Properties": {"Logs": {"Fn::Sub": "${LogName}"}}}
            },
        },
    },
    parents={
        "KeysStack": ("", "KeysStack"),
        "NetworkStack": ("", "NetworkStack"),
        "AppStack": ("", "AppStack"),
    },
    stems={"": "root", "KeysStack": "keys", "NetworkStack": "network", "AppStack": "app"},
)


def weigh(kind: str) -> float:
    return SECONDS[kind]


def test_nested_waits_for_whole_stacks() -> None:
    """keys 30 + 60 = 90; network starts at 90, 30 + max(2, 150) = 180, done at 270;
    app starts at 270, 30 + 180, done at 480 — the NAT gateway delays a service that never uses it."""
    estimate = deploytime.nested(TREE, weigh, OVERHEAD)
    assert estimate.seconds == 480
    assert [(s.name, s.finish) for s in estimate.path] == [
        ("keys/Key", 90),
        ("KeysStack", 90),
        ("network/Nat", 270),
        ("NetworkStack", 270),
        ("app/Service", 480),
        ("AppStack", 480),
    ]


def test_flat_waits_only_for_the_resources_values_come_from() -> None:
    """key 60 -> log group 62 -> service 242; the NAT gateway (150) runs beside them."""
    estimate = deploytime.flat(TREE, weigh)
    assert estimate.seconds == 242
    assert [(s.name, s.finish) for s in estimate.path] == [
        ("keys/Key", 60),
        ("network/Log", 62),
        ("app/Service", 242),
    ]


def test_the_chain_names_each_stack_waited_for_and_the_parameter_that_makes_it_wait() -> None:
    links = deploytime.chain(TREE, "AppStack", weigh, OVERHEAD)
    assert [(link.stack, link.finish, link.via) for link in links] == [
        ("KeysStack", 90, ()),
        ("NetworkStack", 270, ("KeyArn",)),
        ("AppStack", 480, ("LogName",)),
    ]


def test_depends_on_a_nested_stack_waits_for_all_of_it_in_the_flat_form_too() -> None:
    templates = {k: dict(v) for k, v in TREE.templates.items()}
    templates[""] = {"Resources": dict(TREE.templates[""]["Resources"])}
    templates[""]["Resources"]["AppStack"] = {**stack({}), "DependsOn": "NetworkStack"}
    tree = Stacks(templates, TREE.parents, TREE.stems)
    # app's service waits for the NAT gateway (150) now: 150 + 180
    assert deploytime.flat(tree, weigh).seconds == 330


def test_flat_an_elastic_ip_and_a_public_load_balancer_wait_for_the_gateway_attachment() -> None:
    # GIVEN one template with a gateway attachment (15 s), an Elastic IP, an internet-facing and an
    # internal load balancer, none referring to the attachment
    seconds = {
        "AWS::EC2::VPCGatewayAttachment": 15,
        "AWS::EC2::EIP": 5,
        "AWS::ElasticLoadBalancingV2::LoadBalancer": 180,
    }
    resources = {
        "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {}},
        "Eip": {"Type": "AWS::EC2::EIP", "Properties": {}},
        "Public": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
        "Private": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Scheme": "internal"},
        },
    }
    tree = Stacks({"": {"Resources": resources}}, {}, {"": "root"})
    # WHEN modelled flat THEN the public one starts after the attachment: 15 + 180
    estimate = deploytime.flat(tree, seconds.__getitem__)
    assert estimate.seconds == 195
    assert [s.name for s in estimate.path] == ["root/Attachment", "root/Public"]


def test_a_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        deploytime.longest({"a": (1, {"b"}), "b": (1, {"a"})})


def test_every_weight_has_a_source_or_says_estimate() -> None:
    for kind, (seconds, source) in deploytime.WEIGHTS.items():
        assert seconds > 0 and (
            "github.com" in source or "docs.aws.amazon.com" in source or "estimate" in source
        ), kind


def test_flat_a_service_behind_the_load_balancer_waits_for_the_rule_of_its_target_group() -> None:
    # GIVEN a service in a target group another stack's rule forwards to (rule 5 s, service 180 s)
    seconds = {
        "AWS::ElasticLoadBalancingV2::TargetGroup": 10,
        "AWS::ElasticLoadBalancingV2::ListenerRule": 5,
        "AWS::ECS::Service": 180,
    }
    lb = {
        "Resources": {
            "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {}},
            "Rule": {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {"Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Group"}}]},
            },
        },
        "Outputs": {"GroupArn": {"Value": {"Ref": "Group"}}},
    }
    app = {
        "Parameters": {"GroupArn": {"Type": "String"}},
        "Resources": {
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {"LoadBalancers": [{"TargetGroupArn": {"Ref": "GroupArn"}}]},
            }
        },
    }
    root = {
        "Resources": {
            "LbStack": stack({}),
            "AppStack": stack({"GroupArn": {"Fn::GetAtt": ["LbStack", "Outputs.GroupArn"]}}),
        }
    }
    tree = Stacks(
        {"": root, "LbStack": lb, "AppStack": app},
        {"LbStack": ("", "LbStack"), "AppStack": ("", "AppStack")},
        {"": "root", "LbStack": "lb", "AppStack": "app"},
    )
    # WHEN modelled flat THEN the service starts after the rule: 10 + 5 + 180
    estimate = deploytime.flat(tree, seconds.__getitem__)
    assert [s.name for s in estimate.path] == ["lb/Group", "lb/Rule", "app/Service"]
    assert estimate.seconds == 195


def test_flat_a_service_waits_for_the_route_its_tasks_pull_their_image_through() -> None:
    # GIVEN a service in a subnet (5 s) whose way out is a NAT gateway (150 s) and its route (5 s),
    # the route in another stack that the service takes no value from
    seconds = {
        "AWS::EC2::Subnet": 5,
        "AWS::EC2::NatGateway": 150,
        "AWS::EC2::Route": 5,
        "AWS::ECS::Service": 180,
    }
    network = {
        "Resources": {
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {}},
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "Route": {"Type": "AWS::EC2::Route", "Properties": {"NatGatewayId": {"Ref": "Nat"}}},
        },
        "Outputs": {"SubnetId": {"Value": {"Ref": "Subnet"}}},
    }
    app = {
        "Parameters": {"SubnetId": {"Type": "String"}},
        "Resources": {
            "Service": {"Type": "AWS::ECS::Service", "Properties": {"Subnets": [{"Ref": "SubnetId"}]}}
        },
    }
    root = {
        "Resources": {
            "NetworkStack": stack({}),
            "AppStack": stack({"SubnetId": {"Fn::GetAtt": ["NetworkStack", "Outputs.SubnetId"]}}),
        }
    }
    tree = Stacks(
        {"": root, "NetworkStack": network, "AppStack": app},
        {"NetworkStack": ("", "NetworkStack"), "AppStack": ("", "AppStack")},
        {"": "root", "NetworkStack": "network", "AppStack": "app"},
    )
    # WHEN modelled flat THEN the service starts after the route, not after the subnet: 150 + 5 + 180
    estimate = deploytime.flat(tree, seconds.__getitem__)
    assert [s.name for s in estimate.path] == ["network/Nat", "network/Route", "app/Service"]
    assert estimate.seconds == 335
