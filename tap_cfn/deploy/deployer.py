"""deploy, destroy and outputs: the operations behind the CLI commands, clients passed in."""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tap_cfn.deploy import protection, teardown
from tap_cfn.deploy.aws import Clients, error_code, error_message
from tap_cfn.deploy.changeset import (
    ChangeSetError,
    StackPlan,
    create_change_set,
    delete_change_set,
    is_no_change_reason,
    read_plan,
    render_plan,
    wait_for_change_set,
)
from tap_cfn.deploy.events import EventWatcher, list_nested_stacks
from tap_cfn.deploy.packaging import (
    MAX_TEMPLATE_BODY_BYTES,
    PackagingError,
    ensure_bucket,
    load_template,
    package,
)
from tap_cfn.deploy.rootcause import (
    DEAD_ON_ARRIVAL,
    RootCause,
    explain_failure,
    find_root_cause,
    rollback_complete_advice,
)

SUFFIX_PARAMETER = "EnvironmentSuffix"
SUFFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
STACK_PREFIX = "tap-"
SUCCESS = ("CREATE_COMPLETE", "UPDATE_COMPLETE")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user (exit 2); the message names what is wrong."""


@dataclass
class Console:
    """Where the deployer talks and listens; tests pass StringIO and a no-op sleep."""

    out: TextIO
    err: TextIO
    stdin: TextIO
    interactive: bool  # stdin is a terminal: we may ask
    tty: bool  # stdout is a terminal: progress figures and colour
    sleep: Callable[[float], None] = time.sleep
    poll_delay: float = 5.0

    @classmethod
    def system(cls) -> Console:
        return cls(sys.stdout, sys.stderr, sys.stdin, sys.stdin.isatty(), sys.stdout.isatty())

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def progress(self, text: str) -> None:
        if self.tty:
            self.say(text)

    def ask(self, question: str) -> str | None:
        """A line typed by the user, None when there is no one to ask."""
        if not self.interactive:
            return None
        self.out.write(question)
        self.out.flush()
        return self.stdin.readline().strip()

    def confirm(self, question: str) -> bool | None:
        """True/False from the user, None when there is no one to ask."""
        if not self.interactive:
            return None
        self.out.write(f"{question} [y/N] ")
        self.out.flush()
        return self.stdin.readline().strip().lower() in ("y", "yes")


@dataclass(frozen=True)
class Target:
    """Which environment's templates go to which stack."""

    env: str
    suffix: str
    templates_dir: Path = Path("templates")

    @property
    def stack_name(self) -> str:
        return f"{STACK_PREFIX}{self.suffix}"

    @property
    def root_template(self) -> Path:
        return self.templates_dir / self.env / "root.yaml"

    def command(self, verb: str) -> str:
        return f"python generate.py {verb} --env {self.env} --suffix {self.suffix}"

    def validate(self) -> None:
        if not SUFFIX_PATTERN.match(self.suffix) or len(self.stack_name) > 128:
            raise UsageError(
                f"--suffix {self.suffix!r}: use lowercase letters, digits and inner hyphens "
                f"(the stack will be {self.stack_name!r})"
            )


@dataclass(frozen=True)
class DeployOptions:
    parameters: dict[str, str] = field(default_factory=dict)
    bucket: str | None = None
    plan: bool = False
    yes: bool = False
    max_body_bytes: int = MAX_TEMPLATE_BODY_BYTES


@dataclass
class DeployResult:
    exit_code: int
    stack_name: str
    bytes_uploaded: int = 0
    executed: bool = False
    plan: StackPlan | None = None
    status: str = ""
    root_cause: RootCause | None = None
    outputs: dict[str, str] = field(default_factory=dict)


def resolve_parameters(
    template: dict[str, Any], path: Path, suffix: str, given: dict[str, str]
) -> dict[str, str]:
    """The root's parameter values: --suffix plus --param, checked against the declarations.

    Checked here so a typo fails in a second with the parameter's name, not minutes later.
    """
    declared: dict[str, Any] = template.get("Parameters") or {}
    if SUFFIX_PARAMETER in given:
        raise UsageError(f"--param {SUFFIX_PARAMETER}: the suffix is set with --suffix")
    values = dict(given)
    if SUFFIX_PARAMETER in declared:
        values[SUFFIX_PARAMETER] = suffix
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise UsageError(
            f"unknown parameter {', '.join(unknown)}: {path} declares {', '.join(sorted(declared)) or 'none'}"
        )
    missing = sorted(k for k, spec in declared.items() if k not in values and "Default" not in spec)
    if missing:
        raise UsageError(
            f"missing parameter {', '.join(missing)}: pass " + " ".join(f"--param {k}=VALUE" for k in missing)
        )
    for key, value in values.items():
        problem = constraint_violation(declared[key], value)
        if problem:
            raise UsageError(f"parameter {key}={value!r}: {problem}")
    return values


def constraint_violation(spec: dict[str, Any], value: str) -> str | None:
    """What CloudFormation would reject about `value` for a String parameter, if anything."""
    if spec.get("Type", "String") != "String":
        return None
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return f"must be one of {', '.join(str(v) for v in spec['AllowedValues'])}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"must be at least {spec['MinLength']} characters"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"must be at most {spec['MaxLength']} characters"
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return spec.get("ConstraintDescription") or f"must match {spec['AllowedPattern']}"
    return None


def describe_stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return None
        raise
    return stacks[0] if stacks else None


def stack_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = describe_stack(cfn, stack_name) or {}
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}


def _delete_and_wait(clients: Clients, stack: dict[str, Any], console: Console) -> tuple[str, EventWatcher]:
    cfn = clients.cloudformation
    watcher = EventWatcher(
        cfn,
        stack["StackId"],
        stack["StackName"],
        say=console.say,
        progress=console.progress,
        total=count_resources(cfn, stack["StackId"]),
        sleep=console.sleep,
        delay=console.poll_delay,
    )
    watcher.start()
    cfn.delete_stack(StackName=stack["StackId"])
    status, _reason = watcher.wait()
    return status, watcher


def count_resources(cfn: Any, stack_id: str) -> int:
    """Resources of a live stack tree, nested stacks' contents included."""
    from botocore.exceptions import ClientError

    total, pending = 0, [stack_id]
    while pending:
        current = pending.pop()
        try:
            pages = cfn.get_paginator("list_stack_resources").paginate(StackName=current)
            total += sum(len(page.get("StackResourceSummaries") or []) for page in pages)
        except ClientError:
            continue
        pending += [child for _logical, child in list_nested_stacks(cfn, current)]
    return total


def deploy(clients: Clients, target: Target, options: DeployOptions, console: Console) -> DeployResult:
    """Package, preview, confirm, execute and watch. Raises UsageError for bad input."""
    target.validate()
    cfn = clients.cloudformation
    root = target.root_template
    if not root.is_file():
        raise UsageError(f"no template {root}: run `python generate.py templates` first, or pass --templates")
    try:
        template = load_template(root)
    except PackagingError as exc:
        raise UsageError(str(exc)) from exc
    parameters = resolve_parameters(template, root, target.suffix, options.parameters)
    result = DeployResult(EXIT_FAILED, target.stack_name)
    console.say(f"Stack {target.stack_name} (env {target.env}, region {clients.region}) from {root}")

    existing = describe_stack(cfn, target.stack_name)
    status = existing["StackStatus"] if existing else ""
    if status == DEAD_ON_ARRIVAL:
        cause = explain_failure(cfn, existing["StackId"], target.stack_name) if existing else None
        if cause:
            console.warn(cause.describe())
        if not options.yes:
            console.warn(
                rollback_complete_advice(
                    target.stack_name, target.command("destroy"), target.command("deploy")
                )
            )
            return result
        console.say(f"Deleting {target.stack_name} ({DEAD_ON_ARRIVAL}) to create it again (--yes)")
        assert existing is not None
        deleted, _ = _delete_and_wait(clients, existing, console)
        if deleted != "DELETE_COMPLETE":
            console.warn(f"Could not delete {target.stack_name}: {deleted}")
            return result
        existing, status = None, ""
    elif status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        console.warn(f"Stack {target.stack_name} is busy ({status}); wait for it to finish and retry")
        return result
    change_set_type = "UPDATE" if existing and status != "REVIEW_IN_PROGRESS" else "CREATE"

    try:
        bucket = ensure_bucket(clients.s3, clients.sts, clients.region, options.bucket, console.say)
        packaged = package(clients.s3, bucket, root, options.max_body_bytes)
    except PackagingError as exc:
        console.warn(f"Packaging failed: {exc}")
        return result
    result.bytes_uploaded = packaged.bytes_uploaded
    console.say(
        f"Uploaded {packaged.objects_uploaded} template(s), {packaged.bytes_uploaded} bytes, to s3://{bucket}"
        f" ({len(packaged.uploads) - packaged.objects_uploaded} already there)"
    )

    name = f"tap-cfn-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    tags = {"ManagedBy": "tap-cfn", "Environment": target.env}
    try:
        ref = create_change_set(cfn, target.stack_name, name, packaged, parameters, change_set_type, tags)
    except ChangeSetError as exc:
        console.warn(f"CloudFormation rejected the change set for {target.stack_name}: {exc}")
        return result
    if ref is None:
        return _no_changes(result, console)

    def discard() -> None:
        delete_change_set(cfn, ref.change_set_id)
        if ref.change_set_type == "CREATE":
            # The empty REVIEW_IN_PROGRESS stack a CREATE change set leaves would block the next run.
            cfn.delete_stack(StackName=ref.stack_id)

    description = wait_for_change_set(cfn, ref.change_set_id, console.sleep, min(console.poll_delay, 2.0))
    if description["Status"] != "CREATE_COMPLETE":
        reason = description.get("StatusReason", "")
        discard()
        if is_no_change_reason(reason):
            return _no_changes(result, console)
        console.warn(f"Change set for {target.stack_name} failed: {reason}")
        return result

    plan = result.plan = read_plan(cfn, ref.change_set_id, target.stack_name)
    if not plan.has_changes():
        discard()
        return _no_changes(result, console)
    console.say(render_plan(plan, color=console.tty))
    if options.plan:
        discard()
        console.say("Plan only (--plan): change set deleted, nothing executed")
        result.exit_code = EXIT_OK
        return result
    if not options.yes:
        answer = console.confirm(f"Execute these {plan.count()} change(s) on {target.stack_name}?")
        if not answer:
            discard()
            console.warn(
                "Not executed: stdin is not a terminal to confirm on; rerun with --yes"
                if answer is None
                else "Not executed: declined"
            )
            return result

    watcher = EventWatcher(
        cfn,
        ref.stack_id,
        target.stack_name,
        say=console.say,
        progress=console.progress,
        total=plan.count(),
        sleep=console.sleep,
        delay=console.poll_delay,
    )
    watcher.start()
    result = _execute(clients, target, ref.change_set_id, ref.change_set_type, watcher, result, console)
    if result.exit_code == EXIT_OK and clients.elbv2 is not None:  # hook: deploy/protection.py
        protection.after_deploy(cfn, clients.elbv2, target.stack_name, template, console.say)
    return result


def _execute(
    clients: Clients,
    target: Target,
    change_set_id: str,
    change_set_type: str,
    watcher: EventWatcher,
    result: DeployResult,
    console: Console,
) -> DeployResult:
    from botocore.exceptions import ClientError

    cfn = clients.cloudformation
    api_error = ""
    started = time.monotonic()
    try:
        cfn.execute_change_set(ChangeSetName=change_set_id)
    except ClientError as exc:
        # Some endpoints fail synchronously instead of through stack events.
        api_error = error_message(exc)
    result.executed = True
    status, reason = watcher.wait()
    result.status = status
    elapsed = time.monotonic() - started
    if status in SUCCESS and not api_error:
        result.outputs = stack_outputs(cfn, target.stack_name)
        console.say(f"{target.stack_name}: {status} in {elapsed:.1f}s")
        _print_outputs(result.outputs, console)
        result.exit_code = EXIT_OK
        return result

    cause = result.root_cause = find_root_cause(watcher.tree)
    console.warn(cause.describe() if cause else f"Root cause: {api_error or reason or 'not reported'}")
    console.warn(
        f"Deploy of {target.stack_name} failed: stack is {status}" + (f" ({reason})" if reason else "")
    )
    if status == DEAD_ON_ARRIVAL and change_set_type == "CREATE":
        console.warn(
            rollback_complete_advice(target.stack_name, target.command("destroy"), target.command("deploy"))
        )
    return result


def _no_changes(result: DeployResult, console: Console) -> DeployResult:
    console.say(f"No changes: {result.stack_name} already matches the templates and parameters")
    result.exit_code = EXIT_OK
    return result


def _print_outputs(outputs: dict[str, str], console: Console) -> None:
    if not outputs:
        return
    width = max(len(k) for k in outputs)
    console.say("Outputs:")
    for key in sorted(outputs):
        console.say(f"  {key.ljust(width)}  {outputs[key]}")


def destroy(clients: Clients, target: Target, yes: bool, console: Console) -> int:
    target.validate()
    cfn = clients.cloudformation
    stack = describe_stack(cfn, target.stack_name)
    if stack is None:
        console.say(f"Stack {target.stack_name} does not exist: nothing to destroy")
        return EXIT_OK
    console.say(f"Stack {target.stack_name} ({stack['StackStatus']}, region {clients.region})")
    if not yes:
        answer = console.confirm(f"Delete {target.stack_name} and every resource it created?")
        if not answer:
            console.warn(
                "Not deleted: stdin is not a terminal to confirm on; rerun with --yes"
                if answer is None
                else "Not deleted: declined"
            )
            return EXIT_FAILED
    # hooks: deploy/protection.py (typed stack name lifts it), deploy/teardown.py (empty buckets)
    if clients.elbv2 is not None and not protection.before_destroy(
        cfn, clients.elbv2, target.stack_name, console.ask, console.warn
    ):
        return EXIT_FAILED
    teardown.before_destroy(cfn, clients.s3, clients.elbv2, target.stack_name, console.say)
    status, watcher = _delete_and_wait(clients, stack, console)
    if status == "DELETE_COMPLETE":
        console.say(f"{target.stack_name}: DELETE_COMPLETE (the artifact bucket is kept)")
        return EXIT_OK
    cause = find_root_cause(watcher.tree)
    if cause:
        console.warn(cause.describe())
    console.warn(f"Destroy of {target.stack_name} failed: stack is {status}")
    return EXIT_FAILED


def outputs(clients: Clients, target: Target, as_json: bool, console: Console) -> int:
    target.validate()
    stack = describe_stack(clients.cloudformation, target.stack_name)
    if stack is None:
        console.warn(f"Stack {target.stack_name} does not exist (region {clients.region})")
        return EXIT_FAILED
    values = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}
    if as_json:
        console.say(json.dumps(values, indent=2, sort_keys=True))
    else:
        _print_outputs(values, console)
    return EXIT_OK


def run_safely(operation: Callable[[], int], console: Console) -> int:
    """Map the errors a user can fix to exit codes and one-line messages."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        return operation()
    except UsageError as exc:
        console.warn(f"error: {exc}")
        return EXIT_USAGE
    except (NoRegionError, ProfileNotFound) as exc:
        console.warn(f"error: {exc} (pass --region / --profile or configure the AWS CLI)")
        return EXIT_USAGE
    except NoCredentialsError:
        console.warn("error: no AWS credentials found (set AWS_PROFILE or pass --profile)")
        return EXIT_FAILED
    except ClientError as exc:
        console.warn(f"error: {exc.operation_name}: {error_code(exc)}: {error_message(exc)}")
        return EXIT_FAILED
    except BotoCoreError as exc:
        console.warn(f"error: {exc}")
        return EXIT_FAILED
