"""The first deploy on an empty account, end to end on the local endpoint through the CLI: `registry
deploy`, push the images (ECR PutImage), then the environment's deploy, preflight included, once.

Only what the local endpoint keeps is asserted (it ignores repository policies and lifecycle
policies: tests/stacks/test_registry.py checks those in the template).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from tap_cfn.cli import build_parser, main
from tap_cfn.deploy.aws import Clients

from .conftest import Terminal
from .test_cli_fixture import run

ACCOUNT = "123456789012"  # the local endpoint's account
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
SERVICES = ("frontend", "api-gateway", "processing")
MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'
TAGS = [
    "--param",
    "FrontendImageTag=v1",
    "--param",
    "ApiGatewayImageTag=v1",
    "--param",
    "ProcessingImageTag=v1",
]


def registry(endpoint: str, term: Terminal, *argv: str) -> int:
    """`python generate.py registry ACTION --endpoint-url E ARGV...` with the test's terminal."""
    action, *rest = argv
    args = build_parser().parse_args(["registry", action, "--endpoint-url", endpoint, *rest])
    return int(args.func(args, term.console))


def ecr(endpoint: str) -> Any:
    return boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1")


def push(endpoint: str, tag: str) -> None:
    """What `docker push` ends with: the image manifest put under its tag (ECR PutImage)."""
    for service in SERVICES:
        ecr(endpoint).put_image(repositoryName=f"tap/{service}", imageManifest=MANIFEST, imageTag=tag)


def test_registry_deploy_creates_the_projects_repositories(aws: str, clients: Clients, terminal) -> None:
    # GIVEN an empty account
    term: Terminal = terminal()
    # WHEN the registry is deployed
    assert registry(aws, term, "deploy", "--yes") == 0, term.stderr
    # THEN the stack tap-registry holds one immutable repository per service (the endpoint keeps
    # neither scan on push nor the encryption as AWS reports them: the template test checks those)
    assert "Stack tap-registry (env registry" in term.stdout
    stack = clients.cloudformation.describe_stacks(StackName="tap-registry")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    found = {r["repositoryName"]: r for r in ecr(aws).describe_repositories()["repositories"]}
    assert sorted(found) == ["tap/api-gateway", "tap/frontend", "tap/processing"]
    for repository in found.values():
        assert repository["imageTagMutability"] == "IMMUTABLE"
    # and its outputs are the URIs to push to
    shown = terminal()
    assert registry(aws, shown, "outputs", "--json") == 0, shown.stderr
    assert f'"FrontendRepositoryUri": "{REGISTRY}/tap/frontend"' in shown.stdout
    # WHEN it is deployed again: nothing changes
    again = terminal()
    assert registry(aws, again, "deploy", "--yes") == 0, again.stderr
    assert "No changes" in again.stdout


def test_first_deploy_registry_push_preflight_deploy_succeeds_once(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN an empty account: the registry deployed, then v1 of every image pushed
    assert registry(aws, terminal(), "deploy", "--yes") == 0
    push(aws, "v1")
    # WHEN dev is deployed for the first time, preflight first (--yes creates the service-linked role)
    term: Terminal = terminal()
    code = run(aws, generated_templates, term, "deploy", "--preflight", *TAGS, "--yes")
    # THEN preflight finds every image and the one deploy completes
    assert code == 0, term.stdout + term.stderr
    for service in SERVICES:
        assert f"{REGISTRY}/tap/{service}:v1 exists" in term.stdout
    assert clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    assert len(clients.cloudformation.describe_stack_events(StackName="tap-demo")["StackEvents"]) > 0
    # and every service runs its image from the registry
    ecs = boto3.client("ecs", endpoint_url=aws, region_name="us-east-1")
    arns = ecs.list_services(cluster="tap-cluster-demo")["serviceArns"]
    images = sorted(
        ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"][
            "containerDefinitions"
        ][0]["image"]
        for s in ecs.describe_services(cluster="tap-cluster-demo", services=arns)["services"]
    )
    assert images == [
        f"{REGISTRY}/tap/api-gateway:v1",
        f"{REGISTRY}/tap/frontend:v1",
        f"{REGISTRY}/tap/processing:v1",
    ]


def test_destroying_an_environment_keeps_the_registry_and_its_images(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN the registry with v1 and dev deployed from it
    assert registry(aws, terminal(), "deploy", "--yes") == 0
    push(aws, "v1")
    assert run(aws, generated_templates, terminal(), "deploy", *TAGS, "--yes") == 0
    # WHEN dev is destroyed
    assert run(aws, generated_templates, terminal(), "destroy", "--yes") == 0
    # THEN the registry stack and the pushed images are still there, ready for the next environment
    assert clients.cloudformation.describe_stacks(StackName="tap-registry")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    details = ecr(aws).describe_images(repositoryName="tap/frontend")["imageDetails"]
    assert [d["imageTags"] for d in details] == [["v1"]]


def test_a_registry_deploy_refuses_a_bad_account_id_before_any_call(capsys) -> None:
    # GIVEN an account ID of 11 digits (AWS_ENDPOINT_URL points at a closed port: nothing may be called)
    # WHEN the registry deploy parses it THEN it is bad usage, one line, exit 2
    assert main(["registry", "deploy", "--pull-accounts", "21098765432"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: generate.py registry deploy: argument --pull-accounts: "
        "'21098765432': an AWS account ID is 12 digits"
    ]


def test_images_reads_the_account_from_the_caller_when_none_is_given(aws: str, capsys) -> None:
    # GIVEN no --account WHEN images runs against the endpoint THEN the caller's account is used (STS)
    assert (
        main(["images", "--env", "dev", "--tag", "v1", "--endpoint-url", aws, "--region", "us-east-1"]) == 0
    )
    assert f"  docker push {REGISTRY}/tap/frontend:v1" in capsys.readouterr().out.splitlines()


def test_an_environment_cannot_take_the_registrys_stack_name(
    aws: str, generated_templates: Path, capsys
) -> None:
    # GIVEN the suffix `registry`, which would make the environment's stack tap-registry
    argv = ["deploy", "--env", "dev", "--suffix", "registry", "--endpoint-url", aws,
            "--out", str(generated_templates), *TAGS, "--no-preflight", "--yes"]  # fmt: skip
    # WHEN deployed THEN it is refused before any call, naming the registry
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --suffix registry: reserved for the project's image registry (tap-registry); "
        "pick another suffix"
    ]


def test_what_the_registry_stack_suggests_are_commands_that_exist(tmp_path: Path) -> None:
    # GIVEN the registry's target (it has `registry deploy`, no destroy or recover of its own)
    from tap_cfn.deploy.deployer import Target

    target = Target.registry(tmp_path, "shop")
    # THEN a retry is `registry deploy`, a stack to delete or a rollback to continue CloudFormation's
    assert target.command("deploy") == "python generate.py registry deploy"
    assert target.command("destroy") == "aws cloudformation delete-stack --stack-name shop-registry"
    assert target.command("recover") == (
        "aws cloudformation continue-update-rollback --stack-name shop-registry"
    )
    config = Target.registry(tmp_path, "shop", Path("shop.yaml"))
    assert config.command("deploy") == "python generate.py registry deploy --config shop.yaml"
