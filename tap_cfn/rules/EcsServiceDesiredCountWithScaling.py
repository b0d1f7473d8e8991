"""A scaled ECS service sets no DesiredCount."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from tap_cfn.rules._common import references


class EcsServiceDesiredCountWithScaling(CloudFormationLintRule):
    """With DesiredCount in the template, every update of the service sets the running count back to
    it, undoing what auto scaling did (aws/containers-roadmap#493). Without it CloudFormation leaves
    the count alone on update; a new service starts with 1 task and the scalable target's
    MinCapacity raises it."""

    id = "E9901"
    shortdesc = "A service scaled by Application Auto Scaling must not set DesiredCount"
    description = (
        "An AWS::ECS::Service that an AWS::ApplicationAutoScaling::ScalableTarget scales must not set "
        "DesiredCount: CloudFormation resets the running count to it on every update of the service "
        "(https://github.com/aws/containers-roadmap/issues/493)."
    )
    source_url = (
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
        "aws-resource-ecs-service.html#cfn-ecs-service-desiredcount"
    )
    tags = ["resources", "ecs", "autoscaling"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        scaled: set[str] = set()
        for target in cfn.get_resources(["AWS::ApplicationAutoScaling::ScalableTarget"]).values():
            props = target.get("Properties", {})
            if props.get("ScalableDimension") == "ecs:service:DesiredCount":
                scaled |= references(props.get("ResourceId"))
        return [
            RuleMatch(
                ["Resources", name, "Properties", "DesiredCount"],
                f"{name} is scaled by a ScalableTarget: remove DesiredCount, or every stack update "
                "resets the running task count to it (the target's MinCapacity sets the floor)",
            )
            for name, service in cfn.get_resources(["AWS::ECS::Service"]).items()
            if name in scaled and "DesiredCount" in service.get("Properties", {})
        ]
