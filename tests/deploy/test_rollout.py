"""What ECS is doing during a deploy, on recorded answers (no ECS task ever runs on the local endpoint).

Shaped as the API references show them:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from tap_cfn.cli import common
from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.rollout import RolloutWatcher

from .recorded import ROOT, existing_stack
from .test_deployer import (
    CS_APP,
    CS_ROOT,
    described,
    nested_row,
    run_deploy,
    script_update,
    task_row,
)

ACCOUNT = "123456789012"
CLUSTER = "tap-cluster-demo"
SERVICE = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{CLUSTER}/tap-app-demo"
TASK = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{CLUSTER}/5f2c1e0b9d8a4c7e9b1a2d3c4e5f6a7b"
TASK_ID = TASK.rsplit("/", 1)[-1]
TASK_DEF = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/tap-app-demo:7"
T0 = datetime(2026, 11, 30, 0, 10, 0, tzinfo=UTC)
DEPLOYMENT_FAILED = "(service tap-app-demo) deployment ecs-svc/1 deployment failed: tasks failed to start."
CIRCUIT_BREAKER = (
    'Resource handler returned message: "Error occurred during operation '
    "'ECS Deployment Circuit Breaker was triggered'.\" "
    "(RequestToken: 4b1c, HandlerErrorCode: GeneralServiceException)"
)
PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/tap-repo-app-demo:v2: not found"
)


def event(
    seconds: int, logical: str, kind: str, status: str, physical: str, reason: str = ""
) -> dict[str, Any]:
    return {
        "StackId": ROOT,
        "EventId": f"{logical}-{status}-{seconds}",
        "StackName": "tap-demo",
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "Timestamp": T0 + timedelta(seconds=seconds),
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
    }


STACK = "AWS::CloudFormation::Stack"
FAILED_TO_UPDATE = "The following resource(s) failed to update: [Service]."
ECS_SERVICE = "AWS::ECS::Service"
ROLLING = event(1, "Service", ECS_SERVICE, "UPDATE_IN_PROGRESS", SERVICE)
FAILED_AND_ROLLED_BACK = [
    event(900, "tap-demo", STACK, "UPDATE_ROLLBACK_COMPLETE", ROOT),
    event(700, "tap-demo", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", ROOT, FAILED_TO_UPDATE),
    event(600, "Service", ECS_SERVICE, "UPDATE_FAILED", SERVICE, CIRCUIT_BREAKER),
]


def ecs_service(running: int, pending: int, rollout: str, failed: int) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": SERVICE,
                "serviceName": "tap-app-demo",
                "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": running,
                "pendingCount": pending,
                "deployments": [
                    {
                        "id": "ecs-svc/1",
                        "status": "PRIMARY",
                        "taskDefinition": TASK_DEF,
                        "desiredCount": 2,
                        "pendingCount": pending,
                        "runningCount": running,
                        "failedTasks": failed,
                        "rolloutState": rollout,
                        "createdAt": T0,
                    },
                ],
                "events": [
                    {
                        "id": "e1",
                        "createdAt": T0 + timedelta(seconds=30),
                        "message": f"(service tap-app-demo) has started 1 tasks: (task {TASK_ID}).",
                    },
                    {"id": "e2", "createdAt": T0 + timedelta(seconds=590), "message": DEPLOYMENT_FAILED},
                ],
            }
        ],
        "failures": [],
    }


def script_stopped_task(ecs: Stubber) -> None:
    ecs.add_response(
        "list_tasks",
        {"taskArns": [TASK]},
        {"cluster": CLUSTER, "serviceName": "tap-app-demo", "desiredStatus": "STOPPED"},
    )
    task = {
        "taskArn": TASK,
        "taskDefinitionArn": TASK_DEF,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "TaskFailedToStart",
        "stoppedAt": T0 + timedelta(seconds=400),
        "stoppedReason": f"{PULL_ERROR}",
        "containers": [
            {
                "containerArn": f"{TASK}/app",
                "taskArn": TASK,
                "name": "app",
                "lastStatus": "STOPPED",
                "reason": PULL_ERROR.split(": failed")[0],
            }
        ],
    }
    ecs.add_response(
        "describe_tasks", {"tasks": [task], "failures": []}, {"cluster": CLUSTER, "tasks": [TASK]}
    )
    definition = {
        "taskDefinitionArn": TASK_DEF,
        "family": "tap-app-demo",
        "containerDefinitions": [
            {
                "name": "app",
                "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/tap-repo-app-demo:v2",
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/tap-app-demo",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "app",
                    },
                },
            },
        ],
    }
    ecs.add_response("describe_task_definition", {"taskDefinition": definition}, {"taskDefinition": TASK_DEF})


def with_ecs(real: Clients) -> tuple[Clients, Any, Any]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    ecs = boto3.client("ecs", region_name="us-east-1")
    return Clients(cfn, real.s3, real.sts, "us-east-1", factory={"ecs": ecs}.__getitem__), cfn, ecs


def script_watch(cfn: Stubber, polls: list[list[dict[str, Any]]], statuses: list[str]) -> None:
    """Start, execute, then one poll per entry of `polls` (newest first) with its stack status."""
    none = {"StackResourceSummaries": []}
    cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
    cfn.add_response("execute_change_set", {}, {"ChangeSetName": CS_ROOT, "ClientRequestToken": ANY})
    for events, status in zip(polls, statuses, strict=True):
        cfn.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": ROOT})
        cfn.add_response("list_stack_resources", none, {"StackName": ROOT})
        cfn.add_response("describe_stacks", existing_stack(status), {"StackName": ROOT})


def update_app(cfn: Stubber) -> None:
    app = described(CS_APP, [task_row("Static")])
    script_update(cfn, [nested_row("App", CS_APP, "Static", "False")], app)


def test_a_circuit_breaker_failure_names_the_stopped_task_reason_and_where_to_read_its_logs(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN an update whose service never stabilises: its image tag does not exist
    scripted, cfn_client, ecs_client = with_ecs(clients)
    with Stubber(cfn_client) as cfn, Stubber(ecs_client) as ecs:
        update_app(cfn)
        script_watch(
            cfn, [[ROLLING], FAILED_AND_ROLLED_BACK], ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"]
        )
        # while the service is in progress, its rollout is shown
        ecs.add_response(
            "describe_services",
            ecs_service(0, 1, "IN_PROGRESS", 2),
            {"cluster": CLUSTER, "services": [SERVICE]},
        )
        cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})  # last poll
        cfn.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": ROOT})
        # after the failure, what ECS knows
        ecs.add_response(
            "describe_services", ecs_service(0, 0, "FAILED", 5), {"cluster": CLUSTER, "services": [SERVICE]}
        )
        script_stopped_task(ecs)
        # WHEN deployed
        result, term = run_deploy(scripted, fixture_templates, terminal, yes=True)
        cfn.assert_no_pending_responses()
        ecs.assert_no_pending_responses()
    # THEN the rollout was shown while it ran
    assert result.exit_code == 1
    assert (
        "ecs tap-app-demo: 0 running, 1 pending, 2 desired, rollout IN_PROGRESS, 2 failed task(s)"
        in term.stdout
    )
    # and the root cause is CloudFormation's, followed by ECS's reason, the task and its log stream
    err = term.stderr
    assert err.startswith("Root cause: Service (AWS::ECS::Service)")
    assert f"task {TASK}: CannotPullContainerError" in err
    assert (
        err.index("Root cause:")
        < err.index("CannotPullContainerError")
        < err.index("Deploy of tap-demo failed")
    )
    assert (
        "aws logs get-log-events --log-group-name /ecs/tap-app-demo "
        "--log-stream-name app/app/5f2c1e0b9d8a4c7e9b1a2d3c4e5f6a7b" in err
    )
    assert DEPLOYMENT_FAILED in err


def test_timeout_stops_the_watch_with_what_was_still_in_progress() -> None:
    # GIVEN a watch bounded to 60 seconds, and a clock that has moved 61 seconds by the first poll
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    ticks = iter([0.0, 61.0])
    watcher = RolloutWatcher(
        cfn, ROOT, "tap-demo", say=lambda _l: None, timeout=60, clock=lambda: next(ticks)
    )
    in_progress = event(5, "Service", ECS_SERVICE, "UPDATE_IN_PROGRESS", SERVICE)
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stack_events", {"StackEvents": [in_progress]}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": ROOT})
        # WHEN watching, as the deploy command does (one line, exit 1)
        err = io.StringIO()
        code = common.run(lambda: watcher.wait() and 0, err)
        stubber.assert_no_pending_responses()
    term_err = err.getvalue().splitlines()
    # THEN it names the resource still in progress and says CloudFormation carries on
    assert code == 1
    (line,) = term_err
    assert line.startswith(
        "error: --timeout 60s reached; still in progress: tap-demo/Service (UPDATE_IN_PROGRESS)"
    )
    assert "CloudFormation carries on" in line


def test_ctrl_c_asks_and_cancels_the_update_without_a_traceback(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN an update in progress, and a user who presses Ctrl-C while it is watched, then answers y
    scripted, cfn_client, _ecs = with_ecs(clients)
    moving = event(2, "TaskDefinition", "AWS::ECS::TaskDefinition", "UPDATE_IN_PROGRESS", TASK_DEF)
    with Stubber(cfn_client) as cfn:
        update_app(cfn)
        script_watch(cfn, [[moving]], ["UPDATE_IN_PROGRESS"])
        cfn.add_response("describe_stacks", existing_stack("UPDATE_IN_PROGRESS"), {"StackName": ROOT})
        cfn.add_response("cancel_update_stack", {}, {"StackName": ROOT})
        term = terminal(interactive=True, answers="y\n")

        def ctrl_c(_seconds: float) -> None:
            raise KeyboardInterrupt

        term.console.sleep = ctrl_c
        from tap_cfn.deploy.deployer import DeployOptions, Target, deploy

        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v2"}, yes=True),
            term.console,
        )
        cfn.assert_no_pending_responses()  # CancelUpdateStack was called
    # THEN the question ends the printed lines, the answer is confirmed in one line, exit 1
    assert result.exit_code == 1
    assert "Cancel the update of tap-demo (CloudFormation rolls it back)? [y/N]" in term.stdout
    assert term.stderr.strip().startswith("Update of tap-demo cancelled: CloudFormation rolls it back")
    assert "Traceback" not in term.stdout + term.stderr


def test_ctrl_c_answered_no_leaves_the_update_running() -> None:
    from tap_cfn.deploy.rollout import interrupted

    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stacks", existing_stack("UPDATE_IN_PROGRESS"), {"StackName": ROOT})
        line = interrupted(cfn, ROOT, "tap-demo", lambda _q: False)
        stubber.assert_no_pending_responses()  # no CancelUpdateStack
    assert line.startswith("Left the update of tap-demo running; follow it with: aws cloudformation")
