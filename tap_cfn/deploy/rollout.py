"""What ECS is doing while CloudFormation waits on a service, and why a service failed.

CloudFormation only says a service "did not stabilize"; ECS knows the rollout (running, pending,
desired, the deployment's rollout state, failed tasks), the stopped tasks' reasons and the service
events. The watcher here is the deployer's EventWatcher with that view added after every poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tap_cfn.deploy.events import EventWatcher, StackEvent
from tap_cfn.deploy.rootcause import RootCause

SERVICE_TYPE = "AWS::ECS::Service"
STOPPED_TASKS_SHOWN = 3
SERVICE_EVENTS_SHOWN = 3


def cluster_of(service_arn: str) -> str:
    """The cluster in a long-format service ARN: arn:...:service/CLUSTER/NAME.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html (ARN format)
    """
    parts = service_arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) == 3 else "default"


def rollout_line(service: dict[str, Any]) -> str:
    """running/pending/desired, the primary deployment's rollout state and failed tasks.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
    """
    primary: dict[str, Any] = next(
        (d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"),
        {},
    )
    text = (
        f"  ecs {service.get('serviceName', '?')}: {service.get('runningCount', 0)} running, "
        f"{service.get('pendingCount', 0)} pending, {service.get('desiredCount', 0)} desired"
    )
    if primary.get("rolloutState"):
        text += f", rollout {primary['rolloutState']}"
    if primary.get("failedTasks"):
        text += f", {primary['failedTasks']} failed task(s)"
    return text


@dataclass(frozen=True)
class StoppedTask:
    arn: str
    reason: str  # the task's stoppedReason, then each container's reason / exit code
    log: str  # "group stream" of the essential container, "" without awslogs

    def describe(self) -> str:
        text = f"    task {self.arn}: {self.reason}"
        return text + (
            f"\n      logs: aws logs get-log-events --log-group-name {self.log}" if self.log else ""
        )


def _task_reason(task: dict[str, Any]) -> str:
    """stoppedReason plus what each container says: CannotPullContainerError, exit codes, ...
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
    """
    parts = [task.get("stoppedReason") or task.get("stopCode") or "stopped"]
    for container in task.get("containers") or []:
        bits = []
        if container.get("reason"):
            bits.append(container["reason"])
        if container.get("exitCode") is not None:
            bits.append(f"exit code {container['exitCode']}")
        if bits:
            parts.append(f"{container.get('name', '?')}: {'; '.join(bits)}")
    return " | ".join(parts)


def _log_location(ecs: Any, task: dict[str, Any], cache: dict[str, dict[str, Any]]) -> str:
    """The awslogs group and stream of the task's first container: PREFIX/CONTAINER/TASK-ID.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
    """
    arn = task.get("taskDefinitionArn", "")
    if not arn:
        return ""
    if arn not in cache:
        cache[arn] = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    for container in cache[arn].get("containerDefinitions") or []:
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") == "awslogs" and "awslogs-group" in options:
            task_id = task["taskArn"].rsplit("/", 1)[-1]
            stream = f"{options.get('awslogs-stream-prefix', '')}/{container['name']}/{task_id}"
            return f"{options['awslogs-group']} --log-stream-name {stream}"
    return ""


def stopped_tasks(ecs: Any, cluster: str, service_name: str) -> list[StoppedTask]:
    """The latest stopped tasks of a service, newest first (ECS keeps them about an hour).
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
    """
    arns = ecs.list_tasks(cluster=cluster, serviceName=service_name, desiredStatus="STOPPED").get("taskArns")
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks") or []
    tasks.sort(key=lambda t: t.get("stoppedAt") or t.get("createdAt") or 0, reverse=True)
    cache: dict[str, dict[str, Any]] = {}
    return [
        StoppedTask(t["taskArn"], _task_reason(t), _log_location(ecs, t, cache))
        for t in tasks[:STOPPED_TASKS_SHOWN]
    ]


def explain_service(ecs: Any, service_arn: str) -> list[str]:
    """What ECS knows about a failed service: its rollout, stopped tasks and last events."""
    cluster = cluster_of(service_arn)
    services = ecs.describe_services(cluster=cluster, services=[service_arn]).get("services") or []
    if not services:
        return [f"ECS has no service {service_arn} any more"]
    service = services[0]
    lines = ["What ECS says:", rollout_line(service)]
    tasks = stopped_tasks(ecs, cluster, service["serviceName"])
    if tasks:
        lines.append("  latest stopped tasks:")
        lines += [task.describe() for task in tasks]
    events = sorted(service.get("events") or [], key=lambda e: e["createdAt"], reverse=True)
    if events:
        lines.append("  last service events:")
        lines += [f"    {e['createdAt']:%H:%M:%S}  {e['message']}" for e in events[:SERVICE_EVENTS_SHOWN]]
    return lines


def _service_arn(event: StackEvent) -> str:
    return (
        event.physical_id if event.physical_id.startswith("arn:") and ":service/" in event.physical_id else ""
    )


def failed_service_arn(watcher: EventWatcher, cause: RootCause | None) -> str:
    """The ARN of the service the root cause is about, from its events in the tree."""
    if cause is None or cause.resource_type != SERVICE_TYPE:
        return ""
    for events in watcher.tree.events.values():
        for event in reversed(events):
            label = watcher.tree.labels.get(event.stack_id)
            if event.logical_id == cause.logical_id and _service_arn(event) and label == cause.stack:
                return _service_arn(event)
    return ""


class RolloutWatcher(EventWatcher):
    """The deployer's watcher, showing each ECS service's rollout while its resource is in progress
    and stopping at a deadline (--timeout) with what was still in progress."""

    def __init__(
        self,
        *args: Any,
        ecs: Any = None,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._ecs = ecs
        self._clock = clock
        self._deadline = None if timeout is None else clock() + timeout
        self._timeout = timeout
        self._shown: dict[str, str] = {}

    def poll(self) -> list[StackEvent]:
        new = super().poll()
        if self._ecs is not None:
            self._show_rollouts()
        if self._deadline is not None and self._clock() >= self._deadline:
            busy = ", ".join(self.in_progress()) or "the stack itself"
            raise TimeoutError(f"--timeout {self._timeout:g}s reached; still in progress: {busy}")
        return new

    def _last_poll(self) -> None:
        self._deadline = None  # the final status is known: no deadline for the last events
        super()._last_poll()

    def latest(self) -> dict[tuple[str, str], StackEvent]:
        """The newest event of each resource of the tree, by (stack label, logical id)."""
        latest: dict[tuple[str, str], StackEvent] = {}
        for stack_id, events in self.tree.events.items():
            for event in events:
                if not event.is_stack_itself:
                    latest[(self.tree.labels.get(stack_id, event.stack_name), event.logical_id)] = event
        return latest

    def in_progress(self) -> list[str]:
        return sorted(
            f"{label}/{logical} ({event.status})"
            for (label, logical), event in self.latest().items()
            if event.status.endswith("_IN_PROGRESS") and event.nested_stack_id is None
        )

    def _show_rollouts(self) -> None:
        """A line per ECS service in progress, printed when it changes."""
        for event in self.latest().values():
            arn = _service_arn(event)
            if not arn or event.resource_type != SERVICE_TYPE or not event.status.endswith("_IN_PROGRESS"):
                continue
            services = self._ecs.describe_services(cluster=cluster_of(arn), services=[arn]).get("services")
            line = rollout_line(services[0]) if services else ""
            if line and self._shown.get(arn) != line:
                self._shown[arn] = line
                self._say(line)


def interrupted(cfn: Any, stack_id: str, stack_name: str, confirm: Callable[[str], bool | None]) -> str:
    """Ctrl-C while watching: cancel the update or leave it running. Returns the line to print.
    CancelUpdateStack only applies to UPDATE_IN_PROGRESS; a create cannot be cancelled.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html
    """
    from tap_cfn.deploy.events import stack_status

    follow = f"follow it with: aws cloudformation describe-stack-events --stack-name {stack_name}"
    status, _reason = stack_status(cfn, stack_id)
    if status != "UPDATE_IN_PROGRESS":
        return f"Stopped watching; {stack_name} is {status} and CloudFormation carries on: {follow}"
    if confirm(f"Cancel the update of {stack_name} (CloudFormation rolls it back)?"):
        cfn.cancel_update_stack(StackName=stack_id)
        return f"Update of {stack_name} cancelled: CloudFormation rolls it back; {follow}"
    return f"Left the update of {stack_name} running; {follow}"
