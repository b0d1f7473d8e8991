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


def load_template(path: Path) -> dict[str, Any]:
    """A JSON or YAML template (short-form tags included) as plain data."""
    from cfn_flip import load

    try:
        data, _fmt = load(path.read_text(encoding="utf-8"))
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


def object_url(s3: Any, bucket: str, key: str) -> str:
    """The URL CloudFormation should fetch `key` from, built from the client's own endpoint.

    AWS endpoints get virtual-hosted URLs (`https://BUCKET.s3.REGION.amazonaws.com/KEY`); any
    other endpoint (a local or S3-compatible one) gets path style `ENDPOINT/BUCKET/KEY`.
    """
    endpoint = urlsplit(s3.meta.endpoint_url)
    path = "/" + quote(key)
    host = endpoint.netloc
    if host.endswith(".amazonaws.com") and "." not in bucket:
        return f"{endpoint.scheme}://{bucket}.{host}{path}"
    return f"{endpoint.scheme}://{host}/{bucket}{path}"


def render_json(template: dict[str, Any]) -> str:
    """Deterministic, compact JSON: equal templates give equal bytes, hence equal keys."""
    return json.dumps(template, sort_keys=True, separators=(",", ":")) + "\n"


class Packager:
    """Uploads the templates a root references, depth first, each once per content."""

    def __init__(self, s3: Any, bucket: str, prefix: str = KEY_PREFIX) -> None:
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
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
            exists = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            exists = False
        if not exists:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=content)
        self.uploads.append(Upload(key=key, size=len(content), uploaded=not exists))
        return object_url(self._s3, self._bucket, key)


def package(
    s3: Any, bucket: str, root: Path, max_body_bytes: int = MAX_TEMPLATE_BODY_BYTES
) -> PackagedTemplate:
    """Upload everything `root` needs to `bucket` and return the root to deploy."""
    return Packager(s3, bucket).package_root(root, max_body_bytes)


def default_bucket_name(account_id: str, region: str) -> str:
    return f"{ARTIFACT_BUCKET_PREFIX}-{account_id}-{region}"


def ensure_bucket(s3: Any, sts: Any, region: str, bucket: str | None, say: Callable[[str], None]) -> str:
    """The bucket to upload to: `bucket` if given (it must exist), else our per-account one.

    Our bucket is created on first use with default encryption, versioning and every public
    access block turned on.
    """
    from botocore.exceptions import ClientError

    if bucket is not None:
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            reason = "does not exist" if code in ("404", "NoSuchBucket") else f"is not accessible ({code})"
            raise PackagingError(f"bucket {bucket} {reason}") from exc
        return bucket

    name = default_bucket_name(sts.get_caller_identity()["Account"], region)
    try:
        s3.head_bucket(Bucket=name)
        return name
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchBucket"):
            raise PackagingError(
                f"bucket {name} exists but is not accessible ({code}); pass --bucket"
            ) from exc
    say(f"Creating artifact bucket {name}")
    create: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return name
