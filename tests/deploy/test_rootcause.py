"""tap_cfn/deploy/rootcause.py: the cause of a failed deploy, found in a stack tree's events.

The local endpoint cannot fail the way CloudFormation does (asynchronously, three stacks
deep, with cancellations and "Embedded stack" echoes), so these tests replay what
CloudFormation returns (tests/deploy/recorded.py), through botocore's Stubber on a real client:
any call the code makes that is not in the script fails the test.
"""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from tap_cfn.deploy.events import EventWatcher, StackEvent, StackTree
from tap_cfn.deploy.rootcause import find_root_cause

from .recorded import (
    CANCELLED,
    CHILD,
    CHILD_EVENTS,
    EMBEDDED_SERVICES,
    FAILURE,
    GRANDCHILD,
    GRANDCHILD_EVENTS,
    NAMES,
    ROOT,
    ROOT_EVENTS,
    STACK,
    event,
    script_failed_tree,
    stack_event,
)


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
