"""The one place AWS clients are made: boto3's standard credential chain, retries that survive
throttling, one endpoint for every service when asked (a local AWS)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

# Adaptive mode adds client-side rate limiting on top of standard retries: the event poller
# calls DescribeStackEvents for every nested stack, which is what gets throttled first.
RETRY_MODE = "adaptive"
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Clients:
    """The clients the deployer uses, all from one session and one endpoint; `factory` makes the
    others (ecs, ecr, iam, ...) on demand from the same session, endpoint and retry settings."""

    cloudformation: Any
    s3: Any
    sts: Any
    region: str
    elbv2: Any = None  # load balancer deletion protection (deploy/protection.py)
    factory: Callable[[str], Any] | None = None

    def client(self, service: str) -> Any:
        if self.factory is None:
            raise RuntimeError(f"no client factory for {service}: pass Clients(factory=...)")
        return self.factory(service)


def connect(profile: str | None, region: str | None, endpoint_url: str | None) -> Clients:
    """The clients of a command. Without `endpoint_url`, botocore honours AWS_ENDPOINT_URL (and the
    per-service AWS_ENDPOINT_URL_<SERVICE>) itself:
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html"""
    return make_clients(make_session(profile, region), endpoint_url)


def make_session(
    profile: str | None = None, region: str | None = None, credentials: Mapping[str, Any] | None = None
) -> boto3.Session:
    """The profile's session (boto3's credential chain), or one holding `credentials`, the
    Credentials of an STS AssumeRole answer (a role inside another account)."""
    import boto3

    if credentials is not None:
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
    return boto3.Session(profile_name=profile, region_name=region)


def make_client(
    session: boto3.Session, service: str, endpoint_url: str | None = None, region: str | None = None
) -> Any:
    """One client of `session` with the retry settings of every client; `region` when not the session's."""
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=client_config())


def client_config() -> Any:
    """The botocore settings of every client: retries that survive throttling."""
    from botocore.config import Config

    return Config(retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS})


def make_clients(session: boto3.Session, endpoint_url: str | None = None) -> Clients:
    """Clients for `session`, optionally pointed at one endpoint for every service (a local AWS)."""
    region = session.region_name
    if not region:
        from botocore.exceptions import NoRegionError

        raise NoRegionError()

    def client(service: str) -> Any:
        return make_client(session, service, endpoint_url)

    return Clients(
        cloudformation=client("cloudformation"),
        s3=client("s3"),
        sts=client("sts"),
        region=region,
        elbv2=client("elbv2"),
        factory=client,
    )


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)
