"""tap_cfn/deploy/events.py: the watcher reads a stack tree's events on recorded answers (botocore's
Stubber on a real client: any call the code makes that is not in the script fails the test)."""

from __future__ import annotations

import io
from typing import Any

import boto3
from botocore.stub import Stubber

from tap_cfn.cli import common
from tap_cfn.deploy.deployer import Console
from tap_cfn.deploy.events import EventWatcher

from .recorded import (
    ROOT,
    T0,
    event,
    stack_event,
)


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
