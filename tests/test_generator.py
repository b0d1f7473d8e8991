"""The whole environment as tap_cfn/generator.py builds it: resource counts per stack and profile,
no secret value anywhere, strings with variables written with Fn::Sub."""

from __future__ import annotations

import json

import pytest

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
