"""The platform description: a typed, frozen config validated once, when it is loaded.

Shape and types are checked by msgspec; the checks that span fields (Fargate sizes, routes,
caller edges, references, reserved names) are the registry in `tap_cfn.checks`, each naming
the field path it is about. Every finding surfaces as a `ConfigError` line:
``FILE: services[api-gateway].memory: what is allowed``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import yaml
from msgspec import Meta

from tap_cfn import config_errors
from tap_cfn.config_errors import pattern
from tap_cfn.conventions import ACCOUNT_ID_PATTERN, DEFAULT_PROJECT, REGION_PATTERN

DNS_LABEL = pattern(
    r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, "
    "at most 63 characters",
)
ENV_VAR = pattern(r"^[A-Za-z_][A-Za-z0-9_]*$", "letters, digits and underscores, not starting with a digit")
pattern(REGION_PATTERN, "an AWS region name such as eu-west-1 or us-east-1")
DEFAULT_CONFIG = "tap.yaml"
_T = TypeVar("_T")

# Fargate task sizes: CPU units -> allowed memory (MiB).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, Sequence[int]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}


def memory_sizes(allowed: Sequence[int]) -> str:
    """Fargate memory sizes in words: '512, 1024, 2048' or '1024-4096 in steps of 1024'."""
    if isinstance(allowed, range):
        return f"{allowed.start}-{allowed.stop - 1} in steps of {allowed.step}"
    return ", ".join(map(str, allowed))


# What an error about a task size lists (the JSON Schema offers the CPU sizes to editors too).
FARGATE_CPU: dict[str, Any] = {"extra_json_schema": {"enum": list(FARGATE_SIZES)}}
FARGATE_MEMORY: dict[str, Any] = {
    "extra": {
        "allowed": "MiB the cpu offers: "
        + "; ".join(f"{memory_sizes(memory)} with cpu {cpu}" for cpu, memory in FARGATE_SIZES.items())
    }
}
# Values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# Placeholders allowed in environment values; they become Fn::Sub variables.
REFERENCE = re.compile(r"\$\{([^}]*)\}")
SERVICE_REFERENCE = re.compile(r"^service\.([a-z0-9-]+)\.(url|host)$")
# ${alb.dns}: the load balancer's DNS name; ${alb.url}: http(s)://<custom domain or DNS name>.
ALB_REFERENCES = ("alb.dns", "alb.url")
ONE_DAY = 86_400
# Per-service alarm thresholds that only exist for services behind the load balancer.
ALB_ALARMS = ("target_5xx", "unhealthy_hosts", "p99_latency")


class ConfigError(Exception):
    """Bad input: the message is one line naming the file, the field path and what is allowed."""


def _f(description: str, **constraints: Any) -> Any:
    """A documented, constrained field type: Annotated[T, Meta(...)] without the noise."""
    return Meta(description=description, **constraints)


class _Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Capacity(_Model, frozen=True):
    """Capacity-provider strategy: FARGATE takes the base, the rest is split by weight."""

    fargate_base: Annotated[int, _f("Tasks always on FARGATE (on-demand).", ge=0, le=100_000)] = 1
    fargate_weight: Annotated[int, _f("Relative share of FARGATE above the base.", ge=0, le=1000)] = 1
    spot_weight: Annotated[int, _f("Relative share of FARGATE_SPOT above the base.", ge=0, le=1000)] = 4


Percent = Annotated[float, Meta(gt=0, le=100)]


class Alarms(_Model, frozen=True):
    """CloudWatch alarm thresholds of an environment. Every alarm notifies the deployment's one SNS
    topic; a service may override the per-service thresholds in its own `alarms`."""

    period: Annotated[int, _f("Seconds per evaluated datapoint: 10, 30 or a multiple of 60.", ge=10)] = 60
    evaluation_periods: Annotated[int, _f("Datapoints an alarm looks at.", ge=1, le=1440)] = 5
    datapoints_to_alarm: Annotated[
        int, _f("How many of them must breach (M of N); at most evaluation_periods.", ge=1, le=1440)
    ] = 3
    cpu_high: Annotated[Percent, _f("Service average CPU utilisation (%) above which to alarm.")] = 85.0
    memory_high: Annotated[Percent, _f("Service average memory utilisation (%) above which to alarm.")] = 85.0
    target_5xx: Annotated[
        int, _f("5xx responses from one service's targets per period (ALB services).", ge=1)
    ] = 10
    unhealthy_hosts: Annotated[int, _f("Unhealthy targets of one service (ALB services).", ge=1)] = 1
    p99_latency: Annotated[
        float, _f("p99 target response time (seconds) above which to alarm (ALB services).", gt=0, le=600)
    ] = 2.0
    alb_5xx: Annotated[int, _f("5xx responses the load balancer itself generates per period.", ge=1)] = 10
    rejected_connections: Annotated[
        int, _f("Connections the load balancer rejects per period (its connection limit).", ge=1)
    ] = 1


class ServiceAlarms(_Model, frozen=True):
    """Per-service overrides of the environment's `alarms` thresholds; an unset field takes the
    environment's value (so dev and prod may differ while a service keeps its own figure)."""

    cpu_high: Annotated[Percent | None, _f("Default: the environment's alarms.cpu_high.")] = None
    memory_high: Annotated[Percent | None, _f("Default: the environment's alarms.memory_high.")] = None
    target_5xx: Annotated[
        Annotated[int, Meta(ge=1)] | None, _f("Default: the environment's alarms.target_5xx.")
    ] = None
    unhealthy_hosts: Annotated[
        Annotated[int, Meta(ge=1)] | None, _f("Default: the environment's alarms.unhealthy_hosts.")
    ] = None
    p99_latency: Annotated[
        Annotated[float, Meta(gt=0, le=600)] | None, _f("Default: the environment's alarms.p99_latency.")
    ] = None


# Application Auto Scaling cron: minutes hours day-of-month month day-of-week year.
SCHEDULE_CRON = pattern(
    r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$",
    "cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 20 ? * MON-FRI *)",
)


class ScheduledScaling(_Model, frozen=True):
    """A recurring window in which every service's scaling bounds become `min`..`max` (e.g. dev
    scaled to zero at night); at `end` each service gets its own min and max back."""

    start: Annotated[str, _f("When the window opens, e.g. cron(0 20 ? * MON-FRI *).", pattern=SCHEDULE_CRON)]
    end: Annotated[str, _f("When it closes, e.g. cron(0 7 ? * MON-FRI *).", pattern=SCHEDULE_CRON)]
    timezone: Annotated[str, _f("IANA time zone of the cron expressions, e.g. Europe/Berlin.")] = "UTC"
    min: Annotated[int, _f("Auto scaling minimum inside the window.", ge=0, le=1000)] = 0
    max: Annotated[int, _f("Auto scaling maximum inside the window.", ge=0, le=1000)] = 0


# An ACM certificate ARN in any partition; its fourth field is the certificate's region.
ACM_CERTIFICATE = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+"
CERTIFICATE_ARN = pattern(
    f"^{ACM_CERTIFICATE}$", "an ACM certificate ARN, arn:aws:acm:<region>:<12-digit account>:certificate/<id>"
)


class RegionSettings(_Model, frozen=True):
    """What differs in one region of an environment: each becomes that region's value of a root
    parameter (VpcCidr, CertificateArn) in `deploy --region` and in `stackset deploy`."""

    vpc_cidr: Annotated[
        str | None,
        _f(
            "The VPC's range in this region: RFC 1918, as long a prefix as the environment's vpc_cidr, "
            "and overlapping no other region's, so the regions can be peered. Changing it replaces "
            "the VPC. Default: the environment's vpc_cidr."
        ),
    ] = None
    certificate_arn: Annotated[
        Annotated[str, Meta(pattern=CERTIFICATE_ARN, max_length=2048)] | None,
        _f("ACM certificate of the load balancer in this region (a certificate is regional). Default: none."),
    ] = None


# The collector listens inside the task only (its containers share the task's network namespace):
# OTLP over gRPC and HTTP, X-Ray SDK segments over UDP, and its own health check extension.
COLLECTOR_NAME = "otel-collector"
COLLECTOR_PORTS = {4317: "OTLP gRPC", 4318: "OTLP HTTP", 2000: "X-Ray UDP", 13133: "health check"}
# Docker 20.10+ reserves at least 6 MiB per container, so none may be given less
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, memory).
MIN_CONTAINER_MEMORY = 6


class Tracing(_Model, frozen=True):
    """Traces to AWS X-Ray: an AWS Distro for OpenTelemetry collector beside the main container of
    every service (workers and internal services too). The application is told where to send spans
    (OTEL_EXPORTER_OTLP_ENDPOINT, AWS_XRAY_DAEMON_ADDRESS); the task role may write traces; the
    collector's configuration is an SSM parameter of the service stack. Its CPU and memory come out
    of the task's size: the task costs the same, the application gets that much less."""

    collector_cpu: Annotated[
        int, _f("CPU units reserved for the collector inside the task's `cpu`.", ge=16, le=4096)
    ] = 64
    collector_memory: Annotated[
        int,
        _f(
            "Hard memory limit (MiB) of the collector inside the task's `memory`; the main container's "
            "limit is the task's memory less this.",
            ge=32,
            le=4096,
        ),
    ] = 128
    sample_ratio: Annotated[
        float,
        _f(
            "Share of requests whose traces are recorded, the OpenTelemetry SDK's parent-based ratio "
            "sampler (X-Ray bills per trace recorded).",
            gt=0,
            le=1,
        ),
    ] = 0.05


class Environment(_Model, frozen=True):
    """One environment profile (dev, staging, prod, ...)."""

    vpc_cidr: Annotated[
        str,
        _f(
            "VPC CIDR, a private (RFC 1918) range: the default of the root parameter VpcCidr; its "
            "prefix length fixes the subnet layout of every region."
        ),
    ] = "10.0.0.0/16"
    subnet_prefix: Annotated[
        int, _f("Prefix length of every subnet (/24 = 256 addresses).", ge=17, le=28)
    ] = 24
    az_count: Annotated[int, _f("Availability zones used (an ALB needs at least 2).", ge=2, le=6)] = 3
    nat: Annotated[Literal["single", "per_az"], _f("One NAT gateway per AZ, or a single shared one.")] = (
        "per_az"
    )
    log_retention_days: Annotated[
        int,
        _f(
            "CloudWatch Logs retention of the service log groups.",
            extra_json_schema={"enum": list(LOG_RETENTION_DAYS)},
        ),
    ] = 30
    capacity: Capacity = msgspec.field(default_factory=Capacity)
    retain_data: Annotated[
        bool, _f("Keep stateful resources on deletion (DeletionPolicy RetainExceptOnCreate).")
    ] = True
    alb_deletion_protection: Annotated[
        bool,
        _f(
            "Deletion protection on the load balancer, turned on by the deployer after a successful "
            "deploy; destroy lifts it once the stack name is typed back."
        ),
    ] = False
    alarms: Alarms = msgspec.field(default_factory=Alarms)
    egress: Annotated[
        Literal["nat", "endpoints"],
        _f(
            "How tasks reach AWS APIs: nat (NAT gateways, as set by `nat`) or endpoints (no NAT: VPC "
            "endpoints for ECR, CloudWatch Logs, Secrets Manager, KMS and S3; no other way out)."
        ),
    ] = "nat"
    scheduled_scaling: Annotated[
        ScheduledScaling | None, _f("Optional recurring scaling window for every service; none by default.")
    ] = None
    regions: Annotated[
        dict[Annotated[str, Meta(pattern=REGION_PATTERN)], RegionSettings],
        _f(
            "Per AWS region, what differs there, e.g. {eu-west-1: {vpc_cidr: 10.1.0.0/16, "
            "certificate_arn: arn:aws:acm:eu-west-1:...}}; none by default."
        ),
    ] = msgspec.field(default_factory=dict)
    tracing: Annotated[
        Tracing | None,
        _f(
            "X-Ray tracing through an OpenTelemetry collector in every task, e.g. tracing: {} for the "
            "defaults; off (null) by default."
        ),
    ] = None

    @property
    def via_endpoints(self) -> bool:
        """egress: endpoints: no NAT; the tasks reach AWS APIs through VPC endpoints and nothing else."""
        return self.egress == "endpoints"

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.vpc_cidr)

    def vpc_cidr_in(self, region: str) -> str:
        """The VPC range in `region`: its own, or the environment's."""
        settings = self.regions.get(region)
        return settings.vpc_cidr if settings and settings.vpc_cidr else self.vpc_cidr


ACCOUNT_ID = pattern(ACCOUNT_ID_PATTERN, "a 12-digit AWS account ID")


class Registry(_Model, frozen=True):
    """The project's image repositories (`registry deploy`), shared by every environment."""

    keep_images: Annotated[
        int,
        _f(
            "Tagged images each ECR repository keeps (the newest, counted over every environment: "
            "more than the releases prod may roll back to); untagged ones expire after a day.",
            ge=1,
            le=10_000,
        ),
    ] = 50
    pull_accounts: Annotated[
        list[Annotated[str, Meta(pattern=ACCOUNT_ID)]],
        _f(
            "Other AWS accounts (12-digit IDs) whose environments may pull the images (a repository "
            "policy); none by default. `registry deploy --pull-accounts` overrides it."
        ),
    ] = msgspec.field(default_factory=list)


class Secret(_Model, frozen=True):
    """A Secrets Manager secret whose value CloudFormation generates; no value is ever in a template."""

    name: Annotated[
        str, _f("DNS label; the secret is named <project>-secret-<name>-<suffix>.", pattern=DNS_LABEL)
    ]
    description: Annotated[str, _f("Shown in the Secrets Manager console.", max_length=2048)] = ""
    template: Annotated[str | None, _f("JSON object the generated value is added to.")] = None
    generate_key: Annotated[str | None, _f("Key of the generated value inside `template`.")] = None
    length: Annotated[int, _f("Length of the generated value.", ge=20, le=4096)] = 32


class HealthCheck(_Model, frozen=True):
    """A container health check ECS runs inside the task (the image must contain what the command
    calls, e.g. curl or wget for a CMD-SHELL HTTP probe); an unhealthy task is replaced."""

    command: Annotated[
        list[str],
        _f(
            '["CMD-SHELL", "curl -fs http://localhost:8080/health || exit 1"] or ["CMD", "/bin/probe"].',
            min_length=2,
        ),
    ]
    interval: Annotated[int, _f("Seconds between checks.", ge=5, le=300)] = 30
    timeout: Annotated[int, _f("Seconds a check may take before it counts as failed.", ge=2, le=60)] = 5
    retries: Annotated[int, _f("Consecutive failures before the container is unhealthy.", ge=1, le=10)] = 3
    start_period: Annotated[int, _f("Seconds after start in which failures do not count.", ge=0, le=300)] = 30


ROUTE_PATH = pattern(
    r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&]{0,127}$",
    "/ and at most 127 more letters, digits or _-.$/~\"'@:+*?&, e.g. /api/*",
)
ROUTE_HOST = pattern(
    r"^[A-Za-z0-9*?.-]{1,128}$", "1-128 letters, digits, dots, hyphens, * or ?, e.g. api.example.com"
)


class Route(_Model, frozen=True):
    """How a service is reached: through the ALB (default action, path or host rule) or only internally."""

    type: Annotated[
        Literal["alb", "internal", "none"],
        _f("alb: behind the load balancer; internal: Cloud Map only; none: a worker, reached by no one."),
    ]
    default: Annotated[bool, _f("The listener's default action forwards here (exactly one service).")] = False
    path: Annotated[
        Annotated[str, Meta(pattern=ROUTE_PATH)] | None,
        _f("Path pattern rule, e.g. /api/*."),
    ] = None
    host: Annotated[
        Annotated[str, Meta(pattern=ROUTE_HOST)] | None,
        _f("Host header rule, e.g. api.example.com."),
    ] = None
    priority: Annotated[
        Annotated[int, Meta(ge=1, le=50_000)] | None,
        _f("Listener rule priority; default: 100, 200, ... in declaration order."),
    ] = None

    @property
    def behind_alb(self) -> bool:
        """Reached through the load balancer: it has a target group, a listener rule or the default."""
        return self.type == "alb"

    @property
    def internal(self) -> bool:
        """Reached only through Cloud Map, by its callers."""
        return self.type == "internal"

    @property
    def unreached(self) -> bool:
        """A worker's: no listener, no ingress, no Cloud Map record."""
        return self.type == "none"


# An SQS queue by name (standard or FIFO) or by ARN, whose name is the metric's QueueName.
QUEUE = pattern(
    r"^(arn:[a-z-]+:sqs:[a-z0-9-]+:[0-9]{12}:)?[A-Za-z0-9_-]{1,75}(\.fifo)?$",
    "an SQS queue name (1-75 letters, digits, hyphens and underscores, then .fifo for a FIFO queue) "
    "or its ARN, arn:aws:sqs:<region>:<12-digit account>:<name>",
)


class QueueScaling(_Model, frozen=True):
    """Target tracking on an SQS queue's backlog per task: messages visible / running tasks."""

    queue: Annotated[
        str,
        _f("The queue's name or ARN, e.g. jobs or arn:aws:sqs:eu-west-1:123456789012:jobs.", pattern=QUEUE),
    ]
    messages_per_task: Annotated[
        int, _f("Backlog each task may hold (how many it works off in an acceptable time).", ge=1)
    ]

    @property
    def name(self) -> str:
        return self.queue.rsplit(":", 1)[-1]


class Scaling(_Model, frozen=True):
    """Target-tracking auto scaling of the service's desired count."""

    cpu_target: Annotated[Percent | None, _f("Average CPU utilisation target (%).")] = 70.0
    memory_target: Annotated[Percent | None, _f("Average memory utilisation target (%).")] = None
    requests_per_target: Annotated[
        Annotated[int, Meta(ge=1)] | None, _f("ALB requests per target (ALB services only).")
    ] = None
    queue: Annotated[
        QueueScaling | None, _f("Scale on an SQS queue's backlog per task (workers); none by default.")
    ] = None
    scale_in_cooldown: Annotated[int, _f("Seconds between scale-in activities.", ge=0, le=3600)] = 60
    scale_out_cooldown: Annotated[int, _f("Seconds between scale-out activities.", ge=0, le=3600)] = 60


EnvName = Annotated[str, Meta(pattern=ENV_VAR)]

# An IAM action as `service:Action`; checked against awacs' action lists when the config is loaded.
IAM_ACTION = pattern(
    r"^[a-z0-9-]+:[A-Za-z0-9*?]+$", "service:Action, e.g. s3:GetObject (* and ? as wildcards in the action)"
)
# A resource of a task-role statement: "*", an ARN (literal partition or ${AWS::Partition}, and
# ${AWS::Region} / ${AWS::AccountId} placeholders), or a platform part: ${secret.<name>} or
# ${log_group.<service>}.
PERMISSION_RESOURCE = pattern(
    r"^(\*|arn:\S+|\$\{(secret|log_group)\.[a-z0-9-]+\})$",
    '"*", an ARN (arn:..., no spaces), ${secret.<name>} or ${log_group.<service>}',
)
PLATFORM_RESOURCE = re.compile(r"^\$\{(secret|log_group)\.([a-z0-9-]+)\}$")
ARN_PLACEHOLDERS = ("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")
# A managed policy: AWS-managed (account `aws`) or the customer's own, in any partition
# (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_AttachedManagedPolicy.html).
MANAGED_POLICY_ARN = pattern(
    r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|\$\{AWS::Partition\}):iam::"
    r"(aws|[0-9]{12}|\$\{AWS::AccountId\}):policy(/[A-Za-z0-9.,+@=_-]+)*/[A-Za-z0-9.,+@=_-]{1,128}$",
    "a managed policy ARN, arn:aws:iam::aws:policy/<name> or arn:aws:iam::<12-digit account>:policy/<name>",
)


class Permission(_Model, frozen=True):
    """One Allow statement of the service's task role (what the application may call)."""

    actions: Annotated[
        list[Annotated[str, Meta(pattern=IAM_ACTION)]],
        _f("IAM actions such as s3:GetObject; each must be an action awacs knows.", min_length=1),
    ]
    resources: Annotated[
        list[Annotated[str, Meta(pattern=PERMISSION_RESOURCE)]],
        _f(
            "ARNs (arn:${AWS::Partition}:... is partition-aware), ${secret.<name>}, "
            '${log_group.<service>}, or "*" only when every action lacks resource-level permissions.',
            min_length=1,
        ),
    ]


class SizeOverride(_Model, frozen=True):
    """A service's size in one environment profile; an unset field keeps the service's own value."""

    cpu: Annotated[Annotated[int, Meta(**FARGATE_CPU)] | None, _f("Fargate CPU units in this profile.")] = (
        None
    )
    memory: Annotated[
        Annotated[int, Meta(**FARGATE_MEMORY)] | None, _f("Fargate memory (MiB) in this profile.")
    ] = None
    min: Annotated[
        Annotated[int, Meta(ge=0, le=1000)] | None, _f("Auto scaling minimum in this profile.")
    ] = None
    max: Annotated[
        Annotated[int, Meta(ge=1, le=1000)] | None, _f("Auto scaling maximum in this profile.")
    ] = None
    desired: Annotated[
        Annotated[int, Meta(ge=0, le=1000)] | None, _f("Typical running task count in this profile.")
    ] = None


# An image reference: [registry[:port]/]repository[:tag][@sha256:digest], e.g. public.ecr.aws/nginx/nginx.
IMAGE = pattern(
    r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
    "an image reference [registry[:port]/]repository[:tag][@sha256:digest], registry and repository "
    "in lowercase, no spaces, e.g. public.ecr.aws/nginx/nginx:1.27",
)
_PARTITION = r"arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b)"
SECRET_ARN = pattern(
    "^" + _PARTITION + r":secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$",
    "a Secrets Manager secret ARN, arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>",
)
KMS_KEY_ARN = pattern(
    "^" + _PARTITION + r":kms:[a-z0-9-]+:[0-9]{12}:key/[a-f0-9-]{36}$",
    "a KMS key ARN, arn:aws:kms:<region>:<12-digit account>:key/<key ID>",
)


class RepositoryCredentials(_Model, frozen=True):
    """A Secrets Manager secret holding {"username": ..., "password": ...} for a private registry."""

    secret: Annotated[
        str, _f("ARN of the secret; the execution role may read this one secret.", pattern=SECRET_ARN)
    ]
    kms_key: Annotated[
        Annotated[str, Meta(pattern=KMS_KEY_ARN)] | None,
        _f("ARN of the customer-managed key encrypting the secret; none for the aws/secretsmanager key."),
    ] = None


class DependsOn(_Model, frozen=True):
    """Start this container only once another container of the task reached `condition`
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html)."""

    container: Annotated[str, _f("Name of the other container: the service's name or a sidecar's.")]
    condition: Annotated[
        Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"],
        _f(
            "START: started; COMPLETE / SUCCESS: exited (with 0), only for a non-essential container; "
            "HEALTHY: passed its health check."
        ),
    ] = "START"


class Sidecar(_Model, frozen=True):
    """An extra container in every task of the service (a log router, an agent, a proxy), logging to
    the service's log group under its own stream prefix."""

    name: Annotated[
        str, _f("DNS label, unique within the task; also its log stream prefix.", pattern=DNS_LABEL)
    ]
    image: Annotated[
        str,
        _f(
            "Image reference from any registry, e.g. public.ecr.aws/aws-observability/aws-otel-collector.",
            pattern=IMAGE,
            max_length=255,
        ),
    ]
    essential: Annotated[bool, _f("Stop the task when this container stops.")] = True
    port: Annotated[
        Annotated[int, Meta(ge=1, le=65535)] | None,
        _f("Port it listens on inside the task; none by default."),
    ] = None
    command: Annotated[list[str] | None, _f("Overrides the image's CMD; default: the image's.")] = None
    environment: Annotated[dict[EnvName, str], _f("Plain variables (no references).")] = msgspec.field(
        default_factory=dict
    )
    depends_on: Annotated[list[DependsOn], _f("Containers that must reach a condition first.")] = (
        msgspec.field(default_factory=list)
    )
    health_check: Annotated[HealthCheck | None, _f("Container health check; none by default.")] = None
    readonly_root_filesystem: Annotated[
        bool, _f("Read-only root filesystem; the task's writable /tmp volume is mounted.")
    ] = True
    memory: Annotated[
        int,
        _f(
            "Hard memory limit (MiB) of this container inside the task's `memory`; the main container's "
            "limit is the task's memory less its sidecars' (and the tracing collector's).",
            ge=MIN_CONTAINER_MEMORY,
        ),
    ] = 64


# ECS deployment strategies: config value -> DeploymentConfiguration.Strategy (AWS::ECS::Service
# DeploymentConfiguration reference:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-deploymentconfiguration.html).
STRATEGIES = {"rolling": "ROLLING", "blue_green": "BLUE_GREEN", "canary": "CANARY", "linear": "LINEAR"}
# ECS's time limits on every bake time: 0 to 1440 minutes (24 hours)
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html).
Minutes = Annotated[int, Meta(ge=0, le=1440)]
# Ours: ECS requires a bake time with BLUE_GREEN and we give every native strategy the same.
DEFAULT_BAKE_TIME_MINUTES = 10
# The header that routes a request to the new revision through a test listener rule: the one ECS's
# Service Connect recognises as test traffic by default, so that one header reaches a new revision
# either way (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-blue-green.html).
TEST_TRAFFIC_HEADER = "x-amzn-ecs-blue-green-test"
# ECS's defaults: (canaryPercent, canaryBakeTimeInMinutes) and (stepPercent, stepBakeTimeInMinutes).
ECS_CANARY_DEFAULTS, ECS_LINEAR_DEFAULTS = (5.0, 10), (10.0, 6)


class ServiceDeployment(_Model, frozen=True):
    """How ECS replaces the tasks of a release. rolling: in place, guarded by the circuit breaker;
    blue_green, canary, linear: a second (green) revision beside the running one, production traffic
    shifted to it through the load balancer all at once, in two steps or in equal steps, rolled back
    when a deployment alarm fires. An unset figure takes ECS's default, named on the field."""

    strategy: Annotated[
        Literal["rolling", "blue_green", "canary", "linear"],
        _f(
            "rolling (default) for every service; blue_green for ALB services and workers; canary and "
            "linear for ALB services with a path or host rule (ECS shifts their traffic by that rule)."
        ),
    ] = "rolling"
    bake_time_minutes: Annotated[
        Minutes | None,
        _f(
            "blue_green, canary, linear: minutes both revisions keep running after production traffic "
            "has shifted, the window in which an alarm still rolls back (0-1440); default 10."
        ),
    ] = None
    canary_percent: Annotated[
        Annotated[float, Meta(ge=0.1, le=100)] | None,
        _f(
            "canary: percent of production traffic the new revision takes first (0.1-100, steps of "
            "0.1); ECS's default 5."
        ),
    ] = None
    canary_bake_time_minutes: Annotated[
        Minutes | None,
        _f("canary: minutes before the rest of the traffic shifts (0-1440); ECS's default 10."),
    ] = None
    step_percent: Annotated[
        Annotated[float, Meta(ge=3, le=100)] | None,
        _f("linear: percent of production traffic shifted per step (3-100, steps of 0.1); ECS's default 10."),
    ] = None
    step_bake_time_minutes: Annotated[
        Minutes | None,
        _f("linear: minutes between two steps (0-1440); ECS's default 6."),
    ] = None
    test_listener_rule: Annotated[
        bool,
        _f(
            "ALB services with blue_green, canary or linear: a test listener rule, so that requests with "
            f"the header {TEST_TRAFFIC_HEADER} reach the new revision before production traffic does."
        ),
    ] = False

    @property
    def bake_minutes(self) -> int:
        """BakeTimeInMinutes, which ECS requires with BLUE_GREEN
        (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html)."""
        return DEFAULT_BAKE_TIME_MINUTES if self.bake_time_minutes is None else self.bake_time_minutes

    @property
    def canary(self) -> tuple[float, int]:
        """(percent, minutes) of the canary step, ECS's defaults where unset."""
        percent, minutes = ECS_CANARY_DEFAULTS
        return (
            percent if self.canary_percent is None else self.canary_percent,
            minutes if self.canary_bake_time_minutes is None else self.canary_bake_time_minutes,
        )

    @property
    def linear(self) -> tuple[float, int]:
        """(percent, minutes) of each linear step, ECS's defaults where unset."""
        percent, minutes = ECS_LINEAR_DEFAULTS
        return (
            percent if self.step_percent is None else self.step_percent,
            minutes if self.step_bake_time_minutes is None else self.step_bake_time_minutes,
        )

    @property
    def native(self) -> bool:
        """A blue/green-family strategy: a green revision beside the blue one, traffic shifted by ECS."""
        return self.strategy != "rolling"

    @property
    def is_canary(self) -> bool:
        """canary: a share of production traffic first, the rest after a bake time."""
        return self.strategy == "canary"

    @property
    def is_linear(self) -> bool:
        """linear: production traffic shifted in equal steps."""
        return self.strategy == "linear"

    @property
    def shifts_traffic_gradually(self) -> bool:
        """canary or linear: ECS moves a share of the production listener rule's traffic at a time."""
        return self.is_canary or self.is_linear


# Linux user[:group] by name or ID, as the container definition's `user` takes it.
CONTAINER_USER = pattern(
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$",
    "user or user:group, each a name or numeric ID of at most 32 characters, e.g. 1000:1000",
)
HEALTH_CHECK_PATH = pattern(r"^/\S{0,1023}$", "/ and at most 1023 more characters, no spaces, e.g. /health")
ABSOLUTE_PATH = pattern(r"^/\S*$", "an absolute path: / and no spaces, e.g. /app")
PROJECT = pattern(r"^[a-z][a-z0-9]{0,9}$", "a lowercase letter, then at most 9 lowercase letters or digits")
ARCHITECTURES = {"x86_64": "X86_64", "arm64": "ARM64"}  # config value -> RuntimePlatform.CpuArchitecture


class Service(_Model, frozen=True, kw_only=True):
    """One ECS service on Fargate: its task definition, roles and log group; its image in the registry."""

    name: Annotated[str, _f("DNS label; also the service's Cloud Map name.", pattern=DNS_LABEL)]
    port: Annotated[
        Annotated[int, Meta(ge=1, le=65535)] | None,
        _f("Container port; none for a worker (no listener, no ingress, no Cloud Map record)."),
    ] = None
    cpu: Annotated[int, _f("Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.", **FARGATE_CPU)]
    memory: Annotated[int, _f("Fargate memory (MiB), one that the CPU size offers.", **FARGATE_MEMORY)]
    route: Annotated[Route, _f("How the service is reached; a worker (no port) takes none.")] = msgspec.field(
        default_factory=lambda: Route(type="none")
    )
    desired: Annotated[
        int,
        _f(
            "Typical running task count, what `cost` assumes. Auto scaling owns the running count: a new "
            "service starts at `min`, and updates keep the count auto scaling has set.",
            ge=0,
            le=1000,
        ),
    ] = 2
    min: Annotated[int, _f("Auto scaling minimum.", ge=0, le=1000)] = 2
    max: Annotated[int, _f("Auto scaling maximum.", ge=1, le=1000)] = 10
    health_check_path: Annotated[
        Annotated[str, Meta(pattern=HEALTH_CHECK_PATH)] | None,
        _f("Target-group health check path (ALB services only; default /)."),
    ] = None
    health_check: Annotated[
        HealthCheck | None, _f("Container health check; none by default (the task is healthy while it runs).")
    ] = None
    environment: Annotated[
        dict[EnvName, str],
        _f(
            "Variables; values may use ${alb.url}, ${alb.dns}, ${service.<name>.url} and "
            "${service.<name>.host}."
        ),
    ] = msgspec.field(default_factory=dict)
    secrets: Annotated[dict[EnvName, str], _f("Variable name -> secret name, injected with valueFrom.")] = (
        msgspec.field(default_factory=dict)
    )
    callers: Annotated[list[str], _f("Services allowed to call this one on its port.")] = msgspec.field(
        default_factory=list
    )
    scaling: Scaling = msgspec.field(default_factory=Scaling)
    readonly_root_filesystem: Annotated[
        bool,
        _f("Read-only root filesystem; a writable scratch volume is mounted at /tmp."),
    ] = True
    exec: Annotated[
        bool,
        _f("ECS Exec into the tasks (encrypted, logged); needs readonly_root_filesystem: false."),
    ] = False
    alarms: ServiceAlarms = msgspec.field(default_factory=ServiceAlarms)
    command: Annotated[
        list[str] | None,
        _f('Overrides the image\'s CMD, e.g. ["gunicorn", "app:app"]; default: the image\'s.'),
    ] = None
    entrypoint: Annotated[list[str] | None, _f("Overrides the image's ENTRYPOINT; default: the image's.")] = (
        None
    )
    working_directory: Annotated[
        Annotated[str, Meta(pattern=ABSOLUTE_PATH)] | None,
        _f("Absolute directory the command runs in; default: the image's WORKDIR."),
    ] = None
    user: Annotated[
        Annotated[str, Meta(pattern=CONTAINER_USER)] | None,
        _f(
            "user[:group] (name or ID) the container runs as, e.g. 1000:1000. Default: the image's USER, "
            "because a root-owned image may not run as another user (files it writes, ports below 1024, "
            "the task's /tmp volume); set a non-root user wherever the image allows, as AWS Config's "
            "ecs-task-definition-linux-user-non-root asks."
        ),
    ] = None
    stop_timeout: Annotated[
        Annotated[int, Meta(ge=2, le=120)] | None,
        _f("Seconds between SIGTERM and SIGKILL on stop (Fargate allows at most 120); default: ECS's 30."),
    ] = None
    ephemeral_storage: Annotated[
        Annotated[int, Meta(ge=21, le=200)] | None,
        _f("Task ephemeral storage in GiB (Fargate: 21-200); default: Fargate's 20 GiB."),
    ] = None
    environment_overrides: Annotated[
        dict[str, dict[EnvName, str]],
        _f(
            "Per environment profile, variables merged over `environment`, e.g. {prod: {LOG_LEVEL: warn}}; "
            "the same references are allowed."
        ),
    ] = msgspec.field(default_factory=dict)
    overrides: Annotated[
        dict[str, SizeOverride],
        _f(
            "Per environment profile, cpu, memory, min, max and desired, e.g. {dev: {cpu: 256, memory: 512}}."
        ),
    ] = msgspec.field(default_factory=dict)
    architecture: Annotated[
        Literal["x86_64", "arm64"],
        _f("CPU architecture of the tasks; arm64 (Graviton) costs about 20 % less and needs an arm64 image."),
    ] = "x86_64"
    image: Annotated[
        Annotated[str, Meta(pattern=IMAGE, max_length=255)] | None,
        _f(
            "An image from any registry, e.g. public.ecr.aws/nginx/nginx:1.27 or ghcr.io/org/app@sha256:...; "
            "default: <project>/<name> in the project's registry at the deployed ImageTag."
        ),
    ] = None
    repository_credentials: Annotated[
        RepositoryCredentials | None, _f("Credentials of the private registry `image` is pulled from.")
    ] = None
    sidecars: Annotated[list[Sidecar], _f("Extra containers in every task; none by default.")] = (
        msgspec.field(default_factory=list)
    )
    depends_on: Annotated[
        list[DependsOn], _f("Sidecars the main container waits for, e.g. a proxy HEALTHY; none by default.")
    ] = msgspec.field(default_factory=list)
    permissions: Annotated[
        list[Permission], _f("Extra task-role statements for the application; none by default.")
    ] = msgspec.field(default_factory=list)
    managed_policies: Annotated[
        list[Annotated[str, Meta(pattern=MANAGED_POLICY_ARN)]],
        _f("Managed policy ARNs attached to the task role; none by default."),
    ] = msgspec.field(default_factory=list)
    deployment: Annotated[ServiceDeployment, _f("How releases replace the tasks; rolling by default.")] = (
        msgspec.field(default_factory=ServiceDeployment)
    )


class Config(_Model, frozen=True):
    """The whole platform: environment profiles, secrets and services."""

    environments: Annotated[
        dict[Annotated[str, Meta(pattern=DNS_LABEL)], Environment],
        _f("Profiles by name; each is merged over environment_defaults.", min_length=1),
    ]
    services: Annotated[list[Service], _f("The services, in declaration order.", min_length=1)]
    project: Annotated[str, _f("Prefix of every physical name.", pattern=PROJECT)] = DEFAULT_PROJECT
    environment_defaults: Annotated[
        dict[str, Any], _f("Settings every environment starts from (see Environment).")
    ] = msgspec.field(default_factory=dict)
    secrets: list[Secret] = msgspec.field(default_factory=list)
    registry: Registry = msgspec.field(default_factory=Registry)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)


SCHEMA_FILE = "tap.schema.json"  # shipped beside tap.yaml; tests keep it current


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config file, for editors and `generate.py schema`."""
    schema: dict[str, Any] = msgspec.json.schema(Config)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tap-cfn platform config"
    # Every Environment field has a default, so the defaults block is checked as an Environment.
    config = schema["$defs"]["Config"]["properties"]
    config["environment_defaults"] = {
        "$ref": "#/$defs/Environment",
        "description": config["environment_defaults"].get("description", ""),
    }
    return schema


def json_schema_text() -> str:
    import json

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Deployment:
    """What one environment's templates are built from: the config and the chosen profile."""

    config: Config
    env_name: str

    @property
    def env(self) -> Environment:
        return self.config.environments[self.env_name]

    @property
    def project(self) -> str:
        return self.config.project

    @cached_property
    def services(self) -> list[Service]:
        """The services as this profile runs them: sizes and environment with its overrides applied."""
        return [in_profile(svc, self.env_name) for svc in self.config.services]

    def alarms(self, svc: Service) -> Alarms:
        """The thresholds `svc` is alarmed on here: the environment's, overridden by the service's."""
        return effective_alarms(self.env, svc)


def in_profile(svc: Service, env_name: str) -> Service:
    """`svc` in profile `env_name`: its size overrides applied, its environment overrides merged."""
    size = svc.overrides.get(env_name)
    changes: dict[str, Any] = {}
    if size is not None:
        changes = {k: v for k, v in msgspec.structs.asdict(size).items() if v is not None}
    if env_name in svc.environment_overrides:
        changes["environment"] = {**svc.environment, **svc.environment_overrides[env_name]}
    return msgspec.structs.replace(svc, **changes) if changes else svc


def app_memory(svc: Service, tracing: Tracing | None) -> int:
    """The main container's hard limit: the task's memory less its sidecars' and the collector's.
    On Fargate the containers' hard limits share the task's memory
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-size-best-practice.html,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, memory)."""
    collector = tracing.collector_memory if tracing is not None else 0
    return svc.memory - collector - sum(car.memory for car in svc.sidecars)


def effective_alarms(env: Environment, svc: Service) -> Alarms:
    overrides = {k: v for k, v in msgspec.structs.asdict(svc.alarms).items() if v is not None}
    return msgspec.structs.replace(env.alarms, **overrides)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """The one merge rule: mappings merge key by key, recursively; anything else in `override` replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load(path: str | Path | None = None) -> Config:
    """Read, merge and validate a config file (the packaged default when `path` is None)."""
    if path is None:
        source = DEFAULT_CONFIG
        text = (Path(__file__).parent / DEFAULT_CONFIG).read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read the file ({exc.strerror})") from None
    try:
        raw = config_errors.load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {config_errors.yaml_problem(exc)}") from None
    return parse(raw, source)


def parse(raw: Any, source: str = "<config>") -> Config:
    """Validate an already-read mapping; errors name `source` and the field path. Shape and types
    first (msgspec stops at the first problem), then every check of `checks.CHECKS`, all reported;
    a problem with a setting environments inherit is reported once, at environment_defaults."""
    from tap_cfn import checks  # the checks read the models declared here

    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: (top level): expected a mapping with project, environments and services"
        )
    merged = _merge_environments(raw, source)
    config = _convert(merged, Config, "", source)
    problems = config_errors.attribute_to_defaults(
        checks.run_all(config), raw["environments"], raw.get("environment_defaults") or {}
    )
    if problems:
        raise ConfigError("\n".join(f"{source}: {where}: {what}" for where, what in problems))
    return config


def _convert(value: Any, model: type[_T], where: str, source: str) -> _T:
    """`value` as a `model`, or the ConfigError naming the first problem at its path under `where`."""
    try:
        return msgspec.convert(value, model)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {config_errors.describe(str(exc), value, model, where)}") from None


def _merge_environments(raw: dict[str, Any], source: str) -> dict[str, Any]:
    defaults = raw.get("environment_defaults") or {}
    envs = raw.get("environments")
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: environment_defaults: expected a mapping of environment settings")
    if not isinstance(envs, dict):
        return raw  # msgspec reports the missing or mistyped field
    # Every Environment field has a default, so the defaults block is checked as one (as the JSON
    # Schema does): a bad inherited key is named where it is written, once.
    _check_regions(defaults.get("regions"), "environment_defaults.regions", source)
    _convert(defaults, Environment, "environment_defaults", source)
    merged = {}
    for name, env in envs.items():
        if env is not None and not isinstance(env, dict):
            raise ConfigError(f"{source}: environments.{name}: expected a mapping of environment settings")
        merged[name] = deep_merge(defaults, env or {})
        _check_regions(merged[name].get("regions"), f"environments.{name}.regions", source)
        _convert(merged[name], Environment, f"environments.{name}", source)  # each names its environment
    return {**raw, "environments": merged}


def _check_regions(regions: Any, where: str, source: str) -> None:
    """Each region's settings on their own: msgspec names a mapping's key `[...]`, we name it."""
    if not isinstance(regions, dict):
        return  # msgspec reports a missing or mistyped mapping
    for region, settings in regions.items():
        if not (isinstance(region, str) and re.fullmatch(REGION_PATTERN, region)):
            raise ConfigError(
                f"{source}: {where}.{region}: not an AWS region name such as eu-west-1 or us-east-1"
            )
        _convert(settings, RegionSettings, f"{where}.{region}", source)


def refers_to_alb(svc: Service) -> bool:
    """Whether an environment value of `svc` names the load balancer (${alb.url} or ${alb.dns})."""
    return any(ref in ALB_REFERENCES for value in environment_values(svc) for ref in REFERENCE.findall(value))


def environment_values(svc: Service) -> list[str]:
    """Every environment value `svc` has in any profile (its own and its overrides')."""
    return [
        *svc.environment.values(),
        *(v for env in svc.environment_overrides.values() for v in env.values()),
    ]


def needs_alternate_target_group(svc: Service) -> bool:
    """Behind the ALB with a blue/green-family strategy: ECS registers the green revision in a second
    target group (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html)."""
    return svc.route.behind_alb and svc.deployment.native


def deployment_minutes(release: ServiceDeployment) -> int:
    """The deployment time CloudFormation counts against its 33-hour limit for `release`."""
    if not release.native:
        return 0
    return cloudformation_deployment_minutes(
        STRATEGIES[release.strategy], release.bake_minutes, release.canary[1], *release.linear
    )


# CloudFormation rejects a canary or linear service whose computed deployment time exceeds 33 hours
# (its operations time out after 36; AWS::ECS::Service CanaryConfiguration reference:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-canaryconfiguration.html).
CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES = 33 * 60


def cloudformation_deployment_minutes(
    strategy: str, bake: int, canary_bake: int, step_percent: float, step_bake: int
) -> int:
    """What CloudFormation computes for its 33-hour limit (DeploymentConfiguration.Strategy values):
    CANARY, bake time + canary bake time; LINEAR, bake time + step bake time x steps, steps =
    100 / percent - 1 when it divides evenly, else its floor; BLUE_GREEN, the bake time
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-canaryconfiguration.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-linearconfiguration.html)."""
    if strategy == "CANARY":
        return bake + canary_bake
    if strategy == "LINEAR":
        tenths = round(step_percent * 10)
        steps = 1000 // tenths - (1 if 1000 % tenths == 0 else 0)
        return bake + step_bake * steps
    return bake if strategy == "BLUE_GREEN" else 0
