"""Tracing (tap_cfn/stacks/tracing.py): GIVEN the packaged config with `tracing: {}` in dev only,
WHEN dev and prod are built, THEN every dev task runs the collector inside its size, the application
knows where to send spans, each role gets just what tracing needs, and prod is untouched."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import Built, _raw, statements
from tests.stacks.conftest import build

SERVICES = ("frontend", "api-gateway", "processing")
# packaged sizes (MiB): frontend 1024, api-gateway 2048, processing 4096
TASK_MEMORY = {"frontend": 1024, "api-gateway": 2048, "processing": 4096}
PARAMETER_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${CollectorConfig}"
}


@pytest.fixture(scope="module")
def traced() -> dict[str, Built]:
    raw = _raw()
    raw["environments"]["dev"]["tracing"] = {}
    return {env: build(raw, env) for env in ("dev", "prod")}


def _containers(b: Built, svc: str) -> dict[str, dict[str, Any]]:
    task = b.resource(f"service-{svc}", "TaskDefinition")["Properties"]
    return {c["Name"]: c for c in task["ContainerDefinitions"]}


@pytest.mark.parametrize("svc", SERVICES)
def test_every_task_runs_the_collector_beside_its_main_container(traced: dict[str, Built], svc: str) -> None:
    containers = _containers(traced["dev"], svc)
    assert list(containers) == [svc, "otel-collector"]
    collector = containers["otel-collector"]
    assert collector["Image"] == "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
    assert collector["Essential"] is False  # a collector failure stops traces, not the service
    assert (collector["Cpu"], collector["Memory"]) == (64, 128)
    assert collector["Command"] == ["--config=env:AOT_CONFIG_CONTENT"]
    assert collector["Secrets"] == [{"Name": "AOT_CONFIG_CONTENT", "ValueFrom": PARAMETER_ARN}]
    assert collector["User"] == "65534:65534" and collector["ReadonlyRootFilesystem"] is True
    assert collector["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "otel-collector"
    assert collector["HealthCheck"]["Command"] == ["/healthcheck"]
    assert "PortMappings" not in collector  # reached over the task's loopback only


@pytest.mark.parametrize("svc", SERVICES)
def test_the_collector_is_sized_inside_the_task(traced: dict[str, Built], svc: str) -> None:
    task = traced["dev"].resource(f"service-{svc}", "TaskDefinition")["Properties"]
    assert task["Memory"] == str(TASK_MEMORY[svc])  # the task (and its price) stays as configured
    main = _containers(traced["dev"], svc)[svc]
    assert main["Memory"] == TASK_MEMORY[svc] - 128
    assert main["DependsOn"] == [{"ContainerName": "otel-collector", "Condition": "START"}]


def test_the_application_is_told_where_to_send_spans(traced: dict[str, Built]) -> None:
    main = _containers(traced["dev"], "processing")["processing"]
    variables = {v["Name"]: v["Value"] for v in main["Environment"]}
    assert variables == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "OTEL_SERVICE_NAME": {"Fn::Sub": "tap-processing-${EnvironmentSuffix}"},
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.05",
    }


def test_a_variable_the_service_sets_itself_wins() -> None:
    raw = _raw()
    raw["environments"]["dev"]["tracing"] = {"sample_ratio": 0.5}
    raw["services"][2]["environment"] = {"OTEL_TRACES_SAMPLER": "always_on"}
    main = _containers(build(raw, "dev"), "processing")["processing"]
    variables = {v["Name"]: v["Value"] for v in main["Environment"]}
    assert variables["OTEL_TRACES_SAMPLER"] == "always_on"
    assert variables["OTEL_TRACES_SAMPLER_ARG"] == "0.5"


def test_the_task_role_writes_traces_and_the_execution_role_reads_that_one_parameter(
    traced: dict[str, Built],
) -> None:
    dev = traced["dev"]
    xray = [s for s in statements(dev.resource("service-processing", "TaskRole")) if s["Resource"] == ["*"]]
    assert {
        "Effect": "Allow",
        "Action": [
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ],
        "Resource": ["*"],
    } in xray
    execution = statements(dev.resource("service-processing", "ExecutionRole"))
    (read,) = [s for s in execution if any(a.startswith("ssm:") for a in s["Action"])]
    assert read == {"Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": [PARAMETER_ARN]}


def test_the_collector_configuration_exports_traces_only_and_listens_on_the_loopback(
    traced: dict[str, Built],
) -> None:
    parameter = traced["dev"].resource("service-frontend", "CollectorConfig")
    assert parameter["Type"] == "AWS::SSM::Parameter"
    assert "Name" not in parameter["Properties"]  # generated by CloudFormation, unique
    assert parameter["Properties"]["Type"] == "String"
    collector = yaml.safe_load(parameter["Properties"]["Value"])
    assert collector["service"]["pipelines"] == {
        "traces": {"receivers": ["otlp", "awsxray"], "processors": ["batch/traces"], "exporters": ["awsxray"]}
    }
    assert collector["service"]["extensions"] == ["health_check"]  # what /healthcheck probes
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert (protocols["grpc"]["endpoint"], protocols["http"]["endpoint"]) == (
        "127.0.0.1:4317",
        "127.0.0.1:4318",
    )
    assert collector["receivers"]["awsxray"] == {"endpoint": "127.0.0.1:2000", "transport": "udp"}


def test_the_deployment_s_traces_are_a_group_shown_on_the_dashboard(traced: dict[str, Built]) -> None:
    group = traced["dev"].resource("monitoring", "TraceGroup")["Properties"]
    assert group["GroupName"] == {"Fn::Sub": "tap-traces-${EnvironmentSuffix}"}
    assert group["FilterExpression"] == {
        "Fn::Sub": 'service("tap-frontend-${EnvironmentSuffix}") OR '
        'service("tap-api-gateway-${EnvironmentSuffix}") OR '
        'service("tap-processing-${EnvironmentSuffix}")'
    }
    body = traced["dev"].resource("monitoring", "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    assert (
        'SEARCH(\'{AWS/X-Ray,GroupName} GroupName=\\"tap-traces-${EnvironmentSuffix}\\" '
        "MetricName=\\\"ApproximateTraceCount\\\"', 'Sum', 60)"
    ) in body


def test_a_profile_without_tracing_has_none_of_it(traced: dict[str, Built]) -> None:
    prod = traced["prod"]
    for svc in SERVICES:
        assert list(_containers(prod, svc)) == [svc]
        assert _containers(prod, svc)[svc]["Memory"] == TASK_MEMORY[svc]
        assert "CollectorConfig" not in prod.stack(f"service-{svc}")["Resources"]
        actions = {a for s in statements(prod.resource(f"service-{svc}", "TaskRole")) for a in s["Action"]}
        assert not any(a.startswith("xray:") for a in actions)
    assert "TraceGroup" not in prod.stack("monitoring")["Resources"]
    assert "X-Ray" not in prod.resource("monitoring", "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
