"""Nested stacks and their wiring (tap_cfn/stacks/nesting.py): every child parameter fed, children
referenced by relative path, grouped platforms wired through their shared stacks."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from cfn_tools import load_yaml  # reads the short-form tags, as CloudFormation does
from troposphere import Parameter, Template
from troposphere.cloudformation import WaitConditionHandle

from tap_cfn import config as cfg
from tap_cfn import generator
from tap_cfn.stacks import root
from tap_cfn.stacks.nesting import templates_below
from tests.conftest import Built
from tests.stacks.conftest import KEY_ARN_PARAM

STEMS = [
    "network",
    "flowlogs",
    "data",
    "cluster",
    "notifications",
    "monitoring",
] + [
    "service-frontend",
    "service-api-gateway",
    "service-processing",
]


def test_in_a_grouped_platform_the_parts_take_the_key_and_the_rules_listener_from_the_shared_stacks() -> None:
    from tap_cfn import topology

    raw = copy.deepcopy(yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text()))
    for i in range(topology.GROUP_SIZE):
        raw["services"].append(
            {
                "name": f"extra{i}",
                "port": 8100 + i,
                "cpu": 256,
                "memory": 512,
                "route": {"type": "alb", "path": f"/x{i}/*"},
            }
        )
    dep = cfg.Deployment(cfg.parse(raw), "prod")
    templates = generator.build_environment(dep)
    assert "data-2" in templates and "loadbalancer-2" in templates

    assert "loadbalancer" not in templates  # the shared load balancer is the network stack's
    shared_lb = templates["network"]
    assert shared_lb["Outputs"]["ListenerArn"]["Value"] == {
        "Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }
    for rule in (
        r for r in templates["loadbalancer-2"]["Resources"].values() if r["Type"].endswith("ListenerRule")
    ):
        assert rule["Properties"]["ListenerArn"] == {"Ref": "ListenerArn"}

    # the ALB's group in the network stack, each group's service groups in its own security stack
    assert "security" not in templates and "AlbSecurityGroup" in templates["network"]["Resources"]
    assert "Extra7SecurityGroup" in templates["security-2"]["Resources"]
    assert {"FrontendSecurityGroup", "Extra0SecurityGroup"} <= set(templates["security-1"]["Resources"])
    # a group's services pull images through the egress part of the network stack: the whole group
    # waits for that stack, by the values it takes from it (a DependsOn beside them is obsolete)
    for group in ("Services1Stack", "Services2Stack"):
        stack = templates["root"]["Resources"][group]
        fed = stack["Properties"]["Parameters"].values()
        assert {"Fn::GetAtt": ["NetworkStack", "Outputs.PrivateSubnetIds"]} in fed
        assert "DependsOn" not in stack
    services = [r for r in templates["services-2"]["Resources"].values() if "DependsOn" in r]
    assert services == []  # the NetworkStack is not their sibling: the group waits

    assert [k for k, r in templates["data"]["Resources"].items() if r["Type"] == "AWS::KMS::Key"] == ["Key"]
    part = templates["data-2"]["Resources"]
    assert not any(r["Type"] in {"AWS::KMS::Key", "AWS::S3::Bucket"} for r in part.values())
    for resource in part.values():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert resource["Properties"]["KmsKeyId"] == KEY_ARN_PARAM
        if resource["Type"] == "AWS::ECR::Repository":
            assert resource["Properties"]["EncryptionConfiguration"]["KmsKey"] == KEY_ARN_PARAM


def test_every_child_parameter_is_fed_by_a_root_parameter_or_a_sibling_output(env_built: Built) -> None:
    root_params = set(env_built.root["Parameters"])
    for stem, template in env_built.children.items():
        stack = env_built.root["Resources"][env_built.logical_ids[stem]]
        assert stack["Type"] == "AWS::CloudFormation::Stack"
        fed = stack["Properties"]["Parameters"]
        assert set(fed) == set(template.get("Parameters", {})), stem
        for parameter, value in fed.items():
            if "Ref" in value:
                assert value["Ref"] in root_params
            else:
                producer, output = value["Fn::GetAtt"]
                assert output == f"Outputs.{parameter}"
                producer_stem = next(s for s, lid in env_built.logical_ids.items() if lid == producer)
                assert producer_stem != stem
                assert parameter in env_built.children[producer_stem]["Outputs"]


def test_root_references_children_by_relative_path_in_its_own_format(config: cfg.Config) -> None:
    files = generator.render_environment(cfg.Deployment(config, "dev"), ["json", "yaml"])
    for extension in ("json", "yaml"):
        resources = load_yaml(files[f"root.{extension}"])["Resources"]
        urls = sorted(r["Properties"]["TemplateURL"] for r in resources.values())
        assert urls == sorted(f"{stem}.{extension}" for stem in STEMS)
        assert sorted(files) == sorted(
            f"{stem}.{fmt}" for stem in [*STEMS, "root"] for fmt in ("json", "yaml")
        )


def test_wiring_fails_when_a_stack_waits_for_one_that_is_not_its_sibling(config: cfg.Config) -> None:
    dep = cfg.Deployment(config, "dev")
    late = Template()
    late.add_resource(WaitConditionHandle("Nothing"))
    kids = [*generator.children(dep), root.Child("late", "LateStack", late, after=("NoSuchStack",))]
    with pytest.raises(root.WiringError, match="late waits for \\['NoSuchStack'\\]"):
        root.build(dep, kids, templates_below(dep, kids))


def test_wiring_fails_when_a_parameter_has_no_producer(config: cfg.Config) -> None:
    dep = cfg.Deployment(config, "dev")
    kids = [*generator.children(dep), root.Child("orphan", "OrphanStack", Template())]
    kids[-1].template.add_parameter(Parameter("NobodyMakesThis", Type="String"))  # type: ignore[union-attr]
    with pytest.raises(root.WiringError, match="NobodyMakesThis"):
        root.build(dep, kids, templates_below(dep, kids))
