"""Event walking, root cause and no-op handling on recorded, real-shaped CloudFormation answers.

The local endpoint cannot fail the way CloudFormation does (asynchronously, three stacks
deep, with cancellations and "Embedded stack" echoes), so these tests replay what
CloudFormation returns, through botocore's Stubber on a real client: any call the code makes
that is not in the script fails the test.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tap_cfn.cli import common
from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.changeset import ResourceChange, StackPlan, render_plan
from tap_cfn.deploy.deployer import Console, DeployOptions, Target, deploy
from tap_cfn.deploy.events import EventWatcher, StackEvent, StackTree
from tap_cfn.deploy.packaging import load_template
from tap_cfn.deploy.rootcause import find_root_cause

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


def test_root_cause_is_the_earliest_real_failure_in_the_deepest_stack() -> None:
    # GIVEN a failed create three stacks deep, with echoes in each parent and a cancelled sibling
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    printed: list[str] = []
    with Stubber(cfn) as stubber:
        script_failed_tree(stubber)
        # WHEN the watcher reads the tree from the beginning
        watcher = EventWatcher(cfn, ROOT, "tap-demo", say=printed.append)
        watcher.poll()
        stubber.assert_no_pending_responses()

    # THEN the grandchild is found through the parent's events and labelled by logical ids
    assert watcher.tree.labels[GRANDCHILD] == "tap-demo/Services/Api"
    # and the cause is the ECS service, not "Embedded stack ..." nor "Resource creation cancelled"
    cause = find_root_cause(watcher.tree)
    assert cause is not None
    assert (cause.stack, cause.logical_id, cause.status) == (
        "tap-demo/Services/Api",
        "Service",
        "CREATE_FAILED",
    )
    assert "does not have an associated load balancer" in cause.describe()
    # and every event was printed once, oldest first, with its stack path
    assert len(printed) == len(ROOT_EVENTS) + len(CHILD_EVENTS) + len(GRANDCHILD_EVENTS)
    assert printed[0].split()[1:3] == ["tap-demo", "tap-demo"] and "REVIEW_IN_PROGRESS" in printed[0]
    assert any("tap-demo/Services/Api" in line and "Service " in line and FAILURE in line for line in printed)


def test_when_no_stack_recorded_its_own_cause_the_deepest_echo_is_reported() -> None:
    # GIVEN a tree whose only failures are echoes: "Embedded stack" above, a cancellation below
    tree = StackTree(ROOT, "tap-demo")
    tree.add(CHILD, "tap-demo/Services", 1)
    tree.events[ROOT] = [StackEvent.from_api(e) for e in ROOT_EVENTS]
    tree.events[CHILD] = [
        StackEvent.from_api(e) for e in CHILD_EVENTS if "cancelled" in e.get("ResourceStatusReason", "")
    ]
    # WHEN the cause is looked for
    cause = find_root_cause(tree)
    # THEN the most specific thing we know is reported rather than nothing
    assert cause is not None
    assert (cause.stack, cause.logical_id, cause.reason) == ("tap-demo/Services", "Worker", CANCELLED)


def test_a_cancellation_deeper_than_the_failure_does_not_hide_it() -> None:
    # GIVEN the real failure one level down, while a sibling nested stack two levels down was cancelled
    worker = GRANDCHILD.replace("Api-9Z8Y7X6W5V4U", "Worker-5T4R3E2W1Q0P")
    NAMES[worker] = "tap-demo-Services-1KJ2H3G4F5D6-Worker-5T4R3E2W1Q0P"
    tree = StackTree(ROOT, "tap-demo")
    tree.add(CHILD, "tap-demo/Services", 1)
    tree.add(worker, "tap-demo/Services/Worker", 2)
    tree.events[ROOT] = [
        StackEvent.from_api(event(ROOT, 40, "Services", STACK, "CREATE_FAILED", EMBEDDED_SERVICES, CHILD))
    ]
    tree.events[CHILD] = [
        StackEvent.from_api(event(CHILD, 20, "Repository", "AWS::ECR::Repository", "CREATE_FAILED", FAILURE)),
        StackEvent.from_api(event(CHILD, 21, "Worker", STACK, "CREATE_FAILED", CANCELLED, worker)),
    ]
    tree.events[worker] = [
        StackEvent.from_api(event(worker, 21, "LogGroup", "AWS::Logs::LogGroup", "CREATE_FAILED", CANCELLED))
    ]
    # WHEN the cause is looked for
    cause = find_root_cause(tree)
    # THEN it is the repository one level down, not the deeper cancellation
    assert cause is not None
    assert (cause.stack, cause.logical_id) == ("tap-demo/Services", "Repository")


def test_a_tree_without_failures_has_no_root_cause() -> None:
    tree = StackTree(GRANDCHILD, NAMES[GRANDCHILD])
    tree.events[GRANDCHILD] = [
        StackEvent.from_api(e) for e in GRANDCHILD_EVENTS if not e["ResourceStatus"].endswith("FAILED")
    ]
    assert find_root_cause(tree) is None


def test_watcher_prints_only_new_events_and_progress_only_on_a_terminal() -> None:
    # GIVEN a stack whose last update finished before we started
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    old = stack_event(ROOT, 0, "UPDATE_COMPLETE")
    new = [
        event(ROOT, 12, "Cluster", "AWS::ECS::Cluster", "UPDATE_COMPLETE", physical="tap-demo"),
        event(ROOT, 11, "Cluster", "AWS::ECS::Cluster", "UPDATE_IN_PROGRESS", physical="tap-demo"),
        stack_event(ROOT, 10, "UPDATE_IN_PROGRESS", "User Initiated"),
    ]
    done = [stack_event(ROOT, 13, "UPDATE_COMPLETE")]
    no_resources = {"StackResourceSummaries": []}
    described = {
        "Stacks": [
            {"StackName": "tap-demo", "StackId": ROOT, "CreationTime": T0, "StackStatus": "UPDATE_COMPLETE"}
        ]
    }
    in_progress = {"Stacks": [{**described["Stacks"][0], "StackStatus": "UPDATE_IN_PROGRESS"}]}
    for tty in (True, False):
        printed: list[str] = []
        progress: list[str] = []
        with Stubber(cfn) as stubber:
            stubber.add_response("describe_stack_events", {"StackEvents": [old]}, {"StackName": ROOT})
            stubber.add_response("describe_stack_events", {"StackEvents": [*new, old]}, {"StackName": ROOT})
            stubber.add_response("list_stack_resources", no_resources, {"StackName": ROOT})
            stubber.add_response("describe_stacks", in_progress, {"StackName": ROOT})
            stubber.add_response(
                "describe_stack_events", {"StackEvents": [*done, *new, old]}, {"StackName": ROOT}
            )
            stubber.add_response("list_stack_resources", no_resources, {"StackName": ROOT})
            stubber.add_response("describe_stacks", described, {"StackName": ROOT})
            stubber.add_response(
                "describe_stack_events", {"StackEvents": [*done, *new, old]}, {"StackName": ROOT}
            )
            stubber.add_response("list_stack_resources", no_resources, {"StackName": ROOT})
            # WHEN we start watching, then wait for the update to finish
            watcher = EventWatcher(
                cfn,
                ROOT,
                "tap-demo",
                say=printed.append,
                progress=progress.append if tty else None,
                total=1,
                sleep=lambda _s: None,
            )
            watcher.start()
            status = watcher.wait()
            stubber.assert_no_pending_responses()
        # THEN the old event is not printed, the new ones are, once each, in order
        assert status == ("UPDATE_COMPLETE", "")
        assert [line.split()[-1] for line in printed] == [
            "Initiated",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE",
            "UPDATE_COMPLETE",
        ]
        # and the progress figure appears only when output is a terminal
        assert progress == (["  progress: 1/1 resources done"] * 2 if tty else [])


DYNAMIC = (
    '[{"Target": {"Attribute": "Properties", "Name": "Parameters", "RequiresRecreation": "Never"},'
    ' "Evaluation": "Dynamic", "ChangeSource": "ResourceAttribute",'
    ' "CausingEntity": "Network.Outputs.VpcId"}]'
)


def test_replacements_are_highlighted_and_unchanged_nested_stacks_are_hidden() -> None:
    # GIVEN a plan where one service's task definition is replaced and another nested stack only
    # may change (a Dynamic row) and its own change set is empty
    api = StackPlan(
        "tap-demo/ServiceApiGateway",
        "cs-api",
        [
            ResourceChange("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition", "True"),
            ResourceChange("Modify", "Service", "AWS::ECS::Service", "Conditional"),
        ],
    )
    idle = StackPlan("tap-demo/Network", "cs-net", [])
    root = StackPlan(
        "tap-demo",
        "cs-root",
        [
            ResourceChange("Modify", "ServiceApiGateway", STACK, "False", nested_change_set_id="cs-api"),
            ResourceChange("Modify", "Network", STACK, "False", nested_change_set_id="cs-net", certain=False),
        ],
        [api, idle],
    )
    # WHEN it is rendered for a terminal
    text = render_plan(root, color=True)
    # THEN only stacks with real changes appear, and replacements stand out
    assert "tap-demo/Network" not in text and "Network " not in text
    assert "Stack tap-demo/ServiceApiGateway: 2 change(s)" in text
    assert "\033[1;31mreplaced\033[0m" in text
    assert "\033[33mmay be replaced\033[0m" in text
    assert root.count() == 3


# --- the deployer's decisions, cloudformation scripted, S3 on the local endpoint ----------


def stubbed_clients(real: Clients) -> Clients:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return Clients(cloudformation=cfn, s3=real.s3, sts=real.sts, region="us-east-1")


def existing_stack(status: str) -> dict[str, Any]:
    return {"Stacks": [{"StackName": "tap-demo", "StackId": ROOT, "CreationTime": T0, "StackStatus": status}]}


def test_rollback_complete_is_explained_and_left_alone_without_yes(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN a stack left in ROLLBACK_COMPLETE by a failed first create
    scripted = stubbed_clients(clients)
    term = terminal()
    with Stubber(scripted.cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks", existing_stack("ROLLBACK_COMPLETE"), {"StackName": "tap-demo"}
        )
        script_failed_tree(stubber)
        # WHEN deploying without --yes
        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v1"}),
            term.console,
        )
        # THEN nothing else is called (no upload, no change set): Stubber rejects unscripted calls
        stubber.assert_no_pending_responses()
    assert result.exit_code == 1
    assert result.bytes_uploaded == 0
    # and the user reads the original cause first, then how to proceed
    lines = term.stderr.splitlines()
    assert lines[0].startswith("Root cause: Service (AWS::ECS::Service) in stack tap-demo/Services/Api")
    assert "ROLLBACK_COMPLETE" in lines[1]
    assert "python generate.py destroy --env dev --suffix demo" in term.stderr
    # (the templates are not in templates/: the suggested commands say where they are)
    assert f"python generate.py deploy --env dev --suffix demo --out {fixture_templates} --yes" in term.stderr


def script_change_set_creation(stubber: Stubber) -> None:
    stubber.add_response("describe_stacks", existing_stack("UPDATE_COMPLETE"), {"StackName": "tap-demo"})


NO_CHANGE_FAILED = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)


@pytest.mark.parametrize("answer", ["failed change set", "validation error", "dynamic nested change sets"])
def test_every_way_of_saying_no_changes_exits_0_without_executing(
    clients: Clients, fixture_templates: Path, terminal, answer: str
) -> None:
    # GIVEN CloudFormation answers "nothing to do" in one of the ways it does
    scripted = stubbed_clients(clients)
    term = terminal()
    created = {"Id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1", "StackId": ROOT}
    base = {"ChangeSetName": "cs", "ChangeSetId": created["Id"], "StackId": ROOT, "StackName": "tap-demo"}
    with Stubber(scripted.cloudformation) as stubber:
        script_change_set_creation(stubber)
        if answer == "validation error":
            stubber.add_client_error(
                "create_change_set", "ValidationError", "No updates are to be performed.", 400
            )
        else:
            stubber.add_response("create_change_set", created)
        if answer == "failed change set":
            stubber.add_response(
                "describe_change_set",
                {**base, "Status": "FAILED", "StatusReason": NO_CHANGE_FAILED, "Changes": []},
            )
            stubber.add_response("delete_change_set", {})
        if answer == "dynamic nested change sets":
            nested_id = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs-App/2"
            modify_app = {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "App",
                    "ResourceType": STACK,
                    "Replacement": "Conditional",
                    "Details": json.loads(DYNAMIC),
                    "ChangeSetId": nested_id,
                },
            }
            complete = {**base, "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE"}
            stubber.add_response("describe_change_set", {**complete, "Changes": [modify_app]})
            stubber.add_response("describe_change_set", {**complete, "Changes": [modify_app]})
            stubber.add_response("describe_change_set", {**complete, "ChangeSetId": nested_id, "Changes": []})
            root = json.dumps(load_template(fixture_templates / "dev" / "root.yaml"))
            stubber.add_response("get_template", {"TemplateBody": root})
            stubber.add_response("delete_change_set", {})
        # WHEN deploying with --yes
        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v1"}, yes=True),
            term.console,
        )
        # THEN no execute_change_set was made (it is not scripted: Stubber would raise)
        stubber.assert_no_pending_responses()
    assert (result.exit_code, result.executed) == (0, False)
    assert "No changes: tap-demo already matches" in term.stdout


def test_a_busy_stack_is_not_touched(clients: Clients, fixture_templates: Path, terminal) -> None:
    scripted = stubbed_clients(clients)
    term = terminal()
    with Stubber(scripted.cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks", existing_stack("UPDATE_IN_PROGRESS"), {"StackName": "tap-demo"}
        )
        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v1"}),
            term.console,
        )
    assert result.exit_code == 1
    assert "is busy (UPDATE_IN_PROGRESS)" in term.stderr


# --- the root cause is the cause (issue 15, point 5) ----------------------------------------


def test_the_earliest_failure_before_the_rollback_is_the_cause_and_a_delete_failed_is_a_second_line() -> None:
    # GIVEN a repository that failed first one level down, a deeper service that failed later
    # (a consequence in all but words), the root entering rollback, then a bucket the rollback
    # could not delete
    tree = StackTree(ROOT, "tap-demo")
    tree.add(CHILD, "tap-demo/Services", 1)
    tree.add(GRANDCHILD, "tap-demo/Services/Api", 2)
    not_empty = "The bucket you tried to delete is not empty (Service: S3, Status Code: 409)"
    tree.events[ROOT] = [
        StackEvent.from_api(event(ROOT, 40, "Services", STACK, "CREATE_FAILED", EMBEDDED_SERVICES, CHILD)),
        StackEvent.from_api(
            stack_event(ROOT, 41, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed")
        ),
        StackEvent.from_api(stack_event(ROOT, 70, "ROLLBACK_FAILED")),
    ]
    tree.events[CHILD] = [
        StackEvent.from_api(event(CHILD, 20, "Repository", "AWS::ECR::Repository", "CREATE_FAILED", FAILURE)),
        StackEvent.from_api(
            event(CHILD, 60, "Logs", "AWS::S3::Bucket", "DELETE_FAILED", not_empty, "logs-b")
        ),
    ]
    tree.events[GRANDCHILD] = [
        StackEvent.from_api(event(GRANDCHILD, 25, "Service", "AWS::ECS::Service", "CREATE_FAILED", "later")),
    ]
    # WHEN the cause is looked for
    cause = find_root_cause(tree)
    # THEN it is the earliest real failure, not the deepest, and the rollback's trouble comes second
    assert cause is not None
    assert (cause.stack, cause.logical_id) == ("tap-demo/Services", "Repository")
    first, second = cause.describe().splitlines()
    assert first.startswith("Root cause: Repository (AWS::ECR::Repository) in stack tap-demo/Services")
    assert second.startswith("Also, during the rollback: Logs (AWS::S3::Bucket) in stack tap-demo/Services")
    assert "DELETE_FAILED" in second and "not empty" in second


def test_depth_only_breaks_ties_between_failures_at_the_same_time() -> None:
    tree = StackTree(ROOT, "tap-demo")
    tree.add(CHILD, "tap-demo/Services", 1)
    tree.add(GRANDCHILD, "tap-demo/Services/Api", 2)
    tree.events[CHILD] = [
        StackEvent.from_api(event(CHILD, 20, "Repository", "AWS::ECR::Repository", "CREATE_FAILED", "x"))
    ]
    tree.events[GRANDCHILD] = [
        StackEvent.from_api(event(GRANDCHILD, 20, "Service", "AWS::ECS::Service", "CREATE_FAILED", "y"))
    ]
    cause = find_root_cause(tree)
    assert cause is not None and cause.stack == "tap-demo/Services/Api"


# --- watching survives the wire (point 6) ------------------------------------------------------

UPDATE_DONE = {
    "Stacks": [
        {"StackName": "tap-demo", "StackId": ROOT, "CreationTime": T0, "StackStatus": "UPDATE_COMPLETE"}
    ]
}
NO_RESOURCES = {"StackResourceSummaries": []}


def watcher_on(cfn: Any, sleeps: list[float]) -> EventWatcher:
    return EventWatcher(cfn, ROOT, "tap-demo", say=lambda _line: None, sleep=sleeps.append, delay=5.0)


def test_throttling_while_watching_backs_off_and_goes_on() -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    sleeps: list[float] = []
    with Stubber(cfn) as stubber:
        # botocore's own retries gave up: the call answers Throttling twice
        for _ in range(2):
            stubber.add_client_error("describe_stack_events", "Throttling", "Rate exceeded", 400)
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", NO_RESOURCES, {"StackName": ROOT})
        stubber.add_response("describe_stacks", UPDATE_DONE, {"StackName": ROOT})
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", NO_RESOURCES, {"StackName": ROOT})
        status = watcher_on(cfn, sleeps).wait()
        stubber.assert_no_pending_responses()
    assert status == ("UPDATE_COMPLETE", "")
    assert sleeps == [5.0, 10.0]  # backing off, doubling


def test_expired_credentials_stop_the_watch_with_one_line_saying_cloudformation_carries_on() -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    err = io.StringIO()
    console = Console(io.StringIO(), err, io.StringIO(), False, False)
    with Stubber(cfn) as stubber:
        stubber.add_client_error(
            "describe_stack_events",
            "ExpiredToken",
            "The security token included in the request is expired",
            403,
        )
        code = common.run(lambda: int(bool(watcher_on(cfn, []).wait())), console.err)
    assert code == 1
    assert err.getvalue().count("\n") == 1
    assert "credentials expired while watching tap-demo" in err.getvalue()
    assert "CloudFormation carries on" in err.getvalue()
    assert "aws cloudformation describe-stack-events --stack-name tap-demo" in err.getvalue()


def test_starting_a_watch_reads_only_the_newest_page_of_events() -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    old = [stack_event(ROOT, 0, "UPDATE_COMPLETE")]
    with Stubber(cfn) as stubber:
        # a long-lived stack: the first page says there are more (NextToken); they are older still
        stubber.add_response(
            "describe_stack_events", {"StackEvents": old, "NextToken": "page-2"}, {"StackName": ROOT}
        )
        watcher_on(cfn, []).start()
        stubber.assert_no_pending_responses()  # one call, and no call for page-2 was made


def test_the_last_poll_after_a_terminal_status_is_best_effort() -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", NO_RESOURCES, {"StackName": ROOT})
        stubber.add_response("describe_stacks", UPDATE_DONE, {"StackName": ROOT})
        stubber.add_client_error("describe_stack_events", "Throttling", "Rate exceeded", 400)
        status = watcher_on(cfn, []).wait()
        stubber.assert_no_pending_responses()
    assert status == ("UPDATE_COMPLETE", "")
