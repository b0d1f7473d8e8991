"""The private subnets' way out, a part of the network stack (tap_cfn/stacks/network.py) built
beside the load balancer: NAT (one per AZ, or a single shared one) with its Elastic IP and the
private default routes; or, with `egress: endpoints`, an interface endpoint per AWS API the tasks
call and the S3 gateway endpoint. The services' tasks pull their images through it: they wait for
the network stack, which completes only with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from troposphere import GetAtt, Ref, Sub, ec2

from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.stacks.security import NO_EGRESS

if TYPE_CHECKING:
    from tap_cfn.stacks.network import Vpc

ANYWHERE = "0.0.0.0/0"

# Interface endpoints Fargate (platform 1.4.0) tasks need without NAT: image pulls (ecr.api,
# ecr.dkr, layers from S3 through the gateway endpoint), awslogs, secrets, and KMS
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-version-migration.html,
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html).
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms")


def add(s: StackBuilder, net: Vpc) -> None:
    env = s.dep.env
    if env.via_endpoints:
        _endpoints(s, net)
        return
    nat: ec2.NatGateway | None = None
    for index, table in enumerate(net.private_tables, start=1):
        if env.nat == "per_az" or index == 1:
            nat = _nat(s, index, net.public[index - 1])
        # The route names the NAT gateway, so it is created after it (DependsOn page, "implicit
        # dependencies": https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html).
        s.add(
            ec2.Route(
                f"PrivateDefaultRoute{index}",
                RouteTableId=Ref(table),
                DestinationCidrBlock=ANYWHERE,
                NatGatewayId=Ref(nat),
            )
        )


def _nat(s: StackBuilder, index: int, subnet: ec2.Subnet) -> ec2.NatGateway:
    """A NAT gateway in public subnet `index` with its Elastic IP (5 per region by default, see
    `tap-cfn cost`). The Elastic IP waits for the internet gateway's attachment (see
    `network.build`)."""
    eip = s.add(ec2.EIP(f"NatEip{index}", Domain="vpc", Tags=s.tags("eip-nat", str(index))))
    return s.add(
        ec2.NatGateway(
            f"NatGateway{index}",
            AllocationId=GetAtt(eip, "AllocationId"),
            SubnetId=Ref(subnet),
            Tags=s.tags("nat", str(index)),
        )
    )


def _endpoints(s: StackBuilder, net: Vpc) -> None:
    """Without NAT: an interface endpoint (private DNS on) per AWS API the tasks call, reachable on
    443 from inside the VPC, and the S3 gateway endpoint on every private route table."""
    group = s.add(
        ec2.SecurityGroup(
            "EndpointSecurityGroup",
            GroupDescription="VPC interface endpoints: HTTPS from inside the VPC",
            VpcId=Ref(net.vpc),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=GetAtt(net.vpc, "CidrBlock"),
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
                VpcId=Ref(net.vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=[Ref(subnet) for subnet in net.private],
                SecurityGroupIds=[Ref(group)],
            )
        )
    s.add(
        ec2.VPCEndpoint(
            "S3Endpoint",
            VpcId=Ref(net.vpc),
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            VpcEndpointType="Gateway",
            RouteTableIds=[Ref(table) for table in net.private_tables],
        )
    )
