"""Service stack (one per service): task definition, execution and task roles, the ECS service
on the capacity-provider strategy, Cloud Map registration and target-tracking auto scaling."""

from __future__ import annotations

import re
from typing import Any

from awacs import cloudwatch, ecr, logs, secretsmanager
from awacs.aws import Condition, StringEquals
from troposphere import AWS_REGION, GetAtt, Ref, Sub, Template, ecs, iam
from troposphere import applicationautoscaling as aas
from troposphere import servicediscovery as sd

from tap_cfn import config as cfg
from tap_cfn import naming
from tap_cfn.config import Deployment, Service
from tap_cfn.contract import (
    ALB_DNS_NAME,
    ALB_FULL_NAME,
    CLUSTER_NAME,
    IMAGE_TAG,
    LOG_GROUP_NAME,
    NAMESPACE_ID,
    NAMESPACE_NAME,
    PRIVATE_SUBNET_IDS,
    REPOSITORY_ARN,
    REPOSITORY_URI,
    SECRET_ARN,
    SERVICE_NAME,
    SERVICE_SECURITY_GROUP_ID,
    TARGET_GROUP_ARN,
    TARGET_GROUP_FULL_NAME,
)
from tap_cfn.iam import allow, document, service_trust
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.stacks.cluster import capacity_strategy
from tap_cfn.topology import discoverable

HEALTH_CHECK_GRACE_SECONDS = 60
DISCOVERY_TTL_SECONDS = 10


def build(dep: Deployment, svc: Service) -> Template:
    s = StackBuilder(dep, f"the {svc.name} service on Fargate")
    behind_alb = svc.route.type == "alb"
    execution_role = s.add(
        iam.Role(
            "ExecutionRole",
            RoleName=s.name(naming.EXEC_ROLE, svc.name),
            Description=f"Starts {svc.name} tasks: pulls its image, writes its logs, reads its secrets",
            AssumeRolePolicyDocument=service_trust("ecs-tasks.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="execution", PolicyDocument=_execution_policy(s, svc))],
            Tags=s.tags(naming.EXEC_ROLE, svc.name),
        )
    )
    task_role = s.add(
        iam.Role(
            "TaskRole",
            RoleName=s.name(naming.TASK_ROLE, svc.name),
            Description=f"What the {svc.name} application itself may call",
            AssumeRolePolicyDocument=service_trust("ecs-tasks.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="application", PolicyDocument=_task_policy(dep, svc))],
            Tags=s.tags(naming.TASK_ROLE, svc.name),
        )
    )
    container = ecs.ContainerDefinition(
        Name=svc.name,
        Image=Sub(f"{s.var(REPOSITORY_URI, svc.name)}:{s.var(IMAGE_TAG, svc.name)}"),
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=svc.port, Protocol="tcp")],
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": s.param(LOG_GROUP_NAME, svc.name),
                "awslogs-region": Ref(AWS_REGION),
                "awslogs-stream-prefix": svc.name,
            },
        ),
        Environment=[
            ecs.Environment(Name=key, Value=_environment_value(s, dep, value))
            for key, value in sorted(svc.environment.items())
        ],
        Secrets=[
            ecs.Secret(Name=key, ValueFrom=s.param(SECRET_ARN, secret))
            for key, secret in sorted(svc.secrets.items())
        ],
    )
    task = s.add(
        ecs.TaskDefinition(
            "TaskDefinition",
            Family=s.name("task", svc.name),
            Cpu=str(svc.cpu),
            Memory=str(svc.memory),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            RuntimePlatform=ecs.RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"),
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            TaskRoleArn=GetAtt(task_role, "Arn"),
            ContainerDefinitions=[container],
            Tags=s.tags("task", svc.name),
        )
    )

    extra: dict[str, Any] = {}
    if behind_alb:
        extra["HealthCheckGracePeriodSeconds"] = HEALTH_CHECK_GRACE_SECONDS
        extra["LoadBalancers"] = [
            ecs.LoadBalancer(
                ContainerName=svc.name,
                ContainerPort=svc.port,
                TargetGroupArn=s.param(TARGET_GROUP_ARN, svc.name),
            )
        ]
    if discoverable(svc):
        registry = s.add(
            sd.Service(
                "DiscoveryService",
                Name=svc.name,
                NamespaceId=s.param(NAMESPACE_ID),
                Description=f"{svc.name}.<namespace> resolves to the healthy {svc.name} tasks",
                DnsConfig=sd.DnsConfig(
                    RoutingPolicy="MULTIVALUE",
                    DnsRecords=[sd.DnsRecord(Type="A", TTL=DISCOVERY_TTL_SECONDS)],
                ),
                HealthCheckCustomConfig=sd.HealthCheckCustomConfig(FailureThreshold=1),
                Tags=s.tags("discovery", svc.name),
            )
        )
        extra["ServiceRegistries"] = [ecs.ServiceRegistry(RegistryArn=GetAtt(registry, "Arn"))]
    # The listener and its rules live in the load balancer stack; taking the target group from
    # that stack's outputs makes this stack wait until the listener exists.
    service = s.add(
        ecs.Service(
            "Service",
            ServiceName=s.name("service", svc.name),
            Cluster=s.param(CLUSTER_NAME),
            TaskDefinition=Ref(task),
            DesiredCount=svc.desired,
            CapacityProviderStrategy=capacity_strategy(dep),
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    AssignPublicIp="DISABLED",
                    Subnets=s.param(PRIVATE_SUBNET_IDS),
                    SecurityGroups=[s.param(SERVICE_SECURITY_GROUP_ID, svc.name)],
                )
            ),
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
                MinimumHealthyPercent=100,
                MaximumPercent=200,
            ),
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
            Tags=s.tags("service", svc.name),
            **extra,
        )
    )
    _scaling(s, svc, service)
    s.output(SERVICE_NAME, GetAtt(service, "Name"), svc.name)
    return s.template


def _execution_policy(s: StackBuilder, svc: Service):  # noqa: ANN202 (awacs PolicyDocument)
    """Pull this service's image, write to its log group, read its secrets: nothing else."""
    statements = [
        allow([ecr.GetAuthorizationToken], ["*"]),
        allow(
            [ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage],
            [s.param(REPOSITORY_ARN, svc.name)],
        ),
        allow(
            [logs.CreateLogStream, logs.PutLogEvents],
            [
                Sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                    f"{s.var(LOG_GROUP_NAME, svc.name)}:*"
                )
            ],
        ),
    ]
    secrets = sorted(set(svc.secrets.values()))
    if secrets:
        statements.append(
            allow([secretsmanager.GetSecretValue], [s.param(SECRET_ARN, name) for name in secrets])
        )
    return document(*statements)


def _task_policy(dep: Deployment, svc: Service):  # noqa: ANN202 (awacs PolicyDocument)
    """The application may publish metrics to its own namespace only."""
    return document(
        allow(
            [cloudwatch.PutMetricData],
            ["*"],
            Condition(StringEquals({"cloudwatch:namespace": f"{dep.project}/{svc.name}"})),
        )
    )


def _environment_value(s: StackBuilder, dep: Deployment, value: str) -> str | Sub:
    """Config references become Fn::Sub variables; plain values stay plain strings."""

    def resolve(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref == cfg.ALB_REFERENCE:
            return s.var(ALB_DNS_NAME)
        service_ref = cfg.SERVICE_REFERENCE.match(ref)
        assert service_ref is not None  # references are validated when the config is loaded
        target, kind = service_ref.groups()
        host = f"{target}.{s.var(NAMESPACE_NAME)}"
        return host if kind == "host" else f"http://{host}:{dep.config.service(target).port}"

    resolved = cfg.REFERENCE.sub(resolve, value)
    return Sub(resolved) if resolved != value else value


def _scaling(s: StackBuilder, svc: Service, service: ecs.Service) -> None:
    target = s.add(
        aas.ScalableTarget(
            "ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub(f"service/{s.var(CLUSTER_NAME)}/${{{service.title}.Name}}"),
            MinCapacity=svc.min,
            MaxCapacity=svc.max,
            Tags=s.tags("scaling", svc.name),
        )
    )
    policies = []
    sc = svc.scaling
    if sc.cpu_target is not None:
        policies.append(
            (
                "Cpu",
                sc.cpu_target,
                aas.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageCPUUtilization"),
            )
        )
    if sc.memory_target is not None:
        policies.append(
            (
                "Memory",
                sc.memory_target,
                aas.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageMemoryUtilization"),
            )
        )
    if sc.requests_per_target is not None:
        label = Sub(f"{s.var(ALB_FULL_NAME)}/{s.var(TARGET_GROUP_FULL_NAME, svc.name)}")
        policies.append(
            (
                "Requests",
                float(sc.requests_per_target),
                aas.PredefinedMetricSpecification(
                    PredefinedMetricType="ALBRequestCountPerTarget", ResourceLabel=label
                ),
            )
        )
    for kind, value, metric in policies:
        s.add(
            aas.ScalingPolicy(
                f"{kind}ScalingPolicy",
                PolicyName=s.name(f"{kind.lower()}-scaling", svc.name),
                PolicyType="TargetTrackingScaling",
                ScalingTargetId=Ref(target),
                TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
                    PredefinedMetricSpecification=metric,
                    TargetValue=float(value),
                    ScaleInCooldown=sc.scale_in_cooldown,
                    ScaleOutCooldown=sc.scale_out_cooldown,
                ),
            )
        )
