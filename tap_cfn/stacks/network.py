"""Network stack: a VPC over N AZs with public and private subnets, an internet gateway, NAT (one
per AZ, or a single shared one) for the private subnets' egress, and VPC flow logs to a log group
encrypted with the platform key."""

from __future__ import annotations

from awacs import logs as log_actions
from troposphere import GetAtt, GetAZs, Ref, Select, Sub, Template, ec2, iam, logs

from tap_cfn import naming
from tap_cfn.config import Deployment
from tap_cfn.contract import KMS_KEY_ARN, PRIVATE_SUBNET_IDS, PUBLIC_SUBNET_IDS, VPC_ID
from tap_cfn.iam import LOG_GROUPS_HERE, allow, document, service_trust
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

    _flow_logs(s, dep, vpc)
    s.output(VPC_ID, Ref(vpc))
    s.output(PUBLIC_SUBNET_IDS, _join(public))
    s.output(PRIVATE_SUBNET_IDS, _join(private))
    return s.template


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
            RoleName=s.name("flowlogs-role"),
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
