"""tap_cfn/deploy/teardown.py on the local endpoint, which is taught AWS's refusal first
(tests/support/moto_endpoint.py: BucketNotEmpty): a dev destroy empties the access-log bucket of
every version and delete marker."""

from __future__ import annotations

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
