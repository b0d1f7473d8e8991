"""Upload nested templates to S3 under content-hash keys and point the root at them.

What `aws cloudformation package` does for nested stacks, with two differences that make
redeploys cheap and no-ops detectable: keys are the SHA-256 of the uploaded bytes, so identical
content always lands on the same URL, and an object that already exists is not sent again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import quote, urlsplit

from tap_cfn.conventions import ARTIFACT_BUCKET_PREFIX, ARTIFACT_KEY_PREFIX

# CloudFormation accepts a TemplateBody up to this many bytes; a larger root goes via S3.
MAX_TEMPLATE_BODY_BYTES = 51_200
KEY_PREFIX = ARTIFACT_KEY_PREFIX
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"


class PackagingError(Exception):
    """A template or the bucket is not usable; the message names the file or bucket."""


@dataclass(frozen=True)
class Upload:
    key: str
    size: int
    uploaded: bool  # False: the object was already there


@dataclass
class PackagedTemplate:
    """The root ready for CloudFormation: either a body or a URL, plus what was sent to S3."""

    body: str | None
    url: str | None
    uploads: list[Upload] = field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(u.size for u in self.uploads if u.uploaded)

    @property
    def objects_uploaded(self) -> int:
        return sum(1 for u in self.uploads if u.uploaded)

    def template_argument(self) -> dict[str, str]:
        """The TemplateBody / TemplateURL keyword for create_change_set."""
        if self.url is not None:
            return {"TemplateURL": self.url}
        assert self.body is not None
        return {"TemplateBody": self.body}


@cache
def _yaml_loader() -> type:
    """cfn-flip's YAML loader (short-form tags become Fn:: mappings) parsing with libyaml when
    PyYAML has it: the same constructors and resolver; its pure-Python parser takes a few tenths
    of a second per template of ours, and a deploy reads each template more than once."""
    import yaml
    from cfn_tools.yaml_loader import CfnYamlLoader

    if not hasattr(yaml, "CSafeLoader"):
        return CfnYamlLoader
    constructors = {
        "yaml_constructors": CfnYamlLoader.yaml_constructors,
        "yaml_multi_constructors": CfnYamlLoader.yaml_multi_constructors,
    }
    return type("CfnCSafeLoader", (yaml.CSafeLoader,), constructors)


def parse_template(text: str) -> Any:
    """What cfn-flip's `load` reads from `text`: JSON, else YAML with the short-form tags; the
    JSON error when it is neither."""
    import yaml
    from cfn_tools import load_json

    try:
        return load_json(text)
    except ValueError as error:
        try:
            return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 (cfn-flip's safe loader)
        except Exception:
            raise error from None


def load_template(path: Path) -> dict[str, Any]:
    """A JSON or YAML template (short-form tags included) as plain data."""
    try:
        data = parse_template(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PackagingError(f"cannot read template {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise PackagingError(f"{path} is neither JSON nor YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PackagingError(f"{path} is not a CloudFormation template (top level is not a mapping)")
    return data


def is_local_reference(url: Any) -> TypeGuard[str]:
    """A TemplateURL that names a file next to the template rather than an object in S3."""
    return isinstance(url, str) and "://" not in url


@dataclass(frozen=True)
class Bucket:
    """The artifact bucket: its name, its own region and the account every S3 call expects to own it."""

    name: str
    region: str
    owner: str


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of `region` from botocore's partition table (aws-cn, aws-us-gov, ...)."""
    import re

    from botocore.loaders import create_loader

    partitions = create_loader().load_data("partitions")["partitions"]
    for partition in partitions:
        if region in partition.get("regions", {}) or re.match(partition["regionRegex"], region):
            return partition["id"], partition["outputs"]["dnsSuffix"]
    return "aws", "amazonaws.com"


def object_url(s3: Any, bucket: Bucket, key: str) -> str:
    """The URL CloudFormation should fetch `key` from.

    On AWS it is built from the bucket's own region and the partition's DNS suffix, with the
    FIPS endpoint when the client uses FIPS (https://docs.aws.amazon.com/general/latest/gr/s3.html);
    virtual-hosted style unless the name has dots (TLS certificates do not cover them). Any
    other endpoint (a local or S3-compatible one) gets path style `ENDPOINT/BUCKET/KEY`.
    """
    endpoint = urlsplit(s3.meta.endpoint_url)
    path = "/" + quote(key)
    _partition, suffix = partition_of(bucket.region)
    if not endpoint.netloc.endswith("." + suffix):
        return f"{endpoint.scheme}://{endpoint.netloc}/{bucket.name}{path}"
    service = "s3-fips" if getattr(s3.meta.config, "use_fips_endpoint", False) else "s3"
    host = f"{service}.{bucket.region}.{suffix}"
    if "." in bucket.name:
        return f"https://{host}/{bucket.name}{path}"
    return f"https://{bucket.name}.{host}{path}"


def render_json(template: dict[str, Any]) -> str:
    """Deterministic, compact JSON: equal templates give equal bytes, hence equal keys."""
    return json.dumps(template, sort_keys=True, separators=(",", ":")) + "\n"


class Packager:
    """Uploads the templates a root references, depth first, each once per content."""

    def __init__(self, s3: Any, bucket: Bucket, prefix: str = KEY_PREFIX) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self.uploads: list[Upload] = []
        self._urls: dict[Path, str] = {}

    def package_root(self, root: Path, max_body_bytes: int = MAX_TEMPLATE_BODY_BYTES) -> PackagedTemplate:
        template = load_template(root)
        self._rewrite_children(root, template, chain=(root.resolve(),))
        body = render_json(template)
        if len(body.encode("utf-8")) <= max_body_bytes:
            return PackagedTemplate(body=body, url=None, uploads=self.uploads)
        url = self._put(body.encode("utf-8"), "json")
        return PackagedTemplate(body=None, url=url, uploads=self.uploads)

    def _rewrite_children(self, path: Path, template: dict[str, Any], chain: tuple[Path, ...]) -> bool:
        """Replace local TemplateURLs in `template` by S3 URLs; True when anything changed."""
        changed = False
        for logical_id, resource in (template.get("Resources") or {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != NESTED_STACK_TYPE:
                continue
            properties = resource.get("Properties") or {}
            reference = properties.get("TemplateURL")
            if not is_local_reference(reference):
                continue
            child = (path.parent / reference).resolve()
            if child in chain:
                raise PackagingError(f"{path}: {logical_id} includes {reference}, which includes itself")
            if not child.is_file():
                raise PackagingError(f"{path}: {logical_id} references {reference}, which does not exist")
            properties["TemplateURL"] = self._package_child(child, chain + (child,))
            changed = True
        return changed

    def _package_child(self, path: Path, chain: tuple[Path, ...]) -> str:
        if path in self._urls:
            return self._urls[path]
        template = load_template(path)
        if self._rewrite_children(path, template, chain):
            content, extension = render_json(template).encode("utf-8"), "json"
        else:
            # Unchanged children go up byte for byte, in the format they were rendered in.
            content = path.read_bytes()
            extension = "json" if path.suffix == ".json" else "yaml"
        url = self._urls[path] = self._put(content, extension)
        return url

    def _put(self, content: bytes, extension: str) -> str:
        from botocore.exceptions import ClientError

        key = f"{self._prefix}/{hashlib.sha256(content).hexdigest()}.{extension}"
        owner = {"Bucket": self._bucket.name, "ExpectedBucketOwner": self._bucket.owner}
        try:
            self._s3.head_object(Key=key, **owner)
            exists = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            exists = False
        if not exists:
            self._s3.put_object(Key=key, Body=content, **owner)
        self.uploads.append(Upload(key=key, size=len(content), uploaded=not exists))
        return object_url(self._s3, self._bucket, key)


def package(
    s3: Any, bucket: Bucket, root: Path, max_body_bytes: int = MAX_TEMPLATE_BODY_BYTES
) -> PackagedTemplate:
    """Upload everything `root` needs to `bucket` and return the root to deploy."""
    return Packager(s3, bucket).package_root(root, max_body_bytes)


def default_bucket_name(account_id: str, region: str) -> str:
    return f"{ARTIFACT_BUCKET_PREFIX}-{account_id}-{region}"


# Objects are keyed by content and checked (HeadObject) before every change set, so an expired
# artifact is uploaded again when a stack still needs it; CloudFormation reads TemplateURLs only
# while it creates a change set.
ARTIFACT_DAYS = 90


def bucket_settings(bucket: Bucket, tls_only: bool) -> list[tuple[str, dict[str, Any]]]:
    """The PutBucket* calls that make the artifact bucket ours: private, encrypted, TLS only, pruned."""
    partition, _suffix = partition_of(bucket.region)
    arn = f"arn:{partition}:s3:::{bucket.name}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    rule = {
        "ID": "expire-old-artifacts",
        "Status": "Enabled",
        "Filter": {"Prefix": f"{KEY_PREFIX}/"},
        "Expiration": {"Days": ARTIFACT_DAYS},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
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
        ("put_bucket_lifecycle_configuration", {"LifecycleConfiguration": {"Rules": [rule]}}),
    ]
    if tls_only:
        calls.append(("put_bucket_policy", {"Policy": json.dumps(policy, sort_keys=True)}))
    return calls


def _head_region(s3: Any, name: str, owner: str) -> str | None:
    """The bucket's region if it exists and `owner` owns it, None if there is no such bucket.

    ExpectedBucketOwner makes S3 answer 403 for a bucket of another account:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
    """
    from botocore.exceptions import ClientError

    try:
        response = s3.head_bucket(Bucket=name, ExpectedBucketOwner=owner)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise PackagingError(
                f"bucket {name} belongs to another account or denies you access (403); pass --bucket with "
                "a bucket of this account"
            ) from exc
        raise
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(response.get("BucketRegion") or headers.get("x-amz-bucket-region") or "")


def _create(s3: Any, name: str, region: str, say: Callable[[str], None]) -> None:
    """CreateBucket: ours already is success, another account's is a clear error.

    Outside us-east-1 the region goes in LocationConstraint, and an existing bucket of ours
    answers BucketAlreadyOwnedByYou (us-east-1 answers 200):
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
    """
    from botocore.exceptions import ClientError

    say(f"Creating artifact bucket {name}")
    create: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**create)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "BucketAlreadyOwnedByYou":
            return
        if code == "BucketAlreadyExists":
            raise PackagingError(
                f"bucket name {name} is taken by another account; pass --bucket with a bucket of this account"
            ) from exc
        raise


def ensure_bucket(s3: Any, sts: Any, region: str, bucket: str | None, say: Callable[[str], None]) -> Bucket:
    """The bucket to upload to: `bucket` if given (it must exist and be ours), else our per-account one.

    Our bucket is created on first use; its settings are applied on every run, so a bucket
    changed by hand or made by an older version is put right.
    """
    owner = sts.get_caller_identity()["Account"]
    name = bucket or default_bucket_name(owner, region)
    found = _head_region(s3, name, owner)
    if found is None and bucket is not None:
        raise PackagingError(f"bucket {bucket} does not exist")
    if found is None:
        _create(s3, name, region, say)
        found = region
    if found and found != region:
        # Uploads go through the stack region's S3 client, and CloudFormation then reads the
        # templates across regions; keep the artifacts beside the stack instead.
        raise PackagingError(
            f"bucket {name} is in {found}, the stack in {region}: pass --bucket with a bucket in {region}"
        )
    result = Bucket(name=name, region=region, owner=owner)
    if bucket is None:
        # A TLS-only policy would lock out a plain-HTTP local endpoint; AWS endpoints are HTTPS.
        tls_only = urlsplit(s3.meta.endpoint_url).scheme == "https"
        for operation, arguments in bucket_settings(result, tls_only):
            getattr(s3, operation)(Bucket=name, ExpectedBucketOwner=owner, **arguments)
    return result
