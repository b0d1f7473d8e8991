"""IAM through awacs (tap_cfn/iam.py): `*` only for actions without resource-level permissions, every
role in every template built and scoped by the policy builder."""

from __future__ import annotations

import pytest

from tap_cfn import iam
from tests.conftest import Built, statements


def test_unscoped_actions_are_exactly_those_without_resource_level_permissions() -> None:
    # Service Authorization Reference: no resource type for any of these.
    assert {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    } == iam.UNSCOPED_ACTIONS


def test_every_iam_role_in_every_template_is_built_with_awacs_and_scoped(exec_built: Built) -> None:
    for stem, logical_id, resource in exec_built.all_resources():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in statements(resource):
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= iam.UNSCOPED_ACTIONS, (stem, logical_id, statement)


def test_iam_statements_use_star_only_for_actions_without_resource_level_permissions(
    env_built: Built,
) -> None:
    statements = 0
    for stem, logical_id, resource in env_built.all_resources():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                statements += 1
                if "*" in statement["Resource"]:
                    assert set(statement["Action"]) <= iam.UNSCOPED_ACTIONS, (stem, logical_id, statement)
    assert statements >= 3 * 4


def test_policy_builder_refuses_star_for_scoped_actions() -> None:
    from awacs import secretsmanager

    with pytest.raises(iam.PolicyError, match="secretsmanager:GetSecretValue"):
        iam.allow([secretsmanager.GetSecretValue], ["*"])
