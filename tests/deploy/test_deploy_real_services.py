"""GIVEN tests/fixtures/real-services.yaml (every per-service field of issue 12), WHEN its dev
templates are deployed by the deploy command on the local endpoint, THEN the task definitions,
roles and scaling policies exist as declared. Only what the local endpoint keeps is asserted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tap_cfn.deploy.aws import Clients

from .conftest import Terminal
from .test_cli_fixture import run

FIXTURE = Path(__file__).parent.parent / "fixtures" / "real-services.yaml"


@pytest.fixture(scope="module")
def real_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tap_cfn.cli import main

    out = tmp_path_factory.mktemp("real-templates")
    assert main(["templates", "--config", str(FIXTURE), "--out", str(out), "--quiet"]) == 0
    return out


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def test_the_real_services_deploy_with_sidecars_a_worker_and_an_external_image(
    aws: str, clients: Clients, real_templates: Path, terminal
) -> None:
    term: Terminal = terminal()
    tags = ("--param", "WebImageTag=1.0.0", "--param", "ApiImageTag=1.0.0", "--param", "JobsImageTag=1.0.0")
    code = run(aws, real_templates, term, "deploy", *tags, "--yes")
    assert code == 0, term.stderr
    root = clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]
    assert root["StackStatus"] == "CREATE_COMPLETE"

    ecs = _client(aws, "ecs")
    web = ecs.describe_task_definition(taskDefinition="real-task-web-demo")["taskDefinition"]
    # dev traces: the collector joins every task, its configuration read from an SSM parameter
    assert [c["name"] for c in web["containerDefinitions"]] == ["web", "envoy", "migrate", "otel-collector"]
    assert web["memory"] == "512"  # the dev override (1024 without it); the endpoint keeps no cpu
    main = web["containerDefinitions"][0]
    assert main["user"] == "1000:1000" and main["stopTimeout"] == 60
    reports = ecs.describe_task_definition(taskDefinition="real-task-reports-demo")["taskDefinition"]
    assert reports["containerDefinitions"][0]["image"] == "ghcr.io/example/reports:2.3.1"
    jobs = ecs.describe_task_definition(taskDefinition="real-task-jobs-demo")["taskDefinition"]
    assert not jobs["containerDefinitions"][0].get("portMappings")

    collector = web["containerDefinitions"][-1]
    assert collector["image"] == "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
    (config,) = collector["secrets"]
    parameter = config["valueFrom"].split(":parameter/", 1)[1]
    value = _client(aws, "ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    assert "exporters: [awsxray]" in value

    scaling = _client(aws, "application-autoscaling")
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    names = {p["PolicyName"] for p in policies}
    assert "real-queue-scaling-jobs-demo" in names

    # the canary service: its second target group, and a production rule forwarding to both
    elbv2 = _client(aws, "elbv2")
    groups = {
        g["TargetGroupName"]: g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]
    }
    assert {"real-tg-api-demo", "real-tg2-api-demo"} <= set(groups)
    assert "real-tg2-web-demo" not in groups  # web stays rolling
    listeners = elbv2.describe_listeners(
        LoadBalancerArn=elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    )
    rules = [
        r
        for lst in listeners["Listeners"]
        for r in elbv2.describe_rules(ListenerArn=lst["ListenerArn"])["Rules"]
    ]
    by_priority = {r["Priority"]: r for r in rules}
    assert sorted(by_priority) == ["100", "99", "default"]  # the production rule, its test rule, web
    api_rule, test_rule = by_priority["100"], by_priority["99"]
    assert [c["Field"] for c in test_rule["Conditions"]] == ["path-pattern", "http-header"]
    weights = {
        t["TargetGroupArn"]: t["Weight"] for t in api_rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    }
    assert weights == {groups["real-tg-api-demo"]: 100, groups["real-tg2-api-demo"]: 0}
