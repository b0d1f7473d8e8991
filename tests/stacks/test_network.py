"""The network stack (tap_cfn/stacks/network.py): the VPC over three AZs, NAT or endpoints for egress,
routes, and flow logs to an encrypted group."""

from __future__ import annotations

import json

import msgspec
import pytest

from tap_cfn import config as cfg
from tests.conftest import PROFILES, Built, _endpoints_config, statements
from tests.support.intrinsics import evaluate, fn_cidr


def test_vpc_flow_logs_go_to_an_encrypted_group_through_a_role_scoped_to_it(env_built: Built) -> None:
    flow = env_built.resource("network", "FlowLog")["Properties"]
    assert flow["ResourceId"] == {"Ref": "Vpc"} and flow["ResourceType"] == "VPC"
    assert flow["TrafficType"] == "ALL" and flow["LogDestinationType"] == "cloud-watch-logs"
    assert flow["LogGroupName"] == {"Ref": "FlowLogGroup"}
    assert flow["DeliverLogsPermissionArn"] == {"Fn::GetAtt": ["FlowLogRole", "Arn"]}

    role = env_built.resource("network", "FlowLogRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["vpc-flow-logs.amazonaws.com"]}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"
        }
    }
    writes = [s for s in statements(role) if "logs:PutLogEvents" in s["Action"]]
    assert [s["Resource"] for s in writes] == [[{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]]


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


def test_fn_cidr_as_the_tests_evaluate_it_follows_the_documented_example() -> None:
    # The Fn::Cidr page: ["192.168.0.0/24", 6, 5] creates 6 CIDRs with a subnet mask "/27".
    assert fn_cidr("192.168.0.0/24", "6", "5") == [
        "192.168.0.0/27",
        "192.168.0.32/27",
        "192.168.0.64/27",
        "192.168.0.96/27",
        "192.168.0.128/27",
        "192.168.0.160/27",
    ]


@pytest.mark.parametrize("env", PROFILES)
def test_private_subnets_route_through_nat_public_through_igw(built: dict[str, Built], env: str) -> None:
    b = built[env]
    resources = b.stack("network")["Resources"]
    routes = b.resources("network", "AWS::EC2::Route")
    public = routes.pop("PublicDefaultRoute")["Properties"]
    assert public["GatewayId"] == {"Ref": "InternetGateway"} and public["DestinationCidrBlock"] == "0.0.0.0/0"
    targets = []
    for index in (1, 2, 3):
        route = routes[f"PrivateDefaultRoute{index}"]["Properties"]
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        assert route["RouteTableId"] == {"Ref": f"PrivateRouteTable{index}"}
        targets.append(route["NatGatewayId"]["Ref"])
        association = resources[f"PrivateSubnet{index}RouteTableAssociation"]["Properties"]
        assert association == {
            "RouteTableId": {"Ref": f"PrivateRouteTable{index}"},
            "SubnetId": {"Ref": f"PrivateSubnet{index}"},
        }
        public_assoc = resources[f"PublicSubnet{index}RouteTableAssociation"]["Properties"]
        assert public_assoc["RouteTableId"] == {"Ref": "PublicRouteTable"}
    if env == "dev":
        assert targets == ["NatGateway1"] * 3
    else:
        assert targets == ["NatGateway1", "NatGateway2", "NatGateway3"]
        for index in (1, 2, 3):  # each NAT sits in its own AZ's public subnet
            nat = resources[f"NatGateway{index}"]["Properties"]
            assert nat["SubnetId"] == {"Ref": f"PublicSubnet{index}"}


def test_endpoints_egress_has_no_nat_and_an_endpoint_for_every_api_a_fargate_task_calls() -> None:
    b = Built(cfg.Deployment(_endpoints_config(), "dev"))
    assert not b.resources("network", "AWS::EC2::NatGateway")
    assert not b.resources("network", "AWS::EC2::EIP")
    endpoints = b.resources("network", "AWS::EC2::VPCEndpoint").values()
    services = {e["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1] for e in endpoints}
    names = {e["Properties"]["ServiceName"]["Fn::Sub"] for e in endpoints}
    assert names == {
        f"com.amazonaws.${{AWS::Region}}.{s}"
        for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "s3")
    }, services
    by_type = {e["Properties"]["VpcEndpointType"] for e in endpoints}
    assert by_type == {"Interface", "Gateway"}
    gateway = next(e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway")
    private_tables = [t for t in b.resources("network", "AWS::EC2::RouteTable") if t.startswith("Private")]
    assert sorted(r["Ref"] for r in gateway["Properties"]["RouteTableIds"]) == sorted(private_tables)
    for endpoint in endpoints:
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True
