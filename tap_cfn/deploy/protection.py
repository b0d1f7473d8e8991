"""Load balancer deletion protection, owned by the deployer rather than the template.

A template that turns protection on would trap its own failures: a first create that fails late
rolls back by deleting the ALB, which protection refuses (OperationNotPermitted), leaving the stack
in ROLLBACK_FAILED; a stack delete ends in DELETE_FAILED the same way
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#deletion-protection).
So the template leaves the attribute alone, the root's Metadata says whether the profile wants it
(tap-cfn: AlbDeletionProtection), the deployer turns it on after a successful deploy, and
`destroy` lifts it once the user has typed the stack name back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tap_cfn.conventions import ALB_DELETION_PROTECTION, DEPLOYER_METADATA
from tap_cfn.deploy.events import list_nested_stacks

LOAD_BALANCER_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ATTRIBUTE = "deletion_protection.enabled"


def wanted(root_template: dict[str, Any]) -> bool:
    """Whether the profile the root template was built for wants its load balancer protected."""
    return bool(
        ((root_template.get("Metadata") or {}).get(DEPLOYER_METADATA) or {}).get(
            ALB_DELETION_PROTECTION, False
        )
    )


def load_balancers(cfn: Any, stack: str) -> list[str]:
    """ARNs of the load balancers in the stack tree of `stack` (name or id)."""
    found, pending = [], [stack]
    while pending:
        current = pending.pop()
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=current)
        for page in pages:
            for summary in page.get("StackResourceSummaries") or []:
                if summary.get("ResourceType") == LOAD_BALANCER_TYPE and summary.get("PhysicalResourceId"):
                    found.append(summary["PhysicalResourceId"])
        pending += [child for _logical, child in list_nested_stacks(cfn, current)]
    return sorted(found)


def is_protected(elbv2: Any, arn: str) -> bool:
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    return any(a["Key"] == ATTRIBUTE and a["Value"] == "true" for a in attributes)


def set_protection(elbv2: Any, arns: list[str], enabled: bool) -> None:
    for arn in arns:
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": ATTRIBUTE, "Value": str(enabled).lower()}]
        )


def after_deploy(
    cfn: Any, elbv2: Any, stack: str, root_template: dict[str, Any], say: Callable[[str], None]
) -> None:
    """Hook after a successful create or update: protect the load balancer if the profile says so."""
    if not wanted(root_template):
        return
    arns = [arn for arn in load_balancers(cfn, stack) if not is_protected(elbv2, arn)]
    set_protection(elbv2, arns, True)
    for arn in arns:
        say(f"Deletion protection turned on for {arn.rsplit('/', 2)[-2]}")


def before_destroy(
    cfn: Any, elbv2: Any, stack: str, ask: Callable[[str], str | None], say: Callable[[str], None]
) -> bool:
    """Hook before a stack delete. A protected load balancer is unprotected only after the user
    has typed the stack name back; False means: do not delete (nothing was changed)."""
    protected = [arn for arn in load_balancers(cfn, stack) if is_protected(elbv2, arn)]
    if not protected:
        return True
    answer = ask(
        f"{stack} has a deletion-protected load balancer. Type the stack name to lift it and delete: "
    )
    if answer is None or answer.strip() != stack:
        say(f"Not deleted: the load balancer of {stack} stays protected")
        return False
    set_protection(elbv2, protected, False)
    say(f"Deletion protection lifted for {len(protected)} load balancer(s)")
    return True
