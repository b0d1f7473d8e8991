"""The rendered templates deploy with the tools users already have: the AWS CLI's package + deploy,
as the README runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.packaging import load_template

AWS = Path(sys.executable).with_name("aws")  # the venv's AWS CLI (a pinned dev dependency)


def aws_cli(endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
    # `package` ignores --endpoint-url for its S3 upload: AWS_ENDPOINT_URL covers every service.
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_PAGER": ""}
    return subprocess.run(
        [str(AWS), *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def deploy_with_aws_cli(
    endpoint: str, template: Path, tmp_path: Path, stack: str, overrides: list[str]
) -> None:
    packaged = tmp_path / "packaged.yaml"
    done = aws_cli(
        endpoint, "cloudformation", "package", "--template-file", str(template),
        "--s3-bucket", "cli-artifacts", "--output-template-file", str(packaged),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "TemplateURL: http://localhost:" in packaged.read_text()
    done = aws_cli(
        endpoint, "cloudformation", "deploy", "--template-file", str(packaged), "--stack-name", stack,
        "--s3-bucket", "cli-artifacts", "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
        "--parameter-overrides", *overrides,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"Successfully created/updated stack - {stack}" in done.stdout


def test_generated_dev_deploys_with_aws_cloudformation_package_and_deploy(
    aws, clients: Clients, generated_templates: Path, tmp_path: Path
):
    # GIVEN the generated dev templates and a bucket for `package`
    clients.s3.create_bucket(Bucket="cli-artifacts")
    # WHEN they go through `aws cloudformation package` and `aws cloudformation deploy`
    overrides = [
        "EnvironmentSuffix=cli",
        "FrontendImageTag=1.0.0",
        "ApiGatewayImageTag=1.0.0",
        "ProcessingImageTag=1.0.0",
    ]
    deploy_with_aws_cli(aws, generated_templates / "dev" / "root.yaml", tmp_path, "tap-cli", overrides)
    # THEN the stack and its nested stacks are complete and wired
    stack = clients.cloudformation.describe_stacks(StackName="tap-cli")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["ClusterName"] == "tap-cluster-cli"
    assert outputs["VpcId"].startswith("vpc-")
    nested = clients.cloudformation.describe_stack_resources(StackName="tap-cli")["StackResources"]
    assert len(nested) == len(load_template(generated_templates / "dev" / "root.yaml")["Resources"])
