"""The network stack (tap_cfn/stacks/network.py): the VPC over three AZs, NAT or endpoints for egress,
routes, and flow logs to an encrypted group."""

from __future__ import annotations

import ipaddress
import json

import pytest

from tap_cfn import config as cfg
from tests.conftest import PROFILES, Built, _endpoints_config, statements


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
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True
    subnets = env_built.resources("network", "AWS::EC2::Subnet")
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert azs == {json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(3)}
    networks = [ipaddress.ip_network(s["Properties"]["CidrBlock"]) for s in subnets.values()]
    assert all(n.prefixlen == 24 and n.subnet_of(ipaddress.ip_network("10.0.0.0/16")) for n in networks)
    assert len(set(networks)) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())


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
