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
# some endpoints (and on UpdateStack). Nothing else is a no-op: a CREATE_COMPLETE change set
# without resource changes still updates outputs and exports when executed.
NO_CHANGE_REASONS = ("didn't contain changes", "No updates are to be performed")

# A declared parameter the user did not pass keeps its value on UPDATE, as `aws cloudformation
# deploy` does: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html
USE_PREVIOUS = None


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
    # Known to happen. A Modify whose every detail is `Dynamic` (a nested stack fed from sibling
    # outputs shows one on every update) only may happen:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html
    certain: bool = True

    @property
    def is_nested_stack(self) -> bool:
        return self.resource_type == NESTED_STACK_TYPE

    @property
    def replacement_label(self) -> str:
        if self.replacement == "True" and self.certain:
            return "replaced"
        if self.replacement in ("True", "Conditional"):
            return "may be replaced"
        return "" if self.certain else "may change"

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> ResourceChange:
        rc = raw.get("ResourceChange") or {}
        action = rc.get("Action", "")
        details = rc.get("Details") or []
        dynamic_only = bool(details) and all(d.get("Evaluation") == "Dynamic" for d in details)
        return cls(
            action=action,
            logical_id=rc.get("LogicalResourceId", ""),
            resource_type=rc.get("ResourceType", ""),
            replacement=rc.get("Replacement", "") if action == "Modify" else "",
            physical_id=rc.get("PhysicalResourceId", ""),
            nested_change_set_id=rc.get("ChangeSetId", "") or "",
            certain=not (action == "Dynamic" or (action == "Modify" and dynamic_only)),
        )


@dataclass
class StackPlan:
    """The changes of one stack of the tree; `path` is root/Child/Grandchild by logical id."""

    path: str
    change_set_id: str
    changes: list[ResourceChange]
    children: list[StackPlan] = field(default_factory=list)

    def shown_changes(self) -> list[ResourceChange]:
        """Changes worth a row: a nested stack that only may change counts if its plan has rows."""
        children = {c.change_set_id: c for c in self.children}
        kept = []
        for change in self.changes:
            child = children.get(change.nested_change_set_id)
            if change.is_nested_stack and not change.certain and child is not None and not child.shown():
                continue
            kept.append(change)
        return kept

    def shown(self) -> bool:
        return bool(self.shown_changes())

    def has_certain_changes(self) -> bool:
        """Whether anything in the tree will change for sure (`Static`, added, removed)."""
        return any(change.certain for plan in self.walk() for change in plan.changes)

    def walk(self) -> Iterator[StackPlan]:
        yield self
        for child in self.children:
            yield from child.walk()

    def count(self) -> int:
        """How many resources the plan may touch, nested stacks' contents included."""
        return sum(len(plan.shown_changes()) for plan in self.walk())


@dataclass(frozen=True)
class ChangeSetRef:
    change_set_id: str
    stack_id: str
    change_set_type: str


def parameter_list(parameters: dict[str, str | None]) -> list[dict[str, Any]]:
    return [
        {"ParameterKey": k, "UsePreviousValue": True}
        if v is USE_PREVIOUS
        else {"ParameterKey": k, "ParameterValue": v}
        for k, v in sorted(parameters.items())
    ]


def create_change_set(
    cfn: Any,
    stack_name: str,
    change_set_name: str,
    template: PackagedTemplate,
    parameters: dict[str, str | None],
    change_set_type: str,
    tags: dict[str, str] | None = None,
) -> ChangeSetRef | None:
    """Create the change set; None when the endpoint answers that there is nothing to update.

    `tags` are the stack's whole tag set: on UPDATE the list given replaces the stack's tags,
    so the caller merges in the tags already there.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    """
    from botocore.exceptions import ClientError

    try:
        response = cfn.create_change_set(
            StackName=stack_name,
            ChangeSetName=change_set_name,
            ChangeSetType=change_set_type,
            Parameters=parameter_list(parameters),
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
    """The change set and, through each nested entry's ChangeSetId, those of its nested stacks.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/change-sets-for-nested-stacks.html
    """
    changes = [
        ResourceChange.from_api(raw)
        for raw in _describe_all(cfn, change_set_id)
        if raw.get("Type", "Resource") == "Resource"
    ]
    plan = StackPlan(path=path, change_set_id=change_set_id, changes=changes)
    for change in changes:
        if change.is_nested_stack and change.nested_change_set_id:
            plan.children.append(read_plan(cfn, change.nested_change_set_id, f"{path}/{change.logical_id}"))
    return plan


_ACTION_ORDER = {"Remove": 0, "Add": 1, "Modify": 2}


def render_parameters(changes: list[tuple[str, str, str]], kept: list[str]) -> str:
    """Parameter changes (name, old, new) and the parameters kept from the last deploy."""
    lines = [f"Parameter {name}: {old or '(empty)'} -> {new or '(empty)'}" for name, old, new in changes]
    if kept:
        lines.append(f"Parameters kept from the last deploy: {', '.join(kept)}")
    return "\n".join(lines)


def render_plan(plan: StackPlan, color: bool = False) -> str:
    """One table per stack that changes; replacements are flagged (in red on a terminal)."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    blocks = []
    for stack in plan.walk():
        changes = stack.shown_changes()
        if not changes:
            continue
        ordered = sorted(changes, key=lambda c: (_ACTION_ORDER.get(c.action, 3), c.logical_id))
        rows = [
            ("ACTION", "LOGICAL ID", "TYPE"),
            *((c.action, c.logical_id, c.resource_type) for c in ordered),
        ]
        labels = ["REPLACEMENT", *(c.replacement_label for c in ordered)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"Stack {stack.path}: {len(changes)} change(s)"]
        for index, row in enumerate(rows):
            text = "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
            label = labels[index]
            if label == "replaced":
                label = paint("replaced", "1;31")
            elif label == "may be replaced":
                label = paint(label, "33")
            elif index and row[0] == "Remove":
                text = paint(text, "33")
            lines.append(f"{text}  {label}".rstrip())
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
