"""GIVEN tests/fixtures/real-services.yaml (every per-service field of issue 12), WHEN its profiles
are built, THEN each field lands where AWS reads it, and the templates pass the lint gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator
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
    role = real["dev"].resource("service-web", "TaskRole")
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
    ]
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}
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


def test_the_real_services_templates_are_lint_clean(real: dict[str, Built], tmp_path: Path) -> None:
    paths = []
    for env, built in real.items():
        for stem, template in generator.build_environment(built.dep).items():
            path = tmp_path / env / f"{stem}.yaml"
            path.parent.mkdir(exist_ok=True)
            path.write_text(render(template, "yaml"), encoding="utf-8")
            paths.append(path)
    assert lint(paths) == []
