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

from tap_cfn import conventions
from tap_cfn.cli.common import DEFAULT_OUT, EXIT_FAILED, EXIT_OK, UsageError
from tap_cfn.conventions import SUFFIX_PARAMETER
from tap_cfn.deploy import protection, teardown
from tap_cfn.deploy.aws import Clients, error_code, error_message
from tap_cfn.deploy.changeset import (
    USE_PREVIOUS,
    ChangeSetError,
    ChangeSetRef,
    StackPlan,
    create_change_set,
    delete_change_set,
    is_no_change_reason,
    read_plan,
    render_parameters,
    render_plan,
    wait_for_change_set,
)
from tap_cfn.deploy.events import EventWatcher, WatchLost, list_nested_stacks, stack_status
from tap_cfn.deploy.packaging import (
    MAX_TEMPLATE_BODY_BYTES,
    PackagedTemplate,
    PackagingError,
    ensure_bucket,
    load_template,
    package,
    parse_template,
)
from tap_cfn.deploy.rollout import RolloutWatcher, explain_service, failed_service_arn, interrupted
from tap_cfn.deploy.rootcause import (
    REPLACEABLE,
    STUCK,
    RootCause,
    explain_failure,
    find_root_cause,
    state_advice,
)

SUCCESS = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


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
    verbose: bool = False  # tracebacks with the one-line errors

    @classmethod
    def system(cls, verbose: bool = False) -> Console:
        return cls(
            sys.stdout, sys.stderr, sys.stdin, sys.stdin.isatty(), sys.stdout.isatty(), verbose=verbose
        )

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
    templates_dir: Path = DEFAULT_OUT
    project: str = conventions.DEFAULT_PROJECT
    config: Path | None = None  # the config file the project came from, for the commands we suggest
    stem: str = conventions.ROOT_STEM  # the template deployed: <templates_dir>/<env>/<stem>.yaml

    @classmethod
    def registry(cls, templates_dir: Path, project: str, config: Path | None = None) -> Target:
        """The project's registry stack <project>-registry, from <templates_dir>/registry/registry.yaml."""
        name = conventions.REGISTRY
        return cls(name, name, templates_dir, project, config, stem=name)

    @property
    def is_registry(self) -> bool:
        return self.stem == conventions.REGISTRY

    @property
    def stack_name(self) -> str:
        return conventions.stack_name(self.project, self.suffix)

    @property
    def root_template(self) -> Path:
        return self.templates_dir / self.env / f"{self.stem}.yaml"

    def command(self, verb: str) -> str:
        if self.is_registry:
            return self._registry_command(verb)
        extra = f" --config {self.config}" if self.config else ""  # the templates come from it then
        extra += (
            f" --out {self.templates_dir}" if not self.config and self.templates_dir != DEFAULT_OUT else ""
        )
        return f"python generate.py {verb} --env {self.env} --suffix {self.suffix}{extra}"

    def _registry_command(self, verb: str) -> str:
        """The registry has `registry deploy` only (it outlives every environment): a stack to delete
        or a rollback to continue is CloudFormation's own command."""
        if verb == "deploy":
            return "python generate.py registry deploy" + (f" --config {self.config}" if self.config else "")
        aws = {"destroy": "delete-stack", "recover": "continue-update-rollback"}[verb]
        return f"aws cloudformation {aws} --stack-name {self.stack_name}"

    def validate(self) -> None:
        if self.suffix == conventions.REGISTRY and not self.is_registry:
            raise UsageError(
                f"--suffix {self.suffix}: reserved for the project's image registry "
                f"({conventions.registry_stack_name(self.project)}); pick another suffix"
            )
        if not conventions.is_suffix(self.suffix) or len(self.stack_name) > conventions.MAX_STACK_NAME:
            raise UsageError(
                f"--suffix {self.suffix!r}: use {conventions.SUFFIX_RULE} "
                f"(the stack will be {self.stack_name!r})"
            )


@dataclass(frozen=True)
class DeployOptions:
    parameters: dict[str, str] = field(default_factory=dict)
    bucket: str | None = None
    plan: bool = False
    yes: bool = False
    max_body_bytes: int = MAX_TEMPLATE_BODY_BYTES
    timeout: float | None = None  # seconds to watch before stopping with what is still in progress


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
    template: dict[str, Any],
    path: Path,
    suffix: str,
    given: dict[str, str],
    previous: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """The root's parameter values: --suffix plus --param, checked against the declarations.

    On UPDATE (`previous` holds the stack's current values) a declared parameter that is not
    given keeps its value (USE_PREVIOUS) instead of falling back to its default: a redeploy
    without --param CertificateArn=... keeps HTTPS on. Checked here so a typo fails in a second
    with the parameter's name, not minutes later.
    """
    declared: dict[str, Any] = template.get("Parameters") or {}
    if SUFFIX_PARAMETER in given:
        raise UsageError(f"--param {SUFFIX_PARAMETER}: the suffix is set with --suffix")
    values: dict[str, str | None] = dict(given)
    if SUFFIX_PARAMETER in declared:
        values[SUFFIX_PARAMETER] = suffix
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise UsageError(
            f"unknown parameter {', '.join(unknown)}: {path} declares {', '.join(sorted(declared)) or 'none'}"
        )
    for key in sorted(set(declared) - set(values)):
        if previous is not None and key in previous:
            values[key] = USE_PREVIOUS
    missing = sorted(k for k, spec in declared.items() if k not in values and "Default" not in spec)
    if missing:
        raise UsageError(
            f"missing parameter {', '.join(missing)}: pass " + " ".join(f"--param {k}=VALUE" for k in missing)
        )
    for key, value in values.items():
        problem = None if value is USE_PREVIOUS else constraint_violation(declared[key], value)
        if problem:
            raise UsageError(f"parameter {key}={value!r}: {problem}")
    return values


def parameter_changes(
    template: dict[str, Any], values: dict[str, str | None], previous: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(name, old, new) of each given parameter whose value differs from the stack's; NoEcho masked."""
    declared: dict[str, Any] = template.get("Parameters") or {}
    changes = []
    for key in sorted(k for k in values if k in previous and values[k] is not USE_PREVIOUS):
        old, new = previous[key], str(values[key])
        if str(declared.get(key, {}).get("NoEcho", "false")).lower() == "true":
            old, new = "****", "****"  # DescribeStacks masks NoEcho values: no comparison possible
        elif old == new:
            continue
        changes.append((key, old, new))
    return changes


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


@dataclass
class _Run:
    """One deploy in progress: what it was asked, what it found, what it reports."""

    clients: Clients
    target: Target
    options: DeployOptions
    console: Console
    result: DeployResult
    existing: dict[str, Any] | None = None

    @property
    def cfn(self) -> Any:
        return self.clients.cloudformation

    @property
    def status(self) -> str:
        return self.existing["StackStatus"] if self.existing else ""

    @property
    def is_update(self) -> bool:
        """An UPDATE change set; a stack that can only be replaced keeps nothing worth reusing."""
        return self.existing is not None and self.status not in REPLACEABLE

    def fail(self, message: str) -> DeployResult:
        self.console.warn(message)
        return self.result

    def advice(self, status: str) -> str:
        t = self.target
        return state_advice(status, t.stack_name, t.command("destroy"), t.command("deploy"))


def deploy(clients: Clients, target: Target, options: DeployOptions, console: Console) -> DeployResult:
    """Prepare, package, preview, decide, execute, watch and report. Raises UsageError for bad input."""
    target.validate()
    template = _load_root(target)
    run = _Run(clients, target, options, console, DeployResult(EXIT_FAILED, target.stack_name))
    console.say(
        f"Stack {target.stack_name} (env {target.env}, region {clients.region}) from {target.root_template}"
    )
    run.existing = describe_stack(run.cfn, target.stack_name)
    previous = _previous_parameters(run.existing) if run.is_update else None
    parameters = resolve_parameters(
        template, target.root_template, target.suffix, options.parameters, previous
    )
    if not _ready(run):
        return run.result
    packaged = _package(run)
    if packaged is None:
        return run.result
    preview = _preview(run, packaged, parameters)
    if preview is None:
        return run.result
    ref, plan = preview
    changed = parameter_changes(template, parameters, previous or {})
    if not _decide(run, ref, plan, template, changed, _kept(parameters)):
        return run.result
    result = _execute_and_watch(run, ref)
    if result.exit_code == EXIT_OK and clients.elbv2 is not None:  # protection comes after the create
        protection.after_deploy(run.cfn, clients.elbv2, target.stack_name, template, console.say)
    return result


def _load_root(target: Target) -> dict[str, Any]:
    root = target.root_template
    if not root.is_file():
        raise UsageError(f"no template {root}: run `python generate.py templates` first, or pass --out")
    try:
        return load_template(root)
    except PackagingError as exc:
        raise UsageError(str(exc)) from exc


def _previous_parameters(stack: dict[str, Any] | None) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters") or []}


def _kept(parameters: dict[str, str | None]) -> list[str]:
    return sorted(k for k, v in parameters.items() if v is USE_PREVIOUS)


def _ready(run: _Run) -> bool:
    """Recognise a stack that takes no change set and answer with its next step (or clear it)."""
    status, name = run.status, run.target.stack_name
    if status in STUCK:
        assert run.existing is not None
        cause = explain_failure(run.cfn, run.existing["StackId"], name)
        if cause:
            run.console.warn(cause.describe())
        if status not in REPLACEABLE or not run.options.yes:
            run.console.warn(run.advice(status))
            return False
        run.console.say(f"Deleting {name} ({status}) to create it again (--yes)")
        deleted, _ = _delete_and_wait(run.clients, run.existing, run.console)
        if deleted != "DELETE_COMPLETE":
            run.console.warn(f"Could not delete {name}: {deleted}")
            return False
        run.existing = None
    elif status.endswith("_IN_PROGRESS"):
        run.console.warn(f"Stack {name} is busy ({status}); wait for it to finish and retry")
        return False
    return True


def _package(run: _Run) -> PackagedTemplate | None:
    clients, console = run.clients, run.console
    try:
        bucket = ensure_bucket(clients.s3, clients.sts, clients.region, run.options.bucket, console.say)
        packaged = package(clients.s3, bucket, run.target.root_template, run.options.max_body_bytes)
    except PackagingError as exc:
        console.warn(f"Packaging failed: {exc}")
        return None
    run.result.bytes_uploaded = packaged.bytes_uploaded
    console.say(
        f"Uploaded {packaged.objects_uploaded} template(s), {packaged.bytes_uploaded} bytes, to s3://{bucket.name}"
        f" ({len(packaged.uploads) - packaged.objects_uploaded} already there)"
    )
    return packaged


def _stack_tags(run: _Run) -> dict[str, str]:
    """Ours over the stack's own: the tags given on UPDATE replace the stack's whole tag set, so
    tags added outside the tool are passed back (`aws:` tags are CloudFormation's, never passed).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html
    """
    theirs = {
        t["Key"]: t["Value"]
        for t in (run.existing or {}).get("Tags") or []
        if not t["Key"].startswith("aws:")
    }
    return {
        **theirs,
        conventions.TAG_MANAGED_BY: conventions.MANAGED_BY,
        conventions.TAG_ENVIRONMENT: run.target.env,
    }


def request_token() -> str:
    """A ClientRequestToken of the tool's: a retried call is recognised as the same request."""
    return f"{conventions.TOOL}-{uuid.uuid4().hex}"


def _preview(
    run: _Run, packaged: PackagedTemplate, parameters: dict[str, str | None]
) -> tuple[ChangeSetRef, StackPlan] | None:
    """Create the change set and read it as a plan; None (result set) when there is nothing to run."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    name = f"{conventions.CHANGE_SET_PREFIX}-{stamp}-{uuid.uuid4().hex[:6]}"
    change_set_type = "UPDATE" if run.is_update else "CREATE"
    stack = run.target.stack_name
    try:
        ref = create_change_set(run.cfn, stack, name, packaged, parameters, change_set_type, _stack_tags(run))
    except ChangeSetError as exc:
        run.fail(f"CloudFormation rejected the change set for {stack}: {exc}")
        return None
    if ref is None:
        _no_changes(run.result, run.console)
        return None
    console = run.console
    description = wait_for_change_set(run.cfn, ref.change_set_id, console.sleep, min(console.poll_delay, 2.0))
    if description["Status"] != "CREATE_COMPLETE":
        reason = description.get("StatusReason", "")
        _discard(run, ref)
        if is_no_change_reason(reason):
            _no_changes(run.result, console)
            return None
        run.fail(f"Change set for {stack} failed: {reason}")
        return None
    run.result.plan = read_plan(run.cfn, ref.change_set_id, stack)
    return ref, run.result.plan


def _discard(run: _Run, ref: ChangeSetRef) -> None:
    delete_change_set(run.cfn, ref.change_set_id)
    if ref.change_set_type == "CREATE":
        # The empty REVIEW_IN_PROGRESS stack a CREATE change set leaves would block the next run.
        run.cfn.delete_stack(StackName=ref.stack_id)


def _decide(
    run: _Run,
    ref: ChangeSetRef,
    plan: StackPlan,
    template: dict[str, Any],
    changed: list[tuple[str, str, str]],
    kept: list[str],
) -> bool:
    """Show the parameters, then the plan; True when the change set is to be executed."""
    console = run.console
    only_dynamic = plan.changes and not plan.has_certain_changes() and not changed
    if only_dynamic and not _outputs_changed(run.cfn, ref.stack_id, template):
        # Only `Dynamic` rows: nested stacks fed from sibling outputs that may change, and won't.
        _discard(run, ref)
        _no_changes(run.result, console)
        return False
    if changed or kept:
        console.say(render_parameters(changed, kept))
    console.say(render_plan(plan, color=console.tty) or "No resource changes: outputs or exports change")
    if run.options.plan:
        _discard(run, ref)
        console.say("Plan only (--plan): change set deleted, nothing executed")
        run.result.exit_code = EXIT_OK
        return False
    if run.options.yes:
        return True
    answer = console.confirm(f"Execute these {plan.count()} change(s) on {run.target.stack_name}?")
    if not answer:
        _discard(run, ref)
        console.warn(
            "Not executed: stdin is not a terminal to confirm on; rerun with --yes"
            if answer is None
            else "Not executed: declined"
        )
    return bool(answer)


def _outputs_changed(cfn: Any, stack_id: str, template: dict[str, Any]) -> bool:
    """Whether the root's Outputs differ from the deployed root's: no resource row shows that."""
    body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    deployed = parse_template(body) if isinstance(body, str) else body
    return bool((deployed or {}).get("Outputs") != template.get("Outputs"))


def _execute_and_watch(run: _Run, ref: ChangeSetRef) -> DeployResult:
    watcher = RolloutWatcher(
        run.cfn,
        ref.stack_id,
        run.target.stack_name,
        say=run.console.say,
        progress=run.console.progress,
        total=run.result.plan.count() if run.result.plan else None,
        sleep=run.console.sleep,
        delay=run.console.poll_delay,
        ecs=run.clients.client("ecs") if run.clients.factory else None,
        timeout=run.options.timeout,
    )
    watcher.start()
    started = time.monotonic()
    if not _execute(run, ref):
        return run.result
    run.result.executed = True
    try:
        status, reason = watcher.wait()
    except KeyboardInterrupt:
        run.console.say()  # end a half-written line before asking
        run.console.warn(interrupted(run.cfn, ref.stack_id, run.target.stack_name, run.console.confirm))
        return run.result
    run.result.status = status
    return _report(run, watcher, status, reason, time.monotonic() - started)


def _execute(run: _Run, ref: ChangeSetRef) -> bool:
    """ExecuteChangeSet with a request token; on an error, look before deciding.

    The token lets a retried call be recognised as the same request, and a first create
    deletes even Retain resources when it rolls back (RetainExceptOnCreate):
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
    """
    from botocore.exceptions import ClientError

    extra = {"RetainExceptOnCreate": True} if ref.change_set_type == "CREATE" else {}
    try:
        run.cfn.execute_change_set(
            ChangeSetName=ref.change_set_id, ClientRequestToken=request_token(), **extra
        )
        return True
    except ClientError as exc:
        answer = f"{error_code(exc)}: {error_message(exc)}"
    if _is_executing(run.cfn, ref):
        run.console.warn(f"ExecuteChangeSet answered {answer}, but the change set is executing: watching it")
        return True
    _discard(run, ref)
    run.console.warn(
        f"CloudFormation did not execute the change set for {run.target.stack_name} ({answer}); "
        "the change set was deleted and nothing changed"
    )
    return False


def _is_executing(cfn: Any, ref: ChangeSetRef) -> bool:
    """Whether the change set runs (or ran) after all: its ExecutionStatus, else the stack's status.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
    """
    from botocore.exceptions import ClientError

    try:
        execution = cfn.describe_change_set(ChangeSetName=ref.change_set_id).get("ExecutionStatus", "")
    except ClientError:
        execution = ""
    if execution in ("EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE", "EXECUTE_FAILED"):
        return True
    status, _reason = stack_status(cfn, ref.stack_id)
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def _report(run: _Run, watcher: EventWatcher, status: str, reason: str, elapsed: float) -> DeployResult:
    console, name = run.console, run.target.stack_name
    if status in SUCCESS:
        run.result.outputs = stack_outputs(run.cfn, name)
        console.say(f"{name}: {status} in {elapsed:.1f}s")
        _print_outputs(run.result.outputs, console)
        run.result.exit_code = EXIT_OK
        return run.result
    cause = run.result.root_cause = find_root_cause(watcher.tree)
    console.warn(cause.describe() if cause else f"Root cause: {reason or 'not reported'}")
    service = failed_service_arn(watcher, cause)
    if service and run.clients.factory:
        for line in explain_service(run.clients.client("ecs"), service):
            console.warn(line)
    console.warn(f"Deploy of {name} failed: stack is {status}" + (f" ({reason})" if reason else ""))
    if status in STUCK:
        console.warn(run.advice(status))
    return run.result


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


# Each error a user can hit, as one line with its next step.
_CHECK_STACK = (
    "CloudFormation carries on: follow it with `aws cloudformation describe-stack-events --stack-name {}`"
)


def explain(exc: BaseException) -> tuple[str | None, int]:
    """The one line (with its next step) and exit code for an error of the deployer; None when
    the error is not one of its own (the CLI's common handler takes it then)."""
    if isinstance(exc, WatchLost):
        return f"{exc}; refresh them. " + _CHECK_STACK.format(exc.stack_name), EXIT_FAILED
    if isinstance(exc, ChangeSetError):
        return f"change set: {exc} (rerun; --plan previews without executing)", EXIT_FAILED
    if isinstance(exc, TimeoutError):
        return f"{exc}; CloudFormation carries on: check with aws cloudformation describe-stacks", EXIT_FAILED
    return None, EXIT_FAILED
