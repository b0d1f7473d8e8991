"""The load balancer: an internet-facing ALB in the public subnets with its access-log bucket,
one target group per ALB service, and the listeners whose default action and path/host rules
come from the config. A part of the network stack (`add`, tap_cfn/stacks/network.py); on a
platform of several groups, each further group's target groups and listener rules are a
`loadbalancer-<k>` stack of their own (`build`), on the network stack's listener.

Given a CertificateArn (condition HasCertificate): an HTTPS listener on 443 (TLS 1.2+, HTTP/2)
carries the default action and the rules, and port 80 redirects to it. Without one: port 80
carries them, HTTP only. Port 80 is one listener either way, so that adding a certificate to a
running stack changes its default action instead of replacing it."""

from __future__ import annotations

from troposphere import And, Condition, Equals, GetAtt, If, Not, Ref, Sub, Template, route53, s3
from troposphere import elasticloadbalancingv2 as elb

from tap_cfn import iam, naming
from tap_cfn.config import TEST_TRAFFIC_HEADER, Deployment, Service, needs_alternate_target_group
from tap_cfn.contract import (
    ALB_DNS_NAME,
    ALB_FULL_NAME,
    ALB_SECURITY_GROUP_ID,
    ALB_URL,
    ALTERNATE_TARGET_GROUP_ARN,
    CERTIFICATE_ARN,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    LISTENER_ARN,
    LISTENER_RULE_ARN,
    PUBLIC_SUBNET_IDS,
    TARGET_GROUP2_FULL_NAME,
    TARGET_GROUP_ARN,
    TARGET_GROUP_FULL_NAME,
    TEST_LISTENER_RULE_ARN,
    VPC_ID,
)
from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder, skip_check
from tap_cfn.topology import (
    ListenerRule,
    Part,
    default_service,
    listener_rules,
    service_groups,
    test_rule_priority,
)

HAS_DOMAIN, HAS_ZONE = "HasDomainName", "HasHostedZone"
ACCESS_LOG_PREFIX = "alb"
DEFAULT_HEALTH_CHECK_PATH = "/"

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
    "routing.http2.enabled": "true",
    "access_logs.s3.enabled": "true",
    "access_logs.s3.prefix": ACCESS_LOG_PREFIX,
}
# TLS 1.3 and 1.2 only, forward-secret ciphers (the ALB default since 2023).
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def _target_services(dep: Deployment, part: Part) -> list[Service]:
    """The platform-wide stack holds the default service's target group (the listener's default
    action needs it); each part holds those of its other ALB services."""
    default = default_service(dep)
    members = [s for s in part.members(dep) if s.route.behind_alb and s is not default]
    return [default, *members] if part.shared else members


def build(dep: Deployment, part: Part) -> Template:
    """The target groups and listener rules of a group of services beyond the first (`part`)."""
    s = StackBuilder(dep, "target groups and listener rules of a group of services")
    add(s, part)
    return s.template


def add(s: StackBuilder, part: Part) -> None:
    """The load balancer parts of `part`; with the shared part, the ALB and its listeners too."""
    dep = s.dep
    target_groups = {svc.name: _target_group(s, svc) for svc in _target_services(dep, part)}
    if part.shared:
        log_bucket, log_policy = _access_log_bucket(s, dep)
        alb = s.add(
            elb.LoadBalancer(
                "LoadBalancer",
                # The bucket needs its policy before access logs go on (the ALB checks that it may
                # write: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html;
                # the CDK orders them the same way: github.com/aws/aws-cdk/issues/1633)
                DependsOn=[log_policy.title],
                Name=s.name("alb"),
                Type="application",
                Scheme="internet-facing",
                IpAddressType="ipv4",
                Subnets=s.param(PUBLIC_SUBNET_IDS),
                SecurityGroups=[s.param(ALB_SECURITY_GROUP_ID)],
                LoadBalancerAttributes=[
                    elb.LoadBalancerAttributes(Key=k, Value=v)
                    for k, v in sorted(_attributes(Ref(log_bucket)).items())
                ],
                Tags=s.tags("alb"),
            )
        )
        listener_arn: object = _listeners(s, alb, target_groups[default_service(dep).name])
    else:
        listener_arn = s.param(LISTENER_ARN)
    alternates = {
        svc.name: _alternate_target_group(s, svc)
        for svc in _target_services(dep, part)
        if needs_alternate_target_group(svc)
    }
    tested = {svc.name for svc in _target_services(dep, part) if svc.deployment.test_listener_rule}
    for rule in [r for r in listener_rules(dep) if r.service in target_groups]:
        groups = (target_groups[rule.service], alternates.get(rule.service))
        _listener_rule(s, rule, listener_arn, *groups)
        if rule.service in tested:
            _test_listener_rule(s, rule, listener_arn, *groups)
    if part.shared:
        s.output(ALB_DNS_NAME, GetAtt(alb, "DNSName"))
        s.output(ALB_FULL_NAME, GetAtt(alb, "LoadBalancerFullName"))
        s.output(ALB_URL, _url(s, alb))
        if len(service_groups(dep)) > 1:  # the other parts' rules go on this listener
            s.output(LISTENER_ARN, listener_arn)


def _target_group(s: StackBuilder, svc: Service) -> elb.TargetGroup:
    tg = s.add(_group(s, svc, "TargetGroup", naming.TARGET_GROUP))
    s.output(TARGET_GROUP_ARN, Ref(tg), svc.name)
    s.output(TARGET_GROUP_FULL_NAME, GetAtt(tg, "TargetGroupFullName"), svc.name)
    return tg


def _alternate_target_group(s: StackBuilder, svc: Service) -> elb.TargetGroup:
    """The second target group of a blue/green, canary or linear service, alike in everything but
    its name: ECS registers each new revision in the group that is not serving production
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html)."""
    # "<Service>TargetGroup2", not "<Service>AlternateTargetGroup": that would be the target group
    # of a service named "<service>-alternate".
    tg = s.add(_group(s, svc, "TargetGroup2", naming.ALTERNATE_TARGET_GROUP))
    s.output(ALTERNATE_TARGET_GROUP_ARN, Ref(tg), svc.name)
    s.output(TARGET_GROUP2_FULL_NAME, GetAtt(tg, "TargetGroupFullName"), svc.name)
    return tg


def _group(s: StackBuilder, svc: Service, title: str, kind: str) -> elb.TargetGroup:
    return elb.TargetGroup(
        f"{logical_id(svc.name)}{title}",
        Name=s.name(kind, svc.name),
        Port=svc.port,
        Protocol="HTTP",
        TargetType="ip",
        VpcId=s.param(VPC_ID),
        HealthCheckEnabled=True,
        HealthCheckPath=svc.health_check_path or DEFAULT_HEALTH_CHECK_PATH,
        HealthCheckProtocol="HTTP",
        Matcher=elb.Matcher(HttpCode="200"),
        TargetGroupAttributes=[
            elb.TargetGroupAttribute(
                Key="deregistration_delay.timeout_seconds",
                Value=str(DEREGISTRATION_DELAY_SECONDS),
            )
        ],
        Tags=s.tags(kind, svc.name),
        **HEALTH,
    )


def _listener_rule(
    s: StackBuilder,
    rule: ListenerRule,
    listener_arn: object,
    tg: elb.TargetGroup,
    alternate: elb.TargetGroup | None,
) -> None:
    added = s.add(
        elb.ListenerRule(
            f"{logical_id(rule.service)}ListenerRule",
            ListenerArn=listener_arn,
            Priority=rule.priority,
            Conditions=_conditions(rule),
            Actions=[_forward(tg, alternate)],
            Tags=s.tags("rule", rule.service),
        )
    )
    if alternate is not None:
        s.output(LISTENER_RULE_ARN, Ref(added), rule.service)


def _test_listener_rule(
    s: StackBuilder,
    rule: ListenerRule,
    listener_arn: object,
    tg: elb.TargetGroup,
    alternate: elb.TargetGroup | None,
) -> None:
    """The service's rule plus the test header, one priority ahead: during a release ECS points it
    at the new revision before production traffic moves
    (AdvancedConfiguration.TestListenerRule, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html;
    the http-header condition: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html)."""
    header = elb.Condition(
        Field="http-header",
        HttpHeaderConfig=elb.HttpHeaderConfig(HttpHeaderName=TEST_TRAFFIC_HEADER, Values=["*"]),
    )
    added = s.add(
        elb.ListenerRule(
            f"{logical_id(rule.service)}TestRule",
            ListenerArn=listener_arn,
            Priority=test_rule_priority(rule),
            Conditions=[*_conditions(rule), header],
            Actions=[_forward(tg, alternate)],
            Tags=s.tags("test-rule", rule.service),
        )
    )
    s.output(TEST_LISTENER_RULE_ARN, Ref(added), rule.service)


def _conditions(rule: ListenerRule) -> list[elb.Condition]:
    conditions = []
    if rule.path:
        conditions.append(
            elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=[rule.path]))
        )
    if rule.host:
        conditions.append(
            elb.Condition(Field="host-header", HostHeaderConfig=elb.HostHeaderConfig(Values=[rule.host]))
        )
    return conditions


def _forward(tg: elb.TargetGroup, alternate: elb.TargetGroup | None) -> elb.ListenerRuleAction:
    """Forward to the service's target group; with an alternate one, to both, all production traffic
    on the first: the production listener rule whose weights ECS moves during a blue/green, canary or
    linear release (AdvancedConfiguration.ProductionListenerRule,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html).
    ECS leaves the weights where the last release put them; CloudFormation rewrites them only when
    this rule's own properties change."""
    if alternate is None:
        return elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(tg))
    return elb.ListenerRuleAction(
        Type="forward",
        ForwardConfig=elb.ForwardConfig(
            TargetGroups=[
                elb.TargetGroupTuple(TargetGroupArn=Ref(tg), Weight=100),
                elb.TargetGroupTuple(TargetGroupArn=Ref(alternate), Weight=0),
            ]
        ),
    )


def _domain(s: StackBuilder) -> tuple[str, str]:
    """The HasDomainName and HasHostedZone conditions, declared on first use."""
    if HAS_DOMAIN not in s.template.conditions:
        s.template.add_condition(HAS_DOMAIN, Not(Equals(s.param(DOMAIN_NAME), "")))
        s.template.add_condition(
            HAS_ZONE, And(Condition(HAS_DOMAIN), Not(Equals(s.param(HOSTED_ZONE_ID), "")))
        )
    return HAS_DOMAIN, HAS_ZONE


def _url(s: StackBuilder, alb: elb.LoadBalancer) -> If:
    """http(s)://<DomainName or the ALB's DNS name>: what users and ${alb.url} call."""
    has_domain, has_zone = _domain(s)
    # Route 53 alias to the load balancer: AliasTarget.HostedZoneId is the ALB's canonical zone
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-route53-recordset-aliastarget.html).
    s.add(
        route53.RecordSetType(
            "DomainAlias",
            Condition=has_zone,
            HostedZoneId=s.param(HOSTED_ZONE_ID),
            Name=s.param(DOMAIN_NAME),
            Type="A",
            AliasTarget=route53.AliasTarget(
                HostedZoneId=GetAtt(alb, "CanonicalHostedZoneID"),
                DNSName=GetAtt(alb, "DNSName"),
                EvaluateTargetHealth=False,
            ),
        )
    )
    s.param(DOMAIN_NAME)

    def url(scheme: str) -> If:
        return If(
            has_domain, Sub(f"{scheme}://${{{DOMAIN_NAME.key}}}"), Sub(f"{scheme}://${{{alb.title}.DNSName}}")
        )

    return If(s.has_certificate(), url("https"), url("http"))


def _listeners(s: StackBuilder, alb: elb.LoadBalancer, default: elb.TargetGroup) -> If:
    """Port 80, and 443 with a certificate; returns the ARN of the listener that carries the rules."""
    has_certificate = s.has_certificate()
    default_action = elb.Action(Type="forward", TargetGroupArn=Ref(default))
    # Redirect to the custom domain when there is one, so the certificate matches the name called.
    redirect = elb.Action(
        Type="redirect",
        RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS",
            Port="443",
            Host=If(_domain(s)[0], s.param(DOMAIN_NAME), "#{host}"),
            StatusCode="HTTP_301",
        ),
    )
    http = s.add(
        elb.Listener(
            "HttpListener",
            LoadBalancerArn=Ref(alb),
            Port=80,
            Protocol="HTTP",
            DefaultActions=If(has_certificate, [redirect], [default_action]),
            Tags=s.tags("listener-http"),
        )
    )
    for check in ("CKV_AWS_2", "CKV_AWS_103"):
        skip_check(
            http,
            check,
            "Port 80: with a CertificateArn it only redirects to HTTPS (HTTP 301, Fn::If on the default "
            "action, which checkov cannot evaluate); without one, HTTP only is the deployment's choice.",
        )
    https = s.add(
        elb.Listener(
            "HttpsListener",
            Condition=has_certificate,
            LoadBalancerArn=Ref(alb),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=SSL_POLICY,
            Certificates=[elb.Certificate(CertificateArn=s.param(CERTIFICATE_ARN))],
            DefaultActions=[default_action],
            Tags=s.tags("listener-https"),
        )
    )
    return If(has_certificate, Ref(https), Ref(http))


def _attributes(bucket: object) -> dict[str, object]:
    """Deletion protection is not set here: the deployer turns it on after the first successful
    create and lifts it on destroy (tap_cfn/deploy/protection.py), so that a rollback or a
    destroy is never refused by it."""
    return {**ALB_ATTRIBUTES, "access_logs.s3.bucket": bucket}


def _access_log_bucket(s: StackBuilder, dep: Deployment) -> tuple[s3.Bucket, s3.BucketPolicy]:
    """ALB access logs: SSE-S3 (the only encryption ALB log delivery supports), no public access,
    TLS only, ACLs off, versioned, and expired after the profile's log retention."""
    days = dep.env.log_retention_days
    bucket = s.stateful(
        s3.Bucket(
            "AccessLogBucket",
            BucketName=s.sub(naming.bucket_text(dep, "alb-logs")),
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
                    )
                ]
            ),
            PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
                BlockPublicAcls=True,
                BlockPublicPolicy=True,
                IgnorePublicAcls=True,
                RestrictPublicBuckets=True,
            ),
            OwnershipControls=s3.OwnershipControls(
                Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
            ),
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="expire-access-logs",
                        Status="Enabled",
                        ExpirationInDays=days,
                        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=days),
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                            DaysAfterInitiation=1
                        ),
                    )
                ]
            ),
            Tags=s.tags("alb-logs"),
        )
    )
    skip_check(
        bucket,
        "CKV_AWS_18",
        "This bucket is the log destination (ALB access logs); server access logs of it would need "
        "another bucket, which would need one in turn. Audit reads with CloudTrail S3 data events.",
    )
    policy = s.add(
        s3.BucketPolicy(
            "AccessLogBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=iam.document(
                iam.elb_log_delivery(
                    Sub(f"${{{bucket.title}.Arn}}/{ACCESS_LOG_PREFIX}/AWSLogs/${{AWS::AccountId}}/*")
                ),
                iam.deny_insecure_transport([GetAtt(bucket, "Arn"), Sub(f"${{{bucket.title}.Arn}}/*")]),
            ),
        )
    )
    return bucket, policy
