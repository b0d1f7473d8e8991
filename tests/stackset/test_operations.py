"""tap_cfn/stackset/operations.py: the instance calls a plan makes, and StackSet rollouts on
recorded answers (tests/stackset/recorded.py), shaped as the CloudFormation API reference documents
them (DescribeStackSetOperation, ListStackSetOperationResults, ListStackInstances,
DescribeStackEvents), through botocore's Stubber on a real client: any call the code makes that
is not in the script fails the test. The local endpoint cannot do these: its operations succeed
at once, it cannot fail an instance, and it drops the StackSet's parameters when a region has
overrides (docs/notes-stacksets.md)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from tap_cfn.cli.common import UsageError
from tap_cfn.stackset import operations
from tap_cfn.stackset.operations import instance_calls
from tap_cfn.stackset.plan import Preferences
from tests.stackset import A, B, plan
from tests.stackset.recorded import (
    SET_ID,
    STACK_ID,
    T0,
    Lines,
    client,
    not_found,
    operation,
    two_region_plan,
)


def test_two_accounts_two_regions_roll_out_region_by_region_with_the_override() -> None:
    cfn = client()
    out = Lines()
    prefs = {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentPercentage": 50, "FailureToleranceCount": 0}
    with Stubber(cfn) as stubber:
        not_found(stubber)
        stubber.add_response(
            "create_stack_set",
            {"StackSetId": SET_ID},
            {
                "StackSetName": "tap-demo",
                "Parameters": [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "demo"}],
                "Capabilities": ["CAPABILITY_NAMED_IAM"],
                "PermissionModel": "SELF_MANAGED",
                "TemplateBody": "{}",
            },
        )
        # us-east-1 first (region order), no overrides
        stubber.add_response(
            "create_stack_instances",
            {"OperationId": "op-us"},
            {
                "StackSetName": "tap-demo",
                "Accounts": [A, B],
                "Regions": ["us-east-1"],
                "OperationPreferences": {**prefs, "RegionOrder": ["us-east-1", "eu-west-1"]},
            },
        )
        operation(
            stubber, "op-us", "RUNNING", [(A, "us-east-1", "RUNNING", ""), (B, "us-east-1", "PENDING", "")]
        )
        operation(
            stubber,
            "op-us",
            "SUCCEEDED",
            [(A, "us-east-1", "SUCCEEDED", ""), (B, "us-east-1", "SUCCEEDED", "")],
        )
        # then eu-west-1 with its certificate
        stubber.add_response(
            "create_stack_instances",
            {"OperationId": "op-eu"},
            {
                "StackSetName": "tap-demo",
                "Accounts": [A, B],
                "Regions": ["eu-west-1"],
                "ParameterOverrides": [
                    {
                        "ParameterKey": "CertificateArn",
                        "ParameterValue": "arn:aws:acm:eu-west-1:111111111111:certificate/eu",
                    }
                ],
                "OperationPreferences": ANY,
            },
        )
        operation(
            stubber,
            "op-eu",
            "SUCCEEDED",
            [(A, "eu-west-1", "SUCCEEDED", ""), (B, "eu-west-1", "SUCCEEDED", "")],
        )
        code = operations.deploy(cfn, two_region_plan(), {"TemplateBody": "{}"}, out.io, lambda a, r: None)
        stubber.assert_no_pending_responses()
    assert code == 0
    assert out.lines[2:6] == [
        f"[0/2] {A} us-east-1 RUNNING",
        f"[0/2] {B} us-east-1 PENDING",
        f"[2/2] {A} us-east-1 SUCCEEDED",
        f"[2/2] {B} us-east-1 SUCCEEDED",
    ]
    assert "operation op-eu SUCCEEDED: 2 succeeded" in out.text


def instances_of(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "Summaries": [
            {
                "StackSetId": SET_ID,
                "Account": a,
                "Region": r,
                "Status": "CURRENT",
                "StackId": STACK_ID,
                "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
            }
            for a, r in pairs
        ]
    }


PAIRS = [(A, "eu-west-1"), (A, "us-east-1"), (B, "eu-west-1"), (B, "us-east-1")]
STACK_SET = {
    "StackSet": {
        "StackSetName": "tap-demo",
        "StackSetId": SET_ID,
        "Status": "ACTIVE",
        "PermissionModel": "SELF_MANAGED",
    }
}


def test_destroy_deletes_every_instance_then_the_stack_set() -> None:
    cfn = client()
    out = Lines(answers=["tap-demo"])
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stack_set", STACK_SET, {"StackSetName": "tap-demo"})
        stubber.add_response("list_stack_instances", instances_of(PAIRS), {"StackSetName": "tap-demo"})
        stubber.add_response(
            "delete_stack_instances",
            {"OperationId": "op-del"},
            {
                "StackSetName": "tap-demo",
                "Accounts": [A, B],
                "Regions": ["eu-west-1", "us-east-1"],
                "RetainStacks": False,
            },
        )
        operation(stubber, "op-del", "SUCCEEDED", [(a, r, "SUCCEEDED", "") for a, r in PAIRS])
        stubber.add_response("delete_stack_set", {}, {"StackSetName": "tap-demo"})
        assert operations.destroy(cfn, "tap-demo", yes=False, io=out.io) == 0
        stubber.assert_no_pending_responses()
    assert "4 instances will be deleted" in out.lines[0]
    assert out.lines[-1] == "StackSet tap-demo deleted"


def test_destroy_deletes_nothing_unless_the_name_is_typed_back() -> None:
    cfn = client()
    out = Lines(answers=["tap"])
    with Stubber(cfn) as stubber:  # no delete call is scripted: one would fail the test
        stubber.add_response("describe_stack_set", STACK_SET, {"StackSetName": "tap-demo"})
        stubber.add_response("list_stack_instances", instances_of(PAIRS), {"StackSetName": "tap-demo"})
        assert operations.destroy(cfn, "tap-demo", yes=False, io=out.io) == 1
    assert out.lines[-1] == "not deleted"


def test_destroy_without_a_terminal_is_bad_usage_and_deletes_nothing() -> None:
    cfn = client()
    out = Lines(answers=None)
    with Stubber(cfn) as stubber:  # no delete call is scripted: one would fail the test
        stubber.add_response("describe_stack_set", STACK_SET, {"StackSetName": "tap-demo"})
        stubber.add_response("list_stack_instances", instances_of(PAIRS), {"StackSetName": "tap-demo"})
        with pytest.raises(UsageError, match=r"^stackset: destroy: no terminal to confirm on; pass --yes$"):
            operations.destroy(cfn, "tap-demo", yes=False, io=out.io)


def test_outputs_are_read_per_instance_in_its_account() -> None:
    cfn, target = client(), client()
    out = Lines()
    with Stubber(cfn) as stubber, Stubber(target) as in_target:
        stubber.add_response(
            "list_stack_instances", instances_of([(A, "eu-west-1")]), {"StackSetName": "tap-demo"}
        )
        in_target.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "StackSet-tap-demo-0f4e1c2b",
                        "StackId": STACK_ID,
                        "CreationTime": T0,
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [
                            {
                                "OutputKey": "AlbUrl",
                                "OutputValue": "http://tap-alb-demo.eu-west-1.elb.amazonaws.com",
                            }
                        ],
                    }
                ]
            },
            {"StackName": STACK_ID},
        )
        found = operations.outputs(cfn, "tap-demo", lambda a, r: target, out.io)
    assert found == {f"{A}/eu-west-1": {"AlbUrl": "http://tap-alb-demo.eu-west-1.elb.amazonaws.com"}}


def test_an_update_changes_only_the_regions_whose_overrides_the_config_changed() -> None:
    # GIVEN instances in both regions: eu-west-1 on 10.1.0.0/16, us-east-1 on 10.2.0.0/16
    p = plan(configured={"eu-west-1": {"VpcCidr": "10.1.0.0/16"}, "us-east-1": {"VpcCidr": "10.3.0.0/16"}})
    cfn = client()
    out = Lines()
    with Stubber(cfn) as stubber:
        existing = {
            **STACK_SET["StackSet"],
            "Parameters": [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "demo"}],
        }
        stubber.add_response("describe_stack_set", {"StackSet": existing}, {"StackSetName": "tap-demo"})
        stubber.add_response("list_stack_instances", instances_of(PAIRS), {"StackSetName": "tap-demo"})
        for region, cidr in (("eu-west-1", "10.1.0.0/16"), ("us-east-1", "10.2.0.0/16")):
            stubber.add_response(
                "describe_stack_instance",
                {
                    "StackInstance": {
                        "StackSetId": SET_ID,
                        "Region": region,
                        "Account": A,
                        "StackId": STACK_ID,
                        "ParameterOverrides": [{"ParameterKey": "VpcCidr", "ParameterValue": cidr}],
                        "Status": "CURRENT",
                    }
                },
                {"StackSetName": "tap-demo", "StackInstanceAccount": A, "StackInstanceRegion": region},
            )
        stubber.add_response("update_stack_set", {"OperationId": "op-set"}, None)
        operation(stubber, "op-set", "SUCCEEDED", [(a, r, "SUCCEEDED", "") for a, r in PAIRS])
        # WHEN the config moves us-east-1 to 10.3.0.0/16 THEN only us-east-1's instances are updated
        stubber.add_response(
            "update_stack_instances",
            {"OperationId": "op-us"},
            {
                "StackSetName": "tap-demo",
                "Accounts": [A, B],
                "Regions": ["us-east-1"],
                "ParameterOverrides": [{"ParameterKey": "VpcCidr", "ParameterValue": "10.3.0.0/16"}],
                "OperationPreferences": ANY,
            },
        )
        operation(
            stubber,
            "op-us",
            "SUCCEEDED",
            [(A, "us-east-1", "SUCCEEDED", ""), (B, "us-east-1", "SUCCEEDED", "")],
        )
        code = operations.deploy(cfn, p, {"TemplateBody": "{}"}, out.io, lambda a, r: None)
        stubber.assert_no_pending_responses()
    assert code == 0, out.text
    assert "Update stack instances: us-east-1 (2 instances)" in out.text


def test_regions_with_different_overrides_get_one_instance_operation_each_in_region_order() -> None:
    # GIVEN a certificate per region and us-east-1 first
    p = plan(
        regions="eu-west-1,us-east-1,eu-central-1",
        region_parameters=["eu-west-1:CertificateArn=arn:eu", "us-east-1:CertificateArn=arn:us"],
        preferences=Preferences(region_order=("us-east-1",)),
    )
    # WHEN the instances are planned on an empty StackSet
    calls = instance_calls(p, [])
    # THEN one create per override group, us-east-1 first, each with its own overrides
    assert [(c, kw["Regions"], kw.get("ParameterOverrides")) for c, kw, _n in calls] == [
        (
            "create_stack_instances",
            ["us-east-1"],
            [{"ParameterKey": "CertificateArn", "ParameterValue": "arn:us"}],
        ),
        (
            "create_stack_instances",
            ["eu-west-1"],
            [{"ParameterKey": "CertificateArn", "ParameterValue": "arn:eu"}],
        ),
        ("create_stack_instances", ["eu-central-1"], None),
    ]
    assert all(kw["Accounts"] == [A, B] for _c, kw, _n in calls)


def test_existing_instances_are_not_created_again_and_overridden_ones_are_updated() -> None:
    p = plan(region_parameters=["eu-west-1:VpcCidr=10.1.0.0/16"])
    current = [{"Account": A, "Region": "eu-west-1"}, {"Account": A, "Region": "us-east-1"}]
    calls = [(c, kw["Accounts"], kw["Regions"]) for c, kw, _n in instance_calls(p, current)]
    assert calls == [
        ("create_stack_instances", [B], ["eu-west-1"]),
        ("update_stack_instances", [A], ["eu-west-1"]),
        ("create_stack_instances", [B], ["us-east-1"]),
    ]


def test_ou_targets_use_deployment_targets_and_only_new_regions() -> None:
    p = plan(targets=(None, "ou-ab12-abcdefgh"))
    calls = instance_calls(p, [{"Account": A, "Region": "eu-west-1"}])
    assert [(c, kw) for c, kw, _n in calls] == [
        (
            "create_stack_instances",
            {"DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-abcdefgh"]}, "Regions": ["us-east-1"]},
        )
    ]
