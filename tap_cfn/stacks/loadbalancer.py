"""Load balancer stack: an internet-facing ALB in the public subnets, one target group per ALB
service, and an HTTP listener whose default action and path/host rules come from the config."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template
from troposphere import elasticloadbalancingv2 as elb

from tap_cfn import naming
from tap_cfn.config import Deployment, Service
from tap_cfn.contract import (
    ALB_DNS_NAME,
    ALB_FULL_NAME,
    ALB_SECURITY_GROUP_ID,
    LISTENER_ARN,
    PUBLIC_SUBNET_IDS,
    TARGET_GROUP_ARN,
    TARGET_GROUP_FULL_NAME,
    VPC_ID,
)
from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.topology import Part, default_service, listener_rules, service_groups

# Health check and draining figures shared by every target group.
HEALTH = {
    "HealthCheckIntervalSeconds": 30,
    "HealthCheckTimeoutSeconds": 5,
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 3,
}
DEREGISTRATION_DELAY_SECONDS = 30
ALB_ATTRIBUTES = {
    "routing.http.drop_invalid_header_fields.enabled": "true",
    "routing.http.desync_mitigation_mode": "strictest",
}


def _target_services(dep: Deployment, part: Part) -> list[Service]:
    """The platform-wide stack holds the default service's target group (the listener's default
    action needs it); each part holds those of its other ALB services."""
    default = default_service(dep)
    members = [s for s in part.members(dep) if s.route.type == "alb" and s is not default]
    return [default, *members] if part.shared else members


def build(dep: Deployment, part: Part | None = None) -> Template:
    part = part or Part.whole(dep)
    s = StackBuilder(dep, "internet-facing application load balancer, listener, rules and target groups")
    target_groups = {}
    for svc in _target_services(dep, part):
        target_groups[svc.name] = tg = s.add(
            elb.TargetGroup(
                f"{logical_id(svc.name)}TargetGroup",
                Name=s.name(naming.TARGET_GROUP, svc.name),
                Port=svc.port,
                Protocol="HTTP",
                TargetType="ip",
                VpcId=s.param(VPC_ID),
                HealthCheckEnabled=True,
                HealthCheckPath=svc.health_check_path,
                HealthCheckProtocol="HTTP",
                Matcher=elb.Matcher(HttpCode="200"),
                TargetGroupAttributes=[
                    elb.TargetGroupAttribute(
                        Key="deregistration_delay.timeout_seconds",
                        Value=str(DEREGISTRATION_DELAY_SECONDS),
                    )
                ],
                Tags=s.tags(naming.TARGET_GROUP, svc.name),
                **HEALTH,
            )
        )
        s.output(TARGET_GROUP_ARN, Ref(tg), svc.name)
        s.output(TARGET_GROUP_FULL_NAME, GetAtt(tg, "TargetGroupFullName"), svc.name)

    if part.shared:
        alb = s.add(
            elb.LoadBalancer(
                "LoadBalancer",
                Name=s.name("alb"),
                Type="application",
                Scheme="internet-facing",
                IpAddressType="ipv4",
                Subnets=s.param(PUBLIC_SUBNET_IDS),
                SecurityGroups=[s.param(ALB_SECURITY_GROUP_ID)],
                LoadBalancerAttributes=[
                    elb.LoadBalancerAttributes(Key=k, Value=v) for k, v in sorted(ALB_ATTRIBUTES.items())
                ],
                Tags=s.tags("alb"),
            )
        )
        listener = s.add(
            elb.Listener(
                "HttpListener",
                LoadBalancerArn=Ref(alb),
                Port=80,
                Protocol="HTTP",
                DefaultActions=[
                    elb.Action(Type="forward", TargetGroupArn=Ref(target_groups[default_service(dep).name]))
                ],
                Tags=s.tags("listener-http"),
            )
        )
        listener_arn: object = Ref(listener)
    else:
        listener_arn = s.param(LISTENER_ARN)
    for rule in [r for r in listener_rules(dep) if r.service in target_groups]:
        conditions = []
        if rule.path:
            conditions.append(
                elb.Condition(
                    Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=[rule.path])
                )
            )
        if rule.host:
            conditions.append(
                elb.Condition(Field="host-header", HostHeaderConfig=elb.HostHeaderConfig(Values=[rule.host]))
            )
        s.add(
            elb.ListenerRule(
                f"{logical_id(rule.service)}ListenerRule",
                ListenerArn=listener_arn,
                Priority=rule.priority,
                Conditions=conditions,
                Actions=[
                    elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target_groups[rule.service]))
                ],
                Tags=s.tags("rule", rule.service),
            )
        )

    if part.shared:
        s.output(ALB_DNS_NAME, GetAtt(alb, "DNSName"))
        s.output(ALB_FULL_NAME, GetAtt(alb, "LoadBalancerFullName"))
        if len(service_groups(dep)) > 1:  # the other parts' rules go on this listener
            s.output(LISTENER_ARN, Ref(listener))
    return s.template
