"""Why a deployment failed, in one line: the earliest real failure before the rollback began.

A nested failure echoes upwards: the parent's resource for the child stack fails with
"Embedded stack arn:... was not successfully created: ...", and siblings that were still being
made fail with "Resource creation cancelled". Those are consequences, not causes. Failures of
the rollback itself (a bucket that is not empty, an ENI still in use) come later and are
reported on a second line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tap_cfn.deploy.events import EventWatcher, StackEvent, StackTree

CONSEQUENCES = (
    "Resource creation cancelled",
    "Resource update cancelled",
    "Embedded stack ",
    "The following resource(s) failed to",
)

# A first create that failed and rolled back: the stack can only be deleted.
DEAD_ON_ARRIVAL = "ROLLBACK_COMPLETE"


# The root entering one of these marks where causes end and the rollback's own trouble begins.
ROLLBACK_STARTS = ("ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS")


@dataclass(frozen=True)
class Failure:
    stack: str  # label: root/Child/Grandchild
    logical_id: str
    resource_type: str
    status: str
    reason: str

    def describe(self) -> str:
        return (
            f"{self.logical_id} ({self.resource_type}) in stack {self.stack}: "
            f"{self.status}: {self.reason or 'no reason given'}"
        )


@dataclass(frozen=True)
class RootCause(Failure):
    during_rollback: Failure | None = None

    def describe(self) -> str:
        text = f"Root cause: {super().describe()}"
        if self.during_rollback is not None:
            text += f"\nAlso, during the rollback: {self.during_rollback.describe()}"
        return text


def is_consequence(event: StackEvent) -> bool:
    return any(text in event.reason for text in CONSEQUENCES)


def _rollback_start(tree: StackTree) -> datetime | None:
    starts = [
        e.timestamp
        for e in tree.events.get(tree.root_id, [])
        if e.is_stack_itself and e.status in ROLLBACK_STARTS
    ]
    return min(starts) if starts else None


def _failure(tree: StackTree, event: StackEvent) -> Failure:
    label = tree.labels.get(event.stack_id, event.stack_name)
    return Failure(label, event.logical_id, event.resource_type, event.status, event.reason)


def find_root_cause(tree: StackTree) -> RootCause | None:
    """The earliest failure that is not a consequence, before the root entered rollback.

    Depth only breaks ties. Falls back to the deepest, earliest consequence when no stack
    recorded the cause itself. A later DELETE_FAILED is kept as `during_rollback`.
    """
    failures = [
        (tree.depths[stack_id], event)
        for stack_id, events in tree.events.items()
        for event in events
        if event.failed and not event.is_stack_itself
    ]
    if not failures:
        return None
    rollback = _rollback_start(tree)
    before = [(d, e) for d, e in failures if rollback is None or e.timestamp <= rollback]
    causes = [(d, e) for d, e in before if not is_consequence(e)]
    if causes:
        _depth, event = min(causes, key=lambda item: (item[1].timestamp, -item[0]))
    else:
        _depth, event = min(before or failures, key=lambda item: (-item[0], item[1].timestamp))
    later = [
        e for _d, e in failures if e.status == "DELETE_FAILED" and e is not event and not is_consequence(e)
    ]
    first_later = min(later, key=lambda e: e.timestamp) if later else None
    return RootCause(
        **vars(_failure(tree, event)),
        during_rollback=_failure(tree, first_later) if first_later else None,
    )


def read_tree(cfn: Any, stack_id: str, stack_name: str) -> StackTree:
    """Every event of a stack and its nested stacks, deleted ones included (they answer by id)."""
    watcher = EventWatcher(cfn, stack_id, stack_name, say=lambda _line: None)
    watcher.poll()
    return watcher.tree


def explain_failure(cfn: Any, stack_id: str, stack_name: str) -> RootCause | None:
    return find_root_cause(read_tree(cfn, stack_id, stack_name))


# What each stuck state needs before CloudFormation takes a change set again, as data. Sources:
# stack status codes https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html
# ContinueUpdateRollback https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html
# DeleteStack (RetainResources for ROLLBACK_FAILED/DELETE_FAILED)
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html
_STATES = {
    DEAD_ON_ARRIVAL: (
        "its first create failed and was rolled back, and CloudFormation cannot update it",
        ["Delete it:                  {destroy}", "or delete and recreate it:  {deploy} --yes"],
    ),
    "REVIEW_IN_PROGRESS": (
        "a create change set was made but never executed, so it has no resources yet",
        ["Delete it:                  {destroy}", "or delete and recreate it:  {deploy} --yes"],
    ),
    "ROLLBACK_FAILED": (
        "its first create failed and so did the rollback; it can only be deleted",
        ["Fix what the rollback could not delete (above), then:  {destroy}"],
    ),
    "UPDATE_ROLLBACK_FAILED": (
        "an update failed and so did its rollback; it takes no update until the rollback is finished",
        [
            "Fix what blocked the rollback (above), then:  aws cloudformation continue-update-rollback "
            "--stack-name {stack}",
            "(a resource that cannot be rolled back can be skipped with --resources-to-skip LOGICAL_ID)",
            "and deploy again:  {deploy}",
        ],
    ),
    "DELETE_FAILED": (
        "a delete failed half way; it takes no update",
        ["Fix what blocked the delete (above, e.g. a bucket that is not empty), then:  {destroy}"],
    ),
}
# States that --yes may clear by deleting the stack: nothing in them is worth keeping.
REPLACEABLE = (DEAD_ON_ARRIVAL, "REVIEW_IN_PROGRESS")
STUCK = tuple(_STATES)


def state_advice(status: str, stack_name: str, destroy_command: str, deploy_command: str) -> str:
    """What `status` means for the stack and the commands that get it moving again."""
    meaning, steps = _STATES[status]
    commands = {"destroy": destroy_command, "deploy": deploy_command, "stack": stack_name}
    return "\n".join(
        [f"Stack {stack_name} is in {status}: {meaning}."]
        + ["  " + step.format(**commands) for step in steps]
    )
