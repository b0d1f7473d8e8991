"""Drift detection over the root stack and every nested stack, with a CloudFormation client passed in.

CloudFormation detects drift one stack at a time (the root's detection does not look inside its
nested stacks), so every stack of the tree gets its own detection; they run side by side and are
polled until each finishes. The report lists the drifted resources with their property differences.

Exit codes: 0 in sync, 3 drifted (even if some resources could not be checked), 1 error, including a
detection that failed or timed out without finding drift (the stacks may or may not be in sync).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tap_cfn.cli.common import EXIT_DRIFTED
from tap_cfn.cli.common import EXIT_FAILED as EXIT_ERROR
from tap_cfn.cli.common import EXIT_OK as EXIT_IN_SYNC
from tap_cfn.conventions import TAG_ENVIRONMENT

STACK_TYPE = "AWS::CloudFormation::Stack"
DRIFTED_STATUSES = ["MODIFIED", "DELETED"]
IN_PROGRESS = "DETECTION_IN_PROGRESS"


class DriftError(Exception):
    """Drift detection could not run (the stack is missing, busy, or AWS said no); one line."""


class WrongEnvironment(DriftError):
    """The stack was deployed from another environment's templates than the one named."""


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str  # ADD, REMOVE, NOT_EQUAL
    expected: str | None
    actual: str | None


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    resource_type: str
    physical_id: str
    status: str  # MODIFIED or DELETED
    differences: list[Difference]


@dataclass
class StackDrift:
    label: str  # "root" or the nested stack's logical ID path, e.g. NetworkStack
    stack_id: str
    detection_id: str = ""
    detection: str = IN_PROGRESS  # DETECTION_COMPLETE, DETECTION_FAILED, or TIMED_OUT
    status: str = "UNKNOWN"  # IN_SYNC, DRIFTED, UNKNOWN, NOT_CHECKED
    reason: str = ""
    resources: list[ResourceDrift] = field(default_factory=list)


@dataclass
class DriftReport:
    stack_name: str
    stacks: list[StackDrift]

    @property
    def drifted(self) -> list[StackDrift]:
        return [s for s in self.stacks if s.status == "DRIFTED" or s.resources]

    @property
    def incomplete(self) -> list[StackDrift]:
        return [s for s in self.stacks if s.detection != "DETECTION_COMPLETE"]

    @property
    def exit_code(self) -> int:
        if self.drifted:
            return EXIT_DRIFTED
        return EXIT_ERROR if self.incomplete else EXIT_IN_SYNC


def _aws_message(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError  # e.g. an endpoint without drift support

    return ClientError, BotoCoreError, ResponseParserError


def _call(what: str, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    try:
        return fn(**kwargs)
    except _aws_errors() as exc:
        raise DriftError(f"{what}: {_aws_message(exc)}") from exc


def root_stack(cfn: Any, stack_name: str, environment: str | None = None) -> dict[str, Any]:
    """The root stack's description; DriftError when it does not exist, WrongEnvironment when its
    Environment tag (set by the deployer) names another environment."""
    stacks = _call(f"stack {stack_name}", cfn.describe_stacks, StackName=stack_name)["Stacks"]
    if not stacks:
        raise DriftError(f"stack {stack_name} does not exist")
    tags = {t["Key"]: t["Value"] for t in stacks[0].get("Tags", [])}
    deployed = tags.get(TAG_ENVIRONMENT)
    if environment is not None and deployed is not None and deployed != environment:
        raise WrongEnvironment(f"stack {stack_name} is the {deployed} environment, not {environment}")
    return stacks[0]


def stack_tree(cfn: Any, stack_id: str, label: str = "root") -> list[StackDrift]:
    """The stack and, depth first, every nested stack below it (labelled by logical ID path)."""
    found = [StackDrift(label, stack_id)]
    paginator = cfn.get_paginator("list_stack_resources")
    nested = []
    try:
        for page in paginator.paginate(StackName=stack_id):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] == STACK_TYPE and resource.get("PhysicalResourceId"):
                    nested.append((resource["LogicalResourceId"], resource["PhysicalResourceId"]))
    except _aws_errors() as exc:
        raise DriftError(f"listing the resources of {label}: {_aws_message(exc)}") from exc
    for logical_id, physical_id in sorted(nested):
        child_label = logical_id if label == "root" else f"{label}/{logical_id}"
        found.extend(stack_tree(cfn, physical_id, child_label))
    return found


def _differences(raw: list[dict[str, Any]]) -> list[Difference]:
    return [
        Difference(d["PropertyPath"], d["DifferenceType"], d.get("ExpectedValue"), d.get("ActualValue"))
        for d in raw
    ]


def drifted_resources(cfn: Any, stack_id: str) -> list[ResourceDrift]:
    resources: list[ResourceDrift] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"StackName": stack_id, "StackResourceDriftStatusFilters": DRIFTED_STATUSES}
        if token:
            kwargs["NextToken"] = token
        page = _call("reading resource drifts", cfn.describe_stack_resource_drifts, **kwargs)
        for drift in page["StackResourceDrifts"]:
            resources.append(
                ResourceDrift(
                    logical_id=drift["LogicalResourceId"],
                    resource_type=drift["ResourceType"],
                    physical_id=drift.get("PhysicalResourceId", ""),
                    status=drift["StackResourceDriftStatus"],
                    differences=_differences(drift.get("PropertyDifferences", [])),
                )
            )
        token = page.get("NextToken")
        if not token:
            return sorted(resources, key=lambda r: r.logical_id)


def detect(
    cfn: Any,
    stack_name: str,
    *,
    environment: str | None = None,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = lambda _: None,
) -> DriftReport:
    """Start drift detection on `stack_name` and every nested stack, wait, and collect the drifts."""
    root = root_stack(cfn, stack_name, environment)
    stacks = stack_tree(cfn, root["StackId"])
    for stack in stacks:
        answer = _call(
            f"starting drift detection on {stack.label}", cfn.detect_stack_drift, StackName=stack.stack_id
        )
        stack.detection_id = answer["StackDriftDetectionId"]
    progress(f"detecting drift on {len(stacks)} stacks of {stack_name}")
    deadline = clock() + timeout_seconds
    waiting = list(stacks)
    while waiting:
        for stack in list(waiting):
            status = _call(
                f"drift detection status of {stack.label}",
                cfn.describe_stack_drift_detection_status,
                StackDriftDetectionId=stack.detection_id,
            )
            if status["DetectionStatus"] == IN_PROGRESS:
                continue
            stack.detection = status["DetectionStatus"]
            stack.status = status.get("StackDriftStatus", "UNKNOWN")
            stack.reason = status.get("DetectionStatusReason", "")
            waiting.remove(stack)
        if not waiting:
            break
        if clock() >= deadline:
            for stack in waiting:
                stack.detection = "TIMED_OUT"
                stack.reason = f"no result within {timeout_seconds:g} s"
            break
        sleep(poll_seconds)
    for stack in stacks:
        # A failed detection still has results for the resources it could check.
        if stack.detection != "TIMED_OUT":
            stack.resources = drifted_resources(cfn, stack.stack_id)
    return DriftReport(stack_name, stacks)


def _value(text: str | None) -> str:
    return "(none)" if text is None else text


def render(report: DriftReport) -> str:
    lines = []
    for stack in report.stacks:
        count = f", {len(stack.resources)} drifted" if stack.resources else ""
        detection = "" if stack.detection == "DETECTION_COMPLETE" else f" [{stack.detection}: {stack.reason}]"
        lines.append(f"{stack.label}: {stack.status}{count}{detection}")
        for resource in stack.resources:
            where = f"{resource.resource_type} {resource.physical_id}".strip()
            lines.append(f"  {resource.logical_id} ({where}): {resource.status}")
            for diff in resource.differences:
                expected, actual = _value(diff.expected), _value(diff.actual)
                lines.append(f"    {diff.path}: {diff.kind} expected {expected} actual {actual}")
    drifted = report.drifted
    if drifted:
        total = sum(len(s.resources) for s in drifted)
        verdict = f"DRIFTED: {total} resources in {len(drifted)} of {len(report.stacks)} stacks"
    elif report.incomplete:
        verdict = f"UNKNOWN: detection did not complete on {len(report.incomplete)} stacks"
    else:
        verdict = f"IN SYNC: {len(report.stacks)} stacks"
    lines.append(f"{report.stack_name}: {verdict}")
    return "\n".join(lines) + "\n"
