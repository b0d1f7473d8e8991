"""The values that travel between stacks, declared once, as one table.

A producing stack (`owner`) emits a `Value` as an Output, a consuming stack takes it as a Parameter
of the same name, and the root wires the two together by that name (see `stacks.nesting`). A value
of `Scope.SERVICE` or `Scope.SECRET` exists once per service or secret and carries that name in
CamelCase in front: ``ApiGatewayTargetGroupArn``. `public` values are re-exported as Outputs of
the root stack. `VALUES` is the registry: every value is declared into it, each key once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_cfn.conventions import REGISTRY_ACCOUNT_PARAMETER, SUFFIX_PARAMETER
from tap_cfn.naming import logical_id

if TYPE_CHECKING:
    from tap_cfn.config import Environment


class Scope(enum.Enum):
    PLATFORM = "platform"  # one per deployment
    SERVICE = "service"  # one per service
    SECRET = "secret"  # one per secret


# The producing stacks; ROOT: a parameter the user gives at deploy time; REGISTRY: the project's
# registry stack (<project>-registry, no child of an environment: the CLI reads its outputs). The
# network stack holds the VPC, the egress and the load balancer (tap_cfn/stacks/network.py); the
# flow-log stack produces no value, and no stack takes one from the monitoring stack.
ROOT, REGISTRY, NETWORK, DATA, CLUSTER, NOTIFICATIONS, MONITORING, SERVICE = (
    "root",
    "registry",
    "network",
    "data",
    "cluster",
    "notifications",
    "monitoring",
    "service",
)


@dataclass(frozen=True)
class Value:
    key: str
    type: str
    owner: str
    scope: Scope
    description: str  # `{owner}` stands for the service or secret name in per-owner values
    public: bool = False

    @property
    def owned(self) -> bool:
        """Per service or per secret: the name carries the owner in front."""
        return self.scope is not Scope.PLATFORM

    def name(self, owner: str | None = None) -> str:
        if self.owned != (owner is not None):
            raise ValueError(f"{self.key} is a {self.scope.value} value: owner {owner!r}")
        return f"{logical_id(owner)}{self.key}" if owner else self.key

    def describe(self, owner: str | None = None) -> str:
        return self.description.format(owner=owner) if owner else self.description


VALUES: list[Value] = []
_PLATFORM: dict[str, Value] = {}  # the platform values of VALUES by key, for value_of
_OWNED: list[Value] = []  # the per-owner ones, in declaration order


def _declare(
    key: str, type: str, owner: str, description: str, scope: Scope = Scope.PLATFORM, public: bool = False
) -> Value:
    if any(v.key == key for v in VALUES):
        raise ValueError(f"contract value {key} declared twice")
    value = Value(key, type, owner, scope, description, public)
    VALUES.append(value)
    if value.owned:
        _OWNED.append(value)
    else:
        _PLATFORM[key] = value
    return value


STRING = "String"
SUBNETS = "List<AWS::EC2::Subnet::Id>"
GROUP_ID = "AWS::EC2::SecurityGroup::Id"
PER_SERVICE, PER_SECRET = Scope.SERVICE, Scope.SECRET

ENVIRONMENT_SUFFIX = _declare(
    SUFFIX_PARAMETER, STRING, ROOT, "Suffix of every physical name, e.g. dev or pr-42."
)
IMAGE_TAG = _declare("ImageTag", STRING, ROOT, "Image tag of {owner} in its ECR repository.", PER_SERVICE)
REGISTRY_ACCOUNT_ID = _declare(
    REGISTRY_ACCOUNT_PARAMETER,
    STRING,
    ROOT,
    "Account of the project's image repositories (python generate.py registry deploy); empty: this account.",
)
ALARM_EMAIL = _declare(
    "AlarmEmail", STRING, ROOT, "E-mail address subscribed to the alarm topic; empty for none."
)
CERTIFICATE_ARN = _declare(
    "CertificateArn",
    STRING,
    ROOT,
    "ARN of an ACM certificate for the load balancer: HTTPS on 443 and port 80 redirecting to it. "
    "Empty: HTTP only.",
)
DOMAIN_NAME = _declare(
    "DomainName",
    STRING,
    ROOT,
    "Custom domain of the platform (its certificate's name), e.g. app.example.com; empty: the ALB DNS name.",
)
HOSTED_ZONE_ID = _declare(
    "HostedZoneId",
    STRING,
    ROOT,
    "Route 53 public hosted zone of DomainName: an alias record to the ALB is created; empty: none.",
)

VPC_CIDR = _declare(
    "VpcCidr",
    STRING,
    ROOT,
    "IPv4 range of the VPC (RFC 1918), the subnets cut from it; one per region, so regions can be peered.",
)

VPC_ID = _declare("VpcId", "AWS::EC2::VPC::Id", NETWORK, "ID of the VPC.", public=True)
PUBLIC_SUBNET_IDS = _declare("PublicSubnetIds", SUBNETS, NETWORK, "Public subnets, one per AZ.", public=True)
PRIVATE_SUBNET_IDS = _declare(
    "PrivateSubnetIds", SUBNETS, NETWORK, "Private subnets of the tasks, one per AZ.", public=True
)

# The security groups and the load balancer live in the network stack, where they add no level to
# the services' chain; a group of services beyond the first ten has its security groups in a
# security stack of its own, and its target groups and listener rules in a load balancer stack of
# its own (loadbalancer-<k>, on the network stack's listener).
ALB_SECURITY_GROUP_ID = _declare("AlbSecurityGroupId", GROUP_ID, NETWORK, "Security group of the ALB.")
SERVICE_SECURITY_GROUP_ID = _declare(
    "SecurityGroupId", GROUP_ID, NETWORK, "Security group of the {owner} tasks.", PER_SERVICE
)

KMS_KEY_ARN = _declare("KmsKeyArn", STRING, DATA, "ARN of the deployment's customer-managed KMS key.")
EXEC_LOG_GROUP_NAME = _declare("ExecLogGroupName", STRING, DATA, "Log group of ECS Exec sessions.")
LOG_GROUP_NAME = _declare("LogGroupName", STRING, DATA, "Log group of the {owner} containers.", PER_SERVICE)
SECRET_ARN = _declare("SecretArn", STRING, DATA, "ARN of the {owner} secret.", PER_SECRET)

REPOSITORY_URI = _declare(
    "RepositoryUri",
    STRING,
    REGISTRY,
    "URI of the {owner} repository: push {owner}'s images here.",
    PER_SERVICE,
)

ALB_DNS_NAME = _declare(
    "AlbDnsName", STRING, NETWORK, "DNS name of the application load balancer.", public=True
)
ALB_URL = _declare(
    "AlbUrl",
    STRING,
    NETWORK,
    "URL of the platform: https when a CertificateArn is given, the DomainName when one is given.",
    public=True,
)
ALB_FULL_NAME = _declare(
    "AlbFullName", STRING, NETWORK, "Full name of the load balancer (CloudWatch dimension)."
)
LISTENER_ARN = _declare("ListenerArn", STRING, NETWORK, "Listener that carries the path and host rules.")
TARGET_GROUP_ARN = _declare(
    "TargetGroupArn", STRING, NETWORK, "Target group of the {owner} service.", PER_SERVICE
)
TARGET_GROUP_FULL_NAME = _declare(
    "TargetGroupFullName",
    STRING,
    NETWORK,
    "Full name of the {owner} target group (CloudWatch dimension).",
    PER_SERVICE,
)
# "TargetGroup2...", not "AlternateTargetGroup...": a key must not end in another key (value_of),
# or <service>AlternateTargetGroupArn would read as the TargetGroupArn of "<service>-alternate".
ALTERNATE_TARGET_GROUP_ARN = _declare(
    "TargetGroup2Arn",
    STRING,
    NETWORK,
    "Alternate (second) target group of the {owner} service (blue/green, canary, linear).",
    PER_SERVICE,
)
TARGET_GROUP2_FULL_NAME = _declare(
    "TargetGroup2FullName",
    STRING,
    NETWORK,
    "Full name of the {owner} alternate target group (CloudWatch dimension).",
    PER_SERVICE,
)
LISTENER_RULE_ARN = _declare(
    "ListenerRuleArn",
    STRING,
    NETWORK,
    "Production listener rule of the {owner} service, whose weights ECS shifts during a release.",
    PER_SERVICE,
)
# "TestRuleArn", not "TestListenerRuleArn": that ends in ListenerRuleArn (see TargetGroup2Arn).
TEST_LISTENER_RULE_ARN = _declare(
    "TestRuleArn",
    STRING,
    NETWORK,
    "Test listener rule of the {owner} service: requests with the test header reach a new revision.",
    PER_SERVICE,
)

CLUSTER_NAME = _declare("ClusterName", STRING, CLUSTER, "Name of the ECS cluster.", public=True)
CLUSTER_ARN = _declare("ClusterArn", STRING, CLUSTER, "ARN of the ECS cluster.", public=True)
NAMESPACE_ID = _declare("NamespaceId", STRING, NETWORK, "ID of the Cloud Map private DNS namespace.")
NAMESPACE_NAME = _declare(
    "NamespaceName", STRING, NETWORK, "Name of the Cloud Map private DNS namespace.", public=True
)

ALARM_TOPIC_ARN = _declare(
    "AlarmTopicArn", STRING, NOTIFICATIONS, "SNS topic (KMS-encrypted) every alarm notifies.", public=True
)
DASHBOARD_NAME = _declare(
    "DashboardName", STRING, MONITORING, "Name of the CloudWatch dashboard.", public=True
)

SERVICE_NAME = _declare(
    "ServiceName", STRING, SERVICE, "Name of the {owner} ECS service.", PER_SERVICE, public=True
)


def value_of(key: str) -> Value | None:
    """The declared value an Output or Parameter named `key` carries: a platform value by its
    key, a per-owner value by the key after the owner's name; None for anything else."""
    exact = _PLATFORM.get(key)
    return exact or next((v for v in _OWNED if key.endswith(v.key) and key != v.key), None)


def is_owned(key: str) -> bool:
    """Whether `key` is a per-service or per-secret value (its owner's name in front)."""
    value = value_of(key)
    return value is not None and value.owned


def is_public(key: str) -> bool:
    """Whether the output `key` is re-exported by the root stack."""
    value = value_of(key)
    return value is not None and value.public


# The root parameters an environment's `regions` settings give a value in one region, by field.
REGIONAL = {"vpc_cidr": VPC_CIDR, "certificate_arn": CERTIFICATE_ARN}


def regional_parameters(env: Environment, region: str) -> dict[str, str]:
    """The root parameter values the config gives in `region` (environments.<env>.regions):
    what `deploy --region` and `stackset deploy` pass unless a --param says otherwise."""
    settings = env.regions.get(region)
    if settings is None:
        return {}
    return {
        value.key: getattr(settings, field)
        for field, value in REGIONAL.items()
        if getattr(settings, field) is not None
    }
