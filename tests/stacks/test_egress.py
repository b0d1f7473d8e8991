"""The egress stack (tap_cfn/stacks/egress.py): NAT gateways and the private default routes, or VPC
endpoints, beside the load balancer; the services wait for it."""

from __future__ import annotations

import pytest

from tap_cfn import config as cfg
from tests.conftest import PROFILES, Built, _endpoints_config


@pytest.mark.parametrize("env", PROFILES)
def test_private_subnets_route_through_nat_in_their_own_az(built: dict[str, Built], env: str) -> None:
    b = built[env]
    resources = b.stack("egress")["Resources"]
    routes = b.resources("egress", "AWS::EC2::Route")
    targets = []
    for index in (1, 2, 3):
        route = routes[f"PrivateDefaultRoute{index}"]["Properties"]
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        assert route["RouteTableId"] == {"Fn::Select": [index - 1, {"Ref": "PrivateRouteTableIds"}]}
        targets.append(route["NatGatewayId"]["Ref"])
    assert b.fed_by("egress", "PrivateRouteTableIds") == {
        "Fn::GetAtt": ["NetworkStack", "Outputs.PrivateRouteTableIds"]
    }
    if env == "dev":
        assert targets == ["NatGateway1"] * 3
    else:
        assert targets == ["NatGateway1", "NatGateway2", "NatGateway3"]
    for nat in sorted(set(targets)):  # each NAT sits in its own AZ's public subnet
        index = int(nat.removeprefix("NatGateway"))
        props = resources[nat]["Properties"]
        assert props["SubnetId"] == {"Fn::Select": [index - 1, {"Ref": "PublicSubnetIds"}]}
        assert props["AllocationId"] == {"Fn::GetAtt": [f"NatEip{index}", "AllocationId"]}


def test_every_service_waits_for_egress_and_egress_waits_only_for_the_network(env_built: Built) -> None:
    """Tasks pull their images through NAT: a service started before it would not reach a steady state."""
    stacks = env_built.root["Resources"]
    for service in ("FrontendServiceStack", "ApiGatewayServiceStack", "ProcessingServiceStack"):
        assert stacks[service]["DependsOn"] == ["EgressStack"]
    fed = stacks["EgressStack"]["Properties"]["Parameters"].values()
    assert {value["Fn::GetAtt"][0] for value in fed if "Fn::GetAtt" in value} == {"NetworkStack"}
    assert "DependsOn" not in stacks["LoadBalancerStack"]


def test_endpoints_egress_has_no_nat_and_an_endpoint_for_every_api_a_fargate_task_calls() -> None:
    b = Built(cfg.Deployment(_endpoints_config(), "dev"))
    assert not b.resources("egress", "AWS::EC2::NatGateway")
    assert not b.resources("egress", "AWS::EC2::EIP")
    assert not b.resources("egress", "AWS::EC2::Route")
    endpoints = b.resources("egress", "AWS::EC2::VPCEndpoint").values()
    names = {e["Properties"]["ServiceName"]["Fn::Sub"] for e in endpoints}
    assert names == {
        f"com.amazonaws.${{AWS::Region}}.{s}"
        for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "s3")
    }
    by_type = {e["Properties"]["VpcEndpointType"] for e in endpoints}
    assert by_type == {"Interface", "Gateway"}
    gateway = next(e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway")
    assert gateway["Properties"]["RouteTableIds"] == {"Ref": "PrivateRouteTableIds"}
    for endpoint in endpoints:
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True
            assert endpoint["Properties"]["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    group = b.resource("egress", "EndpointSecurityGroup")["Properties"]
    assert group["SecurityGroupIngress"][0]["CidrIp"] == {"Ref": "VpcCidrBlock"}
    assert b.fed_by("egress", "VpcCidrBlock") == {"Fn::GetAtt": ["NetworkStack", "Outputs.VpcCidrBlock"]}
    assert b.stack("network")["Outputs"]["VpcCidrBlock"]["Value"] == {"Fn::GetAtt": ["Vpc", "CidrBlock"]}
