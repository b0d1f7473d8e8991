"""tap_cfn/cli/stackset.py: `stackset` commands against the local endpoint (moto's server, as the
deploy tests start it): the generated dev environment, flat, as a self-managed StackSet in two accounts.

moto models StackSets far enough for this: it creates a real stack per instance in the target
account's backend, and AssumeRole into another account gives that account's view. It does not
model asynchronous operations, failures or overrides correctly: those are in
tests/stackset/test_operations.py and test_progress.py; preflight is tests/stackset/test_preflight.py."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import boto3
import pytest
import yaml

from tap_cfn import config as cfg
from tap_cfn import flat
from tap_cfn.cli import main
from tests.stackset import A, B
from tests.support.stackset_endpoint import in_account

IMAGES = [
    "--param",
    "FrontendImageTag=1.0.0",
    "--param",
    "ApiGatewayImageTag=1.0.0",
    "--param",
    "ProcessingImageTag=1.0.0",
]


def test_deploy_creates_one_flat_stack_per_account_and_destroy_removes_them(
    endpoint: str, base: list[str]
) -> None:
    # GIVEN the dev environment and two target accounts in one region
    targets = ["--accounts", f"{A},{B}", "--regions", "eu-west-1"]
    # WHEN it is deployed as a StackSet
    assert main(["stackset", "deploy", *base, *targets, *IMAGES, "--yes"]) == 0
    # THEN each account holds a stack with the flat template's resources
    # (without the resources of false conditions: no certificate, no e-mail; moto has no model of
    # AWS::S3::BucketPolicy and lists it without a logical ID)
    declared = flat.build(cfg.Deployment(cfg.load(None), "dev"))["Resources"]
    expected = {
        k for k, r in declared.items() if "Condition" not in r and r["Type"] != "AWS::S3::BucketPolicy"
    }
    for account in (A, B):
        cfn = in_account(endpoint, account, "eu-west-1")
        (stack,) = cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]  # type: ignore[attr-defined]
        resources = cfn.list_stack_resources(StackName=stack["StackId"])["StackResourceSummaries"]  # type: ignore[attr-defined]
        assert {r["LogicalResourceId"] for r in resources} - {""} == expected
    admin = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=endpoint)
    listed = admin.list_stack_instances(StackSetName="tap-demo")["Summaries"]
    assert sorted((i["Account"], i["Region"]) for i in listed) == [(A, "eu-west-1"), (B, "eu-west-1")]
    assert main(["stackset", "status", *base]) == 0
    # AND destroy removes the instances' stacks, then the set
    assert main(["stackset", "destroy", *base, "--yes"]) == 0
    assert (
        in_account(endpoint, A, "eu-west-1").list_stacks(StackStatusFilter=["CREATE_COMPLETE"])[
            "StackSummaries"
        ]
        == []
    )  # type: ignore[attr-defined]
    with pytest.raises(admin.exceptions.StackSetNotFoundException):
        admin.describe_stack_set(StackSetName="tap-demo")


def test_plan_shows_the_instances_and_creates_nothing(
    endpoint: str, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = [b for b in base if b != "-q"]
    assert (
        main(["stackset", "deploy", *base, "--accounts", A, "--regions", "eu-west-1", *IMAGES, "--plan"]) == 0
    )
    err = capsys.readouterr().err
    assert f"create_stack_instances: 1 instances, {A} x eu-west-1" in err
    assert "not shown: per-resource changes" in err
    admin = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=endpoint)
    assert admin.list_stack_sets()["Summaries"] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--accounts", A, "--param", "Nope=1"], "parameter Nope is not declared by the template"),
        ([], "give exactly one of --accounts (self-managed) and --ous (service-managed)"),
        (["--ous", "ou-ab12-abcdefgh", "--accounts", A], "give exactly one of --accounts"),
    ],
)
def test_bad_deploy_arguments_exit_2_in_one_line_before_any_aws_call(
    base: list[str], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = main(["stackset", "deploy", *base, "--regions", "eu-west-1", *extra, "--yes"])
    (line,) = capsys.readouterr().err.splitlines()
    assert code == 2
    assert message in line


def test_plan_and_preflight_show_each_regions_values_from_the_config(
    endpoint: str, base: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a config whose dev environment has its own range in two regions, a certificate in one
    cert = "arn:aws:acm:eu-west-1:111111111111:certificate/0b0e2f51-6c5d-4c4f-9d2e-1a2b3c4d5e6f"
    raw = yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text())
    raw["environments"]["dev"]["regions"] = {
        "eu-west-1": {"vpc_cidr": "10.1.0.0/16", "certificate_arn": cert},
        "us-east-1": {"vpc_cidr": "10.2.0.0/16"},
    }
    config = tmp_path / "platform.yaml"
    config.write_text(yaml.safe_dump(raw))
    base = [b for b in base if b != "-q"] + ["--config", str(config)]
    targets = ["--accounts", A, "--regions", "eu-west-1,us-east-1,eu-central-1"]
    # WHEN the deploy is planned with a --region-param for us-east-1
    argv = ["stackset", "deploy", *base, *targets, *IMAGES, "--region-param", "us-east-1:VpcCidr=10.9.0.0/16"]
    assert main([*argv, "--plan"]) == 0
    err = capsys.readouterr().err
    # THEN each region shows its values, the --region-param winning, and one operation per region
    assert f"eu-west-1: CertificateArn={cert}, VpcCidr=10.1.0.0/16" in err
    assert "us-east-1: CertificateArn=(empty), VpcCidr=10.9.0.0/16" in err
    assert "eu-central-1: CertificateArn=(empty), VpcCidr=10.0.0.0/16" in err  # the template's defaults
    assert (
        f"create_stack_instances: 1 instances, {A} x eu-west-1 CertificateArn={cert} VpcCidr=10.1.0.0/16"
        in err
    )
    assert f"create_stack_instances: 1 instances, {A} x us-east-1 VpcCidr=10.9.0.0/16" in err
    assert f"create_stack_instances: 1 instances, {A} x eu-central-1\n" in err
    # AND preflight shows the config's values too
    main(["stackset", "preflight", *base, *targets])
    err = capsys.readouterr().err
    assert "us-east-1: CertificateArn=(empty), VpcCidr=10.2.0.0/16" in err
    assert "eu-central-1: CertificateArn=(empty), VpcCidr=10.0.0.0/16" in err


def test_destroy_without_a_terminal_exits_2_in_one_error_line_before_any_aws_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN no terminal (pytest's stdin) and no --yes; no endpoint either: an AWS call would fail
    argv = ["stackset", "destroy", "--env", "dev", "--suffix", "demo", "--region", "us-east-1"]
    # WHEN destroy runs
    code = main(argv)
    # THEN the standard error line, exit 2
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: stackset: destroy: no terminal to confirm on; pass --yes"
    ]


def test_every_stackset_action_states_its_exit_codes_and_status_says_when_it_fails() -> None:
    from tap_cfn.cli import build_parser

    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    (actions,) = (
        a for a in commands.choices["stackset"]._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert set(actions.choices) == {"deploy", "status", "outputs", "destroy", "preflight", "roles"}
    for action in actions.choices.values():
        assert re.search(
            r"^exit codes: 0 [^\n]*, 1 [^\n]*, 2 bad usage or input$", action.format_help(), re.M
        )
    status = actions.choices["status"].format_help()
    assert (
        "exit codes: 0 all CURRENT, 1 no StackSet, one not CURRENT or AWS said no, 2 bad usage or input"
        in status
    )
