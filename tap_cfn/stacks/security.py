"""Security stack: one security group for the ALB and one per service. Groups reference each
other, never CIDRs inside the VPC; every allowed path is one edge of `topology.edges`, written
as an ingress rule on the target and the matching egress rule on the source."""

from __future__ import annotations

from troposphere import GetAtt, Template, ec2

from tap_cfn.config import Deployment
from tap_cfn.contract import ALB_SECURITY_GROUP_ID, SERVICE_SECURITY_GROUP_ID, VPC_ID
from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.topology import ALB, Part, edges_of

ANYWHERE = "0.0.0.0/0"
PUBLIC_PORTS = (80, 443)
AWS_API_EGRESS = "HTTPS to AWS APIs (ECR, Secrets Manager, CloudWatch Logs) through the NAT"
# An egress rule that matches nothing: declaring it removes the default allow-all egress rule.
NO_EGRESS = ec2.SecurityGroupRule(
    IpProtocol="icmp",
    FromPort=252,
    ToPort=86,
    CidrIp="255.255.255.255/32",
    Description="Disallow all traffic",
)


def build(dep: Deployment, part: Part | None = None) -> Template:
    part = part or Part.whole(dep)
    s = StackBuilder(dep, "security groups of the ALB and of each service, chained by reference")
    vpc = s.param(VPC_ID)
    groups = {}
    if part.shared:
        groups[ALB] = s.add(
            ec2.SecurityGroup(
                "AlbSecurityGroup",
                GroupDescription="Load balancer: HTTP(S) from the internet",
                VpcId=vpc,
                Tags=s.tags("sg-alb"),
                SecurityGroupEgress=[NO_EGRESS],
                SecurityGroupIngress=[
                    ec2.SecurityGroupRule(
                        IpProtocol="tcp",
                        FromPort=port,
                        ToPort=port,
                        CidrIp=ANYWHERE,
                        Description=f"Port {port} from the internet",
                    )
                    for port in PUBLIC_PORTS
                ],
            )
        )
    for svc in part.members(dep):
        groups[svc.name] = s.add(
            ec2.SecurityGroup(
                f"{logical_id(svc.name)}SecurityGroup",
                GroupDescription=f"Tasks of the {svc.name} service",
                VpcId=vpc,
                Tags=s.tags("sg", svc.name),
                SecurityGroupEgress=[
                    ec2.SecurityGroupRule(
                        IpProtocol="tcp",
                        FromPort=443,
                        ToPort=443,
                        CidrIp=ANYWHERE,
                        Description=AWS_API_EGRESS,
                    )
                ],
            )
        )

    def group_id(name: str) -> object:
        """A security group of this stack, or one of an earlier group's stack, passed in."""
        if name in groups:
            return GetAtt(groups[name], "GroupId")
        return s.param(ALB_SECURITY_GROUP_ID) if name == ALB else s.param(SERVICE_SECURITY_GROUP_ID, name)

    for edge in edges_of(dep, part):
        source, target = logical_id(edge.source), logical_id(edge.target)
        s.add(
            ec2.SecurityGroupIngress(
                f"{target}IngressFrom{source}",
                GroupId=group_id(edge.target),
                IpProtocol="tcp",
                FromPort=edge.port,
                ToPort=edge.port,
                SourceSecurityGroupId=group_id(edge.source),
                Description=f"{edge.target} accepts {edge.port} from {edge.source}",
            )
        )
        s.add(
            ec2.SecurityGroupEgress(
                f"{source}EgressTo{target}",
                GroupId=group_id(edge.source),
                IpProtocol="tcp",
                FromPort=edge.port,
                ToPort=edge.port,
                DestinationSecurityGroupId=group_id(edge.target),
                Description=f"{edge.source} connects to {edge.target} on {edge.port}",
            )
        )

    if part.shared:
        s.output(ALB_SECURITY_GROUP_ID, GetAtt(groups[ALB], "GroupId"))
    for svc in part.members(dep):
        s.output(SERVICE_SECURITY_GROUP_ID, GetAtt(groups[svc.name], "GroupId"), svc.name)
    return s.template
