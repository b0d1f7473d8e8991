"""destroy lists what it leaves behind (and --purge removes it): on the local endpoint, which keeps
`DeletionPolicy: Retain` resources as CloudFormation does, and on recorded answers for DELETE_FAILED.

https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
"""

from __future__ import annotations

import re
from collections import Counter

import boto3

from .test_cli_fixture import run
from .test_preflight import params

# What templates/prod retains (DeletionPolicy RetainExceptOnCreate), counted there by hand: the three
# services' log groups and the flow logs' (data.yaml, flowlogs.yaml), the two secrets and the key
# (data.yaml), the access-log bucket (network.yaml). The repositories are the registry's.
PROD_RETAINS = {
    "AWS::Logs::LogGroup": 4,
    "AWS::SecretsManager::Secret": 2,
    "AWS::KMS::Key": 1,
    "AWS::S3::Bucket": 1,
}


def test_destroy_lists_every_retained_resource_with_the_command_that_removes_it(
    aws, clients, generated_templates, terminal
):
    # GIVEN prod deployed (prod retains its data)
    assert run(aws, generated_templates, terminal(), "deploy", "--env", "prod", *params(), "--yes") == 0
    term = terminal(interactive=True, answers="tap-demo\n")  # prod's protection: the name typed back
    # WHEN it is destroyed
    assert run(aws, generated_templates, term, "destroy", "--env", "prod", "--yes") == 0, term.stderr
    # THEN every retained resource is listed once with its removal command, and still exists
    out = term.stdout
    assert "Retained, left behind on purpose (8); remove each with:" in out
    assert Counter(re.findall(r"^  (AWS::\S+) ", out, re.MULTILINE)) == PROD_RETAINS
    assert "aws logs delete-log-group --log-group-name /ecs/tap-frontend-demo" in out
    assert out.count("aws secretsmanager delete-secret --secret-id ") == 2
    assert "aws kms schedule-key-deletion --key-id " in out
    assert "aws s3api delete-bucket --bucket tap-alb-logs-123456789012-us-east-1-demo" in out
    logs = boto3.client("logs", endpoint_url=aws, region_name="us-east-1")
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/tap-frontend-demo")["logGroups"]


def test_destroy_purge_removes_the_retained_resources_and_says_what_it_kept(
    aws, clients, generated_templates, terminal
):
    # GIVEN prod deployed
    assert run(aws, generated_templates, terminal(), "deploy", "--env", "prod", *params(), "--yes") == 0
    term = terminal(interactive=True, answers="tap-demo\n")  # prod's protection: the name typed back
    # WHEN it is destroyed with --purge
    code = run(aws, generated_templates, term, "destroy", "--env", "prod", "--yes", "--purge")
    # THEN the log groups are gone
    logs = boto3.client("logs", endpoint_url=aws, region_name="us-east-1")
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/tap-")["logGroups"] == []
    assert "removed AWS::Logs::LogGroup /ecs/tap-frontend-demo" in term.stdout
    # and the access-log bucket too, emptied of every version first (deploy/teardown.py)
    assert code == 0, term.stderr
    assert "removed AWS::S3::Bucket tap-alb-logs-123456789012-us-east-1-demo" in term.stdout
    s3 = boto3.client("s3", endpoint_url=aws, region_name="us-east-1")
    assert "tap-alb-logs-123456789012-us-east-1-demo" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_a_failed_delete_gets_its_root_cause_and_next_step() -> None:
    # GIVEN a stack whose bucket is not empty: CloudFormation answers DELETE_FAILED (recorded)
    from datetime import UTC, datetime

    from botocore.stub import Stubber

    from tap_cfn.deploy.aws import Clients
    from tap_cfn.deploy.deployer import Target
    from tap_cfn.deploy.retained import destroy_and_report

    from .conftest import Terminal
    from .recorded import ROOT, existing_stack

    cfn = boto3.client("cloudformation", region_name="us-east-1")
    not_empty = (
        "The bucket you tried to delete is not empty. You must delete all versions in the bucket. "
        "(Service: S3, Status Code: 409)"
    )
    empty = {"StackResourceSummaries": []}
    failed = {
        "StackId": ROOT, "EventId": "b1", "StackName": "tap-demo", "LogicalResourceId": "AccessLogBucket",
        "PhysicalResourceId": "tap-alb-logs-123456789012-us-east-1-demo", "ResourceType": "AWS::S3::Bucket",
        "Timestamp": datetime(2026, 11, 30, 1, 0, tzinfo=UTC), "ResourceStatus": "DELETE_FAILED",
        "ResourceStatusReason": not_empty,
    }  # fmt: skip
    term = Terminal()
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stacks", existing_stack("UPDATE_COMPLETE"), {"StackName": "tap-demo"})
        stubber.add_response("get_template", {"TemplateBody": '{"Resources": {}}'})
        stubber.add_response("list_stack_resources", empty, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", empty, {"StackName": ROOT})
        stubber.add_response("describe_stacks", existing_stack("UPDATE_COMPLETE"), {"StackName": "tap-demo"})
        # teardown.before_destroy: no bucket in the tree to empty
        stubber.add_response("list_stack_resources", empty, {"StackName": "tap-demo"})
        stubber.add_response("list_stack_resources", empty, {"StackName": "tap-demo"})
        stubber.add_response("list_stack_resources", empty, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", empty, {"StackName": ROOT})
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
        stubber.add_response("delete_stack", {}, {"StackName": ROOT})
        stubber.add_response("describe_stack_events", {"StackEvents": [failed]}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", empty, {"StackName": ROOT})
        stubber.add_response("describe_stacks", existing_stack("DELETE_FAILED"), {"StackName": ROOT})
        stubber.add_response("describe_stack_events", {"StackEvents": [failed]}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", empty, {"StackName": ROOT})
        stubber.add_response("describe_stacks", existing_stack("DELETE_FAILED"), {"StackName": "tap-demo"})
        # WHEN destroyed
        code = destroy_and_report(
            Clients(cfn, None, None, "us-east-1"), Target("dev", "demo"), True, False, term.console
        )
        stubber.assert_no_pending_responses()
    # THEN the cause, then the state's next step
    assert code == 1
    err = term.stderr
    assert err.startswith("Root cause: AccessLogBucket (AWS::S3::Bucket) in stack tap-demo: DELETE_FAILED")
    assert "Stack tap-demo is in DELETE_FAILED" in err
    assert "python generate.py destroy --env dev --suffix demo" in err
