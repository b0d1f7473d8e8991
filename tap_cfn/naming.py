"""Logical IDs, physical names and tags: made here and nowhere else.

Physical names are ``<project>-<resource>[-<service>]-${EnvironmentSuffix}`` built with Fn::Sub.
`NAME_LIMITS` holds the AWS length limit of every name property we set; the root's
EnvironmentSuffix MaxLength is derived from it over the names actually emitted, so no accepted
suffix can produce a name AWS rejects.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from troposphere import Sub, Tags

from tap_cfn.conventions import (
    MANAGED_BY,
    SUFFIX_PARAMETER,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_NAME,
    TAG_PROJECT,
)
from tap_cfn.conventions import SUFFIX_PATTERN as SUFFIX_PATTERN  # for the root's AllowedPattern

if TYPE_CHECKING:
    from tap_cfn.config import Deployment

SUFFIX = SUFFIX_PARAMETER
SUFFIX_VAR = "${" + SUFFIX + "}"
# Every config must leave at least this much room for the suffix in every name ("staging", "pr-1234").
MIN_SUFFIX_LENGTH = 8

# Per-service names whose AWS limit can bite; checked when a config is loaded. IAM roles carry no
# name of ours: role names are global to the account, so CloudFormation generates them and the
# same suffix deploys in two regions (EXEC_ROLE and TASK_ROLE name their tags only).
TARGET_GROUP, EXEC_ROLE, TASK_ROLE = "tg", "exec-role", "task-role"
TRAFFIC_ROLE = "traffic-role"
# The second target group of a blue/green, canary or linear service (the green revision's at first).
ALTERNATE_TARGET_GROUP = "tg2"
SERVICE_NAME_LIMITS = {TARGET_GROUP: 32, ALTERNATE_TARGET_GROUP: 32}

# (resource type, name property) -> the longest name AWS accepts there.
NAME_LIMITS: dict[tuple[str, str], int] = {
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): 32,
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"): 32,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::ECS::Cluster", "ClusterName"): 255,
    ("AWS::ECS::Service", "ServiceName"): 255,
    ("AWS::ECS::TaskDefinition", "Family"): 255,
    ("AWS::ECR::Repository", "RepositoryName"): 256,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::SecretsManager::Secret", "Name"): 512,
    ("AWS::ServiceDiscovery::PrivateDnsNamespace", "Name"): 253,
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "PolicyName"): 256,
    ("AWS::CloudWatch::Alarm", "AlarmName"): 255,
    ("AWS::CloudWatch::Dashboard", "DashboardName"): 255,
    ("AWS::SNS::Topic", "TopicName"): 256,
    ("AWS::XRay::Group", "GroupName"): 32,
    # Counted with ${AWS::AccountId} and ${AWS::Region} as written (17 + 14 characters), which
    # is more than any account ID (12) and region name (at most 15) take.
    ("AWS::S3::Bucket", "BucketName"): 63,
}


# Names a service may not take: their CamelCase form in front of a per-service logical ID would
# give one the platform already uses in the same stack (or an output name the root already has).
# tests/test_naming.py derives this table from built platforms and fails when it is incomplete.
RESERVED_SERVICE_NAMES = {
    "alb": "the load balancer's AlbSecurityGroup and AlbSecurityGroupId (network stack) would be "
    "the service's security group and its output, and the load balancer names its own rules Alb...",
    "endpoint": "the VPC endpoints' EndpointSecurityGroup (network stack, with egress: endpoints) "
    "would be the service's security group",
    "exec": "the ECS Exec session log group's ExecLogGroup and ExecLogGroupName (data stack) "
    "would be the service's log group and its output",
}
# The same for secret names (none so far: the secret IDs end in Secret and SecretArn only).
RESERVED_SECRET_NAMES: dict[str, str] = {}


@functools.cache
def logical_id(*parts: str) -> str:
    """'api-gateway', 'Service' -> 'ApiGatewayService'."""
    words: list[str] = []
    for part in parts:
        words.extend(w for w in part.replace("_", "-").split("-") if w)
    return "".join(w[:1].upper() + w[1:] for w in words)


def name_text(project: str, resource: str, service: str | None = None) -> str:
    """The Fn::Sub text of a physical name."""
    middle = f"-{service}" if service else ""
    return f"{project}-{resource}{middle}-{SUFFIX_VAR}"


def log_group_text(dep: Deployment, service: str) -> str:
    """Fn::Sub text of a service's log group: /ecs/<project>-<service>-<suffix>."""
    return f"/ecs/{dep.project}-{service}-{SUFFIX_VAR}"


def exec_log_group_text(dep: Deployment) -> str:
    """Fn::Sub text of the ECS Exec session log group: /ecs-exec/<project>-<suffix>
    (a prefix of its own, so that no service's log group can take the name)."""
    return f"/ecs-exec/{dep.project}-{SUFFIX_VAR}"


def flow_log_group_text(dep: Deployment) -> str:
    """Fn::Sub text of the VPC flow-log group: /vpc-flow-logs/<project>-<suffix>."""
    return f"/vpc-flow-logs/{dep.project}-{SUFFIX_VAR}"


def bucket_text(dep: Deployment, resource: str) -> str:
    """Fn::Sub text of a bucket name, globally unique: <project>-<resource>-<account>-<region>-<suffix>."""
    return f"{dep.project}-{resource}-${{AWS::AccountId}}-${{AWS::Region}}-{SUFFIX_VAR}"


def namespace_text(dep: Deployment) -> str:
    """Fn::Sub text of the Cloud Map namespace: <project>-<suffix>.local."""
    return f"{dep.project}-{SUFFIX_VAR}.local"


def name(dep: Deployment, resource: str, service: str | None = None) -> Sub:
    return Sub(name_text(dep.project, resource, service))


def tags(dep: Deployment, resource: str, service: str | None = None, **extra: str) -> Tags:
    """A fresh Tags object per resource: Project, Environment, ManagedBy, Name (+ extra)."""
    return Tags(
        {
            TAG_PROJECT: dep.project,
            TAG_ENVIRONMENT: dep.env_name,
            TAG_MANAGED_BY: MANAGED_BY,
            TAG_NAME: name(dep, resource, service),
            **extra,
        }
    )


def registry_tags(project: str, name: str) -> Tags:
    """Tags of the project's registry: no Environment, every environment pulls from it."""
    return Tags({TAG_PROJECT: project, TAG_MANAGED_BY: MANAGED_BY, TAG_NAME: name})


def suffix_room(text: str, limit: int) -> int:
    """How many characters a suffix may have for `text` (a Fn::Sub name) to stay within `limit`."""
    fixed = len(text.replace(SUFFIX_VAR, ""))
    return limit - fixed
