"""recover on recorded answers: the local endpoint never reaches UPDATE_ROLLBACK_FAILED.

https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.deployer import Target, UsageError
from tap_cfn.deploy.recover import recover

from .conftest import Terminal
from .recorded import ROOT, existing_stack

ACCOUNT = "123456789012"
APP = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/tap-demo-App-1Q2W3E/5d6e7f80-0000-11ef-8e2e"
T0 = datetime(2026, 11, 30, 0, 0, 0, tzinfo=UTC)
STACK = "AWS::CloudFormation::Stack"
FAILED_APP = "The following resource(s) failed to update: [App]."
EMBEDDED = "Embedded stack was not successfully updated"
APP_NAME = "tap-demo-App-1Q2W3E"
SG = "AWS::EC2::SecurityGroup"
ENI_IN_USE = (
    'Resource handler returned message: "Network interface eni-0a1b2c3d4e5f60718 is currently in use." '
    "(Service: Ec2, Status Code: 400)"
)


def event(
    stack: str, name: str, seconds: int, logical: str, kind: str, status: str, physical: str, reason: str = ""
) -> dict[str, Any]:
    return {
        "StackId": stack,
        "EventId": f"{stack[-6:]}-{logical}-{status}-{seconds}",
        "StackName": name,
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "Timestamp": T0 + timedelta(seconds=seconds),
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
    }


ROOT_EVENTS = [  # newest first, as DescribeStackEvents answers
    event(ROOT, "tap-demo", 90, "tap-demo", STACK, "UPDATE_ROLLBACK_FAILED", ROOT, FAILED_APP),
    event(ROOT, "tap-demo", 80, "App", STACK, "UPDATE_FAILED", APP, EMBEDDED),
    event(ROOT, "tap-demo", 40, "tap-demo", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", ROOT, FAILED_APP),
    event(ROOT, "tap-demo", 30, "App", STACK, "UPDATE_FAILED", APP, EMBEDDED),
    event(ROOT, "tap-demo", 1, "tap-demo", STACK, "UPDATE_IN_PROGRESS", ROOT, "User Initiated"),
]
APP_EVENTS = [
    event(APP, APP_NAME, 70, "SecurityGroup", SG, "UPDATE_FAILED", "sg-0a1b", ENI_IN_USE),
    event(APP, APP_NAME, 60, "Service", "AWS::ECS::Service", "UPDATE_COMPLETE", "svc"),
    event(APP, APP_NAME, 20, "Service", "AWS::ECS::Service", "UPDATE_FAILED", "svc", "circuit breaker"),
]


def script_read_tree(stubber: Stubber) -> None:
    stubber.add_response(
        "describe_stacks", existing_stack("UPDATE_ROLLBACK_FAILED"), {"StackName": "tap-demo"}
    )
    stubber.add_response("describe_stack_events", {"StackEvents": ROOT_EVENTS}, {"StackName": ROOT})
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": ROOT})
    stubber.add_response("describe_stack_events", {"StackEvents": APP_EVENTS}, {"StackName": APP})
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": APP})


def cfn_only() -> tuple[Clients, Any]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return Clients(cfn, None, None, "us-east-1"), cfn


def test_recover_names_what_blocks_the_rollback_and_continues_it_skipping_what_the_user_accepts() -> None:
    # GIVEN a rollback that failed on a security group still used by an ENI in nested stack App
    clients, cfn = cfn_only()
    term = Terminal(interactive=True, answers="y\n")
    done = event(ROOT, "tap-demo", 120, "tap-demo", STACK, "UPDATE_ROLLBACK_COMPLETE", ROOT)
    with Stubber(cfn) as stubber:
        script_read_tree(stubber)
        stubber.add_response(
            "describe_stack_events", {"StackEvents": ROOT_EVENTS}, {"StackName": ROOT}
        )  # start
        # THEN the skip id is NestedStackName.LogicalId and the call goes to the root stack
        stubber.add_response(
            "continue_update_rollback",
            {},
            {"StackName": ROOT, "ResourcesToSkip": ["App.SecurityGroup"], "ClientRequestToken": ANY},
        )
        stubber.add_response(
            "describe_stack_events", {"StackEvents": [done, *ROOT_EVENTS]}, {"StackName": ROOT}
        )
        stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": ROOT})
        stubber.add_response(
            "describe_stacks", existing_stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": ROOT}
        )
        stubber.add_response(
            "describe_stack_events", {"StackEvents": [done, *ROOT_EVENTS]}, {"StackName": ROOT}
        )
        stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": ROOT})
        # WHEN recover runs with --skip and the user confirms
        code = recover(clients, Target("dev", "demo"), ["App.SecurityGroup"], False, term.console)
        stubber.assert_no_pending_responses()
    assert code == 0, term.stderr
    out = term.stdout
    # only the resource that failed during the rollback blocks it (the service failed before it)
    assert f"  App.SecurityGroup (AWS::EC2::SecurityGroup) in tap-demo/App: {ENI_IN_USE}" in out
    assert "App.Service" not in out
    assert "Continue the rollback of tap-demo, skipping App.SecurityGroup? [y/N]" in out
    assert (
        "UPDATE_ROLLBACK_COMPLETE; deploy again with: python generate.py deploy --env dev --suffix demo"
        in out
    )


def test_recover_refuses_to_skip_a_resource_that_did_not_block_the_rollback() -> None:
    clients, cfn = cfn_only()
    with Stubber(cfn) as stubber:
        script_read_tree(stubber)
        with pytest.raises(UsageError, match="--skip App.Service: only resources that failed the rollback"):
            recover(clients, Target("dev", "demo"), ["App.Service"], True, Terminal().console)
        stubber.assert_no_pending_responses()  # no ContinueUpdateRollback


def test_recover_on_a_healthy_stack_does_nothing() -> None:
    clients, cfn = cfn_only()
    term = Terminal()
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stacks", existing_stack("UPDATE_COMPLETE"), {"StackName": "tap-demo"})
        assert recover(clients, Target("dev", "demo"), [], True, term.console) == 0
    assert "tap-demo is UPDATE_COMPLETE: no rollback to continue" in term.stdout
