"""Network stack: a VPC over N AZs with public and private subnets, an internet gateway, NAT (one
per AZ, or a single shared one) for the private subnets' egress, and VPC flow logs to a log group
encrypted with the platform key."""

from __future__ import annotations

from awacs import logs as log_actions
from troposphere import Cidr, GetAtt, GetAZs, Ref, Select, Sub, Template, ec2, iam, logs

from tap_cfn import naming
from tap_cfn.cidr import Layout
from tap_cfn.config import Deployment
from tap_cfn.contract import (
    KMS_KEY_ARN,
    PRIVATE_SUBNET_IDS,
    PUBLIC_SUBNET_IDS,
    VPC_CIDR,
    VPC_ID,
)
from tap_cfn.iam import LOG_GROUPS_HERE, allow, document, service_trust
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
    way_out = f"NAT ({env.nat})" if env.egress == "nat" else "VPC endpoints, no NAT"
    s = StackBuilder(dep, f"VPC over {env.az_count} AZs, public and private subnets, {way_out}")
    vpc = s.add(
        ec2.VPC(
            "Vpc",
            CidrBlock=s.param(VPC_CIDR),
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=s.tags("vpc"),
        )
    )
    public_table, attachment = _internet_gateway(s, vpc)
    public, private, tables = [], [], []
    nat: ec2.NatGateway | None = None
    public_cidrs, private_cidrs = _tiers(s, dep)
    for index in range(1, env.az_count + 1):
        az = Select(index - 1, GetAZs(""))
        public_cidr, private_cidr = Select(index - 1, public_cidrs), Select(index - 1, private_cidrs)
        public.append(_subnet(s, vpc, "Public", index, public_cidr, az, public_table))
        if env.egress == "nat" and (env.nat == "per_az" or index == 1):
            nat = _nat(s, index, public[-1], attachment)
        table = s.add(
            ec2.RouteTable(
                f"PrivateRouteTable{index}", VpcId=Ref(vpc), Tags=s.tags("rtb-private", str(index))
            )
        )
        if nat is not None:
            s.add(
                ec2.Route(
                    f"PrivateDefaultRoute{index}",
                    RouteTableId=Ref(table),
                    DestinationCidrBlock=ANYWHERE,
                    NatGatewayId=Ref(nat),
                )
            )
        private.append(_subnet(s, vpc, "Private", index, private_cidr, az, table))
        tables.append(table)
    if env.egress == "endpoints":
        _endpoints(s, vpc, private, tables)
    _flow_logs(s, dep, vpc)
    s.output(VPC_ID, Ref(vpc))
    s.output(PUBLIC_SUBNET_IDS, _join(public))
    s.output(PRIVATE_SUBNET_IDS, _join(private))
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


def _internet_gateway(s: StackBuilder, vpc: ec2.VPC) -> tuple[ec2.RouteTable, ec2.VPCGatewayAttachment]:
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
    return public_table, attachment


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


def _nat(
    s: StackBuilder, index: int, subnet: ec2.Subnet, attachment: ec2.VPCGatewayAttachment
) -> ec2.NatGateway:
    """A NAT gateway with its Elastic IP (5 per region by default, see `tap-cfn cost`)."""
    eip = s.add(
        ec2.EIP(
            f"NatEip{index}",
            Domain="vpc",
            DependsOn=[attachment.title],
            Tags=s.tags("eip-nat", str(index)),
        )
    )
    return s.add(
        ec2.NatGateway(
            f"NatGateway{index}",
            AllocationId=GetAtt(eip, "AllocationId"),
            SubnetId=Ref(subnet),
            Tags=s.tags("nat", str(index)),
        )
    )


def _endpoints(
    s: StackBuilder, vpc: ec2.VPC, private: list[ec2.Subnet], tables: list[ec2.RouteTable]
) -> None:
    """Without NAT: an interface endpoint (private DNS on) per AWS API the tasks call, reachable on
    443 from inside the VPC, and the S3 gateway endpoint on every private route table."""
    group = s.add(
        ec2.SecurityGroup(
            "EndpointSecurityGroup",
            GroupDescription="VPC interface endpoints: HTTPS from inside the VPC",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=GetAtt(vpc, "CidrBlock"),
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
                VpcId=Ref(vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=[Ref(subnet) for subnet in private],
                SecurityGroupIds=[Ref(group)],
            )
        )
    s.add(
        ec2.VPCEndpoint(
            "S3Endpoint",
            VpcId=Ref(vpc),
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            VpcEndpointType="Gateway",
            RouteTableIds=[Ref(table) for table in tables],
        )
    )


def _flow_logs(s: StackBuilder, dep: Deployment, vpc: ec2.VPC) -> None:
    """Every accepted and rejected flow of the VPC, to an encrypted log group; the delivery role
    may write to that group only, for flow logs of this account."""
    group = s.stateful(
        logs.LogGroup(
            "FlowLogGroup",
            LogGroupName=s.sub(naming.flow_log_group_text(dep)),
            RetentionInDays=dep.env.log_retention_days,
            KmsKeyId=s.param(KMS_KEY_ARN),
            Tags=s.tags("logs", "flow"),
        )
    )
    role = s.add(
        iam.Role(
            "FlowLogRole",
            Description="Delivers the VPC flow logs to their log group",
            AssumeRolePolicyDocument=service_trust(
                "vpc-flow-logs.amazonaws.com",
                "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*",
            ),
            Policies=[
                iam.Policy(
                    PolicyName="deliver",
                    PolicyDocument=document(
                        allow(
                            [
                                log_actions.CreateLogStream,
                                log_actions.PutLogEvents,
                                log_actions.DescribeLogStreams,
                            ],
                            [GetAtt(group, "Arn")],
                        ),
                        allow([log_actions.DescribeLogGroups], [Sub(LOG_GROUPS_HERE)]),
                    ),
                )
            ],
            Tags=s.tags("flowlogs-role"),
        )
    )
    s.add(
        ec2.FlowLog(
            "FlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(role, "Arn"),
            Tags=s.tags("flowlog"),
        )
    )


def _join(subnets: list[ec2.Subnet]) -> Sub:
    """Comma-separated subnet IDs: what a List<AWS::EC2::Subnet::Id> parameter accepts."""
    return Sub(",".join("${" + subnet.title + "}" for subnet in subnets))
