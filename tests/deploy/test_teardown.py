"""tap_cfn/deploy/teardown.py on the local endpoint, which is taught AWS's refusal first
(tests/support/moto_endpoint.py: BucketNotEmpty): a dev destroy empties the access-log bucket of
every version and delete marker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tap_cfn.deploy.aws import Clients

from .test_cli_fixture import run
from .test_deploy_generated import Deployed, client, params

STACK = "tap-demo"


def test_a_dev_destroy_empties_every_version_and_delete_marker_of_the_access_log_bucket(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    from moto.s3.exceptions import BucketNotEmpty
    from moto.s3.models import FakeBucket

    # GIVEN dev deployed and its access-log bucket holding logs, older versions and a delete marker
    assert run(aws, generated_templates, terminal(), "deploy", "--env", "dev", *params(), "--yes") == 0
    bucket = Deployed(clients.cloudformation, STACK).physical("NetworkStack", "AccessLogBucket")
    s3 = client(aws, "s3")
    # the template versions the bucket; moto's bucket model drops VersioningConfiguration
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=bucket, Key="alb/AWSLogs/123456789012/log.gz", Body=body)
    s3.put_object(Bucket=bucket, Key="alb/ELBAccessLogTestFile", Body=b"test")
    s3.delete_object(Bucket=bucket, Key="alb/ELBAccessLogTestFile")  # leaves a delete marker
    versions = s3.list_object_versions(Bucket=bucket)
    assert len(versions["Versions"]) == 3 and len(versions["DeleteMarkers"]) == 1
    # and CloudFormation (the endpoint, taught AWS's rule) cannot delete it as it is
    with pytest.raises(BucketNotEmpty):
        FakeBucket.delete_from_cloudformation_json(bucket, {}, "123456789012", "us-east-1")
    # WHEN dev is destroyed
    term = terminal()
    assert run(aws, generated_templates, term, "destroy", "--env", "dev", "--yes") == 0, term.stderr
    # THEN the bucket was emptied first and went with the stack
    assert f"Emptied s3://{bucket} (4 object versions and delete markers)" in term.stdout
    assert "tap-demo: DELETE_COMPLETE" in term.stdout
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


YAML_BODY = """\
Parameters:
  EnvironmentSuffix: {Type: String}
Resources:
  Logs:
    Type: AWS::S3::Bucket
    DeletionPolicy: Delete
    Properties:
      BucketName: !Sub "tap-logs-${EnvironmentSuffix}"
  Data:
    Type: AWS::S3::Bucket
    DeletionPolicy: RetainExceptOnCreate
    Properties:
      BucketName: !Join ["-", [tap, data, !Ref EnvironmentSuffix]]
  Scratch:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: Name, Value: !GetAtt Logs.Arn}]
"""


def test_a_yaml_template_with_short_form_intrinsics_is_read_for_its_deletion_policies() -> None:
    # GIVEN a stack deployed from YAML (GetTemplate returns it as text, !Sub/!Join/!Ref/!GetAtt
    # included; https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html)
    import boto3
    from botocore.stub import Stubber

    from tap_cfn.deploy.teardown import deletable_buckets

    cfn = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    rows = {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": physical,
                "ResourceType": "AWS::S3::Bucket",
                "LastUpdatedTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                "ResourceStatus": "CREATE_COMPLETE",
            }
            for logical, physical in (("Logs", "tap-logs-demo"), ("Data", "tap-data-demo"), ("Scratch", "s"))
        ]
    }
    with Stubber(cfn) as stub:
        stub.add_response("list_stack_resources", rows, {"StackName": "tap-demo"})
        stub.add_response(
            "get_template",
            {"TemplateBody": YAML_BODY},
            {"StackName": "tap-demo", "TemplateStage": "Original"},
        )
        stub.add_response("list_stack_resources", rows, {"StackName": "tap-demo"})  # no nested stacks
        # WHEN the buckets CloudFormation deletes with the stack are listed
        found = deletable_buckets(cfn, "tap-demo")
        stub.assert_no_pending_responses()
    # THEN the Delete one and the one without a policy (Delete by default), not the retained one
    assert found == ["s", "tap-logs-demo"]
