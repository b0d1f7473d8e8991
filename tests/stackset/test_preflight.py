"""tap_cfn/stackset/preflight.py through `stackset preflight` on the local endpoint."""

from __future__ import annotations

import boto3
import pytest

from tap_cfn import config as cfg
from tap_cfn import flat
from tap_cfn.cli import main
from tests.stackset import A


def test_preflight_finds_the_administration_role_and_reaches_each_target(
    endpoint: str, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from tap_cfn.render import as_dict, render
    from tap_cfn.stackset import roles

    # GIVEN the roles template deployed in the administrator account
    admin = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=endpoint)
    admin_account = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint).get_caller_identity()[
        "Account"
    ]
    body = render(as_dict(roles.build(flat.build(cfg.Deployment(cfg.load(None), "dev")))), "json")
    admin.create_stack(
        StackName="stackset-roles",
        TemplateBody=body,
        Parameters=[{"ParameterKey": "AdministratorAccountId", "ParameterValue": admin_account}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    # WHEN preflight looks at one target
    base = [b for b in base if b != "-q"]
    code = main(["stackset", "preflight", *base, "--accounts", A, "--regions", "eu-west-1"])
    # THEN the role is there and the target answers through the execution role
    err = capsys.readouterr().err
    assert code == 0, err
    assert "administrator account: AWSCloudFormationStackSetAdministrationRole exists" in err
    assert f"{A} eu-west-1: reachable; 0 stacks" in err
