"""The values that travel between stacks, declared once.

A producing stack emits a `Value` as an Output, a consuming stack takes it as a Parameter of the
same name, and the root wires the two together by that name (see `stacks.root`). Per-service and
per-secret values carry the owner's CamelCase name in front: ``ApiGatewayTargetGroupArn``.
`public` values are re-exported as Outputs of the root stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_cfn.naming import logical_id


@dataclass(frozen=True)
class Value:
    key: str
    type: str
    description: str
    public: bool = False

    def name(self, owner: str | None = None) -> str:
        return f"{logical_id(owner)}{self.key}" if owner else self.key

    @property
    def owned(self) -> bool:
        """Per service or per secret: the name carries the owner in front."""
        return "{owner}" in self.description

    def describe(self, owner: str | None = None) -> str:
        return self.description.format(owner=owner)


STRING = "String"

# Root parameters (given by the user at deploy time).
ENVIRONMENT_SUFFIX = Value("EnvironmentSuffix", STRING, "Suffix of every physical name, e.g. dev or pr-42.")
IMAGE_TAG = Value("ImageTag", STRING, "Image tag of {owner} in its ECR repository.")
ALARM_EMAIL = Value("AlarmEmail", STRING, "E-mail address subscribed to the alarm topic; empty for none.")
CERTIFICATE_ARN = Value(
    "CertificateArn",
    STRING,
    "ARN of an ACM certificate for the load balancer: HTTPS on 443 and port 80 redirecting to it. "
    "Empty: HTTP only.",
)
DOMAIN_NAME = Value(
    "DomainName",
    STRING,
    "Custom domain of the platform (its certificate's name), e.g. app.example.com; empty: the ALB DNS name.",
)
HOSTED_ZONE_ID = Value(
    "HostedZoneId",
    STRING,
    "Route 53 public hosted zone of DomainName: an alias record to the ALB is created; empty: none.",
)

# network
VPC_ID = Value("VpcId", "AWS::EC2::VPC::Id", "ID of the VPC.", public=True)
PUBLIC_SUBNET_IDS = Value(
    "PublicSubnetIds", "List<AWS::EC2::Subnet::Id>", "Public subnets, one per AZ.", public=True
)
PRIVATE_SUBNET_IDS = Value(
    "PrivateSubnetIds", "List<AWS::EC2::Subnet::Id>", "Private subnets of the tasks, one per AZ.", public=True
)
# security
ALB_SECURITY_GROUP_ID = Value(
    "AlbSecurityGroupId", "AWS::EC2::SecurityGroup::Id", "Security group of the ALB."
)
SERVICE_SECURITY_GROUP_ID = Value(
    "SecurityGroupId", "AWS::EC2::SecurityGroup::Id", "Security group of the {owner} tasks."
)
# data
KMS_KEY_ARN = Value("KmsKeyArn", STRING, "ARN of the platform's customer-managed KMS key.")
ACCESS_LOG_BUCKET_NAME = Value("AccessLogBucketName", STRING, "S3 bucket of the load balancer's access logs.")
EXEC_LOG_GROUP_NAME = Value("ExecLogGroupName", STRING, "Log group of ECS Exec sessions.")
REPOSITORY_URI = Value("RepositoryUri", STRING, "URI of the {owner} ECR repository.", public=True)
REPOSITORY_ARN = Value("RepositoryArn", STRING, "ARN of the {owner} ECR repository.")
LOG_GROUP_NAME = Value("LogGroupName", STRING, "Log group of the {owner} containers.")
SECRET_ARN = Value("SecretArn", STRING, "ARN of the {owner} secret.")
KMS_KEY_ARN = Value("KmsKeyArn", STRING, "ARN of the deployment's customer-managed KMS key.")
# loadbalancer
ALB_DNS_NAME = Value("AlbDnsName", STRING, "DNS name of the application load balancer.", public=True)
ALB_URL = Value(
    "AlbUrl",
    STRING,
    "URL of the platform: https when a CertificateArn is given, the DomainName when one is given.",
    public=True,
)
ALB_FULL_NAME = Value("AlbFullName", STRING, "Full name of the load balancer (CloudWatch dimension).")
LISTENER_ARN = Value("ListenerArn", STRING, "Listener that carries the path and host rules.")
TARGET_GROUP_ARN = Value("TargetGroupArn", STRING, "Target group of the {owner} service.")
TARGET_GROUP_FULL_NAME = Value(
    "TargetGroupFullName", STRING, "Full name of the {owner} target group (CloudWatch dimension)."
)
# cluster
CLUSTER_NAME = Value("ClusterName", STRING, "Name of the ECS cluster.", public=True)
CLUSTER_ARN = Value("ClusterArn", STRING, "ARN of the ECS cluster.", public=True)
NAMESPACE_ID = Value("NamespaceId", STRING, "ID of the Cloud Map private DNS namespace.")
NAMESPACE_NAME = Value("NamespaceName", STRING, "Name of the Cloud Map private DNS namespace.", public=True)
# monitoring
ALARM_TOPIC_ARN = Value(
    "AlarmTopicArn", STRING, "SNS topic (KMS-encrypted) every alarm notifies.", public=True
)
DASHBOARD_NAME = Value("DashboardName", STRING, "Name of the CloudWatch dashboard.", public=True)
# service
SERVICE_NAME = Value("ServiceName", STRING, "Name of the {owner} ECS service.", public=True)


def _owned_keys() -> list[str]:
    return [v.key for v in globals().values() if isinstance(v, Value) and v.owned]


def is_owned(key: str) -> bool:
    """Whether `key` is a per-service or per-secret value (its owner's name in front)."""
    return any(key.endswith(k) and key != k for k in _owned_keys())


def is_public(key: str) -> bool:
    """Whether the output `key` is re-exported by the root stack."""
    return any(
        value.public and (key.endswith(value.key) if value.owned else key == value.key)
        for value in globals().values()
        if isinstance(value, Value)
    )
