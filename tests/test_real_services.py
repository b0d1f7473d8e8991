"""GIVEN tests/fixtures/real-services.yaml (every per-service field of issue 12), WHEN its profiles
are built, THEN each field lands where AWS reads it, and the templates pass the lint and cfn-guard
gates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator, guard
from tap_cfn.lint import lint
from tap_cfn.render import render
from tests.conftest import Built

FIXTURE = Path(__file__).parent / "fixtures" / "real-services.yaml"


@pytest.fixture(scope="module")
def real() -> dict[str, Built]:
    config = cfg.load(FIXTURE)
    return {env: Built(cfg.Deployment(config, env)) for env in config.environments}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def test_config_statements_join_the_task_role_scoped_to_their_resources(real: dict[str, Built]) -> None:
    role = real["prod"].resource("service-web", "TaskRole")  # prod: no tracing statement
    extra = _statements(role)[1:]  # after the metrics statement every service has
    assert extra == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::real-uploads-${AWS::AccountId}/*"}],
        },
        {
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:real-jobs"}],
        },
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [{"Ref": "QueueTokenSecretArn"}],
        },
        {
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"],
        },
    ]
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy"}
    ]
    # the execution role is not widened by the application's needs
    execution = _statements(real["dev"].resource("service-web", "ExecutionRole"))
    assert not any("s3:GetObject" in s["Action"] for s in execution)


def test_a_platform_reference_becomes_the_parts_arn(real: dict[str, Built]) -> None:
    reports = real["prod"]
    (logs_statement,) = [
        s
        for s in _statements(reports.resource("service-reports", "TaskRole"))
        if s["Action"] == ["logs:FilterLogEvents"]
    ]
    assert logs_statement["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
            "${WebLogGroupName}:*"
        }
    ]
    # the parameter is fed from the data stack's output for the web log group
    fed = reports.fed_by("service-reports", "WebLogGroupName")
    assert fed == {"Fn::GetAtt": [reports.logical_ids["data"], "Outputs.WebLogGroupName"]}
    assert "ManagedPolicyArns" not in reports.resource("service-reports", "TaskRole")["Properties"]


def _container(built: Built, svc: str) -> dict[str, Any]:
    """The main container: the first of the task, named after the service."""
    container = built.resource(f"service-{svc}", "TaskDefinition")["Properties"]["ContainerDefinitions"][0]
    assert container["Name"] == svc
    return container


def test_the_container_runs_as_configured_and_keeps_image_defaults_where_unset(
    real: dict[str, Built],
) -> None:
    web = _container(real["dev"], "web")
    assert web["Command"] == ["gunicorn", "--bind", "0.0.0.0:8080", "app:app"]
    assert web["EntryPoint"] == ["/usr/bin/tini", "--"]
    assert (web["WorkingDirectory"], web["User"], web["StopTimeout"]) == ("/srv/app", "1000:1000", 60)
    task = real["dev"].resource("service-web", "TaskDefinition")["Properties"]
    assert task["EphemeralStorage"] == {"SizeInGiB": 50}
    assert task["RuntimePlatform"] == {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "ARM64"}
    reports = _container(real["dev"], "reports")
    assert not {"Command", "EntryPoint", "WorkingDirectory", "StopTimeout"} & set(reports)
    assert reports["User"] == "1000:1000"  # the image's root USER replaced (the unset user: test_service.py)
    reports_task = real["dev"].resource("service-reports", "TaskDefinition")["Properties"]
    assert "EphemeralStorage" not in reports_task
    assert reports_task["RuntimePlatform"]["CpuArchitecture"] == "X86_64"


def test_environment_values_differ_by_profile(real: dict[str, Built]) -> None:
    def variables(env: str) -> dict[str, Any]:
        return {v["Name"]: v["Value"] for v in _container(real[env], "web")["Environment"]}

    assert variables("dev")["LOG_LEVEL"] == "info" and variables("prod")["LOG_LEVEL"] == "warn"
    assert variables("prod")["REPORTS_URL"] == {"Fn::Sub": "http://reports.${NamespaceName}:9000"}


def test_sizes_and_counts_follow_the_profile(real: dict[str, Built]) -> None:
    sizes = {}
    for env in ("dev", "prod"):
        task = real[env].resource("service-web", "TaskDefinition")["Properties"]
        target = real[env].resource("service-web", "ScalableTarget")["Properties"]
        sizes[env] = (task["Cpu"], task["Memory"], target["MinCapacity"], target["MaxCapacity"])
    assert sizes == {"dev": ("256", "512", 1, 2), "prod": ("1024", "2048", 2, 20)}
    # a service without overrides keeps its own size everywhere
    assert real["dev"].resource("service-reports", "TaskDefinition")["Properties"]["Cpu"] == "256"


def test_graviton_tasks_are_priced_at_the_arm_rates(real: dict[str, Built]) -> None:
    from tap_cfn.ops import cost

    prices = cost.load_prices()
    items = {i.name: i for i in cost.estimate(real["prod"].dep, prices).items}
    # prod: web (arm64) 3 tasks of 1 vCPU / 2 GB; FARGATE base 1, the 2 above split 1:4 with Spot
    arm = items["Fargate arm64 vCPU, on-demand"]
    assert arm.unit_price == 0.03238
    assert arm.quantity == pytest.approx((1 + 2 * 1 / 5) * 1 * 730)
    assert items["Fargate arm64 memory, on-demand"].quantity == pytest.approx((1 + 2 / 5) * 2 * 730)
    assert items["Fargate arm64 Spot vCPU"].unit_price == pytest.approx(0.03238 * 0.3)
    # x86_64: reports and api 2 tasks of 0.25 vCPU each (1 + 1/5 on-demand), jobs 1 of 0.5 (the base)
    assert items["Fargate vCPU, on-demand"].quantity == pytest.approx(((1 + 1 / 5) * 0.25 * 2 + 0.5) * 730)


def test_a_worker_has_no_listener_ingress_or_record_and_scales_on_its_queue(real: dict[str, Built]) -> None:
    dev = real["dev"]
    service = dev.resource("service-jobs", "Service")["Properties"]
    assert not {"LoadBalancers", "ServiceRegistries", "HealthCheckGracePeriodSeconds"} & set(service)
    assert "PortMappings" not in _container(dev, "jobs")
    network = dev.stack("network")["Resources"]
    assert not [k for k, r in network.items() if k.startswith("Jobs") and "ElasticLoadBalancing" in r["Type"]]
    security = network
    assert not [k for k in security if k.startswith("JobsIngress")]
    assert "JobsEgressToReports" in security  # it still calls the services that list it
    policies = dev.resources("service-jobs", "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert list(policies) == ["QueueScalingPolicy"]  # cpu_target: null
    tracking = policies["QueueScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 20.0
    queries = {q["Id"]: q for q in tracking["CustomizedMetricSpecification"]["Metrics"]}
    assert queries["backlog"]["Expression"] == "messages / tasks" and queries["backlog"]["ReturnData"] is True
    messages = queries["messages"]["MetricStat"]["Metric"]
    assert (messages["Namespace"], messages["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert messages["Dimensions"] == [{"Name": "QueueName", "Value": "real-jobs"}]
    assert queries["tasks"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"


def test_an_external_image_is_pulled_with_its_own_credentials_only(real: dict[str, Built]) -> None:
    dev = real["dev"]
    reports = _container(dev, "reports")
    assert reports["Image"] == "ghcr.io/example/reports:2.3.1"
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ghcr-pull-AbCdEf"
    assert reports["RepositoryCredentials"] == {"CredentialsParameter": secret}
    execution = _statements(dev.resource("service-reports", "ExecutionRole"))
    actions = {a for s in execution for a in s["Action"]}
    assert not any(a.startswith("ecr:") for a in actions)  # nothing from the platform's registry
    (read,) = [s for s in execution if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert read["Resource"] == [secret]
    (decrypt,) = [s for s in execution if s["Action"] == ["kms:Decrypt"]]
    assert decrypt["Resource"] == [
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
    }
    # no image tag to pass for it; the platform-image services keep theirs
    assert "ReportsImageTag" not in dev.root["Parameters"] and "WebImageTag" in dev.root["Parameters"]
    image = "${RegistryAccount}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/real/web:${WebImageTag}"
    assert _container(dev, "web")["Image"]["Fn::Sub"][0] == image


def test_sidecars_run_beside_the_main_container_each_with_its_log_stream(real: dict[str, Built]) -> None:
    task = real["prod"].resource("service-web", "TaskDefinition")["Properties"]
    containers = {c["Name"]: c for c in task["ContainerDefinitions"]}
    assert list(containers) == ["web", "envoy", "migrate"]  # the main container first
    prefixes = {n: c["LogConfiguration"]["Options"]["awslogs-stream-prefix"] for n, c in containers.items()}
    assert prefixes == {"web": "web", "envoy": "envoy", "migrate": "migrate"}
    groups = {c["LogConfiguration"]["Options"]["awslogs-group"]["Ref"] for c in containers.values()}
    assert groups == {"WebLogGroupName"}
    assert containers["web"]["DependsOn"] == [
        {"ContainerName": "envoy", "Condition": "HEALTHY"},
        {"ContainerName": "migrate", "Condition": "SUCCESS"},
    ]
    envoy, migrate = containers["envoy"], containers["migrate"]
    assert envoy["Essential"] is True and envoy["PortMappings"] == [
        {"ContainerPort": 9901, "Protocol": "tcp"}
    ]
    assert envoy["HealthCheck"]["Command"][0] == "CMD-SHELL"
    assert migrate["Essential"] is False and migrate["Command"] == ["migrate", "up"]
    assert migrate["Environment"] == [{"Name": "MIGRATIONS", "Value": "/migrations"}]
    # hard limits out of the task's memory: envoy's own, migrate's the default
    assert (envoy["Memory"], migrate["Memory"]) == (128, 64)
    assert containers["web"]["Memory"] == 2048 - 128 - 64  # prod's task less its sidecars'
    for car in (envoy, migrate):  # hardened like the main container, as the task's user
        assert car["ReadonlyRootFilesystem"] is True and car["Privileged"] is False
        assert car["User"] == "1000:1000"
        assert car["MountPoints"] == [{"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}]


def test_the_canary_service_shifts_a_tenth_for_a_quarter_hour_then_bakes(real: dict[str, Built]) -> None:
    prod = real["prod"]
    service = prod.resource("service-api", "Service")["Properties"]
    config = service["DeploymentConfiguration"]
    assert (config["Strategy"], config["BakeTimeInMinutes"]) == ("CANARY", 20)
    assert config["CanaryConfiguration"] == {"CanaryPercent": 10.0, "CanaryBakeTimeInMinutes": 15}
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert config["Alarms"]["Rollback"] is True
    advanced = service["LoadBalancers"][0]["AdvancedConfiguration"]
    assert advanced["ProductionListenerRule"] == {"Ref": "ApiListenerRuleArn"}
    lb = prod.stack("network")["Resources"]
    groups = [
        g["Ref"]
        for g in lb["ApiListenerRule"]["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
        for g in [g["TargetGroupArn"]]
    ]
    assert groups == ["ApiTargetGroup", "ApiTargetGroup2"]
    assert lb["ApiTargetGroup2"]["Properties"]["HealthCheckPath"] == "/api/health"
    # the test listener rule: the service's path plus the test header, one priority ahead
    test = lb["ApiTestRule"]["Properties"]
    assert (test["Priority"], lb["ApiListenerRule"]["Properties"]["Priority"]) == (99, 100)
    assert test["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
        {
            "Field": "http-header",
            "HttpHeaderConfig": {"HttpHeaderName": "x-amzn-ecs-blue-green-test", "Values": ["*"]},
        },
    ]
    assert test["Actions"] == lb["ApiListenerRule"]["Properties"]["Actions"]
    assert advanced["TestListenerRule"] == {"Ref": "ApiTestRuleArn"}
    # web stays rolling: the listener's default action has no rule ECS could shift
    assert "Strategy" not in prod.resource("service-web", "Service")["Properties"]["DeploymentConfiguration"]


def test_the_blue_green_worker_has_no_traffic_to_shift(real: dict[str, Built]) -> None:
    dev = real["dev"]
    service = dev.resource("service-jobs", "Service")["Properties"]
    config = service["DeploymentConfiguration"]
    assert (config["Strategy"], config["BakeTimeInMinutes"]) == ("BLUE_GREEN", 10)
    assert "LoadBalancers" not in service
    assert "TrafficShiftRole" not in dev.stack("service-jobs")["Resources"]
    network = dev.stack("network")["Resources"]
    assert not [k for k, r in network.items() if k.startswith("Jobs") and "ElasticLoadBalancing" in r["Type"]]


def test_the_real_services_templates_are_lint_clean(real: dict[str, Built], tmp_path: Path) -> None:
    paths = []
    for env, built in real.items():
        for stem, template in generator.build_environment(built.dep).items():
            path = tmp_path / env / f"{stem}.yaml"
            path.parent.mkdir(exist_ok=True)
            path.write_text(render(template, "yaml"), encoding="utf-8")
            paths.append(path)
    assert lint(paths) == []


def test_dev_traces_every_service_workers_and_internal_ones_too(real: dict[str, Built]) -> None:
    dev, prod = real["dev"], real["prod"]
    for svc in ("web", "reports", "jobs"):
        names = [
            c["Name"]
            for c in dev.resource(f"service-{svc}", "TaskDefinition")["Properties"]["ContainerDefinitions"]
        ]
        assert names[-1] == "otel-collector", svc
        assert "otel-collector" not in [
            c["Name"]
            for c in prod.resource(f"service-{svc}", "TaskDefinition")["Properties"]["ContainerDefinitions"]
        ]
    web = _container(dev, "web")
    # dev's web is 512 MiB: 128 for the collector, 128 for envoy, 64 for migrate, the rest for the application
    assert web["Memory"] == 512 - 128 - 128 - 64
    # the collector first, then the service's own dependencies
    assert web["DependsOn"] == [
        {"ContainerName": "otel-collector", "Condition": "START"},
        {"ContainerName": "envoy", "Condition": "HEALTHY"},
        {"ContainerName": "migrate", "Condition": "SUCCESS"},
    ]
    variables = {v["Name"]: v["Value"] for v in _container(dev, "jobs")["Environment"]}
    assert variables["OTEL_SERVICE_NAME"] == {"Fn::Sub": "real-jobs-${EnvironmentSuffix}"}
    assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"


def _write_json(real: dict[str, Built], folder: Path) -> None:
    for env, built in real.items():
        (folder / env).mkdir()
        for stem, template in generator.build_environment(built.dep).items():
            (folder / env / f"{stem}.json").write_text(render(template, "json"), encoding="utf-8")


@pytest.mark.skipif(not guard.binary().is_file(), reason="cfn-guard not installed: run `make guard`")
def test_the_real_services_templates_pass_every_control_tower_control(
    real: dict[str, Built], tmp_path: Path
) -> None:
    _write_json(real, tmp_path)
    results, stale = guard.gate(tmp_path)
    assert sorted(results) == ["dev", "prod"]
    assert {env: r.unexplained for env, r in results.items()} == {"dev": [], "prod": []}
    # the platform-wide waivers hold for this platform too: none names the packaged services
    assert stale == []
    # fixed, not waived: every container has a hard memory limit and none runs as root
    fixed = {"ecs_task_definition_memory_hard_limit_check", "ecs_task_definition_nonroot_user_check"}
    assert all(fixed <= r.passed for r in results.values())


# checkov lives in its own environment (`make scan` / `make test` install it before the tests run).
CHECKOV = Path(__file__).parents[1] / ".venv-checkov" / "bin" / "checkov"


@pytest.mark.skipif(not CHECKOV.is_file(), reason="checkov not installed: run `make setup`")
def test_the_real_services_templates_fail_no_checkov_check(real: dict[str, Built], tmp_path: Path) -> None:
    _write_json(real, tmp_path)
    argv = [str(CHECKOV), "--skip-download", "--framework", "cloudformation", "--directory", str(tmp_path)]
    done = subprocess.run([*argv, "--output", "json"], capture_output=True, text=True, check=False)
    summary = json.loads(done.stdout)["summary"]
    # checkov exits 1 on a failed check; the skips are the templates' own (Metadata, with reasons)
    assert (done.returncode, summary["failed"]) == (0, 0), done.stdout[-4000:] + done.stderr[-2000:]
    assert summary["parsing_errors"] == 0 and summary["passed"] > 300  # both profiles were read
