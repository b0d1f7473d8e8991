"""The network stack (tap_cfn/stacks/network.py): the VPC over three AZs, its subnets and route
tables, the Cloud Map namespace and the security groups; nothing that waits for the key. Its egress and
load balancer parts are tested in test_egress.py and test_loadbalancer.py."""

from __future__ import annotations

import json

import msgspec

from tap_cfn import config as cfg
from tests.conftest import Built
from tests.support.intrinsics import evaluate


def test_vpc_spans_three_azs_without_hard_coded_names(env_built: Built) -> None:
    vpc = env_built.resource("network", "Vpc")["Properties"]
    assert vpc["CidrBlock"] == {"Ref": "VpcCidr"}
    assert env_built.root["Parameters"]["VpcCidr"]["Default"] == "10.0.0.0/16"
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True
    subnets = env_built.resources("network", "AWS::EC2::Subnet")
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert azs == {json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(3)}
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())


# Worked out by hand: a /16 in halves of /17; /24 subnets from the start of each half.
PACKAGED_SUBNETS = {
    "PublicSubnet1": "10.0.0.0/24",
    "PublicSubnet2": "10.0.1.0/24",
    "PublicSubnet3": "10.0.2.0/24",
    "PrivateSubnet1": "10.0.128.0/24",
    "PrivateSubnet2": "10.0.129.0/24",
    "PrivateSubnet3": "10.0.130.0/24",
}


def subnet_cidrs(b: Built, vpc_cidr: str) -> dict[str, str]:
    """The subnets' CidrBlock as CloudFormation works them out with VpcCidr = `vpc_cidr`."""
    subnets = b.resources("network", "AWS::EC2::Subnet")
    return {
        name: evaluate(s["Properties"]["CidrBlock"], {"VpcCidr": vpc_cidr}) for name, s in subnets.items()
    }


def test_the_packaged_profiles_keep_their_subnets_at_the_default_range(env_built: Built) -> None:
    # (the CIDRs the subnets had when they were written into the template literally)
    assert subnet_cidrs(env_built, "10.0.0.0/16") == PACKAGED_SUBNETS


def test_one_template_cuts_another_regions_range_the_same_way(built: dict[str, Built]) -> None:
    # GIVEN the prod template WHEN a region deploys it with VpcCidr 172.20.0.0/16
    # THEN its subnets sit at the same places inside that range
    assert subnet_cidrs(built["prod"], "172.20.0.0/16") == {
        "PublicSubnet1": "172.20.0.0/24",
        "PublicSubnet2": "172.20.1.0/24",
        "PublicSubnet3": "172.20.2.0/24",
        "PrivateSubnet1": "172.20.128.0/24",
        "PrivateSubnet2": "172.20.129.0/24",
        "PrivateSubnet3": "172.20.130.0/24",
    }


def test_a_smaller_vpc_with_smaller_subnets_is_cut_from_both_halves(config: cfg.Config) -> None:
    # GIVEN a /20 VPC with /26 subnets over two AZs
    raw = msgspec.to_builtins(config)
    raw["environments"]["dev"].update(vpc_cidr="192.168.16.0/20", subnet_prefix=26, az_count=2)
    b = Built(cfg.Deployment(cfg.parse(raw), "dev"))
    # WHEN another region gives 10.7.32.0/20 THEN halves of /21, /26 blocks from each half's start
    assert subnet_cidrs(b, "10.7.32.0/20") == {
        "PublicSubnet1": "10.7.32.0/26",
        "PublicSubnet2": "10.7.32.64/26",
        "PrivateSubnet1": "10.7.40.0/26",
        "PrivateSubnet2": "10.7.40.64/26",
    }
    assert b.root["Parameters"]["VpcCidr"]["Default"] == "192.168.16.0/20"


def test_public_subnets_route_through_the_igw_and_each_private_subnet_has_its_own_table(
    env_built: Built,
) -> None:
    resources = env_built.stack("network")["Resources"]
    public = env_built.resource("network", "PublicDefaultRoute")
    assert public["Properties"] == {
        "DestinationCidrBlock": "0.0.0.0/0",
        "GatewayId": {"Ref": "InternetGateway"},
        "RouteTableId": {"Ref": "PublicRouteTable"},
    }
    assert public["DependsOn"] == ["InternetGatewayAttachment"]
    for index in (1, 2, 3):
        association = resources[f"PrivateSubnet{index}RouteTableAssociation"]["Properties"]
        assert association == {
            "RouteTableId": {"Ref": f"PrivateRouteTable{index}"},
            "SubnetId": {"Ref": f"PrivateSubnet{index}"},
        }
        public_assoc = resources[f"PublicSubnet{index}RouteTableAssociation"]["Properties"]
        assert public_assoc["RouteTableId"] == {"Ref": "PublicRouteTable"}
    subnets = env_built.stack("network")["Outputs"]["PrivateSubnetIds"]["Value"]
    assert subnets == {"Fn::Sub": "${PrivateSubnet1},${PrivateSubnet2},${PrivateSubnet3}"}


def test_the_network_waits_for_no_other_stack_and_its_two_slow_paths_run_side_by_side(
    env_built: Built,
) -> None:
    """The one stack the services wait for: no key, no flow log; the NAT gateways and the ALB each
    wait only for the internet gateway's attachment (and the ALB for its bucket policy), not for
    each other."""
    network = env_built.stack("network")
    fed = env_built.root["Resources"]["NetworkStack"]["Properties"]["Parameters"]
    assert set(fed) == {
        "EnvironmentSuffix",
        "CertificateArn",
        "DomainName",
        "HostedZoneId",
        "VpcCidr",
    }  # root parameters, no sibling's output
    assert all(set(value) == {"Ref"} for value in fed.values())
    assert "Parameters" not in network or set(network["Parameters"]) == set(fed)
    kinds = {r["Type"] for r in network["Resources"].values()}
    assert not kinds & {"AWS::KMS::Key", "AWS::EC2::FlowLog"}
    assert "DependsOn" not in env_built.root["Resources"]["NetworkStack"]
    alb = env_built.resource("network", "LoadBalancer")
    assert sorted(alb["DependsOn"]) == ["AccessLogBucketPolicy", "InternetGatewayAttachment"]
    assert alb["Properties"]["Scheme"] == "internet-facing"
    assert alb["Properties"]["Subnets"] == [{"Ref": f"PublicSubnet{i}"} for i in (1, 2, 3)]
    for eip in env_built.resources("network", "AWS::EC2::EIP").values():
        assert eip["DependsOn"] == ["InternetGatewayAttachment"]
    assert "NatGateway" not in str(alb) and "LoadBalancer" not in str(
        env_built.resources("network", "AWS::EC2::NatGateway")
    )


def test_the_cloud_map_namespace_is_a_private_zone_of_the_vpc(env_built: Built) -> None:
    namespace = env_built.resource("network", "Namespace")["Properties"]
    assert namespace["Name"] == {"Fn::Sub": "tap-${EnvironmentSuffix}.local"}
    assert namespace["Vpc"] == {"Ref": "Vpc"}
    outputs = env_built.stack("network")["Outputs"]
    assert outputs["NamespaceId"]["Value"] == {"Fn::GetAtt": ["Namespace", "Id"]}
