"""Emptying what a stack owns and CloudFormation cannot delete while it holds data.

CloudFormation fails to delete a bucket that still holds objects, object versions or delete
markers (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html),
and the load balancer writes access logs into its bucket continuously. Before deleting a stack,
the deployer removes every version and delete marker of the buckets CloudFormation is going to
delete (DeletionPolicy Delete: profiles with retain_data false); kept buckets are not touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tap_cfn.deploy.events import list_nested_stacks
from tap_cfn.deploy.packaging import parse_template
from tap_cfn.deploy.protection import load_balancers

BUCKET_TYPE = "AWS::S3::Bucket"
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys per request


def _template(cfn: Any, stack: str) -> dict[str, Any]:
    body = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    # boto3 parses JSON bodies itself; a YAML body comes as text, short-form intrinsics and all
    return dict(parse_template(body) if isinstance(body, str) else body)


def deletable_buckets(cfn: Any, stack: str) -> list[str]:
    """Names of the buckets in the stack tree that CloudFormation deletes with the stack."""
    found, pending = [], [stack]
    while pending:
        current = pending.pop()
        buckets = {
            summary["LogicalResourceId"]: summary["PhysicalResourceId"]
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=current)
            for summary in page.get("StackResourceSummaries") or []
            if summary.get("ResourceType") == BUCKET_TYPE and summary.get("PhysicalResourceId")
        }
        if buckets:
            resources = _template(cfn, current).get("Resources") or {}
            found += [
                name
                for logical, name in buckets.items()
                if (resources.get(logical) or {}).get("DeletionPolicy", "Delete") == "Delete"
            ]
        pending += [child for _logical, child in list_nested_stacks(cfn, current)]
    return sorted(found)


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of `bucket`; returns how many."""
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for kind in ("Versions", "DeleteMarkers")
            for item in page.get(kind) or []
        ]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            removed += len(batch)
    return removed


def before_destroy(cfn: Any, s3: Any, elbv2: Any, stack: str, say: Callable[[str], None]) -> None:
    """Hook before a stack delete: empty the buckets the delete would otherwise fail on. Access
    logging is turned off first, so that the load balancer writes nothing new in between."""
    buckets = deletable_buckets(cfn, stack)
    if buckets and elbv2 is not None:
        for arn in load_balancers(cfn, stack):
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=arn, Attributes=[{"Key": "access_logs.s3.enabled", "Value": "false"}]
            )
    for bucket in buckets:
        count = empty_bucket(s3, bucket)
        say(f"Emptied s3://{bucket} ({count} object versions and delete markers) so that it can be deleted")
