"""What a destroy leaves behind: every resource the templates retain (DeletionPolicy Retain or
RetainExceptOnCreate, which CloudFormation reports as DELETE_SKIPPED), with the command that removes
it; `--purge` removes them after the same confirmation.

https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html

Buckets are emptied (every version and delete marker) by the teardown module of issue 10; this
module takes that as `empty_bucket` and only deletes a bucket once it is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tap_cfn.deploy import teardown
from tap_cfn.deploy.aws import Clients, error_code
from tap_cfn.deploy.deployer import EXIT_FAILED, EXIT_OK, Console, Target, describe_stack, destroy
from tap_cfn.deploy.events import list_nested_stacks
from tap_cfn.deploy.rootcause import state_advice

RETAINING = ("Retain", "RetainExceptOnCreate")


@dataclass(frozen=True)
class Leftover:
    stack: str  # label root/Child
    logical_id: str
    resource_type: str
    physical_id: str

    @property
    def command(self) -> str:
        make = REMOVAL.get(self.resource_type)
        return make[0](self.physical_id) if make else f"delete it in the console ({self.resource_type})"


# How each retained type is removed: the CLI line shown, and the boto3 call --purge makes.
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogGroup.html
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepository.html (force: with images)
# https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html (7 to 30 days)
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html (only when empty)
REMOVAL: dict[str, tuple[Callable[[str], str], str, Callable[[Any, str], Any]]] = {
    "AWS::Logs::LogGroup": (
        lambda name: f"aws logs delete-log-group --log-group-name {name}",
        "logs",
        lambda c, name: c.delete_log_group(logGroupName=name),
    ),
    "AWS::ECR::Repository": (
        lambda name: f"aws ecr delete-repository --repository-name {name} --force",
        "ecr",
        lambda c, name: c.delete_repository(repositoryName=name, force=True),
    ),
    "AWS::KMS::Key": (
        lambda key: f"aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 7",
        "kms",
        lambda c, key: c.schedule_key_deletion(KeyId=key, PendingWindowInDays=7),
    ),
    "AWS::SecretsManager::Secret": (
        lambda arn: f"aws secretsmanager delete-secret --secret-id {arn} --recovery-window-in-days 7",
        "secretsmanager",
        lambda c, arn: c.delete_secret(SecretId=arn, RecoveryWindowInDays=7),
    ),
    "AWS::S3::Bucket": (
        lambda name: f"empty every version of s3://{name}, then: aws s3api delete-bucket --bucket {name}",
        "s3",
        lambda c, name: c.delete_bucket(Bucket=name),
    ),
}


def retained_resources(cfn: Any, stack_id: str, stack_name: str) -> list[Leftover]:
    """Resources of the live tree whose template says Retain/RetainExceptOnCreate: read before the
    delete, while every stack still answers ListStackResources and GetTemplate."""
    from tap_cfn.deploy.packaging import parse_template

    found, pending = [], [(stack_id, stack_name)]
    while pending:
        current, label = pending.pop(0)
        body = cfn.get_template(StackName=current, TemplateStage="Processed")["TemplateBody"]
        template = parse_template(body) if isinstance(body, str) else body
        policies = {
            k: r.get("DeletionPolicy", "Delete") for k, r in (template.get("Resources") or {}).items()
        }
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=current):
            for summary in page.get("StackResourceSummaries") or []:
                logical, physical = summary["LogicalResourceId"], summary.get("PhysicalResourceId") or ""
                if policies.get(logical) in RETAINING and physical:
                    found.append(Leftover(label, logical, summary["ResourceType"], physical))
        pending += [(child, f"{label}/{logical}") for logical, child in list_nested_stacks(cfn, current)]
    return found


def report(leftovers: list[Leftover], console: Console) -> None:
    if not leftovers:
        console.say("Nothing retained: every resource was deleted")
        return
    console.say(f"Retained, left behind on purpose ({len(leftovers)}); remove each with:")
    for item in leftovers:
        console.say(f"  {item.resource_type:<28} {item.physical_id}\n      {item.command}")


def purge(
    clients: Clients,
    leftovers: list[Leftover],
    console: Console,
    empty_bucket: Callable[[Any, str], object] | None = teardown.empty_bucket,
) -> list[Leftover]:
    """Remove each leftover; returns those that could not be removed (and says why)."""
    from botocore.exceptions import ClientError

    kept = []
    for item in leftovers:
        removal = REMOVAL.get(item.resource_type)
        if removal is None:
            console.warn(
                f"  kept {item.physical_id}: no way to remove a {item.resource_type}; {item.command}"
            )
            kept.append(item)
            continue
        _line, service, remove = removal
        client = clients.s3 if service == "s3" else clients.client(service)
        try:
            if service == "s3":
                if empty_bucket is None:
                    console.warn(f"  kept s3://{item.physical_id}: {item.command}")
                    kept.append(item)
                    continue
                empty_bucket(client, item.physical_id)
            remove(client, item.physical_id)
            console.say(f"  removed {item.resource_type} {item.physical_id}")
        except ClientError as exc:
            console.warn(f"  kept {item.physical_id}: {error_code(exc)}; {item.command}")
            kept.append(item)
    return kept


def destroy_and_report(
    clients: Clients,
    target: Target,
    yes: bool,
    purge_retained: bool,
    console: Console,
    empty_bucket: Callable[[Any, str], object] | None = teardown.empty_bucket,
) -> int:
    """The deployer's destroy, then what it left behind (and --purge); DELETE_FAILED gets its next step."""
    cfn = clients.cloudformation
    stack = describe_stack(cfn, target.stack_name)
    leftovers = retained_resources(cfn, stack["StackId"], target.stack_name) if stack else []
    if purge_retained and not yes and stack is not None:
        question = (
            f"Delete {target.stack_name} and every resource it created, retained ones ({len(leftovers)}) too?"
        )
        answer = console.confirm(question)
        if not answer:
            console.warn("Not deleted: " + ("rerun with --yes" if answer is None else "declined"))
            return EXIT_FAILED
        yes = True
    code = destroy(clients, target, yes, console)
    if stack is None:
        return code
    if code != EXIT_OK:
        after = describe_stack(cfn, target.stack_name)
        if after is not None and after["StackStatus"] == "DELETE_FAILED":
            console.warn(
                state_advice(
                    "DELETE_FAILED", target.stack_name, target.command("destroy"), target.command("deploy")
                )
            )
        return code
    if purge_retained and leftovers:
        console.say(f"Purging {len(leftovers)} retained resource(s) (--purge):")
        leftovers = purge(clients, leftovers, console, empty_bucket)
    report(leftovers, console)
    return EXIT_OK if not (purge_retained and leftovers) else EXIT_FAILED
