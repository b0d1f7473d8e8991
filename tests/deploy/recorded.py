"""Recorded CloudFormation answers, shaped as the API reference shows them: a failed first create
three stacks deep (root -> Services -> Api) with its events, and the scripted client the deployer's
tests use. Shared by the tests of events, rootcause, changeset, deployer, rollout and recover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber

from tap_cfn.deploy.aws import Clients

ACCOUNT = "123456789012"
T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)
ROOT = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/tap-demo/0a1b2c3d-0000-11ef-8e2e-0a1b2c3d4e5f"
CHILD = (
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/tap-demo-Services-1KJ2H3G4F5D6/"
    "1b2c3d4e-0000-11ef-9f3f-0b1c2d3e4f50"
)
GRANDCHILD = (
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/tap-demo-Services-1KJ2H3G4F5D6-Api-9Z8Y7X6W5V4U/"
    "2c3d4e5f-0000-11ef-a040-0c1d2e3f4051"
)
NAMES = {
    ROOT: "tap-demo",
    CHILD: "tap-demo-Services-1KJ2H3G4F5D6",
    GRANDCHILD: "tap-demo-Services-1KJ2H3G4F5D6-Api-9Z8Y7X6W5V4U",
}
FAILURE = (
    'Resource handler returned message: "Invalid request provided: CreateService error: The target group '
    "with targetGroupArn arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tap-api-demo/"
    '6d0ecf831eec9f09 does not have an associated load balancer." (RequestToken: 8f2c, HandlerErrorCode: '
    "InvalidRequest)"
)


def event(
    stack: str, seconds: int, logical: str, rtype: str, status: str, reason: str = "", physical: str = ""
):
    raw: dict[str, Any] = {
        "StackId": stack,
        "EventId": f"{logical}-{status}-{seconds}",
        "StackName": NAMES[stack],
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": rtype,
        "Timestamp": T0 + timedelta(seconds=seconds),
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def stack_event(stack: str, seconds: int, status: str, reason: str = "") -> dict[str, Any]:
    return event(stack, seconds, NAMES[stack], "AWS::CloudFormation::Stack", status, reason, stack)


STACK = "AWS::CloudFormation::Stack"
EMBEDDED_API = (
    f"Embedded stack {GRANDCHILD} was not successfully created: "
    "The following resource(s) failed to create: [Service]."
)
EMBEDDED_SERVICES = (
    f"Embedded stack {CHILD} was not successfully created: The following resource(s) failed to create: [Api]."
)
CANCELLED = "Resource creation cancelled"
# What a failed first create of root -> Services -> Api looks like, newest first as the API returns.
ROOT_EVENTS = [
    stack_event(ROOT, 60, "ROLLBACK_COMPLETE"),
    event(ROOT, 58, "Services", STACK, "DELETE_COMPLETE", physical=CHILD),
    stack_event(ROOT, 41, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Services]. "),
    event(ROOT, 40, "Services", STACK, "CREATE_FAILED", EMBEDDED_SERVICES, CHILD),
    event(ROOT, 3, "Services", STACK, "CREATE_IN_PROGRESS", "Resource creation Initiated", CHILD),
    event(ROOT, 2, "Services", STACK, "CREATE_IN_PROGRESS"),
    stack_event(ROOT, 1, "CREATE_IN_PROGRESS", "User Initiated"),
    stack_event(ROOT, 0, "REVIEW_IN_PROGRESS", "User Initiated"),
]
CHILD_EVENTS = [
    stack_event(CHILD, 57, "DELETE_COMPLETE"),
    stack_event(
        CHILD, 36, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Worker, Api]. "
    ),
    event(CHILD, 35, "Worker", STACK, "CREATE_FAILED", CANCELLED),
    event(CHILD, 34, "Api", STACK, "CREATE_FAILED", EMBEDDED_API, GRANDCHILD),
    event(CHILD, 5, "Api", STACK, "CREATE_IN_PROGRESS", "Resource creation Initiated", GRANDCHILD),
    event(CHILD, 4, "Api", STACK, "CREATE_IN_PROGRESS"),
    stack_event(CHILD, 3, "CREATE_IN_PROGRESS", "User Initiated"),
]
GRANDCHILD_EVENTS = [
    stack_event(GRANDCHILD, 33, "DELETE_COMPLETE"),
    stack_event(
        GRANDCHILD, 31, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Service]. "
    ),
    event(
        GRANDCHILD,
        30,
        "ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "CREATE_FAILED",
        CANCELLED,
    ),
    event(
        GRANDCHILD,
        29,
        "Alarm",
        "AWS::CloudWatch::Alarm",
        "CREATE_FAILED",
        'Resource handler returned message: "later"',
    ),
    event(GRANDCHILD, 28, "Service", "AWS::ECS::Service", "CREATE_FAILED", FAILURE),
    event(GRANDCHILD, 8, "Service", "AWS::ECS::Service", "CREATE_IN_PROGRESS"),
    event(GRANDCHILD, 7, "TaskDefinition", "AWS::ECS::TaskDefinition", "CREATE_COMPLETE", physical="td-arn"),
    event(GRANDCHILD, 6, "TaskDefinition", "AWS::ECS::TaskDefinition", "CREATE_IN_PROGRESS"),
    stack_event(GRANDCHILD, 5, "CREATE_IN_PROGRESS", "User Initiated"),
]


def gone(stubber: Stubber, operation: str, stack: str) -> None:
    stubber.add_client_error(
        operation,
        "ValidationError",
        f"Stack with id {stack} does not exist",
        400,
        expected_params={"StackName": stack},
    )


def script_failed_tree(stubber: Stubber) -> None:
    """The calls that reading the whole failed tree makes, in order."""
    stubber.add_response("describe_stack_events", {"StackEvents": ROOT_EVENTS}, {"StackName": ROOT})
    root_resources = {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": "Services",
                "PhysicalResourceId": CHILD,
                "ResourceType": STACK,
                "LastUpdatedTimestamp": T0 + timedelta(seconds=58),
                "ResourceStatus": "DELETE_COMPLETE",
            }
        ]
    }
    stubber.add_response("list_stack_resources", root_resources, {"StackName": ROOT})
    stubber.add_response("describe_stack_events", {"StackEvents": CHILD_EVENTS}, {"StackName": CHILD})
    gone(stubber, "list_stack_resources", CHILD)  # deleted nested stacks answer events by id only
    stubber.add_response(
        "describe_stack_events", {"StackEvents": GRANDCHILD_EVENTS}, {"StackName": GRANDCHILD}
    )
    gone(stubber, "list_stack_resources", GRANDCHILD)


def stubbed_clients(real: Clients) -> Clients:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return Clients(cloudformation=cfn, s3=real.s3, sts=real.sts, region="us-east-1")


def existing_stack(status: str) -> dict[str, Any]:
    return {"Stacks": [{"StackName": "tap-demo", "StackId": ROOT, "CreationTime": T0, "StackStatus": status}]}


CS_ROOT = (
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/tap-cfn-1/9a8b7c6d-1111-4e5f-8a9b-0c1d2e3f4a5b"
)
CS_APP = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/tap-cfn-1-App-1Q2W3E/1b2c3d4e-2222-4e5f-8a9b"
CS_NETWORK = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/tap-cfn-1-Network-4R5T6Y/3c4d-3333-4e5f"


def described(change_set_id: str, changes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A DescribeChangeSet answer for a CREATE_COMPLETE change set of the root."""
    return {
        "ChangeSetName": "tap-cfn-1",
        "ChangeSetId": change_set_id,
        "StackId": ROOT,
        "StackName": "tap-demo",
        "Status": "CREATE_COMPLETE",
        "ExecutionStatus": "AVAILABLE",
        "IncludeNestedStacks": True,
        "Changes": changes,
        **extra,
    }


def nested_row(
    logical: str, change_set_id: str, evaluation: str, replacement: str = "Conditional"
) -> dict[str, Any]:
    """A nested stack's row: `Dynamic` when its parameters come from a sibling's outputs."""
    detail = {
        "Target": {"Attribute": "Properties", "Name": "Parameters", "RequiresRecreation": "Never"},
        "Evaluation": evaluation,
        "ChangeSource": "ResourceAttribute" if evaluation == "Dynamic" else "DirectModification",
    }
    if evaluation == "Dynamic":
        detail["CausingEntity"] = "Network.Outputs.VpcId"
    return {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": logical,
            "PhysicalResourceId": f"{ROOT}-{logical}",
            "ResourceType": STACK,
            "Replacement": replacement,
            "Scope": ["Properties"],
            "Details": [detail],
            "ChangeSetId": change_set_id,
        },
    }


def task_row(evaluation: str) -> dict[str, Any]:
    return {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": "TaskDefinition",
            "PhysicalResourceId": "arn:aws:ecs:us-east-1:123456789012:task-definition/fixture-app-demo:1",
            "ResourceType": "AWS::ECS::TaskDefinition",
            "Replacement": "Conditional" if evaluation == "Dynamic" else "True",
            "Scope": ["Properties"],
            "Details": [
                {
                    "Target": {
                        "Attribute": "Properties",
                        "Name": "ContainerDefinitions",
                        "RequiresRecreation": "Always",
                    },
                    "Evaluation": evaluation,
                    "ChangeSource": "ParameterReference" if evaluation == "Static" else "ResourceAttribute",
                    "CausingEntity": "AppImageTag" if evaluation == "Static" else "Network.Outputs.SubnetId",
                }
            ],
        },
    }
