"""Tracing in a service's task, where the profile turns it on (`environments.<name>.tracing`): the
AWS Distro for OpenTelemetry (ADOT) collector container, its configuration as an SSM parameter,
what the application is told, and what each role may do for it. The service stack calls these;
with tracing off none of them adds anything."""

from __future__ import annotations

from awacs import ssm, xray
from awacs.aws import Statement
from troposphere import Sub, ecs
from troposphere import ssm as ssm_resources

from tap_cfn import config as cfg
from tap_cfn import naming
from tap_cfn.config import Deployment, Service
from tap_cfn.iam import allow
from tap_cfn.stacks.base import StackBuilder

# A pinned release from the ADOT Collector's public ECR repository (v0.43.3, 2025-05-16:
# https://aws-otel.github.io/download/); multi-architecture, so arm64 tasks run it too.
COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
# ECS injects the SSM parameter's value into this variable; the collector reads its configuration
# from it through the env confmap provider (https://aws-otel.github.io/docs/components/confmap-providers).
CONFIG_VARIABLE = "AOT_CONFIG_CONTENT"
# The image has no USER (it is built FROM scratch), so it would run as root: nobody instead, which
# needs nothing the collector does (ports above 1024, no files written).
COLLECTOR_USER = "65534:65534"
# The health check binary the image ships, probing the health_check extension the configuration
# enables (ADOT's Fargate sidecar example: examples/ecs/aws-cloudwatch/ecs-fargate-sidecar.json in
# aws-observability/aws-otel-collector).
HEALTH_COMMAND = ["/healthcheck"]

# Traces only: OTLP (gRPC and HTTP) and X-Ray SDK segments in, X-Ray out. No metrics pipeline, so
# the task role needs no CloudWatch Logs or EMF permissions. Receivers listen on the loopback only:
# the containers of a task share it, nothing outside the task can reach them.
COLLECTOR_CONFIG = """\
extensions:
  health_check:
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: 127.0.0.1:4318
  awsxray:
    endpoint: 127.0.0.1:2000
    transport: udp
processors:
  batch/traces:
    timeout: 1s
    send_batch_size: 50
exporters:
  awsxray:
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp, awsxray]
      processors: [batch/traces]
      exporters: [awsxray]
"""

# Where the application sends spans: OTLP over HTTP (every OpenTelemetry SDK speaks it), and X-Ray
# SDK segments over UDP (https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon-ecs.html).
# A variable the service sets itself wins.
APP_ENVIRONMENT = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
}

# What a collector exporting to X-Ray calls, the actions of AWS's AWSXRayDaemonWriteAccess; none has
# resource-level permissions, so "*" (tap_cfn.iam.UNSCOPED_ACTIONS).
XRAY_WRITE = (
    xray.PutTraceSegments,
    xray.PutTelemetryRecords,
    xray.GetSamplingRules,
    xray.GetSamplingTargets,
    xray.GetSamplingStatisticSummaries,
)


def tracing(s: StackBuilder) -> cfg.Tracing | None:
    return s.dep.env.tracing


def app_memory(s: StackBuilder, svc: Service) -> int:
    """The main container's hard limit: the task's memory, less its sidecars' and the collector's."""
    return cfg.app_memory(svc, tracing(s))


def app_environment(s: StackBuilder, svc: Service) -> dict[str, str | Sub]:
    """Variables telling the application where the collector listens, and its service name."""
    traced = tracing(s)
    if traced is None:
        return {}
    return {
        **APP_ENVIRONMENT,
        # the name traces carry, and the deployment's X-Ray group selects them by (service_name)
        "OTEL_SERVICE_NAME": s.sub(service_name(s.dep, svc.name)),
        # what the trace's entry point decides holds downstream; only the ratio of new traces is sampled
        # (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{traced.sample_ratio:g}",
    }


def service_name(dep: Deployment, name: str) -> str:
    """Fn::Sub text of the name a service's traces carry: <project>-<service>-<suffix>, unique per
    deployment (the X-Ray group of the monitoring stack selects the deployment's traces by it)."""
    return naming.name_text(dep.project, name)


def app_depends_on(s: StackBuilder) -> list[cfg.DependsOn]:
    """The main container starts once the collector has started. START, not HEALTHY: tracing must
    never hold the application back, and an SDK retries spans it could not send yet."""
    if tracing(s) is None:
        return []
    return [cfg.DependsOn(container=cfg.COLLECTOR_NAME, condition="START")]


def config_parameter(s: StackBuilder, svc: Service) -> ssm_resources.Parameter | None:
    """The collector's configuration as a String parameter (no secret in it). No Name: CloudFormation
    generates a unique one, and Ref gives it back."""
    if tracing(s) is None:
        return None
    return s.add(
        ssm_resources.Parameter(
            "CollectorConfig",
            Type="String",
            Tier="Standard",
            Value=COLLECTOR_CONFIG,
            Description=f"OpenTelemetry collector configuration of the {svc.name} tasks",
            # a map here, not a list of Key/Value pairs
            Tags={tag["Key"]: tag["Value"] for tag in s.tags("collector-config", svc.name).to_dict()},
        )
    )


def parameter_arn(parameter: ssm_resources.Parameter) -> Sub:
    return Sub(
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${" + parameter.title + "}"
    )


def collector(
    s: StackBuilder, parameter: ssm_resources.Parameter, logs: ecs.LogConfiguration
) -> ecs.ContainerDefinition:
    """The collector container: sized inside the task, logging as `logs` says (its own stream
    prefix), non-essential (a collector failure stops traces, not the service), hardened like the
    other containers."""
    traced = tracing(s)
    assert traced is not None
    return ecs.ContainerDefinition(
        Name=cfg.COLLECTOR_NAME,
        Image=COLLECTOR_IMAGE,
        Essential=False,
        Cpu=traced.collector_cpu,
        Memory=traced.collector_memory,
        Command=[f"--config=env:{CONFIG_VARIABLE}"],
        Secrets=[ecs.Secret(Name=CONFIG_VARIABLE, ValueFrom=parameter_arn(parameter))],
        User=COLLECTOR_USER,
        Privileged=False,
        ReadonlyRootFilesystem=True,
        LogConfiguration=logs,
        HealthCheck=ecs.HealthCheck(
            Command=HEALTH_COMMAND, Interval=10, Timeout=5, Retries=3, StartPeriod=10
        ),
    )


def task_statements(s: StackBuilder) -> list[Statement]:
    """The task role may write traces and read sampling rules (the collector calls X-Ray with it)."""
    if tracing(s) is None:
        return []
    return [allow(list(XRAY_WRITE), ["*"])]


def execution_statements(parameter: ssm_resources.Parameter | None) -> list[Statement]:
    """The execution role may read the collector's configuration parameter, that one only (ECS reads
    parameters named in `secrets` with ssm:GetParameters:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html)."""
    if parameter is None:
        return []
    return [allow([ssm.GetParameters], [parameter_arn(parameter)])]
