"""StackSet rollouts on recorded answers, shaped as the CloudFormation API reference documents
them (DescribeStackSetOperation, ListStackSetOperationResults, ListStackInstances,
DescribeStackEvents), through botocore's Stubber on a real client: any call the code makes that
is not in the script fails the test. The local endpoint cannot do these: its operations succeed
at once, it cannot fail an instance, and it drops the StackSet's parameters when a region has
overrides (docs/notes-stacksets.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tap_cfn.stackset import operations
from tap_cfn.stackset.plan import Preferences
from tap_cfn.stackset.progress import Io
from tests.stackset import A, B, plan

SET_ID = "tap-demo:6f1d0b0e-3c1a-4a57-9d0c-2f1e8a6b9c01"
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TEMPLATE = {
    "Parameters": {
        "EnvironmentSuffix": {"Type": "String"},
        "CertificateArn": {"Type": "String", "Default": ""},
    }
}
STACK_NAME = "StackSet-tap-demo-0f4e1c2b"
STACK_ID = f"arn:aws:cloudformation:eu-west-1:{B}:stack/{STACK_NAME}/7d1c0a9e-aa11-11ef-9a1b-06f1c2d3e4f5"


def client() -> Any:
    return boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


class Lines:
    def __init__(self, answers: list[str] | None = None) -> None:
        self.lines: list[str] = []
        self.answers = answers
        ask = (lambda _prompt: self.answers.pop(0)) if answers is not None else None
        self.io = Io(self.lines.append, ask, sleep=lambda _s: None, poll_seconds=0)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def operation(stubber: Stubber, op_id: str, status: str, results: list[tuple[str, str, str, str]]) -> None:
    """One poll: DescribeStackSetOperation then ListStackSetOperationResults."""
    stubber.add_response(
        "describe_stack_set_operation",
        {
            "StackSetOperation": {
                "OperationId": op_id,
                "StackSetId": SET_ID,
                "Action": "CREATE",
                "Status": status,
                "CreationTimestamp": T0,
            }
        },
        {"StackSetName": "tap-demo", "OperationId": op_id},
    )
    summaries = [
        {
            "Account": account,
            "Region": region,
            "Status": state,
            **({"StatusReason": reason} if reason else {}),
            "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "Function not found"},
        }
        for account, region, state, reason in results
    ]
    stubber.add_response(
        "list_stack_set_operation_results",
        {"Summaries": summaries},
        {"StackSetName": "tap-demo", "OperationId": op_id},
    )


def not_found(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_stack_set", "StackSetNotFoundException", "StackSet tap-demo not found", 404
    )


def two_region_plan(**changes: Any) -> Any:
    """A certificate for eu-west-1 only, us-east-1 first, half the accounts at once."""
    return plan(
        **{
            "region_parameters": [
                "eu-west-1:CertificateArn=arn:aws:acm:eu-west-1:111111111111:certificate/eu"
            ],
            "preferences": Preferences("50%", "0", region_order=("us-east-1", "eu-west-1")),
            **changes,
        }
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


FAILED_REASON = (
    "ResourceLogicalId:LoadBalancer, ResourceType:AWS::ElasticLoadBalancingV2::LoadBalancer, "
    'ResourceStatusReason:Resource handler returned message: "At least two subnets in two different '
    'Availability Zones must be specified".'
)


def failed_instance_script(stubber: Stubber) -> None:
    not_found(stubber)
    stubber.add_response("create_stack_set", {"StackSetId": SET_ID}, None)
    stubber.add_response("create_stack_instances", {"OperationId": "op-1"}, None)
    operation(
        stubber,
        "op-1",
        "FAILED",
        [(A, "eu-west-1", "SUCCEEDED", ""), (B, "eu-west-1", "FAILED", FAILED_REASON)],
    )
    stubber.add_response(
        "list_stack_instances",
        {
            "Summaries": [
                {
                    "StackSetId": SET_ID,
                    "Account": A,
                    "Region": "eu-west-1",
                    "Status": "CURRENT",
                    "StackId": STACK_ID.replace(B, A),
                    "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
                },
                {
                    "StackSetId": SET_ID,
                    "Account": B,
                    "Region": "eu-west-1",
                    "Status": "OUTDATED",
                    "StatusReason": FAILED_REASON,
                    "StackId": STACK_ID,
                    "StackInstanceStatus": {"DetailedStatus": "FAILED"},
                },
            ]
        },
        {"StackSetName": "tap-demo"},
    )


def events_of_failed_stack(stubber: Stubber) -> None:
    def event(seconds: int, logical: str, rtype: str, status: str, reason: str = "") -> dict[str, Any]:
        return {
            "StackId": STACK_ID,
            "EventId": f"{logical}-{status}",
            "StackName": "StackSet-tap-demo-0f4e1c2b",
            "LogicalResourceId": logical,
            "PhysicalResourceId": STACK_ID if rtype.endswith("::Stack") else "",
            "ResourceType": rtype,
            "Timestamp": T0 + timedelta(seconds=seconds),
            "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {}),
        }

    stubber.add_response(
        "describe_stack_events",
        {
            "StackEvents": [  # newest first
                event(90, "StackSet-tap-demo-0f4e1c2b", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
                event(
                    40,
                    "FrontendTargetGroup",
                    "AWS::ElasticLoadBalancingV2::TargetGroup",
                    "CREATE_FAILED",
                    "Resource creation cancelled",
                ),
                event(
                    30,
                    "LoadBalancer",
                    "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    "CREATE_FAILED",
                    "At least two subnets in two different Availability Zones must be specified",
                ),
                event(10, "LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "CREATE_IN_PROGRESS"),
            ]
        },
        {"StackName": STACK_ID},
    )


def test_a_failed_instance_is_reported_with_the_first_failed_resource_of_its_stack() -> None:
    cfn, target = client(), client()
    out = Lines()
    opened: list[tuple[str, str]] = []

    def open_target(account: str, region: str) -> Any:
        opened.append((account, region))
        return target

    plan = two_region_plan(regions="eu-west-1", region_parameters=[], preferences=Preferences())
    with Stubber(cfn) as stubber, Stubber(target) as in_target:
        failed_instance_script(stubber)
        events_of_failed_stack(in_target)
        code = operations.deploy(cfn, plan, {"TemplateBody": "{}"}, out.io, open_target)
    assert code == 1
    assert opened == [(B, "eu-west-1")]  # only the failed instance is read
    assert "operation op-1 FAILED: 1 failed, 1 succeeded" in out.text
    assert f"failed: {B} eu-west-1 OUTDATED (FAILED) {FAILED_REASON}" in out.lines
    assert out.lines[-1] == (
        "  root cause: LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_FAILED: "
        "At least two subnets in two different Availability Zones must be specified"
    )


def test_a_failed_instance_whose_account_cannot_be_read_says_so() -> None:
    from botocore.exceptions import ClientError

    cfn = client()
    out = Lines()

    def open_target(account: str, region: str) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDenied",
                    "Message": f"not authorized to perform: sts:AssumeRole on {account}",
                }
            },
            "AssumeRole",
        )

    plan = two_region_plan(regions="eu-west-1", region_parameters=[], preferences=Preferences())
    with Stubber(cfn) as stubber:
        failed_instance_script(stubber)
        assert operations.deploy(cfn, plan, {"TemplateBody": "{}"}, out.io, open_target) == 1
    assert (
        out.lines[-1]
        == f"  cannot read the stack events in {B}: not authorized to perform: sts:AssumeRole on {B}"
    )


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


@pytest.mark.parametrize(("answers", "code"), [(["tap"], 1), (None, 2)], ids=["wrong-name", "no-terminal"])
def test_destroy_deletes_nothing_unless_the_name_is_typed_back(answers: list[str] | None, code: int) -> None:
    cfn = client()
    out = Lines(answers=answers)
    with Stubber(cfn) as stubber:  # no delete call is scripted: one would fail the test
        stubber.add_response("describe_stack_set", STACK_SET, {"StackSetName": "tap-demo"})
        stubber.add_response("list_stack_instances", instances_of(PAIRS), {"StackSetName": "tap-demo"})
        assert operations.destroy(cfn, "tap-demo", yes=False, io=out.io) == code


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
