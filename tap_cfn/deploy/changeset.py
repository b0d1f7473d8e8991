"""Change sets: create one with nested stacks included, wait for it, read it as a plan, print it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tap_cfn.deploy.aws import error_code, error_message
from tap_cfn.deploy.packaging import NESTED_STACK_TYPE, PackagedTemplate

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]

# How CloudFormation says "nothing to do": a FAILED change set on AWS, a ValidationError on
# some endpoints (and on UpdateStack).
NO_CHANGE_REASONS = ("didn't contain changes", "No updates are to be performed")


class ChangeSetError(Exception):
    """The change set could not be created; the message is CloudFormation's reason."""


def is_no_change_reason(reason: str | None) -> bool:
    return bool(reason) and any(text in str(reason) for text in NO_CHANGE_REASONS)


@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True | False | Conditional | "" (not applicable)
    physical_id: str = ""
    nested_change_set_id: str = ""

    @property
    def is_nested_stack(self) -> bool:
        return self.resource_type == NESTED_STACK_TYPE


@dataclass
class StackPlan:
    """The changes of one stack of the tree; `path` is root/Child/Grandchild by logical id."""

    path: str
    change_set_id: str
    changes: list[ResourceChange]
    children: list[StackPlan] = field(default_factory=list)

    def effective_changes(self) -> list[ResourceChange]:
        """Changes that do something: a nested stack counts only if its own plan has changes."""
        children = {c.change_set_id: c for c in self.children}
        kept = []
        for change in self.changes:
            child = children.get(change.nested_change_set_id)
            unchanged_child = child is not None and not child.has_changes()
            if change.is_nested_stack and change.action == "Modify" and unchanged_child:
                continue
            kept.append(change)
        return kept

    def has_changes(self) -> bool:
        return bool(self.effective_changes())

    def walk(self) -> Iterator[StackPlan]:
        yield self
        for child in self.children:
            yield from child.walk()

    def count(self) -> int:
        """How many resources the plan touches, nested stacks' contents included."""
        return sum(len(plan.effective_changes()) for plan in self.walk())


@dataclass(frozen=True)
class ChangeSetRef:
    change_set_id: str
    stack_id: str
    change_set_type: str


def create_change_set(
    cfn: Any,
    stack_name: str,
    change_set_name: str,
    template: PackagedTemplate,
    parameters: dict[str, str],
    change_set_type: str,
    tags: dict[str, str] | None = None,
) -> ChangeSetRef | None:
    """Create the change set; None when the endpoint answers that there is nothing to update."""
    from botocore.exceptions import ClientError

    try:
        response = cfn.create_change_set(
            StackName=stack_name,
            ChangeSetName=change_set_name,
            ChangeSetType=change_set_type,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
            Capabilities=CAPABILITIES,
            IncludeNestedStacks=True,
            Tags=[{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())],
            **template.template_argument(),
        )
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and is_no_change_reason(error_message(exc)):
            return None
        raise ChangeSetError(error_message(exc)) from exc
    return ChangeSetRef(response["Id"], response["StackId"], change_set_type)


def wait_for_change_set(
    cfn: Any,
    change_set_id: str,
    sleep: Callable[[float], None] = time.sleep,
    delay: float = 2.0,
    max_polls: int = 450,
) -> dict[str, Any]:
    """Poll until the change set is CREATE_COMPLETE or FAILED and return its description.

    The botocore waiter treats FAILED as an error; here it is an answer (often "no changes").
    """
    for _ in range(max_polls):
        description: dict[str, Any] = cfn.describe_change_set(ChangeSetName=change_set_id)
        if description["Status"] in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE", "DELETE_FAILED"):
            return description
        sleep(delay)
    raise ChangeSetError(f"change set {change_set_id} was still being created after {max_polls} polls")


def _describe_all(cfn: Any, change_set_id: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ChangeSetName": change_set_id}
    while True:
        page = cfn.describe_change_set(**kwargs)
        changes.extend(page.get("Changes") or [])
        if not page.get("NextToken"):
            return changes
        kwargs["NextToken"] = page["NextToken"]


def read_plan(cfn: Any, change_set_id: str, path: str) -> StackPlan:
    """The change set and, through each nested entry's ChangeSetId, those of its nested stacks."""
    changes = []
    for raw in _describe_all(cfn, change_set_id):
        if raw.get("Type", "Resource") != "Resource":
            continue
        rc = raw.get("ResourceChange") or {}
        changes.append(
            ResourceChange(
                action=rc.get("Action", ""),
                logical_id=rc.get("LogicalResourceId", ""),
                resource_type=rc.get("ResourceType", ""),
                replacement=rc.get("Replacement", "") if rc.get("Action") == "Modify" else "",
                physical_id=rc.get("PhysicalResourceId", ""),
                nested_change_set_id=rc.get("ChangeSetId", "") or "",
            )
        )
    plan = StackPlan(path=path, change_set_id=change_set_id, changes=changes)
    for change in changes:
        if change.is_nested_stack and change.nested_change_set_id:
            plan.children.append(read_plan(cfn, change.nested_change_set_id, f"{path}/{change.logical_id}"))
    return plan


_ACTION_ORDER = {"Remove": 0, "Add": 1, "Modify": 2}


def render_plan(plan: StackPlan, color: bool = False) -> str:
    """One table per stack that changes; replacements are flagged (in red on a terminal)."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    blocks = []
    for stack in plan.walk():
        changes = stack.effective_changes()
        if not changes:
            continue
        rows = [("ACTION", "LOGICAL ID", "TYPE", "REPLACEMENT")]
        for c in sorted(changes, key=lambda c: (_ACTION_ORDER.get(c.action, 3), c.logical_id)):
            rows.append((c.action, c.logical_id, c.resource_type, c.replacement or "-"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"Stack {stack.path}: {len(changes)} change(s)"]
        for index, row in enumerate(rows):
            text = "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
            replacement = row[3]
            if index and replacement in ("True", "Conditional"):
                replacement = paint(f"{replacement} (replaced)", "1;31")
            elif index and row[0] == "Remove":
                text = paint(text, "33")
            lines.append(f"{text}  {replacement}".rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def delete_change_set(cfn: Any, change_set_id: str) -> None:
    from botocore.exceptions import ClientError

    try:
        cfn.delete_change_set(ChangeSetName=change_set_id)
    except ClientError as exc:
        # Already gone is fine: the point was not to leave it behind.
        if error_code(exc) not in ("ChangeSetNotFound", "ValidationError"):
            raise
