"""Egress stack: the private subnets' way out, built beside the load balancer instead of before it.
NAT (one per AZ, or a single shared one) with its Elastic IP and the private default routes; or,
with `egress: endpoints`, an interface endpoint per AWS API the tasks call and the S3 gateway
endpoint. No stack takes a value from it: the service stacks wait for it by DependsOn (their tasks
pull images through it, see tap_cfn/generator.py)."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Select, Sub, Template, ec2

from tap_cfn.config import Deployment
from tap_cfn.contract import (
    PRIVATE_ROUTE_TABLE_IDS,
    PRIVATE_SUBNET_IDS,
    PUBLIC_SUBNET_IDS,
    VPC_CIDR_BLOCK,
    VPC_ID,
)
from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.stacks.security import NO_EGRESS

ANYWHERE = "0.0.0.0/0"

# Interface endpoints Fargate (platform 1.4.0) tasks need without NAT: image pulls (ecr.api,
# ecr.dkr, layers from S3 through the gateway endpoint), awslogs, secrets, and KMS
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-version-migration.html,
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html).
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms")


def build(dep: Deployment) -> Template:
    env = dep.env
    way_out = f"NAT ({env.nat}) and the private default routes" if env.egress == "nat" else "VPC endpoints"
    s = StackBuilder(dep, f"the private subnets' way out: {way_out}")
    if env.egress == "endpoints":
        _endpoints(s)
        return s.template
    nat: ec2.NatGateway | None = None
    for index in range(1, env.az_count + 1):
        if env.nat == "per_az" or index == 1:
            nat = _nat(s, index)
        s.add(
            ec2.Route(
                f"PrivateDefaultRoute{index}",
                RouteTableId=Select(index - 1, s.param(PRIVATE_ROUTE_TABLE_IDS)),
                DestinationCidrBlock=ANYWHERE,
                NatGatewayId=Ref(nat),
            )
        )
    return s.template


def _nat(s: StackBuilder, index: int) -> ec2.NatGateway:
    """A NAT gateway in public subnet `index` with its Elastic IP (5 per region by default, see
    `tap-cfn cost`). An EIP in a VPC needs the internet gateway attached first
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html):
    the network stack attaches it, and this stack starts only once that stack is complete."""
    eip = s.add(ec2.EIP(f"NatEip{index}", Domain="vpc", Tags=s.tags("eip-nat", str(index))))
    return s.add(
        ec2.NatGateway(
            f"NatGateway{index}",
            AllocationId=GetAtt(eip, "AllocationId"),
            SubnetId=Select(index - 1, s.param(PUBLIC_SUBNET_IDS)),
            Tags=s.tags("nat", str(index)),
        )
    )


def _endpoints(s: StackBuilder) -> None:
    """Without NAT: an interface endpoint (private DNS on) per AWS API the tasks call, reachable on
    443 from inside the VPC, and the S3 gateway endpoint on every private route table."""
    group = s.add(
        ec2.SecurityGroup(
            "EndpointSecurityGroup",
            GroupDescription="VPC interface endpoints: HTTPS from inside the VPC",
            VpcId=s.param(VPC_ID),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=s.param(VPC_CIDR_BLOCK),
                    Description="HTTPS from the VPC",
                )
            ],
            SecurityGroupEgress=[NO_EGRESS],
            Tags=s.tags("sg-endpoints"),
        )
    )
    for service in INTERFACE_ENDPOINTS:
        s.add(
            ec2.VPCEndpoint(
                f"{logical_id(service.replace('.', '-'))}Endpoint",
                VpcId=s.param(VPC_ID),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=s.param(PRIVATE_SUBNET_IDS),
                SecurityGroupIds=[Ref(group)],
            )
        )
    s.add(
        ec2.VPCEndpoint(
            "S3Endpoint",
            VpcId=s.param(VPC_ID),
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            VpcEndpointType="Gateway",
            RouteTableIds=s.param(PRIVATE_ROUTE_TABLE_IDS),
        )
    )
