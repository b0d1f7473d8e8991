"""The egress part of the network stack (tap_cfn/stacks/egress.py): NAT gateways and the private
default routes, or VPC endpoints, beside the load balancer; the services wait for it."""

from __future__ import annotations

import pytest

from tap_cfn import config as cfg
from tests.conftest import PROFILES, Built, _endpoints_config


@pytest.mark.parametrize("env", PROFILES)
def test_private_subnets_route_through_nat_in_their_own_az(built: dict[str, Built], env: str) -> None:
    b = built[env]
    resources = b.stack("network")["Resources"]
    routes = b.resources("network", "AWS::EC2::Route")
    targets = []
    for index in (1, 2, 3):
        route = routes[f"PrivateDefaultRoute{index}"]["Properties"]
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        assert route["RouteTableId"] == {"Ref": f"PrivateRouteTable{index}"}
        targets.append(route["NatGatewayId"]["Ref"])
    if env == "dev":
        assert targets == ["NatGateway1"] * 3
    else:
        assert targets == ["NatGateway1", "NatGateway2", "NatGateway3"]
    for nat in sorted(set(targets)):  # each NAT sits in its own AZ's public subnet
        index = int(nat.removeprefix("NatGateway"))
        props = resources[nat]["Properties"]
        assert props["SubnetId"] == {"Ref": f"PublicSubnet{index}"}
        assert props["AllocationId"] == {"Fn::GetAtt": [f"NatEip{index}", "AllocationId"]}
        # an Elastic IP in a VPC needs the internet gateway attached first (DependsOn page)
        assert resources[f"NatEip{index}"]["DependsOn"] == ["InternetGatewayAttachment"]


def test_every_service_waits_for_the_network_stack_that_holds_the_egress(env_built: Built) -> None:
    """Tasks pull their images through NAT: a service started before it would not reach a steady
    state. Each service takes values of the network stack, so it waits for all of it, NAT included,
    and needs no DependsOn beside those (cfn-lint W3005)."""
    stacks = env_built.root["Resources"]
    assert "EgressStack" not in stacks
    for service in ("FrontendServiceStack", "ApiGatewayServiceStack", "ProcessingServiceStack"):
        fed = stacks[service]["Properties"]["Parameters"].values()
        assert {"Fn::GetAtt": ["NetworkStack", "Outputs.PrivateSubnetIds"]} in fed
        assert "DependsOn" not in stacks[service]


def test_endpoints_egress_has_no_nat_and_an_endpoint_for_every_api_a_fargate_task_calls() -> None:
    b = Built(cfg.Deployment(_endpoints_config(), "dev"))
    assert not b.resources("network", "AWS::EC2::NatGateway")
    assert not b.resources("network", "AWS::EC2::EIP")
    assert list(b.resources("network", "AWS::EC2::Route")) == ["PublicDefaultRoute"]
    endpoints = b.resources("network", "AWS::EC2::VPCEndpoint").values()
    names = {e["Properties"]["ServiceName"]["Fn::Sub"] for e in endpoints}
    assert names == {
        f"com.amazonaws.${{AWS::Region}}.{s}"
        for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "s3")
    }
    by_type = {e["Properties"]["VpcEndpointType"] for e in endpoints}
    assert by_type == {"Interface", "Gateway"}
    gateway = next(e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway")
    assert gateway["Properties"]["RouteTableIds"] == [{"Ref": f"PrivateRouteTable{i}"} for i in (1, 2, 3)]
    for endpoint in endpoints:
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True
            assert endpoint["Properties"]["SubnetIds"] == [{"Ref": f"PrivateSubnet{i}"} for i in (1, 2, 3)]
    group = b.resource("network", "EndpointSecurityGroup")["Properties"]
    assert group["SecurityGroupIngress"][0]["CidrIp"] == {"Fn::GetAtt": ["Vpc", "CidrBlock"]}
