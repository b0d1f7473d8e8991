"""Network stack: a VPC over N AZs with public and private subnets, an internet gateway, a route
table per private subnet, and the security groups (tap_cfn/stacks/security.py). It holds what the
load balancer and the services wait for and nothing slow: the private subnets' way out is the
egress stack's, beside the load balancer; the flow logs are the flow-log stack's, which waits for
the platform key."""

from __future__ import annotations

from troposphere import AWSObject, Cidr, GetAtt, GetAZs, Ref, Select, Sub, Template, ec2

from tap_cfn.cidr import Layout
from tap_cfn.config import Deployment
from tap_cfn.contract import (
    PRIVATE_ROUTE_TABLE_IDS,
    PRIVATE_SUBNET_IDS,
    PUBLIC_SUBNET_IDS,
    VPC_CIDR,
    VPC_CIDR_BLOCK,
    VPC_ID,
)
from tap_cfn.stacks import security
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.topology import Part

ANYWHERE = "0.0.0.0/0"


def build(dep: Deployment, part: Part | None = None) -> Template:
    """`part`: the security groups the network stack holds (all of them on a platform of one group)."""
    env = dep.env
    s = StackBuilder(dep, f"VPC over {env.az_count} AZs, public and private subnets, security groups")
    vpc = s.add(
        ec2.VPC(
            "Vpc",
            CidrBlock=s.param(VPC_CIDR),
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=s.tags("vpc"),
        )
    )
    public_table = _internet_gateway(s, vpc)
    public, private, tables = [], [], []
    public_cidrs, private_cidrs = _tiers(s, dep)
    for index in range(1, env.az_count + 1):
        az = Select(index - 1, GetAZs(""))
        public_cidr, private_cidr = Select(index - 1, public_cidrs), Select(index - 1, private_cidrs)
        public.append(_subnet(s, vpc, "Public", index, public_cidr, az, public_table))
        table = s.add(
            ec2.RouteTable(
                f"PrivateRouteTable{index}", VpcId=Ref(vpc), Tags=s.tags("rtb-private", str(index))
            )
        )
        private.append(_subnet(s, vpc, "Private", index, private_cidr, az, table))
        tables.append(table)
    security.add(s, part or Part.whole(dep), Ref(vpc))
    s.output(VPC_ID, Ref(vpc))
    s.output(PUBLIC_SUBNET_IDS, _join(public))
    s.output(PRIVATE_SUBNET_IDS, _join(private))
    s.output(PRIVATE_ROUTE_TABLE_IDS, _join(tables))
    if env.egress == "endpoints":  # the endpoints' security group admits the VPC
        s.output(VPC_CIDR_BLOCK, GetAtt(vpc, "CidrBlock"))
    return s.template


def _tiers(s: StackBuilder, dep: Deployment) -> tuple[Cidr, Cidr]:
    """The public and the private subnet ranges, one per AZ, cut from the VpcCidr parameter in the
    template (so one template serves a region with another range): the public ones from the lower
    half of the VPC, the private ones from the upper half (see `cidr.Layout`)."""
    env = dep.env
    layout = Layout(env.network.prefixlen, env.subnet_prefix)
    halves = Cidr(s.param(VPC_CIDR), 2, layout.half_bits)
    return (
        Cidr(Select(0, halves), env.az_count, layout.subnet_bits),
        Cidr(Select(1, halves), env.az_count, layout.subnet_bits),
    )


def _internet_gateway(s: StackBuilder, vpc: ec2.VPC) -> ec2.RouteTable:
    """The internet gateway and the public route table through it."""
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
    return public_table


def _subnet(
    s: StackBuilder, vpc: ec2.VPC, tier: str, index: int, cidr: object, az: object, table: ec2.RouteTable
) -> ec2.Subnet:
    subnet = s.add(
        ec2.Subnet(
            f"{tier}Subnet{index}",
            VpcId=Ref(vpc),
            CidrBlock=cidr,
            AvailabilityZone=az,
            MapPublicIpOnLaunch=False,
            Tags=s.tags(f"subnet-{tier.lower()}", str(index), Tier=tier.lower()),
        )
    )
    s.add(
        ec2.SubnetRouteTableAssociation(
            f"{tier}Subnet{index}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)
        )
    )
    return subnet


def _join(resources: list[AWSObject]) -> Sub:
    """Comma-separated IDs: what a List<AWS::EC2::Subnet::Id> or CommaDelimitedList parameter accepts."""
    return Sub(",".join("${" + resource.title + "}" for resource in resources))
