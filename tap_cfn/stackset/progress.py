"""Following a StackSet operation: a line per instance as it changes, done-of-total, the summary,
and for a failed instance the reason CloudFormation gives and, where the target account can be
read, the first failed resource of the instance's stack."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# StackSetOperation.Status values that end an operation; per-instance results that are final.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationResultSummary.html
OPERATION_DONE = {"SUCCEEDED", "FAILED", "STOPPED"}
RESULT_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


@dataclass
class Io:
    """Where progress goes and how the user answers; `sleep` and the delay are for tests."""

    say: Callable[[str], None]
    ask: Callable[[str], str] | None = None  # None: no terminal to ask on
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 10.0


@dataclass
class Outcome:
    operation_id: str
    status: str
    results: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "SUCCEEDED"

    def summary(self) -> str:
        counts = Counter(r["Status"] for r in self.results)
        parts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no instances"
        tail = f" ({self.reason})" if self.reason else ""
        return f"operation {self.operation_id} {self.status}: {parts}{tail}"


def one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def paged(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = call(**kwargs)
        items.extend(page.get(key) or [])
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def wait(cfn: Any, name: str, operation_id: str, io: Io, expected: int = 0) -> Outcome:
    """Poll the operation until it ends, printing each instance whose status changed."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    while True:
        operation = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)
        status = operation["StackSetOperation"]["Status"]
        results = paged(
            cfn.list_stack_set_operation_results, "Summaries", StackSetName=name, OperationId=operation_id
        )
        total = max(expected, len(results))
        done = sum(1 for r in results if r["Status"] in RESULT_DONE)
        for result in results:
            key = (result["Account"], result["Region"])
            state = (result["Status"], result.get("StatusReason", ""))
            if seen.get(key) != state:
                seen[key] = state
                io.say(instance_line(result, f"[{done}/{total}]"))
        if status in OPERATION_DONE:
            reason = operation["StackSetOperation"].get("StatusReason", "")
            return Outcome(operation_id, status, results, reason)
        io.sleep(io.poll_seconds)


def instance_line(item: dict[str, Any], prefix: str = "") -> str:
    """`account region STATUS (detailed) reason` for an operation result or a stack instance."""
    detailed = (item.get("StackInstanceStatus") or {}).get("DetailedStatus")
    status = item.get("Status", "")
    if detailed and detailed != status:
        status = f"{status} ({detailed})"
    reason = item.get("StatusReason") or ""
    return " ".join(p for p in (prefix, item["Account"], item["Region"], status, reason) if p)


def is_failed(instance: dict[str, Any]) -> bool:
    detailed = (instance.get("StackInstanceStatus") or {}).get("DetailedStatus")
    return detailed in {"FAILED", "FAILED_IMPORT"} or instance.get("Status") == "INOPERABLE"


def first_failure(target_cfn: Any, stack_id: str) -> str | None:
    """The earliest failed resource event of an instance's stack that is a cause, not an echo."""
    from tap_cfn.deploy.events import fetch_new_events
    from tap_cfn.deploy.rootcause import is_consequence

    events = [
        e for e in fetch_new_events(target_cfn, stack_id, set(), None) if e.failed and not e.is_stack_itself
    ]
    causes = [e for e in events if not is_consequence(e)] or events
    if not causes:
        return None
    event = min(causes, key=lambda e: e.timestamp)
    return f"{event.logical_id} ({event.resource_type}) {event.status}: {event.reason}"


def explain_failures(
    cfn: Any, name: str, open_target: Callable[[str, str], Any], io: Io
) -> list[dict[str, Any]]:
    """Print each failed instance and its root cause; returns the failed instances."""
    from tap_cfn.deploy.aws import error_message

    failed = [i for i in paged(cfn.list_stack_instances, "Summaries", StackSetName=name) if is_failed(i)]
    for instance in failed:
        io.say(f"failed: {instance_line(instance)}")
        stack_id = instance.get("StackId")
        if not stack_id:
            io.say("  no stack was created in the target (see the reason above)")
            continue
        try:
            cause = first_failure(open_target(instance["Account"], instance["Region"]), stack_id)
        except Exception as exc:  # AccessDenied, no role to assume: say what we cannot see
            io.say(f"  cannot read the stack events in {instance['Account']}: {one_line(error_message(exc))}")
            continue
        io.say(f"  root cause: {cause or 'no failed resource event recorded'}")
    return failed
