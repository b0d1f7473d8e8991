"""GIVEN the packaged config (and a variant with ECS Exec), WHEN the templates are built, THEN they
hold the security promises of the hardening issue: HTTPS when a certificate is given, ALB
hardening and access logs, one customer-managed key for logs, secrets and images, flow logs,
least-privilege IAM, hardened containers, data kept where the profile says, and checkov skips
that carry their reason and match the README."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import troposphere.kms
import yaml
from troposphere import Template

from tap_cfn import config as cfg
from tap_cfn import generator, iam, scan
from tap_cfn.lint import lint
from tap_cfn.render import render
from tests.conftest import PROFILES, SERVICES, Built

CAMEL = {"frontend": "Frontend", "api-gateway": "ApiGateway", "processing": "Processing"}
README = Path(__file__).parent.parent / "README.md"
TLS_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-")  # TLS 1.2+ with TLS 1.3 (2021-06 or newer)
STATEFUL = {
    "AWS::ECR::Repository",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
}
KEY_ARN_PARAM = {"Ref": "KmsKeyArn"}


@pytest.fixture(scope="module")
def exec_built() -> Built:
    """dev, with ECS Exec enabled on api-gateway (which then needs a writable root filesystem)."""
    raw = copy.deepcopy(yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text()))
    raw["services"][1].update(exec=True, readonly_root_filesystem=False)
    return Built(cfg.Deployment(cfg.parse(raw), "dev"))


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def actions_of(role: dict[str, Any]) -> set[str]:
    return {a for s in statements(role) for a in s["Action"]}


# --- HTTPS ----------------------------------------------------------------------------------------


def test_certificate_arn_is_an_optional_root_parameter_fed_to_the_stacks_that_need_it(
    env_built: Built,
) -> None:
    assert env_built.root["Parameters"]["CertificateArn"]["Default"] == ""
    for stem in ("loadbalancer", "security"):
        assert env_built.fed_by(stem, "CertificateArn") == {"Ref": "CertificateArn"}
        assert env_built.stack(stem)["Conditions"]["HasCertificate"] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]
        }


def test_with_a_certificate_443_serves_tls12_plus_and_80_redirects_without_one_80_serves(
    env_built: Built,
) -> None:
    http = env_built.resource("loadbalancer", "HttpListener")
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

    https = env_built.resource("loadbalancer", "HttpsListener")
    assert https["Condition"] == "HasCertificate"
    props = https["Properties"]
    assert (props["Port"], props["Protocol"]) == (443, "HTTPS")
    assert TLS_POLICY.match(props["SslPolicy"])
    assert props["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert props["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "FrontendTargetGroup"}}]

    # the path rules move to 443 with the certificate
    (rule,) = env_built.resources("loadbalancer", "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert rule["Properties"]["ListenerArn"] == {
        "Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }


def test_alb_security_group_opens_443_only_with_a_certificate(env_built: Built) -> None:
    group = env_built.resource("security", "AlbSecurityGroup")["Properties"]
    assert [r["FromPort"] for r in group["SecurityGroupIngress"]] == [80]
    https = env_built.resource("security", "AlbIngressHttps")
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["FromPort"] == https["Properties"]["ToPort"] == 443


def test_the_platform_url_is_https_with_a_certificate_and_names_the_custom_domain(env_built: Built) -> None:
    assert env_built.root["Outputs"]["AlbUrl"]["Value"] == {
        "Fn::GetAtt": ["LoadBalancerStack", "Outputs.AlbUrl"]
    }
    url = env_built.stack("loadbalancer")["Outputs"]["AlbUrl"]["Value"]
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
    conditions = env_built.stack("loadbalancer")["Conditions"]
    assert conditions["HasHostedZone"] == {
        "Fn::And": [
            {"Condition": "HasDomainName"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HostedZoneId"}, ""]}]},
        ]
    }


def test_a_hosted_zone_gets_an_alias_record_to_the_load_balancer(env_built: Built) -> None:
    record = env_built.resource("loadbalancer", "DomainAlias")
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
        assert env_built.fed_by("loadbalancer", key) == {"Ref": key}


# --- ALB ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", PROFILES)
def test_alb_attributes_http2_header_hygiene_access_logs_and_prod_deletion_protection(
    built: dict[str, Built], env: str
) -> None:
    b = built[env]
    lb = b.resource("loadbalancer", "LoadBalancer")["Properties"]
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["routing.http2.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogBucketName"}
    assert b.fed_by("loadbalancer", "AccessLogBucketName") == {
        "Fn::GetAtt": ["DataStack", "Outputs.AccessLogBucketName"]
    }
    # the deployer owns protection (deploy/protection.py): set here, it would trap a rollback
    assert "deletion_protection.enabled" not in attributes
    assert b.root["Metadata"]["tap-cfn"] == {"AlbDeletionProtection": env == "prod"}


def test_access_log_bucket_is_encrypted_private_tls_only_and_expires_logs(built: dict[str, Built]) -> None:
    for env, b in built.items():
        bucket = b.resource("data", "AccessLogBucket")["Properties"]
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

        policy = b.resource("data", "AccessLogBucketPolicy")["Properties"]
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


# --- Encryption -----------------------------------------------------------------------------------


def test_the_platform_key_rotates_and_only_named_users_may_use_it(env_built: Built) -> None:
    key = env_built.resource("data", "Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert set(by_sid) == {
        "AccountAdministersTheKey",
        "CloudWatchLogs",
        "SecretsManager",
        "Ecr",
        "CloudWatchAlarms",
        "SnsPublishers",
    }
    account = {"AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]}
    for statement in by_sid.values():
        assert statement["Effect"] == "Allow" and statement["Principal"] != "*"
        assert "*" not in json.dumps(statement["Principal"])

    admin = by_sid["AccountAdministersTheKey"]
    assert admin["Principal"] == account
    crypto = {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"}
    assert not crypto & set(admin["Action"]), "administering the key must not include using it"
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation"} <= set(admin["Action"])

    logs = by_sid["CloudWatchLogs"]
    assert logs["Principal"] == {"Service": [{"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}]}
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
        }
    }
    for sid, service in (("SecretsManager", "secretsmanager"), ("Ecr", "ecr"), ("SnsPublishers", "sns")):
        statement = by_sid[sid]
        assert statement["Principal"] == account
        assert statement["Condition"]["StringEquals"] == {
            "kms:CallerAccount": {"Fn::Sub": "${AWS::AccountId}"},
            "kms:ViaService": {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"},
        }
    assert "kms:CreateGrant" in by_sid["Ecr"]["Action"]
    assert "kms:CreateGrant" not in by_sid["SecretsManager"]["Action"]


def test_key_users_are_one_table_a_new_service_principal_lands_in_the_policy() -> None:
    from awacs import kms

    sns = iam.KeyUser("Sns", actions=(kms.Decrypt, kms.GenerateDataKey), service="sns.amazonaws.com")
    template = Template()
    template.add_resource(troposphere.kms.Key("K", KeyPolicy=iam.key_policy([*iam.KEY_USERS, sns])))
    policy = template.to_dict()["Resources"]["K"]["Properties"]["KeyPolicy"]
    sids = [s["Sid"] for s in policy["Statement"]]
    assert sids == [
        "AccountAdministersTheKey",
        "CloudWatchLogs",
        "SecretsManager",
        "Ecr",
        "CloudWatchAlarms",
        "SnsPublishers",
        "Sns",
    ]
    assert policy["Statement"][-1]["Principal"] == {"Service": ["sns.amazonaws.com"]}
    # a service user without conditions carries no empty Condition block
    assert "Condition" not in policy["Statement"][-1]


def test_log_groups_secrets_and_repositories_use_the_platform_key(env_built: Built) -> None:
    groups = 0
    for stem, logical_id, resource in env_built.all_resources():
        props = resource["Properties"]
        if resource["Type"] == "AWS::Logs::LogGroup":
            expected = {"Fn::GetAtt": ["Key", "Arn"]} if stem == "data" else KEY_ARN_PARAM
            assert props["KmsKeyId"] == expected, (stem, logical_id)
            groups += 1
        elif resource["Type"] == "AWS::SecretsManager::Secret":
            assert props["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}, logical_id
        elif resource["Type"] == "AWS::ECR::Repository":
            assert props["EncryptionConfiguration"] == {
                "EncryptionType": "KMS",
                "KmsKey": {"Fn::GetAtt": ["Key", "Arn"]},
            }
    assert groups == len(SERVICES) + 1  # + the flow-log group
    assert env_built.stack("data")["Outputs"]["KmsKeyArn"]["Value"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert env_built.fed_by("network", "KmsKeyArn") == {"Fn::GetAtt": ["DataStack", "Outputs.KmsKeyArn"]}


def test_execution_roles_decrypt_with_the_key_only_through_secrets_manager(env_built: Built) -> None:
    for svc in SERVICES:
        role = env_built.resource(f"service-{svc}", "ExecutionRole")
        decrypts = [s for s in statements(role) if "kms:Decrypt" in s["Action"]]
        has_secrets = svc != "frontend"
        assert len(decrypts) == int(has_secrets), svc
        for statement in decrypts:
            assert statement["Action"] == ["kms:Decrypt"]
            assert statement["Resource"] == [KEY_ARN_PARAM]
            assert statement["Condition"] == {
                "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
            }


# --- Flow logs ------------------------------------------------------------------------------------


def test_vpc_flow_logs_go_to_an_encrypted_group_through_a_role_scoped_to_it(env_built: Built) -> None:
    flow = env_built.resource("network", "FlowLog")["Properties"]
    assert flow["ResourceId"] == {"Ref": "Vpc"} and flow["ResourceType"] == "VPC"
    assert flow["TrafficType"] == "ALL" and flow["LogDestinationType"] == "cloud-watch-logs"
    assert flow["LogGroupName"] == {"Ref": "FlowLogGroup"}
    assert flow["DeliverLogsPermissionArn"] == {"Fn::GetAtt": ["FlowLogRole", "Arn"]}

    role = env_built.resource("network", "FlowLogRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["vpc-flow-logs.amazonaws.com"]}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"
        }
    }
    writes = [s for s in statements(role) if "logs:PutLogEvents" in s["Action"]]
    assert [s["Resource"] for s in writes] == [[{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]]


# --- IAM ------------------------------------------------------------------------------------------


def test_unscoped_actions_are_exactly_those_without_resource_level_permissions() -> None:
    # Service Authorization Reference: no resource type for any of these.
    assert {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    } == iam.UNSCOPED_ACTIONS


def test_every_iam_role_in_every_template_is_built_with_awacs_and_scoped(exec_built: Built) -> None:
    for stem, logical_id, resource in exec_built.all_resources():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in statements(resource):
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= iam.UNSCOPED_ACTIONS, (stem, logical_id, statement)


# --- Containers -----------------------------------------------------------------------------------


def test_containers_are_unprivileged_read_only_with_a_scratch_tmp_and_no_exec(env_built: Built) -> None:
    for svc in SERVICES:
        task = env_built.resource(f"service-{svc}", "TaskDefinition")["Properties"]
        (container,) = task["ContainerDefinitions"]
        assert container["Privileged"] is False
        assert container["ReadonlyRootFilesystem"] is True
        assert container["MountPoints"] == [
            {"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}
        ]
        assert task["Volumes"] == [{"Name": "tmp"}]
        service = env_built.resource(f"service-{svc}", "Service")["Properties"]
        assert service["EnableExecuteCommand"] is False
        assert not any(
            a.startswith("ssmmessages:") for a in actions_of(env_built.resource(f"service-{svc}", "TaskRole"))
        )
    assert "Configuration" not in env_built.resource("cluster", "Cluster")["Properties"]
    assert "ExecLogGroup" not in env_built.stack("data")["Resources"]


def test_ecs_exec_when_enabled_is_encrypted_logged_and_granted_to_that_service_only(
    exec_built: Built,
) -> None:
    cluster = exec_built.resource("cluster", "Cluster")["Properties"]
    assert cluster["Configuration"] == {
        "ExecuteCommandConfiguration": {
            "KmsKeyId": KEY_ARN_PARAM,
            "Logging": "OVERRIDE",
            "LogConfiguration": {
                "CloudWatchLogGroupName": {"Ref": "ExecLogGroupName"},
                "CloudWatchEncryptionEnabled": True,
            },
        }
    }
    group = exec_built.resource("data", "ExecLogGroup")["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    key = exec_built.resource("data", "Key")["Properties"]["KeyPolicy"]
    (sessions,) = [s for s in key["Statement"] if s["Sid"] == "EcsExecSessions"]
    assert sessions["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sessions["Condition"] == {"StringEquals": {"kms:CallerAccount": {"Fn::Sub": "${AWS::AccountId}"}}}

    for svc in SERVICES:
        enabled = svc == "api-gateway"
        stem = f"service-{svc}"
        assert exec_built.resource(stem, "Service")["Properties"]["EnableExecuteCommand"] is enabled
        actions = actions_of(exec_built.resource(stem, "TaskRole"))
        channels = {
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        }
        assert (channels <= actions) is enabled and ("kms:Decrypt" in actions) is enabled
    (container,) = exec_built.resource("service-api-gateway", "TaskDefinition")["Properties"][
        "ContainerDefinitions"
    ]
    assert container["ReadonlyRootFilesystem"] is False and "MountPoints" not in container


def test_the_ecs_exec_variant_is_lint_clean(exec_built: Built, tmp_path: Path) -> None:
    # Only the three stacks ECS Exec changes; the packaged profiles are linted in test_lint.
    paths = []
    for stem, template in generator.build_environment(exec_built.dep).items():
        if stem in ("data", "cluster", "service-api-gateway"):
            path = tmp_path / f"{stem}.yaml"
            path.write_text(render(template, "yaml"))
            paths.append(path)
    assert len(paths) == 3
    assert lint(paths) == []


# --- Data kept ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", PROFILES)
def test_stateful_resources_are_retained_in_prod_and_staging_deleted_in_dev(
    built: dict[str, Built], env: str
) -> None:
    # RetainExceptOnCreate: a create that rolls back removes them, so a retry can reuse the names
    deletion, replacement = ("Delete", "Delete") if env == "dev" else ("RetainExceptOnCreate", "Retain")
    found = set()
    for stem, logical_id, resource in built[env].all_resources():
        if resource["Type"] in STATEFUL:
            found.add(resource["Type"])
            assert resource["DeletionPolicy"] == deletion, (stem, logical_id)
            assert resource["UpdateReplacePolicy"] == replacement, (stem, logical_id)
        if resource["Type"] == "AWS::ECR::Repository":
            assert resource["Properties"].get("EmptyOnDelete", False) is (env == "dev")
    assert found == STATEFUL


# --- checkov skips --------------------------------------------------------------------------------


def test_every_checkov_skip_carries_a_reason(env_built: Built) -> None:
    found = scan.skips(env_built.children)
    assert found, "the packaged templates skip at least the port-80 checks"
    for skip in found:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip.check), skip
        assert len(skip.reason.strip()) >= 40, skip


def test_a_skip_without_a_reason_is_refused() -> None:
    from troposphere import s3

    from tap_cfn.stacks.base import skip_check

    with pytest.raises(ValueError, match="CKV_AWS_18 needs a reason"):
        skip_check(s3.Bucket("B"), "CKV_AWS_18", "  ")


def test_readme_lists_exactly_the_skips_in_the_templates(built: dict[str, Built]) -> None:
    expected = scan.table({env: scan.skips(b.children) for env, b in built.items()})
    assert expected == scan.packaged_table()
    assert expected in README.read_text(encoding="utf-8"), "run `python -m tap_cfn.scan` and update README"


# --- A platform of several service groups ---------------------------------------------------------


def test_in_a_grouped_platform_the_parts_take_the_key_and_the_rules_listener_from_the_shared_stacks() -> None:
    from tap_cfn import topology

    raw = copy.deepcopy(yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text()))
    for i in range(topology.GROUP_SIZE):
        raw["services"].append(
            {
                "name": f"extra{i}",
                "port": 8100 + i,
                "cpu": 256,
                "memory": 512,
                "route": {"type": "alb", "path": f"/x{i}/*"},
            }
        )
    dep = cfg.Deployment(cfg.parse(raw), "prod")
    templates = generator.build_environment(dep)
    assert "data-2" in templates and "loadbalancer-2" in templates

    shared_lb = templates["loadbalancer"]
    assert shared_lb["Outputs"]["ListenerArn"]["Value"] == {
        "Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }
    for rule in (
        r for r in templates["loadbalancer-2"]["Resources"].values() if r["Type"].endswith("ListenerRule")
    ):
        assert rule["Properties"]["ListenerArn"] == {"Ref": "ListenerArn"}

    assert [k for k, r in templates["data"]["Resources"].items() if r["Type"] == "AWS::KMS::Key"] == ["Key"]
    part = templates["data-2"]["Resources"]
    assert not any(r["Type"] in {"AWS::KMS::Key", "AWS::S3::Bucket"} for r in part.values())
    for resource in part.values():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert resource["Properties"]["KmsKeyId"] == KEY_ARN_PARAM
        if resource["Type"] == "AWS::ECR::Repository":
            assert resource["Properties"]["EncryptionConfiguration"]["KmsKey"] == KEY_ARN_PARAM
