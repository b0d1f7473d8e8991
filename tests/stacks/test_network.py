"""The network stack (tap_cfn/stacks/network.py): the VPC over three AZs, its subnets and route
tables, and the security groups; nothing slow and nothing that waits for the key."""

from __future__ import annotations

import ipaddress
import json

from tests.conftest import Built


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


def test_public_subnets_route_through_the_igw_and_each_private_subnet_has_its_own_table(
    env_built: Built,
) -> None:
    resources = env_built.stack("network")["Resources"]
    (public,) = env_built.resources("network", "AWS::EC2::Route").values()  # the way out is egress's
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
    tables = env_built.stack("network")["Outputs"]["PrivateRouteTableIds"]["Value"]
    assert tables == {"Fn::Sub": "${PrivateRouteTable1},${PrivateRouteTable2},${PrivateRouteTable3}"}


def test_the_network_waits_for_no_other_stack_and_holds_nothing_slow(env_built: Built) -> None:
    """What the load balancer and the services wait for: no key, no NAT gateway, no flow log."""
    network = env_built.stack("network")
    fed = env_built.root["Resources"]["NetworkStack"]["Properties"]["Parameters"]
    assert set(fed) == {"EnvironmentSuffix", "CertificateArn"}  # root parameters, no sibling's output
    assert all(set(value) == {"Ref"} for value in fed.values())
    kinds = {r["Type"] for r in network["Resources"].values()}
    assert not kinds & {"AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint", "AWS::EC2::FlowLog"}
    assert "AWS::EC2::SecurityGroup" in kinds
    assert "DependsOn" not in env_built.root["Resources"]["NetworkStack"]
