"""Service stack (one per service): task definition, execution and task roles, the ECS service
on the capacity-provider strategy, Cloud Map registration, target-tracking auto scaling with an
optional scheduled window, and the service's CloudWatch alarms, which also guard its deployments."""

from __future__ import annotations

import re
from typing import Any

from awacs import cloudwatch, ecr, kms, logs, secretsmanager, ssmmessages, sts
from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from troposphere import AWS_REGION, GetAtt, Ref, Sub, Template, ecs, iam, ssm
from troposphere import applicationautoscaling as aas
from troposphere import servicediscovery as sd

from tap_cfn import config as cfg
from tap_cfn import conventions, naming
from tap_cfn.config import Deployment, Service
from tap_cfn.contract import (
    ALARM_TOPIC_ARN,
    ALB_DNS_NAME,
    ALB_FULL_NAME,
    ALB_URL,
    ALTERNATE_TARGET_GROUP_ARN,
    CLUSTER_NAME,
    EXEC_LOG_GROUP_NAME,
    IMAGE_TAG,
    KMS_KEY_ARN,
    LISTENER_RULE_ARN,
    LOG_GROUP_NAME,
    NAMESPACE_ID,
    NAMESPACE_NAME,
    PRIVATE_SUBNET_IDS,
    SECRET_ARN,
    SERVICE_NAME,
    SERVICE_SECURITY_GROUP_ID,
    TARGET_GROUP_ARN,
    TARGET_GROUP_FULL_NAME,
    TEST_LISTENER_RULE_ARN,
)
from tap_cfn.iam import ECR_PULL_ACTIONS, LOG_GROUPS_HERE, action, allow, document, service_trust
from tap_cfn.stacks import alarms, tracing
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.stacks.cluster import capacity_strategy
from tap_cfn.topology import discoverable

HEALTH_CHECK_GRACE_SECONDS = 60
DISCOVERY_TTL_SECONDS = 10
# With a read-only root filesystem the container still gets a writable, task-local /tmp.
SCRATCH_VOLUME, SCRATCH_PATH = "tmp", "/tmp"


def build(dep: Deployment, svc: Service) -> Template:
    s = StackBuilder(dep, f"the {svc.name} service on Fargate")
    task = _task_definition(s, svc)
    extra: dict[str, Any] = {}
    if svc.route.behind_alb:
        extra["HealthCheckGracePeriodSeconds"] = HEALTH_CHECK_GRACE_SECONDS
        extra["LoadBalancers"] = [_load_balancer(s, svc)]
    if discoverable(svc):
        extra["ServiceRegistries"] = [_discovery(s, svc)]
    guards = [
        Ref(alarm)
        for alarm, guards_deployments in alarms.add(s, svc, s.param(ALARM_TOPIC_ARN))
        if guards_deployments
    ]
    # A release that trips one of these during the deployment is rolled back.
    extra["DeploymentConfiguration"] = _deployment(
        svc.deployment,
        ecs.DeploymentAlarms(AlarmNames=guards, Enable=True, Rollback=True) if guards else None,
    )
    service = _service(s, svc, task, extra)
    _scaling(s, svc, service)
    s.output(SERVICE_NAME, GetAtt(service, "Name"), svc.name)
    return s.template


def _service(s: StackBuilder, svc: Service, task: ecs.TaskDefinition, extra: dict[str, Any]) -> ecs.Service:
    """The ECS service. No DesiredCount: auto scaling owns the running count. Set, CloudFormation
    would reset the count to it on every update of the service (aws/containers-roadmap#493);
    absent, a new service starts with 1 task and an update keeps the current count
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html),
    and registering the scalable target brings the count into MinCapacity..MaxCapacity
    (https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html).
    The listener and its rules live in the network stack (a group's rules in its loadbalancer-<k>
    stack); taking the target group from that stack's outputs makes this stack wait until they exist."""
    return s.add(
        ecs.Service(
            "Service",
            ServiceName=s.name("service", svc.name),
            Cluster=s.param(CLUSTER_NAME),
            TaskDefinition=Ref(task),
            CapacityProviderStrategy=capacity_strategy(s.dep),
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


def _roles(
    s: StackBuilder, svc: Service, collector_config: ssm.Parameter | None
) -> tuple[iam.Role, iam.Role]:
    """The execution role (starts tasks) and the task role (the application). No RoleName: IAM role
    names are global to the account, so CloudFormation generates a unique one and the same suffix
    deploys in two regions of one account
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html)."""
    execution = s.add(
        iam.Role(
            "ExecutionRole",
            Description=f"Starts {svc.name} tasks: pulls its image, writes its logs, reads its secrets",
            AssumeRolePolicyDocument=service_trust("ecs-tasks.amazonaws.com"),
            Policies=[
                iam.Policy(PolicyName="execution", PolicyDocument=_execution_policy(s, svc, collector_config))
            ],
            Tags=s.tags(naming.EXEC_ROLE, svc.name),
        )
    )
    task = s.add(
        iam.Role(
            "TaskRole",
            Description=f"What the {svc.name} application itself may call",
            AssumeRolePolicyDocument=service_trust("ecs-tasks.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="application", PolicyDocument=_task_policy(s, s.dep, svc))],
            Tags=s.tags(naming.TASK_ROLE, svc.name),
        )
    )
    if svc.managed_policies:
        task.ManagedPolicyArns = [_arn(arn) for arn in svc.managed_policies]
    return execution, task


def _container(s: StackBuilder, svc: Service) -> ecs.ContainerDefinition:
    container = ecs.ContainerDefinition(
        Name=svc.name,
        Image=svc.image or _image(s, svc),
        Essential=True,
        # A hard limit (Control Tower CT.ECS.PR.7): the task's size less the other containers' limits,
        # which share it (limits >= reservations:
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-size-best-practice.html).
        Memory=tracing.app_memory(s, svc),
        Privileged=False,
        ReadonlyRootFilesystem=svc.readonly_root_filesystem,
        LogConfiguration=_logs(s, svc, svc.name),
        Environment=[ecs.Environment(Name=k, Value=v) for k, v in sorted(_variables(s, svc).items())],
        Secrets=[
            ecs.Secret(Name=key, ValueFrom=s.param(SECRET_ARN, secret))
            for key, secret in sorted(svc.secrets.items())
        ],
    )
    if svc.repository_credentials is not None:
        container.RepositoryCredentials = ecs.RepositoryCredentials(
            CredentialsParameter=svc.repository_credentials.secret
        )
    if svc.port is not None:  # a worker listens on nothing
        container.PortMappings = [ecs.PortMapping(ContainerPort=svc.port, Protocol="tcp")]
    _process(container, svc)
    _health_check(container, svc.health_check)
    _depends_on(container, [*tracing.app_depends_on(s), *svc.depends_on])
    if svc.readonly_root_filesystem:
        container.MountPoints = [_scratch_mount()]
    if svc.exec:  # the exec agent runs beside the application; an init process reaps its children
        container.LinuxParameters = ecs.LinuxParameters(InitProcessEnabled=True)
    return container


def _variables(s: StackBuilder, svc: Service) -> dict[str, str | Sub]:
    """The main container's environment: the service's own variables over what tracing sets."""
    own = {key: _environment_value(s, s.dep, value) for key, value in svc.environment.items()}
    return {**tracing.app_environment(s, svc), **own}


def _logs(s: StackBuilder, svc: Service, prefix: str) -> ecs.LogConfiguration:
    """The service's log group; each container under its own stream prefix (prefix/name/task-id)."""
    return ecs.LogConfiguration(
        LogDriver="awslogs",
        Options={
            "awslogs-group": s.param(LOG_GROUP_NAME, svc.name),
            "awslogs-region": Ref(AWS_REGION),
            "awslogs-stream-prefix": prefix,
        },
    )


def _scratch_mount() -> ecs.MountPoint:
    return ecs.MountPoint(SourceVolume=SCRATCH_VOLUME, ContainerPath=SCRATCH_PATH, ReadOnly=False)


def _health_check(container: ecs.ContainerDefinition, check: cfg.HealthCheck | None) -> None:
    # ECS acts only on checks in the task definition; an unhealthy task is replaced and a
    # release whose tasks never turn healthy trips the circuit breaker
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-taskdefinition-healthcheck.html).
    if check is not None:
        container.HealthCheck = ecs.HealthCheck(
            Command=list(check.command),
            Interval=check.interval,
            Timeout=check.timeout,
            Retries=check.retries,
            StartPeriod=check.start_period,
        )


def _depends_on(container: ecs.ContainerDefinition, deps: list[cfg.DependsOn]) -> None:
    if deps:
        container.DependsOn = [
            ecs.ContainerDependency(ContainerName=d.container, Condition=d.condition) for d in deps
        ]


def _sidecar(s: StackBuilder, svc: Service, car: cfg.Sidecar) -> ecs.ContainerDefinition:
    """An extra container: its own image and log stream prefix, the task's /tmp when read-only."""
    container = ecs.ContainerDefinition(
        Name=car.name,
        Image=car.image,
        Essential=car.essential,
        Memory=car.memory,  # hard limit (CT.ECS.PR.7), taken from the main container's share
        Privileged=False,
        ReadonlyRootFilesystem=car.readonly_root_filesystem,
        LogConfiguration=_logs(s, svc, car.name),
        Environment=[ecs.Environment(Name=k, Value=v) for k, v in sorted(car.environment.items())],
    )
    if car.port is not None:
        container.PortMappings = [ecs.PortMapping(ContainerPort=car.port, Protocol="tcp")]
    if car.command is not None:
        container.Command = list(car.command)
    if svc.user is not None:  # the task's user, so the shared /tmp stays writable for every container
        container.User = svc.user
    _health_check(container, car.health_check)
    _depends_on(container, car.depends_on)
    if car.readonly_root_filesystem:
        container.MountPoints = [_scratch_mount()]
    return container


def _process(container: ecs.ContainerDefinition, svc: Service) -> None:
    """How the process starts and stops; an unset field keeps the image's (or ECS's) default."""
    for prop, value in (
        ("Command", svc.command),
        ("EntryPoint", svc.entrypoint),
        ("WorkingDirectory", svc.working_directory),
        ("User", svc.user),
        # Fargate: at most 120 s, 30 s when unset
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
        ("StopTimeout", svc.stop_timeout),
    ):
        if value is not None:
            setattr(container, prop, list(value) if isinstance(value, list) else value)


def _task_definition(s: StackBuilder, svc: Service) -> ecs.TaskDefinition:
    collector_config = tracing.config_parameter(s, svc)
    execution_role, task_role = _roles(s, svc, collector_config)
    scratch = svc.readonly_root_filesystem or any(car.readonly_root_filesystem for car in svc.sidecars)
    extra: dict[str, Any] = {"Volumes": [ecs.Volume(Name=SCRATCH_VOLUME)]} if scratch else {}
    if svc.ephemeral_storage is not None:
        # 21-200 GiB on Fargate (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EphemeralStorage.html)
        extra["EphemeralStorage"] = ecs.EphemeralStorage(SizeInGiB=svc.ephemeral_storage)
    return s.add(
        ecs.TaskDefinition(
            "TaskDefinition",
            Family=s.name("task", svc.name),
            Cpu=str(svc.cpu),
            Memory=str(svc.memory),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            # ARM64 runs Linux tasks on Graviton (AWS::ECS::TaskDefinition RuntimePlatform reference:
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-taskdefinition-runtimeplatform.html)
            RuntimePlatform=ecs.RuntimePlatform(
                OperatingSystemFamily="LINUX", CpuArchitecture=cfg.ARCHITECTURES[svc.architecture]
            ),
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            TaskRoleArn=GetAtt(task_role, "Arn"),
            ContainerDefinitions=[
                _container(s, svc),
                *(_sidecar(s, svc, car) for car in svc.sidecars),
                *(
                    [tracing.collector(s, collector_config, _logs(s, svc, cfg.COLLECTOR_NAME))]
                    if collector_config is not None
                    else []
                ),
            ],
            Tags=s.tags("task", svc.name),
            **extra,
        )
    )


def _discovery(s: StackBuilder, svc: Service) -> ecs.ServiceRegistry:
    """Cloud Map: <name>.<namespace> resolves to the tasks ECS reports healthy."""
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
    return ecs.ServiceRegistry(RegistryArn=GetAtt(registry, "Arn"))


def _deployment(
    release: cfg.ServiceDeployment, guards: ecs.DeploymentAlarms | None = None
) -> ecs.DeploymentConfiguration:
    """Rolling: full capacity throughout a rollout (100 % healthy, up to 200 %). Every strategy: the
    circuit breaker and the deployment alarms, both rolling back; ECS supports both with rolling and
    blue/green deployments
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-failure-detection.html)."""
    extra: dict[str, Any] = {"Alarms": guards} if guards is not None else {}
    if release.native:
        extra.update(_strategy(release))
    else:  # the percentages bound a rolling update only (API_DeploymentConfiguration)
        extra.update(MinimumHealthyPercent=100, MaximumPercent=200)
    return ecs.DeploymentConfiguration(
        DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
        **extra,
    )


def _strategy(release: cfg.ServiceDeployment) -> dict[str, Any]:
    """Strategy, BakeTimeInMinutes (required with BLUE_GREEN) and the canary or linear steps
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-deploymentconfiguration.html)."""
    fields: dict[str, Any] = {
        "Strategy": cfg.STRATEGIES[release.strategy],
        "BakeTimeInMinutes": release.bake_minutes,
    }
    if release.is_canary:
        percent, minutes = release.canary
        fields["CanaryConfiguration"] = ecs.CanaryConfiguration(
            CanaryPercent=percent, CanaryBakeTimeInMinutes=minutes
        )
    elif release.is_linear:
        percent, minutes = release.linear
        fields["LinearConfiguration"] = ecs.LinearConfiguration(
            StepPercent=percent, StepBakeTimeInMinutes=minutes
        )
    return fields


def _load_balancer(s: StackBuilder, svc: Service) -> ecs.LoadBalancer:
    """The service's target group; for blue/green, canary and linear releases also the alternate
    group, the production listener rule whose weights ECS moves, and the role it moves them with
    (AdvancedConfiguration: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html)."""
    balancer = ecs.LoadBalancer(
        ContainerName=svc.name,
        ContainerPort=svc.port,
        TargetGroupArn=s.param(TARGET_GROUP_ARN, svc.name),
    )
    if cfg.needs_alternate_target_group(svc):
        balancer.AdvancedConfiguration = ecs.AdvancedConfiguration(
            AlternateTargetGroupArn=s.param(ALTERNATE_TARGET_GROUP_ARN, svc.name),
            ProductionListenerRule=s.param(LISTENER_RULE_ARN, svc.name),
            RoleArn=GetAtt(_traffic_role(s, svc), "Arn"),
        )
        if svc.deployment.test_listener_rule:
            balancer.AdvancedConfiguration.TestListenerRule = s.param(TEST_LISTENER_RULE_ARN, svc.name)
    return balancer


# The policy AWS names for the ECS infrastructure role that shifts load balancer traffic
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html).
LOAD_BALANCER_INFRASTRUCTURE_POLICY = (
    "arn:${AWS::Partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
)


def _traffic_role(s: StackBuilder, svc: Service) -> iam.Role:
    """The ECS infrastructure role for load balancers: trusted by ecs.amazonaws.com with the trust
    policy the ECS guide gives (no conditions: it documents none for this role), holding the AWS
    managed policy it names, which AWS keeps current as ECS needs more ELB calls."""
    return s.add(
        iam.Role(
            "TrafficShiftRole",
            Description=f"Lets ECS move {svc.name} load balancer traffic between its target groups",
            AssumeRolePolicyDocument=document(
                Statement(
                    Effect=Allow,
                    Principal=Principal("Service", ["ecs.amazonaws.com"]),
                    Action=[sts.AssumeRole],
                )
            ),
            ManagedPolicyArns=[Sub(LOAD_BALANCER_INFRASTRUCTURE_POLICY)],
            Tags=s.tags(naming.TRAFFIC_ROLE, svc.name),
        )
    )


def _execution_policy(s: StackBuilder, svc: Service, collector_config: ssm.Parameter | None):  # noqa: ANN202
    """Pull this service's image, write to its log group, read its secrets (and with tracing the
    collector's configuration parameter): nothing else."""
    statements = _image_pull(s, svc) + [
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
                _via_secrets_manager(),
            )
        )
    statements += tracing.execution_statements(collector_config)
    return document(*statements)


def _image_pull(s: StackBuilder, svc: Service) -> list[Statement]:
    """From the platform repository: ECR's token and this repository's layers. From elsewhere:
    nothing, or with registry credentials that one secret (and its key, through Secrets Manager)
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html,
    private registry authentication permissions)."""
    if svc.image is None:
        return [
            allow([ecr.GetAuthorizationToken], ["*"]),
            allow(list(ECR_PULL_ACTIONS), [_registry_sub(s, svc, REPOSITORY_ARN_TEXT)]),
        ]
    credentials = svc.repository_credentials
    if credentials is None:
        return []
    statements = [allow([secretsmanager.GetSecretValue], [credentials.secret])]
    if credentials.kms_key is not None:
        statements.append(allow([kms.Decrypt], [credentials.kms_key], _via_secrets_manager()))
    return statements


# The service's repository in the project's registry (tap_cfn/stacks/registry.py), in the account
# RegistryAccountId names (this one when empty). From another account a pull needs both sides: the
# repository policy names the pulling account (registry deploy --pull-accounts) and the execution
# role allows the pull on the repository's ARN; ecr:GetAuthorizationToken has no resource-level
# permission, so it stays on "*" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html,
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html).
IMAGE_TEXT = "${RegistryAccount}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/{repository}:{tag}"
REPOSITORY_ARN_TEXT = "arn:${AWS::Partition}:ecr:${AWS::Region}:${RegistryAccount}:repository/{repository}"


def _registry_sub(s: StackBuilder, svc: Service, text: str) -> Sub:
    repository = conventions.repository_name(s.dep.project, svc.name)
    filled = text.replace("{repository}", repository)
    if "{tag}" in filled:
        filled = filled.replace("{tag}", s.var(IMAGE_TAG, svc.name))
    return Sub(filled, RegistryAccount=s.registry_account())


def _image(s: StackBuilder, svc: Service) -> Sub:
    """<registry>/<project>/<service>:<tag>: the image the project's registry holds for the tag."""
    return _registry_sub(s, svc, IMAGE_TEXT)


def _via_secrets_manager() -> Condition:
    return Condition(StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")}))


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
    statements += tracing.task_statements(s)
    statements += [
        allow([action(name) for name in p.actions], [_resource(s, r) for r in p.resources])
        for p in svc.permissions
    ]
    return document(*statements)


def _resource(s: StackBuilder, resource: str) -> object:
    """A config resource as a policy Resource: platform parts by their ARN, ARNs partition-aware."""
    ref = cfg.PLATFORM_RESOURCE.match(resource)
    if ref is None:
        return _arn(resource)
    kind, name = ref.groups()
    if kind == "secret":
        return s.param(SECRET_ARN, name)
    return Sub(
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        f"{s.var(LOG_GROUP_NAME, name)}:*"
    )


def _arn(text: str) -> str | Sub:
    """An ARN from the config; one written with ${AWS::Partition} (etc.) becomes an Fn::Sub."""
    return Sub(text) if any(p in text for p in cfg.ARN_PLACEHOLDERS) else text


def _environment_value(s: StackBuilder, dep: Deployment, value: str) -> str | Sub:
    """Config references become Fn::Sub variables; plain values stay plain strings."""

    def resolve(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref in cfg.ALB_REFERENCES:
            return s.var(ALB_URL if ref == "alb.url" else ALB_DNS_NAME)
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
    sc = svc.scaling
    for kind, value, metric in _policies(s, svc):
        spec = (
            {"CustomizedMetricSpecification": metric}
            if isinstance(metric, aas.CustomizedMetricSpecification)
            else {"PredefinedMetricSpecification": metric}
        )
        s.add(
            aas.ScalingPolicy(
                f"{kind}ScalingPolicy",
                PolicyName=s.name(f"{kind.lower()}-scaling", svc.name),
                PolicyType="TargetTrackingScaling",
                ScalingTargetId=Ref(target),
                TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
                    **spec,
                    TargetValue=float(value),
                    ScaleInCooldown=sc.scale_in_cooldown,
                    ScaleOutCooldown=sc.scale_out_cooldown,
                ),
            )
        )


def _policies(
    s: StackBuilder, svc: Service
) -> list[tuple[str, float, aas.PredefinedMetricSpecification | aas.CustomizedMetricSpecification]]:
    """(kind, target value, metric) of each target-tracking policy the config asks for."""
    sc = svc.scaling
    wanted = [
        ("Cpu", sc.cpu_target, "ECSServiceAverageCPUUtilization"),
        ("Memory", sc.memory_target, "ECSServiceAverageMemoryUtilization"),
        ("Requests", sc.requests_per_target, "ALBRequestCountPerTarget"),
    ]
    policies: list[
        tuple[str, float, aas.PredefinedMetricSpecification | aas.CustomizedMetricSpecification]
    ] = []
    for kind, value, predefined in wanted:
        if value is None:
            continue
        metric = aas.PredefinedMetricSpecification(PredefinedMetricType=predefined)
        if kind == "Requests":
            metric.ResourceLabel = Sub(f"{s.var(ALB_FULL_NAME)}/{s.var(TARGET_GROUP_FULL_NAME, svc.name)}")
        policies.append((kind, float(value), metric))
    if sc.queue is not None:
        policies.append(
            ("Queue", float(sc.queue.messages_per_task), _backlog_per_task(s, svc, sc.queue.name))
        )
    return policies


def _backlog_per_task(s: StackBuilder, svc: Service, queue: str) -> aas.CustomizedMetricSpecification:
    """Messages visible in `queue` per running task: AWS's metric-math recipe for queue workers
    (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html);
    RunningTaskCount comes from Container Insights, which the cluster keeps on."""

    def stat(
        metric_id: str, namespace: str, name: str, dimensions: dict[str, object]
    ) -> aas.TargetTrackingMetricDataQuery:
        return aas.TargetTrackingMetricDataQuery(
            Id=metric_id,
            MetricStat=aas.TargetTrackingMetricStat(
                Metric=aas.TargetTrackingMetric(
                    Namespace=namespace,
                    MetricName=name,
                    Dimensions=[
                        aas.TargetTrackingMetricDimension(Name=k, Value=v) for k, v in dimensions.items()
                    ],
                ),
                Stat="Sum" if metric_id == "messages" else "Average",
            ),
            ReturnData=False,
        )

    return aas.CustomizedMetricSpecification(
        Metrics=[
            stat("messages", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}),
            stat(
                "tasks",
                "ECS/ContainerInsights",
                "RunningTaskCount",
                {"ClusterName": s.param(CLUSTER_NAME), "ServiceName": s.name("service", svc.name)},
            ),
            aas.TargetTrackingMetricDataQuery(
                Id="backlog", Expression="messages / tasks", Label="Messages per task", ReturnData=True
            ),
        ]
    )
