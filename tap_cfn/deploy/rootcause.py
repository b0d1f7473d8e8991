"""Why a deployment failed, in one line: the first real failure in the deepest stack.

A nested failure echoes upwards: the parent's resource for the child stack fails with
"Embedded stack arn:... was not successfully created: ...", and siblings that were still being
made fail with "Resource creation cancelled". Those are consequences, not causes.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class RootCause:
    stack: str  # label: root/Child/Grandchild
    logical_id: str
    resource_type: str
    status: str
    reason: str

    def describe(self) -> str:
        return (
            f"Root cause: {self.logical_id} ({self.resource_type}) in stack {self.stack}: "
            f"{self.status}: {self.reason or 'no reason given'}"
        )


def is_consequence(event: StackEvent) -> bool:
    return any(text in event.reason for text in CONSEQUENCES)


def find_root_cause(tree: StackTree) -> RootCause | None:
    """The earliest failed resource event of the deepest stack that has a real failure.

    Falls back to the earliest consequence when no stack recorded the cause itself.
    """
    failures = [
        (tree.depths[stack_id], event)
        for stack_id, events in tree.events.items()
        for event in events
        if event.failed and not event.is_stack_itself
    ]
    if not failures:
        return None
    causes = [(depth, event) for depth, event in failures if not is_consequence(event)] or failures
    deepest = max(depth for depth, _ in causes)
    event = min((e for depth, e in causes if depth == deepest), key=lambda e: e.timestamp)
    return RootCause(
        stack=tree.labels[event.stack_id],
        logical_id=event.logical_id,
        resource_type=event.resource_type,
        status=event.status,
        reason=event.reason,
    )


def read_tree(cfn: Any, stack_id: str, stack_name: str) -> StackTree:
    """Every event of a stack and its nested stacks, deleted ones included (they answer by id)."""
    watcher = EventWatcher(cfn, stack_id, stack_name, say=lambda _line: None)
    watcher.poll()
    return watcher.tree


def explain_failure(cfn: Any, stack_id: str, stack_name: str) -> RootCause | None:
    return find_root_cause(read_tree(cfn, stack_id, stack_name))


def rollback_complete_advice(stack_name: str, destroy_command: str, deploy_command: str) -> str:
    return (
        f"Stack {stack_name} is in {DEAD_ON_ARRIVAL}: its first create failed and was rolled back, "
        f"and CloudFormation cannot update it.\n"
        f"  Delete it:                  {destroy_command}\n"
        f"  or delete and recreate it:  {deploy_command} --yes"
    )
