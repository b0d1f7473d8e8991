"""Network stack: the platform the services stand on, in one stack so that they wait for one
nesting level, not two in series (as AWS Copilot's environment stack holds VPC, NAT and ALB).

Built from parts into one template, in this order (a later part uses an earlier one's values as
local references, see `StackBuilder.output`):
- the VPC over N AZs with public and private subnets, an internet gateway, a route table per
  private subnet, the Cloud Map private DNS namespace the services register in, and the security
  groups (tap_cfn/stacks/security.py), here;
- the private subnets' way out, NAT or VPC endpoints (tap_cfn/stacks/egress.py);
- the load balancer with its access logs, listeners and target groups (tap_cfn/stacks/loadbalancer.py).
The NAT and the ALB, the two slow resources, are created side by side. The flow logs are the
flow-log stack's, which waits for the platform key."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSObject, Cidr, GetAtt, GetAZs, Ref, Select, Sub, Template, ec2, servicediscovery

from tap_cfn import naming
from tap_cfn.cidr import Layout
from tap_cfn.config import Deployment
from tap_cfn.contract import (
    NAMESPACE_ID,
    NAMESPACE_NAME,
    PRIVATE_SUBNET_IDS,
    PUBLIC_SUBNET_IDS,
    VPC_CIDR,
    VPC_ID,
)
from tap_cfn.flat import needs_gateway
from tap_cfn.stacks import egress, loadbalancer, security
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.topology import Part

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Vpc:
    """The VPC part's resources the other parts build on."""

    vpc: ec2.VPC
    attachment: ec2.VPCGatewayAttachment
    public: list[ec2.Subnet]
    private: list[ec2.Subnet]
    private_tables: list[ec2.RouteTable]


def build(dep: Deployment, part: Part | None = None) -> Template:
    """`part`: the security groups and target groups the network stack holds (all of them on a
    platform of one group; the ALB's and the default service's on a larger one)."""
    env = dep.env
    way_out = "VPC endpoints" if env.via_endpoints else f"NAT ({env.nat})"
    s = StackBuilder(
        dep,
        f"VPC over {env.az_count} AZs, subnets, Cloud Map namespace, security groups, {way_out}, "
        "internet-facing application load balancer, listeners, rules and target groups",
    )
    part = part or Part.whole(dep)
    net = add(s, part)
    egress.add(s, net)
    loadbalancer.add(s, part)
    _after_gateway_attachment(s, net.attachment)
    return s.template


def add(s: StackBuilder, part: Part) -> Vpc:
    """The VPC, its subnets and route tables, and the security groups of `part`."""
    env = s.dep.env
    vpc = s.add(
        ec2.VPC(
            "Vpc",
            CidrBlock=s.param(VPC_CIDR),
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=s.tags("vpc"),
        )
    )
    attachment, public_table = _internet_gateway(s, vpc)
    public, private, tables = [], [], []
    public_cidrs, private_cidrs = _tiers(s, s.dep)
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
    s.output(VPC_ID, Ref(vpc))
    s.output(PUBLIC_SUBNET_IDS, _join(public), local=[Ref(subnet) for subnet in public])
    s.output(PRIVATE_SUBNET_IDS, _join(private), local=[Ref(subnet) for subnet in private])
    _namespace(s, vpc)
    security.add(s, part, Ref(vpc))
    return Vpc(vpc, attachment, public, private, tables)


def _namespace(s: StackBuilder, vpc: ec2.VPC) -> None:
    """The private DNS namespace the services register in: a Route 53 private zone of the VPC."""
    text = naming.namespace_text(s.dep)
    namespace = s.add(
        servicediscovery.PrivateDnsNamespace(
            "Namespace",
            Name=s.sub(text),
            Vpc=Ref(vpc),
            Description="Service discovery for the platform's internal services",
            Tags=s.tags("namespace"),
        )
    )
    s.output(NAMESPACE_ID, GetAtt(namespace, "Id"))
    s.output(NAMESPACE_NAME, s.sub(text))


def _after_gateway_attachment(s: StackBuilder, attachment: ec2.VPCGatewayAttachment) -> None:
    """The Elastic IPs and the internet-facing ALB wait for the internet gateway's attachment,
    which nothing in their properties says (tap_cfn.flat.needs_gateway, with its source)."""
    for resource in s.template.resources.values():
        if needs_gateway({"Type": resource.resource_type, "Properties": resource.properties}):
            before = getattr(resource, "DependsOn", None) or []
            resource.DependsOn = [*([before] if isinstance(before, str) else before), attachment.title]


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


def _internet_gateway(s: StackBuilder, vpc: ec2.VPC) -> tuple[ec2.VPCGatewayAttachment, ec2.RouteTable]:
    """The internet gateway, its attachment, and the public route table through it."""
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
    return attachment, public_table


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
