"""Service stack (one per service): task definition, execution and task roles, the ECS service
on the capacity-provider strategy, Cloud Map registration, target-tracking auto scaling with an
optional scheduled window, and the service's CloudWatch alarms, which also guard its deployments."""

from __future__ import annotations

import re
from typing import Any

from awacs import cloudwatch, ecr, kms, logs, secretsmanager, ssmmessages
from awacs.aws import Condition, StringEquals
from troposphere import AWS_REGION, GetAtt, Ref, Sub, Template, ecs, iam
from troposphere import applicationautoscaling as aas
from troposphere import cloudwatch as cw
from troposphere import servicediscovery as sd

from tap_cfn import config as cfg
from tap_cfn import naming
from tap_cfn.config import Deployment, Service
from tap_cfn.contract import (
    ALARM_TOPIC_ARN,
    ALB_DNS_NAME,
    ALB_FULL_NAME,
    CLUSTER_NAME,
    EXEC_LOG_GROUP_NAME,
    IMAGE_TAG,
    KMS_KEY_ARN,
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
from tap_cfn.iam import LOG_GROUPS_HERE, allow, document, service_trust
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.stacks.cluster import capacity_strategy
from tap_cfn.topology import discoverable

HEALTH_CHECK_GRACE_SECONDS = 60
DISCOVERY_TTL_SECONDS = 10
# With a read-only root filesystem the container still gets a writable, task-local /tmp.
SCRATCH_VOLUME, SCRATCH_PATH = "tmp", "/tmp"


def build(dep: Deployment, svc: Service) -> Template:
    s = StackBuilder(dep, f"the {svc.name} service on Fargate")
    behind_alb = svc.route.behind_alb
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
            Policies=[iam.Policy(PolicyName="application", PolicyDocument=_task_policy(s, dep, svc))],
            Tags=s.tags(naming.TASK_ROLE, svc.name),
        )
    )
    container = ecs.ContainerDefinition(
        Name=svc.name,
        Image=Sub(f"{s.var(REPOSITORY_URI, svc.name)}:{s.var(IMAGE_TAG, svc.name)}"),
        Essential=True,
        Privileged=False,
        ReadonlyRootFilesystem=svc.readonly_root_filesystem,
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
    scratch: dict[str, Any] = {}
    if svc.readonly_root_filesystem:
        container.MountPoints = [
            ecs.MountPoint(SourceVolume=SCRATCH_VOLUME, ContainerPath=SCRATCH_PATH, ReadOnly=False)
        ]
        scratch["Volumes"] = [ecs.Volume(Name=SCRATCH_VOLUME)]
    if svc.exec:  # the exec agent runs beside the application; an init process reaps its children
        container.LinuxParameters = ecs.LinuxParameters(InitProcessEnabled=True)
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
            **scratch,
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
    deployment_alarms = [Ref(alarm) for alarm, guards_deployments in _alarms(s, svc) if guards_deployments]
    if deployment_alarms:
        # A release that trips one of these during the deployment is rolled back.
        extra["DeploymentConfiguration"] = _deployment(
            ecs.DeploymentAlarms(AlarmNames=deployment_alarms, Enable=True, Rollback=True)
        )
    else:
        extra["DeploymentConfiguration"] = _deployment()
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
            EnableExecuteCommand=svc.exec,
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
            Tags=s.tags("service", svc.name),
            **extra,
        )
    )
    _scaling(s, svc, service)
    s.output(SERVICE_NAME, GetAtt(service, "Name"), svc.name)
    return s.template


def _deployment(alarms: ecs.DeploymentAlarms | None = None) -> ecs.DeploymentConfiguration:
    """Full capacity throughout a rollout (100 % healthy, up to 200 %), circuit breaker with rollback."""
    extra = {"Alarms": alarms} if alarms is not None else {}
    return ecs.DeploymentConfiguration(
        DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
        MinimumHealthyPercent=100,
        MaximumPercent=200,
        **extra,
    )


def _alarms(s: StackBuilder, svc: Service) -> list[tuple[cw.Alarm, bool]]:
    """CPU and memory high, running tasks short of the minimum; behind the ALB also target 5xx,
    unhealthy targets and p99 latency. The symptoms a bad release causes also guard deployments;
    CPU and memory do not: saturation under load is auto scaling's job, not a reason to roll back.
    Returns (alarm, guards deployments) pairs.

    Dimensions use the service's deterministic name rather than GetAtt: the service lists these
    alarms by name in its DeploymentConfiguration, so they must not depend on it."""
    thresholds = s.dep.alarms(svc)
    topic = s.param(ALARM_TOPIC_ARN)
    service_name = s.name("service", svc.name)
    cluster_name = s.param(CLUSTER_NAME)
    m_of_n = f"{thresholds.datapoints_to_alarm} of {thresholds.evaluation_periods}"
    window = f"{m_of_n} periods of {thresholds.period} s"
    common = {
        "EvaluationPeriods": thresholds.evaluation_periods,
        "DatapointsToAlarm": thresholds.datapoints_to_alarm,
        "AlarmActions": [topic],
        "OKActions": [topic],
    }
    ecs_dimensions = [
        cw.MetricDimension(Name="ClusterName", Value=cluster_name),
        cw.MetricDimension(Name="ServiceName", Value=service_name),
    ]
    alarms: list[tuple[cw.Alarm, bool]] = []

    def alarm(key: str, what: str, description: str, deployment: bool, **props: Any) -> None:
        if "Metrics" not in props:  # a metric-math alarm carries the period in each query instead
            props["Period"] = thresholds.period
        resource = cw.Alarm(
            f"{key}Alarm",
            AlarmName=s.name("alarm", f"{svc.name}-{what}"),
            AlarmDescription=f"{svc.name}: {description}, in {window}",
            **common,
            **props,
        )
        alarms.append((s.add(resource), deployment))

    for key, what, metric, threshold in (
        ("CpuHigh", "cpu-high", "CPUUtilization", thresholds.cpu_high),
        ("MemoryHigh", "memory-high", "MemoryUtilization", thresholds.memory_high),
    ):
        alarm(
            key,
            what,
            f"average {metric} above {threshold:g} %",
            False,
            Namespace="AWS/ECS",
            MetricName=metric,
            Dimensions=ecs_dimensions,
            Statistic="Average",
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="missing",
        )
    if svc.min > 0:
        # The minimum in force is the lower of the service's min and the desired count, so that a
        # scheduled window scaling to zero does not page anyone (auto scaling keeps desired >= min).
        def insights(metric_id: str, metric: str) -> cw.MetricDataQuery:
            return cw.MetricDataQuery(
                Id=metric_id,
                MetricStat=cw.MetricStat(
                    Metric=cw.Metric(
                        Namespace="ECS/ContainerInsights", MetricName=metric, Dimensions=ecs_dimensions
                    ),
                    Period=thresholds.period,
                    Stat="Average",
                ),
                ReturnData=False,
            )

        alarm(
            "RunningTasksLow",
            "running-tasks-low",
            f"fewer running tasks than its minimum of {svc.min} (or the desired count, when lower)",
            True,
            Metrics=[
                insights("running", "RunningTaskCount"),
                insights("desired", "DesiredTaskCount"),
                cw.MetricDataQuery(
                    Id="shortfall",
                    Expression=f"IF(desired < {svc.min}, desired, {svc.min}) - running",
                    Label="Tasks short of the minimum",
                    ReturnData=True,
                ),
            ],
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="missing",
        )
    if svc.route.behind_alb:
        target_dimensions = [
            cw.MetricDimension(Name="LoadBalancer", Value=s.param(ALB_FULL_NAME)),
            cw.MetricDimension(Name="TargetGroup", Value=s.param(TARGET_GROUP_FULL_NAME, svc.name)),
        ]
        alb = {"Namespace": "AWS/ApplicationELB", "Dimensions": target_dimensions}
        # These metrics are only reported while there is traffic or targets: no data is no trouble.
        alarm(
            "Target5xx",
            "5xx",
            f"at least {thresholds.target_5xx} 5xx responses from its targets per period",
            True,
            MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum",
            Threshold=thresholds.target_5xx,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            **alb,
        )
        alarm(
            "UnhealthyHosts",
            "unhealthy-hosts",
            f"at least {thresholds.unhealthy_hosts} unhealthy targets",
            True,
            MetricName="UnHealthyHostCount",
            Statistic="Maximum",
            Threshold=thresholds.unhealthy_hosts,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            **alb,
        )
        alarm(
            "LatencyP99",
            "latency-p99",
            f"p99 target response time above {thresholds.p99_latency:g} s",
            True,
            MetricName="TargetResponseTime",
            ExtendedStatistic="p99",
            Threshold=thresholds.p99_latency,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            **alb,
        )
    return alarms


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
        # The secrets are encrypted with the platform key: decrypt through Secrets Manager only.
        statements.append(
            allow(
                [kms.Decrypt],
                [s.param(KMS_KEY_ARN)],
                Condition(
                    StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")})
                ),
            )
        )
    return document(*statements)


def _task_policy(s: StackBuilder, dep: Deployment, svc: Service):  # noqa: ANN202 (awacs PolicyDocument)
    """The application may publish metrics to its own namespace; with ECS Exec, the exec agent may
    open its session channels, decrypt the session with the platform key and log to the exec group."""
    statements = [
        allow(
            [cloudwatch.PutMetricData],
            ["*"],
            Condition(StringEquals({"cloudwatch:namespace": f"{dep.project}/{svc.name}"})),
        )
    ]
    if svc.exec:
        statements += [
            allow(
                [
                    ssmmessages.CreateControlChannel,
                    ssmmessages.CreateDataChannel,
                    ssmmessages.OpenControlChannel,
                    ssmmessages.OpenDataChannel,
                ],
                ["*"],
            ),
            allow([kms.Decrypt], [s.param(KMS_KEY_ARN)]),
            allow([logs.DescribeLogGroups], [Sub(LOG_GROUPS_HERE)]),
            allow(
                [logs.CreateLogStream, logs.DescribeLogStreams, logs.PutLogEvents],
                [
                    Sub(
                        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                        f"{s.var(EXEC_LOG_GROUP_NAME)}:*"
                    )
                ],
            ),
        ]
    return document(*statements)


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


def _scheduled_window(dep: Deployment, svc: Service) -> dict[str, Any]:
    """The environment's scheduled window: its bounds when it opens, the service's own when it closes."""
    window = dep.env.scheduled_scaling
    if window is None:
        return {}
    return {
        "ScheduledActions": [
            aas.ScheduledAction(
                ScheduledActionName=f"window-{edge}",
                Schedule=schedule,
                Timezone=window.timezone,
                ScalableTargetAction=aas.ScalableTargetAction(MinCapacity=low, MaxCapacity=high),
            )
            for edge, schedule, low, high in (
                ("start", window.start, window.min, window.max),
                ("end", window.end, svc.min, svc.max),
            )
        ]
    }


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
            **_scheduled_window(s.dep, svc),
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
