"""Preflight: each check on recorded AWS answers (botocore Stubber, shaped as each API reference
documents them), and the command end to end on the local endpoint.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAddresses.html
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
https://docs.aws.amazon.com/acm/latest/APIReference/API_DescribeCertificate.html
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.deployer import Target
from tap_cfn.deploy.preflight import (
    Context,
    check_certificate,
    check_images,
    check_quotas,
    check_service_linked_role,
    check_stack_state,
    check_templates_current,
    load_templates,
)

from .conftest import Terminal
from .test_cli_fixture import run

ACCOUNT = "123456789012"
ROOT = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/tap-demo/0a1b2c3d-0000-11ef-8e2e-0a1b2c3d4e5f"
NETWORK = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/tap-demo-NetworkStack-1A2B/1b2c3d4e-0000"
CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
T0 = datetime(2026, 11, 29, 23, 10, 5, tzinfo=UTC)
TAGS = {"FrontendImageTag": "v1", "ApiGatewayImageTag": "v1", "ProcessingImageTag": "v1"}


class Recorded:
    """Stubbed clients for every service preflight calls; any unscripted call fails the test."""

    SERVICES = ("cloudformation", "sts", "iam", "ec2", "service-quotas", "ecr", "acm")

    def __init__(self) -> None:
        self.client = {s: boto3.client(s, region_name="us-east-1") for s in self.SERVICES}  # type: ignore[call-overload]
        self.stub = {s: Stubber(c) for s, c in self.client.items()}
        for stubber in self.stub.values():
            stubber.activate()

    def clients(self) -> Clients:
        c = self.client
        return Clients(c["cloudformation"], None, c["sts"], "us-east-1", factory=c.__getitem__)

    def done(self) -> None:
        for stubber in self.stub.values():
            stubber.assert_no_pending_responses()


def context(
    recorded: Recorded,
    templates: Path,
    env: str = "prod",
    existing: dict[str, Any] | None = None,
    yes: bool = False,
    answers: str | None = None,
    **parameters: str,
) -> tuple[Context, Terminal]:
    term = Terminal(interactive=answers is not None, answers=answers or "")
    target = Target(env, "demo", templates)
    previous = {p["ParameterKey"]: p["ParameterValue"] for p in (existing or {}).get("Parameters", [])}
    ctx = Context(
        recorded.clients(),
        target,
        load_templates(target),
        {**TAGS, **parameters},
        previous,
        existing,
        term.console,
        yes,
    )
    return ctx, term


def no_role(recorded: Recorded) -> None:
    recorded.stub["iam"].add_client_error(
        "get_role",
        "NoSuchEntity",
        "The role with name AWSServiceRoleForECS cannot be found.",
        404,
        expected_params={"RoleName": "AWSServiceRoleForECS"},
    )


def test_a_missing_service_linked_role_is_a_problem_whose_fix_is_the_create_command(generated_templates):
    # GIVEN an account that never used ECS, and nobody to ask
    recorded = Recorded()
    no_role(recorded)
    ctx, _term = context(recorded, generated_templates)
    # WHEN the role is checked
    (check,) = check_service_linked_role(ctx)
    # THEN it fails with the exact command, and nothing was created (no create call was scripted)
    assert not check.ok
    assert "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com" in check.fix
    recorded.done()


@pytest.mark.parametrize("how", ["--yes", "prompt"])
def test_the_service_linked_role_is_created_with_yes_or_when_the_user_agrees(generated_templates, how):
    recorded = Recorded()
    no_role(recorded)
    created = {
        "Role": {
            "Path": "/aws-service-role/ecs.amazonaws.com/",
            "RoleName": "AWSServiceRoleForECS",
            "RoleId": "AROA1234567890EXAMPLE",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            "CreateDate": T0,
        }
    }
    recorded.stub["iam"].add_response(
        "create_service_linked_role", created, {"AWSServiceName": "ecs.amazonaws.com"}
    )
    ctx, term = context(
        recorded, generated_templates, yes=how == "--yes", answers="y\n" if how == "prompt" else None
    )
    (check,) = check_service_linked_role(ctx)
    assert check.ok and "created" in check.text
    assert ("AWSServiceRoleForECS is missing: create it now?" in term.stdout) == (how == "prompt")
    recorded.done()


def quota(code: str, service: str, value: float) -> dict[str, Any]:
    return {
        "Quota": {
            "ServiceCode": service,
            "QuotaCode": code,
            "QuotaArn": f"arn:aws:servicequotas:us-east-1:{ACCOUNT}:{service}/{code}",
            "QuotaName": code,
            "Value": value,
            "Adjustable": True,
            "GlobalQuota": False,
        }
    }


def addresses(count: int) -> dict[str, Any]:
    return {
        "Addresses": [
            {"AllocationId": f"eipalloc-{i:017x}", "PublicIp": f"203.0.113.{i}", "Domain": "vpc"}
            for i in range(count)
        ]
    }


def script_network_quotas(recorded: Recorded, eips_in_use: int, eip_quota: float = 5.0) -> None:
    """A fresh create of prod: 3 EIPs, 1 VPC, 1 internet gateway, NAT gateways one per AZ."""
    sq, ec2 = recorded.stub["service-quotas"], recorded.stub["ec2"]
    sq.add_response("get_service_quota", quota("L-0263D0A3", "ec2", eip_quota),
                    {"ServiceCode": "ec2", "QuotaCode": "L-0263D0A3"})  # fmt: skip
    ec2.add_response("describe_addresses", addresses(eips_in_use))
    sq.add_client_error("get_service_quota", "NoSuchResourceException", "no applied value", 400)
    sq.add_response("get_aws_default_service_quota", quota("L-F678F1CE", "vpc", 5.0),
                    {"ServiceCode": "vpc", "QuotaCode": "L-F678F1CE"})  # fmt: skip
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-0a1b2c3d4e5f60718", "IsDefault": True}]})
    sq.add_response("get_service_quota", quota("L-A4707A72", "vpc", 5.0))
    ec2.add_response("describe_internet_gateways", {"InternetGateways": []})
    sq.add_response("get_service_quota", quota("L-FE5A380F", "vpc", 5.0))
    ec2.add_response("describe_nat_gateways", {"NatGateways": []})


def test_a_quota_shortfall_names_the_need_the_use_and_where_to_ask_for_more(generated_templates):
    # GIVEN 4 of 5 Elastic IPs in use and prod, whose NAT gateways (one per AZ) need 3
    recorded = Recorded()
    script_network_quotas(recorded, eips_in_use=4)
    ctx, _term = context(recorded, generated_templates)
    # WHEN the quotas are checked
    checks = {c.name: c for c in check_quotas(ctx)}
    # THEN the Elastic IPs fail with the figures and the quota's console page; the rest pass
    eip = checks["quota Elastic IPs"]
    assert not eip.ok
    assert eip.text == "needs 3; 4 of 5 in use"
    assert "servicequotas/home/services/ec2/quotas/L-0263D0A3" in eip.fix
    assert checks["quota VPCs"].ok and checks["quota VPCs"].text == "needs 1; 1 of 5 in use"
    assert checks["quota NAT gateways per AZ"].ok
    recorded.done()


def resources(*rows: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": physical,
                "ResourceType": kind,
                "ResourceStatus": "CREATE_COMPLETE",
                "LastUpdatedTimestamp": T0,
            }
            for logical, kind, physical in rows
        ]
    }


def test_an_update_counts_only_what_it_adds(generated_templates):
    # GIVEN prod deployed already: its network stack holds the 3 EIPs, 3 NATs, the VPC and gateway
    recorded = Recorded()
    root = resources(("NetworkStack", "AWS::CloudFormation::Stack", NETWORK))
    network = resources(
        *[(f"NatEip{i}", "AWS::EC2::EIP", f"203.0.113.{i}") for i in range(3)],
        *[(f"NatGateway{i}", "AWS::EC2::NatGateway", f"nat-0{i}") for i in range(3)],
        ("Vpc", "AWS::EC2::VPC", "vpc-0a1b"),
        ("InternetGateway", "AWS::EC2::InternetGateway", "igw-0a1b"),
    )
    cfn = recorded.stub["cloudformation"]
    for stack, answer in ((ROOT, root), (ROOT, root), (NETWORK, network), (NETWORK, network)):
        cfn.add_response("list_stack_resources", answer, {"StackName": stack})
    existing = {
        "StackName": "tap-demo",
        "StackId": ROOT,
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": T0,
    }
    ctx, _term = context(recorded, generated_templates, existing=existing)
    # WHEN the quotas are checked, 5 of 5 Elastic IPs in use (no quota call scripted: none is made)
    checks = check_quotas(ctx)
    # THEN nothing is needed, so nothing is counted against the quota
    assert [c.text for c in checks] == ["this deployment adds none"] * 4
    assert all(c.ok for c in checks)
    recorded.done()


def repository(name: str) -> dict[str, Any]:
    return {
        "repositories": [
            {
                "repositoryArn": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}",
                "registryId": ACCOUNT,
                "repositoryName": name,
                "repositoryUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}",
            }
        ]
    }


def test_a_missing_repository_names_registry_deploy_and_a_missing_tag_the_push_lines(generated_templates):
    # GIVEN the registry holds no api-gateway repository, frontend's lacks the tag, processing has it
    recorded = Recorded()
    ecr = recorded.stub["ecr"]
    missing = f"The repository with name 'tap/api-gateway' does not exist in the registry with id '{ACCOUNT}'"
    api, front = ["tap/api-gateway"], ["tap/frontend"]
    ecr.add_client_error("describe_repositories", "RepositoryNotFoundException", missing, 400,
                         expected_params={"registryId": ACCOUNT, "repositoryNames": api})  # fmt: skip
    ecr.add_response("describe_repositories", repository("tap/frontend"),
                     expected_params={"registryId": ACCOUNT, "repositoryNames": front})  # fmt: skip
    ecr.add_client_error("describe_images", "ImageNotFoundException",
                         "The image with imageId {imageTag:'v2'} does not exist", 400,
                         expected_params={"registryId": ACCOUNT, "repositoryName": "tap/frontend",
                                          "imageIds": [{"imageTag": "v2"}]})  # fmt: skip
    ecr.add_response("describe_repositories", repository("tap/processing"))
    found = {"imageDetails": [{"registryId": ACCOUNT, "repositoryName": "tap/processing",
                               "imageDigest": "sha256:" + "a" * 64, "imageTags": ["v1"]}]}  # fmt: skip
    ecr.add_response("describe_images", found)
    ctx, _term = context(recorded, generated_templates, env="dev", FrontendImageTag="v2")
    ctx.account = ACCOUNT  # as the identity check leaves it
    # WHEN the images are checked
    checks = {c.name: c for c in check_images(ctx)}
    # THEN the missing repository fails with the command that creates it
    api = checks["image ApiGatewayImageTag"]
    assert not api.ok and api.text == f"repository tap/api-gateway not found in account {ACCOUNT}"
    assert api.fix == "python generate.py registry deploy --region us-east-1"
    # and the missing tag with the push line and the command that prints the login and tag lines
    front = checks["image FrontendImageTag"]
    assert not front.ok and front.text == "no image tagged 'v2' in tap/frontend"
    assert front.fix == (
        f"docker push {ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/tap/frontend:v2  (the login, tag and push "
        "lines: python generate.py images --env dev --tag v2; or --param FrontendImageTag=TAG of an image "
        "that exists)"
    )
    assert checks["image ProcessingImageTag"].ok
    assert (
        checks["image ProcessingImageTag"].text
        == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/tap/processing:v1 exists"
    )
    recorded.done()


def test_a_registry_in_another_account_is_read_there_and_its_fix_names_the_pull_accounts(generated_templates):
    # GIVEN RegistryAccountId names another account whose policy does not let this one read
    other = "210987654321"
    recorded = Recorded()
    recorded.stub["ecr"].add_client_error(
        "describe_repositories", "AccessDeniedException",
        f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: ecr:DescribeRepositories", 400,
        expected_params={"registryId": other, "repositoryNames": ["tap/api-gateway"]})  # fmt: skip
    recorded.stub["ecr"].add_client_error("describe_repositories", "RepositoryNotFoundException", "gone", 400)
    recorded.stub["ecr"].add_client_error("describe_repositories", "RepositoryNotFoundException", "gone", 400)
    ctx, _term = context(recorded, generated_templates, env="dev", RegistryAccountId=other)
    ctx.account = ACCOUNT
    # WHEN the images are checked
    api = check_images(ctx)[0]
    # THEN the problem says where it looked, and the fix runs the registry deploy there for this account
    assert api.text == f"repository tap/api-gateway not readable from here in account {other}"
    assert api.fix == (
        f"python generate.py registry deploy --region us-east-1 --pull-accounts {ACCOUNT}  "
        f"(with credentials of account {other})"
    )
    recorded.done()


def certificate(status: str, domain: str, *alternatives: str) -> dict[str, Any]:
    return {
        "Certificate": {
            "CertificateArn": CERT,
            "DomainName": domain,
            "SubjectAlternativeNames": [domain, *alternatives],
            "Status": status,
            "Type": "AMAZON_ISSUED",
        }
    }


def with_host_rule(ctx: Context, host: str) -> Context:
    """The listener rules answer `host` (a service with `route.host`)."""
    rule = {
        "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
        "Properties": {"Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}]},
    }
    ctx.templates["network"]["Resources"]["HostRule"] = rule
    return ctx


@pytest.mark.parametrize(
    "arn, answer, ok, says",
    [
        (CERT.replace("us-east-1", "eu-west-1"), None, False, "is in eu-west-1, the stack in us-east-1"),
        (CERT, certificate("PENDING_VALIDATION", "example.com"), False, "is PENDING_VALIDATION, not ISSUED"),
        (CERT, certificate("ISSUED", "example.com"), False, "does not cover api.example.com"),
        (
            CERT,
            certificate("ISSUED", "example.com", "*.example.com"),
            True,
            "example.com ISSUED in us-east-1",
        ),
    ],
)
def test_the_certificate_is_in_this_region_issued_and_covers_the_hosts(
    generated_templates, arn, answer, ok, says
):
    recorded = Recorded()
    if answer is not None:
        recorded.stub["acm"].add_response("describe_certificate", answer, {"CertificateArn": arn})
    ctx, _term = context(recorded, generated_templates, CertificateArn=arn)
    (check,) = check_certificate(with_host_rule(ctx, "api.example.com"))
    assert check.ok is ok
    assert says in check.text
    recorded.done()


def test_a_busy_stack_says_since_when_and_a_stuck_one_says_how_to_recover(generated_templates):
    # GIVEN someone else's update running since 23:10:05
    recorded = Recorded()
    event = {
        "StackId": ROOT, "EventId": "e1", "StackName": "tap-demo", "LogicalResourceId": "tap-demo",
        "PhysicalResourceId": ROOT, "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": T0,
        "ResourceStatus": "UPDATE_IN_PROGRESS", "ResourceStatusReason": "User Initiated",
    }  # fmt: skip
    recorded.stub["cloudformation"].add_response("describe_stack_events", {"StackEvents": [event]})
    busy = {"StackName": "tap-demo", "StackId": ROOT, "StackStatus": "UPDATE_IN_PROGRESS", "CreationTime": T0}
    ctx, _term = context(recorded, generated_templates, existing=busy)
    (check,) = check_stack_state(ctx)
    assert not check.ok
    assert "UPDATE_IN_PROGRESS since 2026-11-29 23:10:05 UTC: someone else is deploying" in check.text
    # GIVEN a failed rollback
    stuck = {**busy, "StackStatus": "UPDATE_ROLLBACK_FAILED"}
    ctx, _term = context(recorded, generated_templates, existing=stuck)
    (check,) = check_stack_state(ctx)
    assert not check.ok
    assert "python generate.py recover --env prod --suffix demo" in check.text
    # GIVEN a failed first create: refused without --yes, replaced with it
    dead = {**busy, "StackStatus": "ROLLBACK_COMPLETE"}
    ctx, _term = context(recorded, generated_templates, existing=dead)
    assert not check_stack_state(ctx)[0].ok
    ctx, _term = context(recorded, generated_templates, existing=dead, yes=True)
    (check,) = check_stack_state(ctx)
    assert check.ok and check.text.endswith("it will be deleted and created again")
    recorded.done()


def test_stale_templates_are_named_with_the_command_that_regenerates_them(generated_templates, tmp_path):
    # GIVEN a copy of the generated dev templates with one file edited by hand
    import shutil

    shutil.copytree(generated_templates / "dev", tmp_path / "dev")
    network = tmp_path / "dev" / "network.yaml"
    network.write_text(network.read_text() + "# edited\n")
    ctx, _term = context(Recorded(), tmp_path, env="dev")
    (check,) = check_templates_current(ctx)
    assert not check.ok
    assert check.text.endswith("is stale: network.yaml")
    assert check.fix == f"python generate.py templates --env dev --out {tmp_path}"
    # and the untouched generated ones are current
    ctx, _term = context(Recorded(), generated_templates, env="dev")
    assert check_templates_current(ctx)[0].ok


# --- the command on the local endpoint -------------------------------------------------------------


def params(**override: str) -> list[str]:
    return [arg for k, v in {**TAGS, **override}.items() for arg in ("--param", f"{k}={v}")]


def test_preflight_on_an_empty_account_asks_for_the_registry_and_creates_the_service_linked_role(
    aws, clients, generated_templates, terminal
):
    # GIVEN an empty account (no ECS service-linked role, no registry)
    term = terminal()
    # WHEN preflight runs with --yes
    code = run(aws, generated_templates, term, "preflight", "--env", "prod", *params(), "--yes")
    # THEN the images are the only problem, each fixed by deploying the registry
    assert code == 1
    lines = term.stdout.splitlines()[1:]
    failed = [line for line in lines if line.startswith("  FAIL")]
    assert failed == [
        f"  FAIL  image {p}: repository tap/{s} not found in account {ACCOUNT}"
        for p, s in (("ApiGatewayImageTag", "api-gateway"), ("FrontendImageTag", "frontend"),
                     ("ProcessingImageTag", "processing"))
    ]  # fmt: skip
    assert term.stdout.count("fix: python generate.py registry deploy --region us-east-1") == 3
    assert "quota Elastic IPs: needs 3; 0 of 5 in use" in term.stdout
    assert "Preflight: 3 problem(s); nothing was changed" in term.stderr
    # and the role now exists
    iam = boto3.client("iam", endpoint_url=aws, region_name="us-east-1")
    assert iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]["RoleName"] == "AWSServiceRoleForECS"


MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'


def test_deploy_stops_before_any_change_set_when_an_image_tag_is_missing(
    aws, clients, generated_templates, terminal
):
    # GIVEN the registry's repositories hold v1 only, and the role exists
    ecr = boto3.client("ecr", endpoint_url=aws, region_name="us-east-1")
    for service in ("frontend", "api-gateway", "processing"):
        ecr.create_repository(repositoryName=f"tap/{service}")
        ecr.put_image(repositoryName=f"tap/{service}", imageManifest=MANIFEST, imageTag="v1")
    boto3.client("iam", endpoint_url=aws, region_name="us-east-1").create_service_linked_role(
        AWSServiceName="ecs.amazonaws.com"
    )
    term = terminal()
    # WHEN deploying frontend v2
    code = run(
        aws, generated_templates, term, "deploy", "--preflight", *params(FrontendImageTag="v2"), "--yes"
    )
    # THEN it exits 1 naming the tag, and no stack (so no change set) exists
    assert code == 1
    assert "FAIL  image FrontendImageTag: no image tagged 'v2' in tap/frontend" in term.stdout
    assert "python generate.py images --env dev --tag v2" in term.stdout
    assert "Preflight: 1 problem(s); nothing was changed" in term.stderr
    assert clients.cloudformation.list_stacks()["StackSummaries"] == []
