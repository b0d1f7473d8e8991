"""The load balancer stack (tap_cfn/stacks/loadbalancer.py): HTTPS with a certificate, listener rules
and target groups, ALB hardening, the access-log bucket and the DNS alias."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PROFILES, Built
from tests.stacks.conftest import CAMEL, PORTS, build
from tests.test_config import mutated

TLS_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-")  # TLS 1.2+ with TLS 1.3 (2021-06 or newer)


def test_with_a_certificate_443_serves_tls12_plus_and_80_redirects_without_one_80_serves(
    env_built: Built,
) -> None:
    http = env_built.resource("network", "HttpListener")
    assert "Condition" not in http  # port 80 always exists, as one listener
    condition, with_cert, without_cert = http["Properties"]["DefaultActions"]["Fn::If"]
    assert condition == "HasCertificate"
    # to the custom domain when one is given (the certificate's name), else to the host asked for
    host = {"Fn::If": ["HasDomainName", {"Ref": "DomainName"}, "#{host}"]}
    assert with_cert == [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": host, "StatusCode": "HTTP_301"},
        }
    ]
    assert without_cert == [{"Type": "forward", "TargetGroupArn": {"Ref": "FrontendTargetGroup"}}]

    https = env_built.resource("network", "HttpsListener")
    assert https["Condition"] == "HasCertificate"
    props = https["Properties"]
    assert (props["Port"], props["Protocol"]) == (443, "HTTPS")
    assert TLS_POLICY.match(props["SslPolicy"])
    assert props["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert props["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "FrontendTargetGroup"}}]

    # the path rules move to 443 with the certificate
    (rule,) = env_built.resources("network", "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert rule["Properties"]["ListenerArn"] == {
        "Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }


def test_the_platform_url_is_https_with_a_certificate_and_names_the_custom_domain(env_built: Built) -> None:
    assert env_built.root["Outputs"]["AlbUrl"]["Value"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.AlbUrl"]}
    url = env_built.stack("network")["Outputs"]["AlbUrl"]["Value"]
    condition, with_cert, without_cert = url["Fn::If"]
    assert condition == "HasCertificate"
    for scheme, by_domain in (("https", with_cert), ("http", without_cert)):
        assert by_domain == {
            "Fn::If": [
                "HasDomainName",
                {"Fn::Sub": f"{scheme}://${{DomainName}}"},
                {"Fn::Sub": f"{scheme}://${{LoadBalancer.DNSName}}"},
            ]
        }
    conditions = env_built.stack("network")["Conditions"]
    assert conditions["HasHostedZone"] == {
        "Fn::And": [
            {"Condition": "HasDomainName"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HostedZoneId"}, ""]}]},
        ]
    }


def test_a_hosted_zone_gets_an_alias_record_to_the_load_balancer(env_built: Built) -> None:
    record = env_built.resource("network", "DomainAlias")
    assert record["Condition"] == "HasHostedZone"
    props = record["Properties"]
    assert (props["Type"], props["Name"], props["HostedZoneId"]) == (
        "A",
        {"Ref": "DomainName"},
        {"Ref": "HostedZoneId"},
    )
    # the alias target's zone is the load balancer's canonical zone, not the user's zone
    assert props["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": ["LoadBalancer", "CanonicalHostedZoneID"]}
    assert props["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    for key in ("DomainName", "HostedZoneId"):
        assert env_built.fed_by("network", key) == {"Ref": key}


@pytest.mark.parametrize("env", PROFILES)
def test_alb_attributes_http2_header_hygiene_access_logs_and_prod_deletion_protection(
    built: dict[str, Built], env: str
) -> None:
    b = built[env]
    lb = b.resource("network", "LoadBalancer")["Properties"]
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["routing.http2.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    # the ALB checks on create that it may write there: the bucket policy comes first (and, as an
    # internet-facing load balancer, the internet gateway's attachment: test_network.py)
    assert "AccessLogBucketPolicy" in b.resource("network", "LoadBalancer")["DependsOn"]
    # the deployer owns protection (deploy/protection.py): set here, it would trap a rollback
    assert "deletion_protection.enabled" not in attributes
    assert b.root["Metadata"]["tap-cfn"] == {"AlbDeletionProtection": env == "prod"}


def test_access_log_bucket_is_encrypted_private_tls_only_and_expires_logs(built: dict[str, Built]) -> None:
    for env, b in built.items():
        bucket = b.resource("network", "AccessLogBucket")["Properties"]
        # ALB log delivery supports SSE-S3 only
        (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        assert bucket["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        (lifecycle,) = bucket["LifecycleConfiguration"]["Rules"]
        assert lifecycle["Status"] == "Enabled"
        assert lifecycle["ExpirationInDays"] == {"dev": 7, "staging": 30, "prod": 30}[env]

        policy = b.resource("network", "AccessLogBucketPolicy")["Properties"]
        assert policy["Bucket"] == {"Ref": "AccessLogBucket"}
        by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        delivery = by_sid["ElbAccessLogDelivery"]
        assert delivery["Effect"] == "Allow"
        assert delivery["Principal"] == {"Service": ["logdelivery.elasticloadbalancing.amazonaws.com"]}
        assert delivery["Action"] == ["s3:PutObject"]
        assert delivery["Resource"] == [{"Fn::Sub": "${AccessLogBucket.Arn}/alb/AWSLogs/${AWS::AccountId}/*"}]
        tls = by_sid["DenyInsecureTransport"]
        assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", ["s3:*"])
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": False}}
        assert tls["Resource"] == [
            {"Fn::GetAtt": ["AccessLogBucket", "Arn"]},
            {"Fn::Sub": "${AccessLogBucket.Arn}/*"},
        ]


def test_load_balancer_listener_rules_and_target_groups(env_built: Built) -> None:
    lb = env_built.resource("network", "LoadBalancer")["Properties"]
    assert lb["Scheme"] == "internet-facing" and lb["Type"] == "application"
    # the subnets of the same template, referenced directly (not the joined PublicSubnetIds output)
    assert lb["Subnets"] == [{"Ref": f"PublicSubnet{index}"} for index in (1, 2, 3)]
    assert lb["SecurityGroups"] == [{"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}]
    listener = env_built.resource("network", "HttpListener")["Properties"]
    assert listener["Port"] == 80 and listener["Protocol"] == "HTTP"
    # without a certificate (the If's false branch) port 80 forwards to the frontend
    assert listener["DefaultActions"]["Fn::If"][2] == [
        {"TargetGroupArn": {"Ref": "FrontendTargetGroup"}, "Type": "forward"}
    ]
    (rule,) = env_built.resources("network", "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    props = rule["Properties"]
    assert props["Priority"] == 100
    assert props["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]
    assert props["Actions"] == [{"TargetGroupArn": {"Ref": "ApiGatewayTargetGroup"}, "Type": "forward"}]
    for svc, path in (("frontend", "/"), ("api-gateway", "/health")):
        tg = env_built.resource("network", f"{CAMEL[svc]}TargetGroup")["Properties"]
        assert (tg["Port"], tg["TargetType"], tg["HealthCheckPath"]) == (PORTS[svc], "ip", path)
        assert tg["Matcher"] == {"HttpCode": "200"}
        assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
        assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 3)
        assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in tg["TargetGroupAttributes"]


def test_a_blue_green_family_service_gets_a_second_group_and_a_weighted_production_rule() -> None:
    def canary(raw: dict[str, Any]) -> None:
        raw["services"][1]["deployment"] = {"strategy": "canary"}

    built = build(mutated(canary), "dev")
    resources = built.stack("network")["Resources"]
    first = resources["ApiGatewayTargetGroup"]["Properties"]
    second = resources["ApiGatewayTargetGroup2"]["Properties"]
    assert second["Name"] == {"Fn::Sub": "tap-tg2-api-gateway-${EnvironmentSuffix}"}
    # alike in everything that decides health and routing
    same = {k: v for k, v in first.items() if k not in ("Name", "Tags")}
    assert {k: v for k, v in second.items() if k not in ("Name", "Tags")} == same
    rule = resources["ApiGatewayListenerRule"]["Properties"]
    assert rule["Actions"] == [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": {"Ref": "ApiGatewayTargetGroup"}, "Weight": 100},
                    {"TargetGroupArn": {"Ref": "ApiGatewayTargetGroup2"}, "Weight": 0},
                ]
            },
        }
    ]
    outputs = built.stack("network")["Outputs"]
    assert outputs["ApiGatewayListenerRuleArn"]["Value"] == {"Ref": "ApiGatewayListenerRule"}
    assert outputs["ApiGatewayTargetGroup2Arn"]["Value"] == {"Ref": "ApiGatewayTargetGroup2"}
    # the rolling services keep one group and a plain forward
    assert "FrontendTargetGroup2" not in resources
    assert (
        "ApiGatewayListenerRuleArn" not in build(mutated(lambda raw: None), "dev").stack("network")["Outputs"]
    )
