"""StackSet operations: deploy (create or update the set, then its instances), status, outputs,
destroy and preflight. Every function takes its clients; `open_target(account, region)` returns a
CloudFormation client inside a target account, or raises when the caller cannot get one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tap_cfn.cli.common import EXIT_FAILED, EXIT_OK, UsageError
from tap_cfn.stackset.plan import Plan
from tap_cfn.stackset.progress import Io, Outcome, explain_failures, instance_line, one_line, paged, wait

# The flat template creates named IAM roles.
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
NO_TERMINAL = "no terminal to confirm on; pass --yes"
# CreateStackSet: TemplateBody up to 51,200 bytes; TemplateURL (S3) up to 1 MB.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html
MAX_BODY_BYTES = 51_200
OpenTarget = Callable[[str, str], Any]


@dataclass(frozen=True)
class Admin:
    """The administrator account's clients (the StackSet lives in its region)."""

    cloudformation: Any
    s3: Any | None = None
    sts: Any | None = None
    iam: Any | None = None
    region: str = ""


def find(cfn: Any, name: str) -> dict[str, Any] | None:
    from tap_cfn.deploy.aws import error_code

    try:
        return dict(cfn.describe_stack_set(StackSetName=name)["StackSet"])
    except Exception as exc:
        if error_code(exc) == "StackSetNotFoundException":
            return None
        raise


def instances(cfn: Any, name: str) -> list[dict[str, Any]]:
    return paged(cfn.list_stack_instances, "Summaries", StackSetName=name)


def template_argument(
    admin: Admin, body: str, bucket: str | None, say: Callable[[str], None]
) -> dict[str, str]:
    """TemplateBody when it fits, else the template uploaded to the artifact bucket of the
    administrator account (only the StackSet reads it, so no cross-account policy is needed)."""
    if len(body.encode()) <= MAX_BODY_BYTES:
        return {"TemplateBody": body}
    from tap_cfn.deploy.packaging import KEY_PREFIX, ensure_bucket, object_url

    assert admin.s3 is not None and admin.sts is not None
    found = ensure_bucket(admin.s3, admin.sts, admin.region, bucket, say)
    key = f"{KEY_PREFIX}/stackset/{hashlib.sha256(body.encode()).hexdigest()}.json"
    # the bucket must be ours, as for every artifact upload (tap_cfn/deploy/packaging.py)
    admin.s3.put_object(Bucket=found.name, Key=key, Body=body.encode(), ExpectedBucketOwner=found.owner)
    return {"TemplateURL": object_url(admin.s3, found, key)}


def _parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


def deploy(cfn: Any, plan: Plan, template: dict[str, str], io: Io, open_target: OpenTarget) -> int:
    """Create or update the StackSet, then create or update its instances region group by group.
    Returns the exit code: 0 when every operation succeeded."""
    existing = find(cfn, plan.name)
    prefs = plan.preferences.as_api()
    if existing is None:
        io.say(f"Creating StackSet {plan.name} ({'service' if plan.service_managed else 'self'}-managed)")
        create: dict[str, Any] = {
            "StackSetName": plan.name,
            "Parameters": _parameters(plan.parameters),
            "Capabilities": CAPABILITIES,
            "PermissionModel": "SERVICE_MANAGED" if plan.service_managed else "SELF_MANAGED",
            **template,
        }
        if plan.service_managed:
            create["AutoDeployment"] = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
        cfn.create_stack_set(**create)
        current: list[dict[str, Any]] = []
        now: dict[str, dict[str, str]] = {}
    else:
        current = instances(cfn, plan.name)
        now = current_overrides(cfn, plan, current)
        previous = {p["ParameterKey"] for p in existing.get("Parameters", [])} - set(plan.parameters)
        params = _parameters(plan.parameters) + [
            {"ParameterKey": k, "UsePreviousValue": True} for k in sorted(previous)
        ]
        io.say(f"Updating StackSet {plan.name} and its {len(current)} instances")
        op = cfn.update_stack_set(
            StackSetName=plan.name,
            Parameters=params,
            Capabilities=CAPABILITIES,
            OperationPreferences=prefs,
            **template,
        )
        if not _run(cfn, plan, op["OperationId"], io, len(current), open_target):
            return EXIT_FAILED
    for call, kwargs, count in instance_calls(plan, current, now):
        io.say(f"{call.replace('_', ' ').capitalize()}: {', '.join(kwargs['Regions'])} ({count} instances)")
        op = getattr(cfn, call)(StackSetName=plan.name, OperationPreferences=prefs, **kwargs)
        if not _run(cfn, plan, op["OperationId"], io, count, open_target):
            return EXIT_FAILED
    return EXIT_OK


def current_overrides(cfn: Any, plan: Plan, current: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per region the plan overrides, the ParameterOverrides its existing instances have now, read
    from one of them (DescribeStackInstance; the plan gives every account of a region the same)."""
    found: dict[str, dict[str, str]] = {}
    for instance in current:
        region = instance["Region"]
        if region in found or not plan.region_parameters.get(region):
            continue
        answer = cfn.describe_stack_instance(
            StackSetName=plan.name, StackInstanceAccount=instance["Account"], StackInstanceRegion=region
        )["StackInstance"]
        found[region] = {
            p["ParameterKey"]: p.get("ParameterValue", "") for p in answer.get("ParameterOverrides", [])
        }
    return found


def instance_calls(
    plan: Plan, current: list[dict[str, Any]], now: dict[str, dict[str, str]] | None = None
) -> list[tuple[str, dict[str, Any], int]]:
    """(API call, arguments, instance count) to bring the instances to the plan: creations for
    missing (account, region) pairs, updates where a region's overrides differ from `now` (what
    `current_overrides` read; None: update every region with overrides). An update of the set keeps
    each instance's overrides, so unchanged ones need no operation of their own.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackInstances.html"""
    have = {(i["Account"], i["Region"]) for i in current}
    regions_with_any = {i["Region"] for i in current}
    calls: list[tuple[str, dict[str, Any], int]] = []
    for regions, overrides in plan.override_groups():
        override_args = {"ParameterOverrides": _parameters(overrides)} if overrides else {}
        if plan.service_managed:  # OU membership is resolved by AWS: create where the region is new
            new = [r for r in regions if r not in regions_with_any]
            if new:
                calls.append(
                    (
                        "create_stack_instances",
                        {"DeploymentTargets": plan.deployment_targets(), "Regions": new, **override_args},
                        len(new),
                    )
                )
            continue
        by_accounts: dict[tuple[str, ...], list[str]] = {}
        for region in regions:
            missing = tuple(a for a in plan.accounts if (a, region) not in have)
            if missing:
                by_accounts.setdefault(missing, []).append(region)
        for accounts, new_regions in by_accounts.items():
            calls.append(
                (
                    "create_stack_instances",
                    {"Accounts": list(accounts), "Regions": new_regions, **override_args},
                    len(accounts) * len(new_regions),
                )
            )
        existing = [r for r in regions if any((a, r) in have for a in plan.accounts)]
        existing = [r for r in existing if now is None or now.get(r) != overrides]
        if existing and overrides:
            updated = [a for a in plan.accounts if any((a, r) in have for r in existing)]
            calls.append(
                (
                    "update_stack_instances",
                    {"Accounts": updated, "Regions": existing, **override_args},
                    len(updated) * len(existing),
                )
            )
    return calls


def _run(cfn: Any, plan: Plan, operation_id: str, io: Io, expected: int, open_target: OpenTarget) -> bool:
    outcome: Outcome = wait(cfn, plan.name, operation_id, io, expected)
    io.say(outcome.summary())
    if not outcome.ok:
        explain_failures(cfn, plan.name, open_target, io)
    return outcome.ok


def preview(plan: Plan, current: list[dict[str, Any]], now: dict[str, dict[str, str]], io: Io) -> None:
    """What deploy would do. StackSets have no change sets: which resources of each instance
    would change cannot be shown; `deploy --plan` against one target account shows that."""
    for call, kwargs, count in instance_calls(plan, current, now) or [("nothing", {"Regions": []}, 0)]:
        overrides = " ".join(
            f"{p['ParameterKey']}={p['ParameterValue']}" for p in kwargs.get("ParameterOverrides", [])
        )
        where = kwargs.get("Accounts") or kwargs.get("DeploymentTargets", {}).get("OrganizationalUnitIds", [])
        regions = ",".join(kwargs["Regions"])
        io.say(f"{call}: {count} instances, {','.join(where)} x {regions} {overrides}".rstrip())
    if current:
        io.say(f"update_stack_set: the template and parameters of the {len(current)} existing instances")
    io.say("not shown: per-resource changes of each instance (the StackSet API has no change sets)")


def status(cfn: Any, name: str, io: Io) -> int:
    stack_set = find(cfn, name)
    if stack_set is None:
        io.say(f"StackSet {name} does not exist")
        return EXIT_FAILED
    io.say(f"StackSet {name}: {stack_set['Status']}, {stack_set.get('PermissionModel', 'SELF_MANAGED')}")
    found = instances(cfn, name)
    current = sum(1 for i in found if i.get("Status") == "CURRENT")
    io.say(f"{current} of {len(found)} instances CURRENT")
    for instance in sorted(found, key=lambda i: (i["Account"], i["Region"])):
        io.say("  " + instance_line(instance))
    operations = paged(cfn.list_stack_set_operations, "Summaries", StackSetName=name)
    if operations:
        last = max(operations, key=lambda o: o["CreationTimestamp"])
        io.say(f"last operation: {last['Action']} {last['Status']} ({last['OperationId']})")
    return EXIT_OK if current == len(found) else EXIT_FAILED


def outputs(cfn: Any, name: str, open_target: OpenTarget, io: Io) -> dict[str, dict[str, str]]:
    """Outputs of every instance, read in its account: `account/region` -> {key: value}."""
    from tap_cfn.deploy.aws import error_message

    found: dict[str, dict[str, str]] = {}
    for instance in sorted(instances(cfn, name), key=lambda i: (i["Account"], i["Region"])):
        label = f"{instance['Account']}/{instance['Region']}"
        try:
            target = open_target(instance["Account"], instance["Region"])
            stack = target.describe_stacks(StackName=instance["StackId"])["Stacks"][0]
        except Exception as exc:
            io.say(f"{label}: cannot read the instance's outputs: {one_line(error_message(exc))}")
            continue
        found[label] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return found


def destroy(cfn: Any, name: str, yes: bool, io: Io) -> int:
    """Delete every instance (their stacks with them), then the StackSet; asks to type its name."""
    stack_set = find(cfn, name)
    if stack_set is None:
        io.say(f"StackSet {name} does not exist; nothing to delete")
        return EXIT_OK
    found = instances(cfn, name)
    io.say(f"StackSet {name}: {len(found)} instances will be deleted with their stacks")
    if not yes:
        if io.ask is None:
            raise UsageError(f"stackset: destroy: {NO_TERMINAL}")
        if io.ask(f"Type the StackSet name ({name}) to delete it: ").strip() != name:
            io.say("not deleted")
            return EXIT_FAILED
    if found:
        service = stack_set.get("PermissionModel") == "SERVICE_MANAGED"
        regions = sorted({i["Region"] for i in found})
        targets: dict[str, Any]
        if service:
            ous = sorted({i["OrganizationalUnitId"] for i in found if i.get("OrganizationalUnitId")})
            targets = {"DeploymentTargets": {"OrganizationalUnitIds": ous}}
        else:
            targets = {"Accounts": sorted({i["Account"] for i in found})}
        op = cfn.delete_stack_instances(StackSetName=name, Regions=regions, RetainStacks=False, **targets)
        outcome = wait(cfn, name, op["OperationId"], io, len(found))
        io.say(outcome.summary())
        if not outcome.ok:
            return EXIT_FAILED
    cfn.delete_stack_set(StackSetName=name)
    io.say(f"StackSet {name} deleted")
    return EXIT_OK
