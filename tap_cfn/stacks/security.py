"""Security groups: one for the ALB and one per service. Groups reference each other, never CIDRs
inside the VPC; every allowed path is one edge of `topology.edges`, written as an ingress rule on
the target and the matching egress rule on the source.

`add` puts them in the network stack (all of them on a platform of one group, the ALB's on a
larger one): there they cost the services' chain no nesting level. `build` is the security stack
of a group of services beyond the first ten, with its services' groups and rules."""

from __future__ import annotations

from troposphere import GetAtt, Template, ec2

from tap_cfn.config import Deployment, Service, refers_to_alb
from tap_cfn.contract import ALB_SECURITY_GROUP_ID, SERVICE_SECURITY_GROUP_ID, VPC_ID
from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder, skip_check
from tap_cfn.topology import ALB, Part, edges_of

ANYWHERE = "0.0.0.0/0"
HTTP, HTTPS = 80, 443
AWS_API_EGRESS = {
    "nat": "HTTPS to AWS APIs (ECR, Secrets Manager, CloudWatch Logs) through the NAT",
    "endpoints": "HTTPS to the VPC endpoints and to S3 through its gateway endpoint (no NAT: no way out)",
}
# A task reaches the internet-facing load balancer at its public addresses, through the NAT: a
# security-group reference does not match that traffic, so the rule names the port, not the group.
ALB_EGRESS = "HTTP to the load balancer's public address (alb.url, alb.dns references), through the NAT"
# An egress rule that matches nothing: declaring it removes the default allow-all egress rule
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html).
NO_EGRESS = ec2.SecurityGroupRule(
    IpProtocol="icmp",
    FromPort=252,
    ToPort=86,
    CidrIp="255.255.255.255/32",
    Description="Disallow all traffic",
)


def build(dep: Deployment, part: Part) -> Template:
    s = StackBuilder(dep, "security groups of a group of services, chained by reference")
    add(s, part, s.param(VPC_ID))
    return s.template


def add(s: StackBuilder, part: Part, vpc_id: object) -> None:
    """The groups of `part` in the VPC `vpc_id`, the rules of its edges, and their IDs as outputs."""
    dep = s.dep
    groups = {}
    if part.shared:
        groups[ALB] = _alb_group(s, vpc_id)
    for svc in part.members(dep):
        groups[svc.name] = s.add(
            ec2.SecurityGroup(
                f"{logical_id(svc.name)}SecurityGroup",
                GroupDescription=f"Tasks of the {svc.name} service",
                VpcId=vpc_id,
                Tags=s.tags("sg", svc.name),
                SecurityGroupEgress=egress_rules(dep, svc),
            )
        )
    _edge_rules(s, part, groups)
    if part.shared:
        s.output(ALB_SECURITY_GROUP_ID, GetAtt(groups[ALB], "GroupId"))
    for svc in part.members(dep):
        s.output(SERVICE_SECURITY_GROUP_ID, GetAtt(groups[svc.name], "GroupId"), svc.name)


def egress_rules(dep: Deployment, svc: Service) -> list[ec2.SecurityGroupRule]:
    """What a service's tasks may open besides its callees: AWS APIs on 443 and, when its
    environment refers to the load balancer, port 80 of it (443 is already open)."""
    rules = [_cidr_rule(HTTPS, AWS_API_EGRESS[dep.env.egress])]
    if refers_to_alb(svc):  # a config check keeps these to egress: nat
        rules.append(_cidr_rule(HTTP, ALB_EGRESS))
    return rules


def _alb_group(s: StackBuilder, vpc_id: object) -> ec2.SecurityGroup:
    alb = s.add(
        ec2.SecurityGroup(
            "AlbSecurityGroup",
            GroupDescription="Load balancer: HTTP(S) from the internet",
            VpcId=vpc_id,
            Tags=s.tags("sg-alb"),
            SecurityGroupEgress=[NO_EGRESS],
            SecurityGroupIngress=[
                _cidr_rule(HTTP, "HTTP from the internet (redirected to HTTPS when a certificate is given)"),
            ],
        )
    )
    # A resource of its own, not an Fn::If inside the group, so that scanners see the rule whole.
    s.add(
        ec2.SecurityGroupIngress(
            "AlbIngressHttps",
            Condition=s.has_certificate(),
            GroupId=GetAtt(alb, "GroupId"),
            IpProtocol="tcp",
            FromPort=HTTPS,
            ToPort=HTTPS,
            CidrIp=ANYWHERE,
            Description="HTTPS from the internet",
        )
    )
    skip_check(
        alb,
        "CKV_AWS_260",
        "Port 80 of a public load balancer: with a certificate its listener only redirects to HTTPS "
        "(HTTP 301); without one, plain HTTP is the deployment's explicit choice (CertificateArn empty).",
    )
    return alb


def _edge_rules(s: StackBuilder, part: Part, groups: dict[str, ec2.SecurityGroup]) -> None:
    """Each edge as an ingress rule on the target and the matching egress rule on the source."""

    def group_id(name: str) -> object:
        """A security group of this stack, or one of an earlier group's stack, passed in."""
        if name in groups:
            return GetAtt(groups[name], "GroupId")
        return s.param(ALB_SECURITY_GROUP_ID) if name == ALB else s.param(SERVICE_SECURITY_GROUP_ID, name)

    for edge in edges_of(s.dep, part):
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


def _cidr_rule(port: int, description: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(
        IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=ANYWHERE, Description=description
    )
