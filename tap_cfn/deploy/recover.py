"""recover: get a stack out of UPDATE_ROLLBACK_FAILED. Explain which resources block the rollback
(UPDATE_FAILED while rolling back), then ContinueUpdateRollback, skipping those the user names.

https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html
(ResourcesToSkip: only resources in UPDATE_FAILED; in a nested stack as NestedStackName.LogicalId,
the call made on the root stack.)
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.deployer import (
    EXIT_FAILED,
    EXIT_OK,
    Console,
    Target,
    UsageError,
    describe_stack,
    request_token,
)
from tap_cfn.deploy.events import EventWatcher, StackTree
from tap_cfn.deploy.rootcause import ROLLBACK_STARTS, read_tree, state_advice

STUCK = "UPDATE_ROLLBACK_FAILED"


@dataclass(frozen=True)
class Blocker:
    """A resource the rollback could not roll back, and the id ContinueUpdateRollback skips it by."""

    skip_id: str
    resource_type: str
    stack: str
    reason: str

    def describe(self) -> str:
        return f"  {self.skip_id} ({self.resource_type}) in {self.stack}: {self.reason or 'no reason given'}"


def blockers(tree: StackTree) -> list[Blocker]:
    """Resources whose latest event is UPDATE_FAILED after the root began rolling back."""
    root_events = tree.events.get(tree.root_id, [])
    starts = [e.timestamp for e in root_events if e.is_stack_itself and e.status in ROLLBACK_STARTS]
    if not starts:
        return []
    since = max(starts)
    found: dict[str, Blocker] = {}
    for stack_id, events in tree.events.items():
        label = tree.labels.get(stack_id, "")
        for event in sorted(events, key=lambda e: e.timestamp):
            if event.is_stack_itself or event.nested_stack_id is not None:
                continue  # a stack's own failure echoes its resources' failures
            # a nested resource is skipped as <its stack's logical id in the parent>.<logical id>
            skip_id = (
                event.logical_id
                if stack_id == tree.root_id
                else f"{label.rsplit('/', 1)[-1]}.{event.logical_id}"
            )
            if event.status == "UPDATE_FAILED" and event.timestamp >= since:
                found[skip_id] = Blocker(skip_id, event.resource_type, label, event.reason)
            elif event.timestamp >= since:
                found.pop(skip_id, None)  # rolled back after all
    return sorted(found.values(), key=lambda b: b.skip_id)


def recover(clients: Clients, target: Target, skip: list[str], yes: bool, console: Console) -> int:
    target.validate()
    cfn = clients.cloudformation
    stack = describe_stack(cfn, target.stack_name)
    if stack is None:
        console.warn(f"Stack {target.stack_name} does not exist (region {clients.region})")
        return EXIT_FAILED
    status = stack["StackStatus"]
    if status != STUCK:
        console.say(f"Stack {target.stack_name} is {status}: no rollback to continue")
        return EXIT_OK
    found = blockers(read_tree(cfn, stack["StackId"], target.stack_name))
    console.say(state_advice(status, target.stack_name, target.command("destroy"), target.command("deploy")))
    if found:
        console.say("These resources block the rollback (fix them, or skip them with --skip ID):")
        for blocker in found:
            console.say(blocker.describe())
    unknown = sorted(set(skip) - {b.skip_id for b in found})
    if unknown:
        raise UsageError(
            f"--skip {', '.join(unknown)}: only resources that failed the rollback can be skipped"
            + (f"; they are {', '.join(b.skip_id for b in found)}" if found else "; none did")
        )
    return _continue(clients, target, stack["StackId"], skip, yes, console)


def _continue(
    clients: Clients, target: Target, stack_id: str, skip: list[str], yes: bool, console: Console
) -> int:
    name = target.stack_name
    what = f"Continue the rollback of {name}" + (f", skipping {', '.join(skip)}" if skip else "")
    if skip:
        console.say(
            "Skipped resources are left as they are and marked UPDATE_COMPLETE: check them afterwards"
        )
    answer = True if yes else console.confirm(f"{what}?")
    if not answer:
        console.warn("Not continued: " + ("rerun with --yes" if answer is None else "declined"))
        return EXIT_FAILED
    watcher = EventWatcher(
        clients.cloudformation, stack_id, name, say=console.say, sleep=console.sleep, delay=console.poll_delay
    )
    watcher.start()
    clients.cloudformation.continue_update_rollback(
        StackName=stack_id, ResourcesToSkip=skip, ClientRequestToken=request_token()
    )
    status, reason = watcher.wait()
    if status == "UPDATE_ROLLBACK_COMPLETE":
        console.say(f"{name}: UPDATE_ROLLBACK_COMPLETE; deploy again with: {target.command('deploy')}")
        return EXIT_OK
    console.warn(
        f"{name} is {status}" + (f" ({reason})" if reason else "") + f"; run {target.command('recover')}"
    )
    return EXIT_FAILED
