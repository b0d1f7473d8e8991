"""Watch a stack tree: print new events of the root and every nested stack until it settles."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tap_cfn.deploy.aws import error_code, error_message
from tap_cfn.deploy.packaging import NESTED_STACK_TYPE

# Error codes of a throttled call that botocore's own retries did not absorb: back off, go on.
THROTTLING = ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException")
# Error codes of credentials that ran out while watching: the watch stops, CloudFormation does not.
EXPIRED = ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired")
MAX_BACKOFF_SECONDS = 60.0

# Statuses after which a resource needs no more work in this operation.
_DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "DELETE_SKIPPED", "IMPORT_COMPLETE")


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    stack_id: str
    stack_name: str
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> StackEvent:
        return cls(
            event_id=raw["EventId"],
            stack_id=raw["StackId"],
            stack_name=raw.get("StackName", ""),
            logical_id=raw.get("LogicalResourceId", ""),
            physical_id=raw.get("PhysicalResourceId", "") or "",
            resource_type=raw.get("ResourceType", ""),
            status=raw.get("ResourceStatus", ""),
            reason=raw.get("ResourceStatusReason", "") or "",
            timestamp=raw["Timestamp"],
        )

    @property
    def is_stack_itself(self) -> bool:
        """The event of the stack's own status, not of one of its resources."""
        return self.resource_type == NESTED_STACK_TYPE and self.physical_id == self.stack_id

    @property
    def nested_stack_id(self) -> str | None:
        """The nested stack this event is about, when it is a parent's event of a child stack."""
        if self.resource_type != NESTED_STACK_TYPE or self.is_stack_itself:
            return None
        return self.physical_id if self.physical_id.startswith("arn:") else None

    @property
    def failed(self) -> bool:
        return self.status.endswith("_FAILED")


def fetch_new_events(cfn: Any, stack_id: str, seen: set[str], since: datetime | None) -> list[StackEvent]:
    """Events of `stack_id` not in `seen` and not older than `since`, oldest first."""
    new: list[StackEvent] = []
    kwargs: dict[str, Any] = {"StackName": stack_id}
    while True:
        page = cfn.describe_stack_events(**kwargs)
        reached_known = False
        for raw in page.get("StackEvents") or []:  # newest first
            event = StackEvent.from_api(raw)
            if event.event_id in seen or (since is not None and event.timestamp < since):
                reached_known = True
                break
            new.append(event)
        if reached_known or not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    new.reverse()
    return new


def list_nested_stacks(cfn: Any, stack_id: str) -> list[tuple[str, str]]:
    """(logical id, stack id) of the live nested stacks of `stack_id`; [] if it has none or is gone."""
    from botocore.exceptions import ClientError

    found = []
    kwargs: dict[str, Any] = {"StackName": stack_id}
    try:
        while True:
            page = cfn.list_stack_resources(**kwargs)
            for summary in page.get("StackResourceSummaries") or []:
                physical = summary.get("PhysicalResourceId") or ""
                if summary.get("ResourceType") == NESTED_STACK_TYPE and physical:
                    found.append((summary["LogicalResourceId"], physical))
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError":
            return found
        raise


def stack_status(cfn: Any, stack_id: str) -> tuple[str, str]:
    """(status, reason) of a stack by id; deleted stacks still answer by id."""
    from botocore.exceptions import ClientError

    try:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return "DELETE_COMPLETE", ""
        raise
    return stack["StackStatus"], stack.get("StackStatusReason", "") or ""


def format_event(event: StackEvent, label: str) -> str:
    when = event.timestamp.strftime("%H:%M:%S")
    text = f"{when}  {label:<28} {event.logical_id:<28} {event.resource_type:<42} {event.status}"
    if event.reason:
        text += f"  {event.reason}"
    return text


@dataclass
class StackTree:
    """The stacks of one tree seen so far, labelled root/Child/Grandchild, with their events."""

    root_id: str
    root_name: str
    labels: dict[str, str] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    events: dict[str, list[StackEvent]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.add(self.root_id, self.root_name, 0)

    def add(self, stack_id: str, label: str, depth: int) -> bool:
        if stack_id in self.labels:
            return False
        self.labels[stack_id] = label
        self.depths[stack_id] = depth
        self.events[stack_id] = []
        return True

    def adopt_children(self, parent_id: str, children: Iterable[tuple[str, str]]) -> list[str]:
        added = []
        for logical_id, child_id in children:
            label = f"{self.labels[parent_id]}/{logical_id}"
            if self.add(child_id, label, self.depths[parent_id] + 1):
                added.append(child_id)
        return added


class WatchLost(Exception):
    """The watch had to stop (credentials expired) while CloudFormation carries on."""

    def __init__(self, message: str, stack_name: str) -> None:
        super().__init__(message)
        self.stack_name = stack_name


class EventWatcher:
    """Polls DescribeStackEvents for the root and each nested stack it discovers.

    Nested stacks are found from the parent's events (AWS) and from ListStackResources
    (endpoints that only record stack-level events). Only events newer than `start()` print.
    """

    def __init__(
        self,
        cfn: Any,
        root_id: str,
        root_name: str,
        say: Callable[[str], None],
        progress: Callable[[str], None] | None = None,
        total: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        delay: float = 5.0,
    ) -> None:
        self._cfn = cfn
        self.tree = StackTree(root_id, root_name)
        self._say = say
        self._progress = progress
        self._total = total
        self._sleep = sleep
        self._delay = delay
        self._seen: set[str] = set()
        self._since: datetime | None = None
        self._done: set[tuple[str, str]] = set()

    def start(self) -> None:
        """Mark what already happened as seen: call before executing or deleting.

        Only the newest page is read: older events are older still, and a long-lived stack
        has thousands of them (DescribeStackEvents returns newest first).
        """
        page = self._cfn.describe_stack_events(StackName=self.tree.root_id)
        for raw in page.get("StackEvents") or []:
            event = StackEvent.from_api(raw)
            self._seen.add(event.event_id)
            self._since = event.timestamp if self._since is None else max(self._since, event.timestamp)

    def poll(self) -> list[StackEvent]:
        """Fetch, record and print what is new in every known stack; discover nested ones."""
        new: list[StackEvent] = []
        pending = list(self.tree.labels)
        while pending:
            stack_id = pending.pop(0)
            events = fetch_new_events(self._cfn, stack_id, self._seen, self._since)
            for event in events:
                self._seen.add(event.event_id)
                self.tree.events.setdefault(stack_id, []).append(event)
                # Listed by name (some endpoints), the stack's events still carry its ARN.
                self.tree.labels.setdefault(event.stack_id, self.tree.labels[stack_id])
                self.tree.depths.setdefault(event.stack_id, self.tree.depths[stack_id])
            children = [(e.logical_id, e.nested_stack_id) for e in events if e.nested_stack_id]
            if events or stack_id == self.tree.root_id:
                children += list_nested_stacks(self._cfn, stack_id)
            pending += self.tree.adopt_children(stack_id, [(lid, sid) for lid, sid in children if sid])
            new.extend(events)
        new.sort(key=lambda e: e.timestamp)
        for event in new:
            self._say(format_event(event, self.tree.labels.get(event.stack_id, event.stack_name)))
            if event.status in _DONE and not event.is_stack_itself:
                self._done.add((event.stack_id, event.logical_id))
        if new and self._progress is not None and self._total:
            self._progress(f"  progress: {min(len(self._done), self._total)}/{self._total} resources done")
        return new

    def wait(self, max_polls: int = 2880) -> tuple[str, str]:
        """Poll until the root stack reaches a status that is not *_IN_PROGRESS.

        Throttling backs off and goes on; expired credentials raise WatchLost.
        """
        from botocore.exceptions import ClientError

        backoff = self._delay
        for _ in range(max_polls):
            try:
                self.poll()
                status, reason = stack_status(self._cfn, self.tree.root_id)
            except ClientError as exc:
                backoff = self._on_error(exc, backoff)
                continue
            backoff = self._delay
            if not status.endswith("_IN_PROGRESS"):
                self._last_poll()
                return status, reason
            self._sleep(self._delay)
        raise TimeoutError(f"stack {self.tree.root_name} still in progress after {max_polls} polls")

    def _on_error(self, exc: BaseException, backoff: float) -> float:
        code = error_code(exc)
        if code in EXPIRED:
            raise WatchLost(
                f"AWS credentials expired while watching {self.tree.root_name}", self.tree.root_name
            ) from exc
        if code not in THROTTLING:
            raise exc
        self._sleep(backoff)
        return min(backoff * 2 or 1.0, MAX_BACKOFF_SECONDS)

    def _last_poll(self) -> None:
        """The events that arrived with the final status: best effort, the status is already known."""
        from botocore.exceptions import BotoCoreError, ClientError

        with contextlib.suppress(ClientError, BotoCoreError):
            self.poll()
