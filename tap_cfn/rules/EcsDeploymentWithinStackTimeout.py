"""A canary or linear ECS deployment fits the time CloudFormation allows it."""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from tap_cfn.config import (
    CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES,
    ECS_CANARY_DEFAULTS,
    ECS_LINEAR_DEFAULTS,
    cloudformation_deployment_minutes,
)


class EcsDeploymentWithinStackTimeout(CloudFormationLintRule):
    """CloudFormation operations time out after 36 hours; it rejects a CANARY or LINEAR service
    whose deployment time, computed from the template, exceeds 33 hours. Unset figures count at
    ECS's defaults, an unset BakeTimeInMinutes as 0 (so the rule never fails a template CloudFormation
    would take); a value given by a parameter is not judged."""

    id = "E9920"
    shortdesc = "A canary or linear ECS deployment must fit CloudFormation's 33 hours"
    description = (
        "An AWS::ECS::Service with DeploymentConfiguration.Strategy CANARY (BakeTimeInMinutes + "
        "CanaryBakeTimeInMinutes) or LINEAR (BakeTimeInMinutes + StepBakeTimeInMinutes x steps) must "
        "not add up to more than 33 hours: CloudFormation rejects it to stay clear of its 36-hour "
        "operation timeout."
    )
    source_url = (
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
        "aws-properties-ecs-service-linearconfiguration.html"
    )
    tags = ["resources", "ecs", "deployment"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for name, service in cfn.get_resources(["AWS::ECS::Service"]).items():
            config = service.get("Properties", {}).get("DeploymentConfiguration", {})
            minutes = _minutes(config) if isinstance(config, dict) else None
            if minutes is not None and minutes > CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES:
                matches.append(
                    RuleMatch(
                        ["Resources", name, "Properties", "DeploymentConfiguration"],
                        f"{name}: a {config['Strategy']} deployment of {minutes} minutes; CloudFormation "
                        f"rejects more than {CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES} (33 hours)",
                    )
                )
        return matches


def _minutes(config: dict[str, Any]) -> int | None:
    """The computed deployment time, or None when it is not a canary or linear one of literal figures."""
    strategy = config.get("Strategy")
    canary = config.get("CanaryConfiguration", {})
    linear = config.get("LinearConfiguration", {})
    if strategy not in ("CANARY", "LINEAR") or not isinstance(canary, dict) or not isinstance(linear, dict):
        return None
    bake = config.get("BakeTimeInMinutes", 0)
    canary_bake = canary.get("CanaryBakeTimeInMinutes", ECS_CANARY_DEFAULTS[1])
    step_percent = linear.get("StepPercent", ECS_LINEAR_DEFAULTS[0])
    step_bake = linear.get("StepBakeTimeInMinutes", ECS_LINEAR_DEFAULTS[1])
    figures = (bake, canary_bake, step_percent, step_bake)
    if not all(_number(f) for f in figures) or step_percent <= 0:
        return None  # a parameter or a typo: E3012 and friends speak for it
    return cloudformation_deployment_minutes(
        str(strategy), int(bake), int(canary_bake), float(step_percent), int(step_bake)
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
