"""What can be checked before a StackSet rollout, per target, and what cannot be seen from here."""

from __future__ import annotations

from typing import Any

from tap_cfn.cli.common import EXIT_FAILED, EXIT_OK
from tap_cfn.stackset.operations import MAX_BODY_BYTES, Admin, OpenTarget
from tap_cfn.stackset.plan import Plan, PlanError, check_regions_per_account, region_lines
from tap_cfn.stackset.progress import Io, one_line, paged

# The self-managed roles' default names.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
ADMIN_ROLE = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
_ACTIVE = ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE"]


def preflight(
    admin: Admin, plan: Plan, template: dict[str, Any], body_bytes: int, open_target: OpenTarget, io: Io
) -> int:
    """One line per check; exit 1 when a check failed (what cannot be seen is not a failure)."""
    from tap_cfn.deploy.aws import error_code, error_message

    problems = 0
    how = "TemplateBody" if body_bytes <= MAX_BODY_BYTES else "S3 TemplateURL in the administrator account"
    io.say(f"template: {len(template['Resources'])} resources, {body_bytes} bytes, sent as {how}")
    for line in region_lines(plan, template):
        io.say(line)
    try:
        check_regions_per_account(plan, template)
    except PlanError as exc:
        io.say(f"problem: {exc}")
        problems += 1
    if plan.service_managed:
        io.say("targets are OUs: AWS resolves their accounts; per-account checks cannot be run from here")
        io.say("not checked: trusted access for StackSets in AWS Organizations (management account only)")
        return EXIT_FAILED if problems else EXIT_OK
    assert admin.iam is not None
    try:
        admin.iam.get_role(RoleName=ADMIN_ROLE)
        io.say(f"administrator account: {ADMIN_ROLE} exists")
    except Exception as exc:
        if error_code(exc) == "NoSuchEntity":
            io.say(f"problem: {ADMIN_ROLE} is missing in the administrator account (see stackset/roles.yaml)")
            problems += 1
        else:
            io.say(f"cannot see whether {ADMIN_ROLE} exists: {error_message(exc)}")
    for account in plan.accounts:
        for region in plan.regions:
            try:
                cfn = open_target(account, region)
                stacks = paged(cfn.list_stacks, "StackSummaries", StackStatusFilter=_ACTIVE)
            except Exception as exc:
                io.say(f"{account} {region}: cannot see: {one_line(error_message(exc))}")
                continue
            limits = _limits(cfn)
            limit = limits.get("StackLimit")
            io.say(f"{account} {region}: reachable; {len(stacks)} stacks" + (f" of {limit}" if limit else ""))
            if limit and len(stacks) >= limit:
                io.say(f"problem: {account} {region} is at its stack quota")
                problems += 1
    return EXIT_FAILED if problems else EXIT_OK


def _limits(cfn: Any) -> dict[str, int]:
    """DescribeAccountLimits, or nothing when the endpoint does not answer it."""
    try:
        return {a["Name"]: a["Value"] for a in cfn.describe_account_limits().get("AccountLimits", [])}
    except Exception:
        return {}
