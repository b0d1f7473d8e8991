"""Packaging nested templates into S3 on the local endpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.packaging import (
    Bucket,
    PackagingError,
    default_bucket_name,
    ensure_bucket,
    load_template,
    object_url,
    package,
    parse_template,
)

BUCKET = Bucket("tap-cfn-test-artifacts", "us-east-1", "123456789012")
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
    clients.s3.create_bucket(Bucket=BUCKET.name)
    root = fixture_templates / "dev" / "root.yaml"
    # WHEN it is packaged
    packaged = package(clients.s3, BUCKET, root)
    # THEN the root body references S3 objects on the endpoint, by localhost (see the notes)
    body = json.loads(packaged.body or "")
    network_url = body["Resources"]["Network"]["Properties"]["TemplateURL"]
    app_url = body["Resources"]["App"]["Properties"]["TemplateURL"]
    assert network_url.startswith("http://localhost:") and f"/{BUCKET.name}/tap-cfn/" in network_url
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
    clients.s3.create_bucket(Bucket=BUCKET.name)
    root = fixture_templates / "dev" / "root.yaml"
    first = package(clients.s3, BUCKET, root)
    second = package(clients.s3, BUCKET, root)
    assert first.bytes_uploaded > 0
    assert second.bytes_uploaded == 0 and second.objects_uploaded == 0
    assert second.body == first.body  # same keys, same URLs: CloudFormation sees no change


def test_a_changed_grandchild_changes_every_url_above_it_and_nothing_beside_it(
    clients: Clients, fixture_templates
):
    clients.s3.create_bucket(Bucket=BUCKET.name)
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
    clients.s3.create_bucket(Bucket=BUCKET.name)
    packaged = package(clients.s3, BUCKET, fixture_templates / "dev" / "root.yaml", max_body_bytes=100)
    assert packaged.body is None
    assert packaged.template_argument().keys() == {"TemplateURL"}
    assert "Network" in json.loads(read_object(clients.s3, packaged.url or ""))["Resources"]


REPO = Path(__file__).resolve().parents[2]


def test_templates_read_as_cfn_flip_reads_them() -> None:
    """parse_template runs cfn-flip's YAML constructors on libyaml: every committed template, a
    hand-written one with every short form, and text that is neither, read as cfn-flip does."""
    import cfn_flip

    paths = sorted((REPO / "templates").rglob("*.yaml")) + sorted((REPO / "templates").rglob("*.json"))
    assert len(paths) > 20
    for path in paths:
        assert parse_template(path.read_text()) == cfn_flip.load(path.read_text())[0], path
    short = (
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Condition: IsProd\n"
        "    Properties:\n      TopicName: !Sub '${AWS::StackName}-t'\n"
        "      DisplayName: !GetAtt Other.Name\n      Tags: [{Key: a, Value: !Ref P}]\n"
        "      KmsMasterKeyId: !If [IsProd, !ImportValue k, !Ref AWS::NoValue]\n"
        "Outputs:\n  O: {Value: !Join ['', [!Select [0, !GetAZs ''], '1.0', 010, yes, 2020-01-01]]}\n"
    )
    assert parse_template(short) == cfn_flip.load(short)[0]
    with pytest.raises(ValueError) as raised:
        parse_template("a: [b\n")
    with pytest.raises(ValueError) as flipped:
        cfn_flip.load("a: [b\n")
    assert str(raised.value) == str(flipped.value)


def test_a_template_neither_json_nor_yaml_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "root.yaml"
    broken.write_text("Resources: [unclosed\n")
    with pytest.raises(PackagingError, match=r"root\.yaml is neither JSON nor YAML"):
        load_template(broken)


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
    clients.s3.create_bucket(Bucket=BUCKET.name)
    with pytest.raises(PackagingError, match="includes itself"):
        package(clients.s3, BUCKET, tmp_path / "root.yaml")


def test_the_default_bucket_is_created_once_encrypted_versioned_private_and_pruned(clients: Clients):
    said: list[str] = []
    bucket = ensure_bucket(clients.s3, clients.sts, "us-east-1", None, said.append)
    name = bucket.name
    assert (
        name == default_bucket_name("123456789012", "us-east-1") == "tap-cfn-artifacts-123456789012-us-east-1"
    )
    assert (bucket.region, bucket.owner) == ("us-east-1", "123456789012")
    rules = clients.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert clients.s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    block = clients.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    lifecycle = clients.s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert lifecycle[0]["Expiration"] == {"Days": 90} and lifecycle[0]["Status"] == "Enabled"
    # a second run finds it and says nothing
    assert ensure_bucket(clients.s3, clients.sts, "us-east-1", None, said.append) == bucket
    assert said == [f"Creating artifact bucket {name}"]


def test_a_given_bucket_must_exist(clients: Clients):
    with pytest.raises(PackagingError, match="bucket nope-not-here does not exist"):
        ensure_bucket(clients.s3, clients.sts, "us-east-1", "nope-not-here", print)


def test_urls_are_built_from_the_bucket_region_and_partition_and_path_style_elsewhere(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # no request is made: only URLs are built
    aws = boto3.client("s3", region_name="eu-west-1")
    mine = Bucket("my-bucket", "eu-west-1", "123456789012")
    assert (
        object_url(aws, mine, "tap-cfn/ab.yaml")
        == "https://my-bucket.s3.eu-west-1.amazonaws.com/tap-cfn/ab.yaml"
    )
    # dotted names cannot be virtual-hosted over TLS
    dotted = Bucket("my.bucket", "eu-west-1", "123456789012")
    assert object_url(aws, dotted, "k.yaml") == "https://s3.eu-west-1.amazonaws.com/my.bucket/k.yaml"
    # other partitions have their own DNS suffix; FIPS clients get the FIPS endpoint
    china = boto3.client("s3", region_name="cn-north-1")
    assert (
        object_url(china, Bucket("b", "cn-north-1", "1"), "k.yaml")
        == "https://b.s3.cn-north-1.amazonaws.com.cn/k.yaml"
    )
    fips = boto3.client("s3", region_name="us-gov-west-1", config=Config(use_fips_endpoint=True))
    assert (
        object_url(fips, Bucket("b", "us-gov-west-1", "1"), "k.yaml")
        == "https://b.s3-fips.us-gov-west-1.amazonaws.com/k.yaml"
    )
    local = boto3.client("s3", region_name="us-east-1", endpoint_url="http://localhost:4566")
    assert (
        object_url(local, Bucket("b", "us-east-1", "1"), "tap-cfn/ab.yaml")
        == "http://localhost:4566/b/tap-cfn/ab.yaml"
    )


# --- S3 as the API reference documents it, recorded (the local endpoint ignores bucket owners) ---

ACCOUNT = "123456789012"
DEFAULT = f"tap-cfn-artifacts-{ACCOUNT}-eu-west-1"


def recorded(region: str = "eu-west-1") -> tuple[Any, Any, Stubber, Stubber]:
    s3 = boto3.client("s3", region_name=region, endpoint_url=f"https://s3.{region}.amazonaws.com")
    sts = boto3.client("sts", region_name=region, endpoint_url=f"https://sts.{region}.amazonaws.com")
    sts_stub = Stubber(sts)
    sts_stub.add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev"},
    )
    return s3, sts, Stubber(s3), sts_stub


def expect_settings(stub: Stubber, name: str) -> None:
    """The PutBucket* calls that make a default bucket ours, written out as S3 must receive them."""
    arn = f"arn:aws:s3:::{name}"
    owner = {"Bucket": name, "ExpectedBucketOwner": ACCOUNT}
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "put_bucket_encryption",
            {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                }
            },
        ),
        ("put_bucket_versioning", {"VersioningConfiguration": {"Status": "Enabled"}}),
        (
            "put_public_access_block",
            {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                }
            },
        ),
        (
            "put_bucket_lifecycle_configuration",
            {
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "ID": "expire-old-artifacts",
                            "Status": "Enabled",
                            "Filter": {"Prefix": "tap-cfn/"},
                            "Expiration": {"Days": 90},
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        }
                    ]
                }
            },
        ),
        (
            "put_bucket_policy",
            {
                "Policy": '{"Statement": [{"Action": "s3:*", '
                '"Condition": {"Bool": {"aws:SecureTransport": "false"}}, '
                '"Effect": "Deny", "Principal": "*", '
                f'"Resource": ["{arn}", "{arn}/*"], '
                '"Sid": "DenyInsecureTransport"}], "Version": "2012-10-17"}'
            },
        ),
    ]
    for operation, arguments in calls:
        stub.add_response(operation, {}, {**owner, **arguments})


def test_an_existing_default_bucket_of_ours_outside_us_east_1_is_used_and_its_settings_reapplied():
    # GIVEN our bucket exists in eu-west-1; creating it answers BucketAlreadyOwnedByYou (a race with
    # another run: HeadBucket said 404 a moment before)
    s3, sts, stub, sts_stub = recorded()
    stub.add_client_error(
        "head_bucket",
        "404",
        "Not Found",
        404,
        expected_params={"Bucket": DEFAULT, "ExpectedBucketOwner": ACCOUNT},
    )
    stub.add_client_error(
        "create_bucket",
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        409,
        expected_params={"Bucket": DEFAULT, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}},
    )
    expect_settings(stub, DEFAULT)
    # WHEN the deployer ensures its bucket
    with stub, sts_stub:
        bucket = ensure_bucket(s3, sts, "eu-west-1", None, lambda _line: None)
        # THEN every setting is applied again, each call naming the expected owner
        stub.assert_no_pending_responses()
    assert bucket == Bucket(DEFAULT, "eu-west-1", ACCOUNT)


def test_a_default_bucket_name_taken_by_another_account_is_a_clear_error():
    s3, sts, stub, sts_stub = recorded()
    stub.add_client_error("head_bucket", "404", "Not Found", 404)
    stub.add_client_error(
        "create_bucket",
        "BucketAlreadyExists",
        "The requested bucket name is not available. The bucket namespace is shared by all users"
        " of the system. Please select a different name and try again.",
        409,
    )
    with stub, sts_stub, pytest.raises(PackagingError, match="taken by another account; pass --bucket"):
        ensure_bucket(s3, sts, "eu-west-1", None, lambda _line: None)


def test_a_given_bucket_of_another_account_is_refused_by_its_owner_check():
    # GIVEN --bucket names a bucket that another account owns: ExpectedBucketOwner makes S3 answer 403
    s3, sts, stub, sts_stub = recorded()
    stub.add_client_error(
        "head_bucket",
        "403",
        "Forbidden",
        403,
        expected_params={"Bucket": "shared", "ExpectedBucketOwner": ACCOUNT},
    )
    with stub, sts_stub, pytest.raises(PackagingError, match="bucket shared belongs to another account"):
        ensure_bucket(s3, sts, "eu-west-1", "shared", lambda _line: None)


def test_a_given_bucket_in_another_region_is_refused_with_the_reason():
    s3, sts, stub, sts_stub = recorded()
    stub.add_response(
        "head_bucket",
        {"BucketRegion": "us-west-2"},
        {"Bucket": "elsewhere", "ExpectedBucketOwner": ACCOUNT},
    )
    with stub, sts_stub, pytest.raises(PackagingError, match="is in us-west-2, the stack in eu-west-1"):
        ensure_bucket(s3, sts, "eu-west-1", "elsewhere", lambda _line: None)


def test_a_given_bucket_of_ours_gets_owner_checked_uploads_and_keeps_its_own_settings(tmp_path: Path):
    # GIVEN --bucket names our bucket in the stack's region and a root with one child
    s3, sts, stub, sts_stub = recorded()
    stub.add_response(
        "head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": "ours", "ExpectedBucketOwner": ACCOUNT}
    )
    child = b"Resources: {}\n"
    (tmp_path / "child.yaml").write_bytes(child)
    (tmp_path / "root.yaml").write_text(STACK_RESOURCE.format(logical="Child", url="child.yaml"))
    key = f"tap-cfn/{hashlib.sha256(child).hexdigest()}.yaml"
    owner = {"Bucket": "ours", "ExpectedBucketOwner": ACCOUNT, "Key": key}
    stub.add_client_error("head_object", "404", "Not Found", 404, expected_params=owner)
    stub.add_response("put_object", {}, {**owner, "Body": child})
    # WHEN it is ensured (no Put*Bucket* call: the settings of a bucket we did not make are its owner's)
    with stub, sts_stub:
        bucket = ensure_bucket(s3, sts, "eu-west-1", "ours", lambda _line: None)
        packaged = package(s3, bucket, tmp_path / "root.yaml")
        stub.assert_no_pending_responses()
    # THEN the child's URL is the regional, virtual-hosted one
    assert json.loads(packaged.body or "")["Resources"]["Child"]["Properties"]["TemplateURL"] == (
        f"https://ours.s3.eu-west-1.amazonaws.com/{key}"
    )
