"""tap_cfn/deploy/protection.py: points 2 and 3 of issue 10 on the local endpoint, which is taught
AWS's refusals first (tests/support/moto_endpoint.py: OperationNotPermitted, RetainExceptOnCreate):
a failed first create leaves nothing that blocks a retry; prod's load balancer is protected only
after a successful create and `destroy` lifts it once the stack name is typed back. (Point 9, the
access-log bucket emptied on destroy, is tests/deploy/test_teardown.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tap_cfn.deploy.aws import Clients

from .test_cli_fixture import run
from .test_deploy_generated import client, params

STACK = "tap-demo"


def _status(clients: Clients) -> str:
    return str(clients.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"])


def _the_load_balancer(elbv2: Any) -> tuple[str, list[dict[str, str]]]:
    """The ARN and the attributes of the account's only load balancer, as ELBv2 describes them."""
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    arn = balancer["LoadBalancerArn"]
    return arn, elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]


# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html
PROTECTED = {"Key": "deletion_protection.enabled", "Value": "true"}
UNPROTECTED = {"Key": "deletion_protection.enabled", "Value": "false"}


def test_a_prod_create_that_fails_late_leaves_nothing_behind_and_a_retry_with_the_same_suffix_succeeds(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN prod keeps its data (RetainExceptOnCreate) and the last service's log group name is
    # taken, so the data stack fails after the key and the other log groups exist
    logs = client(aws, "logs")
    logs.create_log_group(logGroupName="/ecs/tap-processing-demo")
    failed = terminal()
    assert run(aws, generated_templates, failed, "deploy", "--env", "prod", *params(), "--yes") == 1
    assert "already exists" in failed.stderr
    # THEN the rollback removed what the failed create made, kept data included
    groups = logs.describe_log_groups(logGroupNamePrefix="/ecs/tap-")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/tap-processing-demo"]
    # WHEN the name is freed and the deploy retried with the same suffix
    logs.delete_log_group(logGroupName="/ecs/tap-processing-demo")
    retry = terminal()
    assert run(aws, generated_templates, retry, "deploy", "--env", "prod", *params(), "--yes") == 0, (
        retry.stderr
    )
    assert _status(clients) == "CREATE_COMPLETE"


def test_prod_protection_comes_after_the_create_and_destroy_lifts_it_only_for_the_typed_stack_name(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    elbv2 = client(aws, "elbv2")
    # GIVEN prod deployed: the template leaves protection off, the deployer turns it on afterwards
    deployed = terminal()
    assert run(aws, generated_templates, deployed, "deploy", "--env", "prod", *params(), "--yes") == 0
    arn, attributes = _the_load_balancer(elbv2)
    assert PROTECTED in attributes
    assert "Deletion protection turned on" in deployed.stdout
    # and the endpoint refuses to delete a protected load balancer, as AWS does
    with pytest.raises(Exception, match="OperationNotPermitted"):
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    # WHEN destroy runs where no one can type the name (CI, --yes), or the wrong name is typed
    unattended = terminal()
    assert run(aws, generated_templates, unattended, "destroy", "--env", "prod", "--yes") == 1
    wrong = terminal(interactive=True, answers="tap-prod\n")
    assert run(aws, generated_templates, wrong, "destroy", "--env", "prod", "--yes") == 1
    # THEN nothing changed
    assert "stays protected" in unattended.stderr and "stays protected" in wrong.stderr
    assert PROTECTED in _the_load_balancer(elbv2)[1] and _status(clients) == "CREATE_COMPLETE"
    # WHEN the stack name is typed back, THEN protection is lifted and the stack deleted
    typed = terminal(interactive=True, answers=f"{STACK}\n")
    assert run(aws, generated_templates, typed, "destroy", "--env", "prod", "--yes") == 0, typed.stderr
    assert "tap-demo: DELETE_COMPLETE" in typed.stdout
    assert not elbv2.describe_load_balancers()["LoadBalancers"]


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_dev_and_staging_load_balancers_are_never_protected(
    env: str, aws: str, generated_templates: Path, terminal
) -> None:
    deployed = terminal()
    assert run(aws, generated_templates, deployed, "deploy", "--env", env, *params(), "--yes") == 0
    assert UNPROTECTED in _the_load_balancer(client(aws, "elbv2"))[1]
    assert "Deletion protection" not in deployed.stdout
