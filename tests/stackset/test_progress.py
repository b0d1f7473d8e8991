"""tap_cfn/stackset/progress.py: a failed instance is explained by the first failed resource of its
stack, or by why its account could not be read (recorded answers, tests/stackset/recorded.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tap_cfn.stackset import operations
from tap_cfn.stackset.plan import Preferences
from tests.stackset import A, B
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
