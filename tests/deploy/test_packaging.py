"""Packaging nested templates into S3 on the local endpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.packaging import (
    PackagingError,
    default_bucket_name,
    ensure_bucket,
    object_url,
    package,
)

BUCKET = "tap-cfn-test-artifacts"
STACK_RESOURCE = """Resources:
  {logical}:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {url}
"""


def read_object(s3, url: str) -> str:
    bucket, key = url.split("/", 4)[3:]
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_children_are_uploaded_by_content_hash_and_the_root_points_at_them(
    clients: Clients, fixture_templates
):
    # GIVEN a root with two children, one of which has a child of its own
    clients.s3.create_bucket(Bucket=BUCKET)
    root = fixture_templates / "dev" / "root.yaml"
    # WHEN it is packaged
    packaged = package(clients.s3, BUCKET, root)
    # THEN the root body references S3 objects on the endpoint, by localhost (see the notes)
    body = json.loads(packaged.body or "")
    network_url = body["Resources"]["Network"]["Properties"]["TemplateURL"]
    app_url = body["Resources"]["App"]["Properties"]["TemplateURL"]
    assert network_url.startswith("http://localhost:") and f"/{BUCKET}/tap-cfn/" in network_url
    # an unchanged child goes up byte for byte under the SHA-256 of its bytes
    network_bytes = (root.parent / "network.yaml").read_bytes()
    assert network_url.endswith(f"tap-cfn/{hashlib.sha256(network_bytes).hexdigest()}.yaml")
    assert read_object(clients.s3, network_url) == network_bytes.decode()
    # a child with its own nested stack is rewritten too, recursively
    app = json.loads(read_object(clients.s3, app_url))
    worker_url = app["Resources"]["Worker"]["Properties"]["TemplateURL"]
    assert "Resources:" in read_object(clients.s3, worker_url)
    # the cross-stack wiring is kept as data, not flattened
    assert app["Resources"]["Worker"]["Properties"]["Parameters"]["DiscoveryServiceArn"] == {
        "Fn::GetAtt": ["DiscoveryService", "Arn"]
    }
    assert [u.uploaded for u in packaged.uploads] == [True, True, True]
    assert packaged.bytes_uploaded == sum(u.size for u in packaged.uploads) > 0


def test_packaging_the_same_templates_again_uploads_nothing(clients: Clients, fixture_templates):
    clients.s3.create_bucket(Bucket=BUCKET)
    root = fixture_templates / "dev" / "root.yaml"
    first = package(clients.s3, BUCKET, root)
    second = package(clients.s3, BUCKET, root)
    assert first.bytes_uploaded > 0
    assert second.bytes_uploaded == 0 and second.objects_uploaded == 0
    assert second.body == first.body  # same keys, same URLs: CloudFormation sees no change


def test_a_changed_grandchild_changes_every_url_above_it_and_nothing_beside_it(
    clients: Clients, fixture_templates
):
    clients.s3.create_bucket(Bucket=BUCKET)
    root = fixture_templates / "dev" / "root.yaml"
    before = json.loads(package(clients.s3, BUCKET, root).body or "")
    worker = root.parent / "worker.yaml"
    worker.write_text(worker.read_text().replace("RetentionInDays: 7", "RetentionInDays: 14"))
    after_packaged = package(clients.s3, BUCKET, root)
    after = json.loads(after_packaged.body or "")

    def url(template, logical):
        return template["Resources"][logical]["Properties"]["TemplateURL"]

    assert url(after, "App") != url(before, "App")
    assert url(after, "Network") == url(before, "Network")
    assert after_packaged.objects_uploaded == 2  # the new worker and the app that points at it


def test_a_root_over_the_body_limit_goes_through_s3(clients: Clients, fixture_templates):
    clients.s3.create_bucket(Bucket=BUCKET)
    packaged = package(clients.s3, BUCKET, fixture_templates / "dev" / "root.yaml", max_body_bytes=100)
    assert packaged.body is None
    assert packaged.template_argument().keys() == {"TemplateURL"}
    assert "Network" in json.loads(read_object(clients.s3, packaged.url or ""))["Resources"]


def test_a_missing_child_names_the_file_and_the_resource(clients: Clients, tmp_path: Path):
    root = tmp_path / "root.yaml"
    root.write_text(STACK_RESOURCE.format(logical="Db", url="db.yaml"))
    with pytest.raises(PackagingError, match=r"root.yaml: Db references db.yaml, which does not exist"):
        package(clients.s3, BUCKET, root)


def test_a_template_that_includes_itself_is_rejected(clients: Clients, tmp_path: Path):
    loop = (
        "Resources:\n  Again:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: {}\n"
    )
    (tmp_path / "root.yaml").write_text(loop.format("a.yaml"))
    (tmp_path / "a.yaml").write_text(loop.format("a.yaml"))
    clients.s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(PackagingError, match="includes itself"):
        package(clients.s3, BUCKET, tmp_path / "root.yaml")


def test_the_default_bucket_is_created_once_encrypted_versioned_and_private(clients: Clients):
    said: list[str] = []
    name = ensure_bucket(clients.s3, clients.sts, "us-east-1", None, said.append)
    assert (
        name == default_bucket_name("123456789012", "us-east-1") == "tap-cfn-artifacts-123456789012-us-east-1"
    )
    rules = clients.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert clients.s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    block = clients.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    # a second run finds it and says nothing
    assert ensure_bucket(clients.s3, clients.sts, "us-east-1", None, said.append) == name
    assert said == [f"Creating artifact bucket {name}"]


def test_a_given_bucket_must_exist(clients: Clients):
    with pytest.raises(PackagingError, match="bucket nope-not-here does not exist"):
        ensure_bucket(clients.s3, clients.sts, "us-east-1", "nope-not-here", print)


def test_urls_are_virtual_hosted_on_aws_and_path_style_elsewhere(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # no request is made: only URLs are built
    aws = boto3.client("s3", region_name="eu-west-1")
    assert (
        object_url(aws, "my-bucket", "tap-cfn/ab.yaml")
        == "https://my-bucket.s3.eu-west-1.amazonaws.com/tap-cfn/ab.yaml"
    )
    # dotted names cannot be virtual-hosted over TLS
    assert object_url(aws, "my.bucket", "k.yaml") == "https://s3.eu-west-1.amazonaws.com/my.bucket/k.yaml"
    local = boto3.client("s3", region_name="us-east-1", endpoint_url="http://localhost:4566")
    assert object_url(local, "b", "tap-cfn/ab.yaml") == "http://localhost:4566/b/tap-cfn/ab.yaml"
