"""Network stack: a VPC over N AZs with public and private subnets, an internet gateway, and
NAT (one per AZ, or a single shared one) for the private subnets' egress."""

from __future__ import annotations

from troposphere import GetAtt, GetAZs, Ref, Select, Sub, Template, ec2

from tap_cfn.config import Deployment
from tap_cfn.contract import PRIVATE_SUBNET_IDS, PUBLIC_SUBNET_IDS, VPC_ID
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.topology import subnet_cidrs

ANYWHERE = "0.0.0.0/0"


def build(dep: Deployment) -> Template:
    env = dep.env
    s = StackBuilder(dep, f"VPC over {env.az_count} AZs, public and private subnets, NAT ({env.nat})")
    vpc = s.add(
        ec2.VPC(
            "Vpc",
            CidrBlock=str(env.vpc_cidr),
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=s.tags("vpc"),
        )
    )
    igw = s.add(ec2.InternetGateway("InternetGateway", Tags=s.tags("igw")))
    attachment = s.add(
        ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw))
    )
    public_table = s.add(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=s.tags("rtb-public")))
    s.add(
        ec2.Route(
            "PublicDefaultRoute",
            DependsOn=[attachment.title],
            RouteTableId=Ref(public_table),
            DestinationCidrBlock=ANYWHERE,
            GatewayId=Ref(igw),
        )
    )

    public, private, nats = [], [], []
    for index, (public_cidr, private_cidr) in enumerate(subnet_cidrs(dep), start=1):
        az = Select(index - 1, GetAZs(""))
        subnet = s.add(
            ec2.Subnet(
                f"PublicSubnet{index}",
                VpcId=Ref(vpc),
                CidrBlock=public_cidr,
                AvailabilityZone=az,
                MapPublicIpOnLaunch=False,
                Tags=s.tags("subnet-public", str(index), Tier="public"),
            )
        )
        s.add(
            ec2.SubnetRouteTableAssociation(
                f"PublicSubnet{index}RouteTableAssociation",
                SubnetId=Ref(subnet),
                RouteTableId=Ref(public_table),
            )
        )
        public.append(subnet)
        if env.nat == "per_az" or index == 1:
            eip = s.add(
                ec2.EIP(
                    f"NatEip{index}",
                    Domain="vpc",
                    DependsOn=[attachment.title],
                    Tags=s.tags("eip-nat", str(index)),
                )
            )
            nats.append(
                s.add(
                    ec2.NatGateway(
                        f"NatGateway{index}",
                        AllocationId=GetAtt(eip, "AllocationId"),
                        SubnetId=Ref(subnet),
                        Tags=s.tags("nat", str(index)),
                    )
                )
            )
        private_subnet = s.add(
            ec2.Subnet(
                f"PrivateSubnet{index}",
                VpcId=Ref(vpc),
                CidrBlock=private_cidr,
                AvailabilityZone=az,
                MapPublicIpOnLaunch=False,
                Tags=s.tags("subnet-private", str(index), Tier="private"),
            )
        )
        table = s.add(
            ec2.RouteTable(
                f"PrivateRouteTable{index}", VpcId=Ref(vpc), Tags=s.tags("rtb-private", str(index))
            )
        )
        s.add(
            ec2.Route(
                f"PrivateDefaultRoute{index}",
                RouteTableId=Ref(table),
                DestinationCidrBlock=ANYWHERE,
                NatGatewayId=Ref(nats[-1]),
            )
        )
        s.add(
            ec2.SubnetRouteTableAssociation(
                f"PrivateSubnet{index}RouteTableAssociation",
                SubnetId=Ref(private_subnet),
                RouteTableId=Ref(table),
            )
        )
        private.append(private_subnet)

    s.output(VPC_ID, Ref(vpc))
    s.output(PUBLIC_SUBNET_IDS, _join(public))
    s.output(PRIVATE_SUBNET_IDS, _join(private))
    return s.template


def _join(subnets: list[ec2.Subnet]) -> Sub:
    """Comma-separated subnet IDs: what a List<AWS::EC2::Subnet::Id> parameter accepts."""
    return Sub(",".join("${" + subnet.title + "}" for subnet in subnets))
