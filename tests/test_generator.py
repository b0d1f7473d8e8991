"""The whole environment as tap_cfn/generator.py builds it: resource counts per stack and profile,
no secret value anywhere, strings with variables written with Fn::Sub; and what `write` leaves in
the output folder."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from tap_cfn import generator
from tests.conftest import PROFILES, SERVICES, Built, count, walk

NAT_PER_PROFILE = {"dev": 1, "staging": 3, "prod": 3}


def walk_strings(node: object, path: str = ""):  # noqa: ANN201
    from tests.conftest import walk

    for where, value in walk(node, path):
        if isinstance(value, str):
            yield where, value


@pytest.mark.parametrize("env", PROFILES)
def test_resource_counts_per_stack_and_profile(built: dict[str, Built], env: str) -> None:
    b = built[env]
    nat = NAT_PER_PROFILE[env]
    assert count(b, "network") == {
        "AWS::EC2::VPC": 1,
        "AWS::EC2::InternetGateway": 1,
        "AWS::EC2::VPCGatewayAttachment": 1,
        "AWS::EC2::Subnet": 6,
        "AWS::EC2::RouteTable": 1 + 3,
        "AWS::EC2::Route": 1 + 3,  # the public default route, a private one per AZ through NAT
        "AWS::EC2::SubnetRouteTableAssociation": 6,
        "AWS::EC2::EIP": nat,
        "AWS::EC2::NatGateway": nat,
        "AWS::ServiceDiscovery::PrivateDnsNamespace": 1,
        "AWS::EC2::SecurityGroup": 4,
        # ALB->frontend, ALB->api-gateway, api-gateway->processing: one ingress and one egress each;
        # plus HTTPS into the ALB (only with a certificate)
        "AWS::EC2::SecurityGroupIngress": 3 + 1,
        "AWS::EC2::SecurityGroupEgress": 3,
        "AWS::S3::Bucket": 1,
        "AWS::S3::BucketPolicy": 1,
        "AWS::ElasticLoadBalancingV2::LoadBalancer": 1,
        "AWS::ElasticLoadBalancingV2::TargetGroup": 2,
        "AWS::ElasticLoadBalancingV2::Listener": 2,  # 80, and 443 with a certificate
        "AWS::ElasticLoadBalancingV2::ListenerRule": 1,
        "AWS::Route53::RecordSet": 1,  # only with a DomainName and a HostedZoneId
    }
    assert count(b, "flowlogs") == {"AWS::EC2::FlowLog": 1, "AWS::Logs::LogGroup": 1, "AWS::IAM::Role": 1}
    assert count(b, "data") == {  # the repositories are the registry's
        "AWS::Logs::LogGroup": 3,
        "AWS::SecretsManager::Secret": 2,
        "AWS::KMS::Key": 1,
    }
    assert count(b, "cluster") == {"AWS::ECS::Cluster": 1}
    for svc in SERVICES:
        expected = {
            "AWS::IAM::Role": 2,
            "AWS::ECS::TaskDefinition": 1,
            "AWS::ECS::Service": 1,
            "AWS::ApplicationAutoScaling::ScalableTarget": 1,
            "AWS::ApplicationAutoScaling::ScalingPolicy": 1,
            # CPU, memory, running tasks; behind the ALB also 5xx, unhealthy targets, p99 latency
            "AWS::CloudWatch::Alarm": 3 if svc == "processing" else 6,
        }
        if svc == "processing":
            expected["AWS::ServiceDiscovery::Service"] = 1
        assert count(b, f"service-{svc}") == expected, svc
    assert count(b, "notifications") == {"AWS::SNS::Topic": 1, "AWS::SNS::Subscription": 1}
    assert count(b, "monitoring") == {"AWS::CloudWatch::Alarm": 2, "AWS::CloudWatch::Dashboard": 1}
    assert len(b.root["Resources"]) == 6 + 3


def test_no_secret_value_anywhere(env_built: Built) -> None:
    value_keys = {"SecretString", "Password", "MasterUserPassword", "SecretValue"}
    for stem, template in [("root", env_built.root), *env_built.children.items()]:
        for path, _ in walk_strings(template):
            assert path.rsplit(".", 1)[-1] not in value_keys, (stem, path)
        for parameter in template.get("Parameters", {}).values():
            assert "Default" not in parameter or "secret" not in parameter["Description"].lower()
    for svc in SERVICES:
        (task,) = env_built.resources(f"service-{svc}", "AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]:
            for variable in container.get("Environment", []):
                assert "SECRET" not in variable["Name"] and "PASSWORD" not in variable["Name"]


def test_strings_with_variables_use_fn_sub_and_never_fn_join(env_built: Built) -> None:
    for stem, template in [("root", env_built.root), *env_built.children.items()]:
        text = json.dumps(template)
        assert "Fn::Join" not in text, stem
        assert '"arn:aws:' not in text, stem  # partitions come from ${AWS::Partition}
        for path, value in walk(template):
            if isinstance(value, str) and "${" in value:
                # a Fn::Sub's text, alone or with its variables ([text, {name: value}])
                sub = path.endswith(".Fn::Sub") or path.endswith(".Fn::Sub[0]")
                assert sub or path.endswith("LifecyclePolicyText"), (stem, path)


# --- write: the output folder describes exactly the files just written -----------------------------

DRAWINGS = ("README.md", "services.dot", "services.svg", "topology.dot", "topology.svg")


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def put(folder: Path, names: Iterable[str], text: str = "old\n") -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def test_changed_templates_take_their_drawings_with_them(tmp_path: Path) -> None:
    """GIVEN dev drawn from its templates and a file of the user's, WHEN a template changes,
    THEN the drawings go (they show the old templates) but the SVGs, which `diagram` judges
    (only Graphviz draws them again), and the user's file stays."""
    put(tmp_path, ["dev/root.json", "dev/network.json", "dev/notes.txt", *(f"dev/{n}" for n in DRAWINGS)])
    generator.write(tmp_path, {"dev": {"root.json": "new\n", "network.json": "old\n"}})
    assert listing(tmp_path) == [
        "dev/network.json",
        "dev/notes.txt",
        "dev/root.json",
        "dev/services.svg",
        "dev/topology.svg",
    ]
    assert (tmp_path / "dev" / "notes.txt").read_text() == "old\n"


def test_unchanged_templates_keep_their_drawings(tmp_path: Path) -> None:
    put(tmp_path, ["dev/root.json", *(f"dev/{n}" for n in DRAWINGS)])
    put(tmp_path, ["prod/root.json", *(f"prod/{n}" for n in DRAWINGS)])
    generator.write(tmp_path, {"dev": {"root.json": "old\n"}, "prod": {"root.json": "new\n"}})
    assert listing(tmp_path) == [
        "dev/README.md",
        "dev/root.json",
        "dev/services.dot",
        "dev/services.svg",
        "dev/topology.dot",
        "dev/topology.svg",
        "prod/root.json",
        "prod/services.svg",
        "prod/topology.svg",
    ]


def test_a_template_no_longer_produced_goes_with_the_drawings(tmp_path: Path) -> None:
    """A service removed: only its file differs (here), yet the drawings showed it."""
    put(tmp_path, ["dev/root.json", "dev/service-old.yaml", "dev/topology.dot"])
    generator.write(tmp_path, {"dev": {"root.json": "old\n"}})
    assert listing(tmp_path) == ["dev/root.json"]


def test_pruning_removes_the_environments_the_config_does_not_have(tmp_path: Path) -> None:
    """GIVEN folders of another config's environments, the registry and folders of the user's,
    WHEN every environment of a config with only dev is written with `prune`, THEN the other
    environments' generated files go (the folder too when nothing else is in it), nothing else."""
    put(tmp_path, ["dev/root.json", "registry/registry.json", "registry/registry.yaml"])
    put(tmp_path, ["staging/root.json", "staging/root.yaml", "staging/network.json", "staging/topology.svg"])
    put(tmp_path, ["prod/root.yaml", "prod/README.md", "prod/services.dot", "prod/runbook.txt"])
    put(tmp_path, ["mine/root.txt", "mine/data.json"])  # no root template: not a folder of ours
    put(tmp_path, ["notes.json"])
    files = {"dev": {"root.json": "old\n"}, "registry": {"registry.json": "old\n"}}
    generator.write(tmp_path, files, prune=True)
    assert listing(tmp_path) == [
        "dev/root.json",
        "mine/data.json",
        "mine/root.txt",
        "notes.json",
        "prod/runbook.txt",
        "registry/registry.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev", "mine", "notes.json", "prod", "registry"]


def test_without_pruning_other_environments_stay(tmp_path: Path) -> None:
    """`templates --env dev` writes one environment of the config: the others are left alone."""
    put(tmp_path, ["dev/root.json", "prod/root.json", "prod/topology.dot"])
    generator.write(tmp_path, {"dev": {"root.json": "new\n"}})
    assert listing(tmp_path) == ["dev/root.json", "prod/root.json", "prod/topology.dot"]


def test_a_failed_write_removes_nothing(tmp_path: Path) -> None:
    """GIVEN stale drawings and another config's environment, WHEN the write fails, THEN the
    folder is as it was: nothing is removed before everything new is in place."""
    put(tmp_path, ["dev/root.json", "dev/topology.dot", "prod/root.json", "prod/network.yaml"])
    before = {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)}
    # the second environment cannot be written: the staging folder makes its name a file
    with pytest.raises(OSError):
        generator.write(tmp_path, {"dev": {"root.json": "new\n"}, "bad/name": {"x.json": "{}\n"}}, prune=True)
    assert {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)} == before
