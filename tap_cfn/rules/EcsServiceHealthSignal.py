"""Every ECS service has a health signal: a load balancer's target check or a container check."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from tap_cfn.rules._common import references


class EcsServiceHealthSignal(CloudFormationLintRule):
    """ECS acts only on container health checks defined in the task definition; without one (and
    without a load balancer) a task is healthy while RUNNING, so a hung task stays in service
    discovery and the deployment circuit breaker cannot see a bad release."""

    id = "W9909"
    shortdesc = "An ECS service without a load balancer needs a container health check"
    description = (
        "An AWS::ECS::Service with no LoadBalancers whose task definition (in the same template) gives "
        "no essential container a HealthCheck has no health signal: ECS treats a RUNNING task as healthy."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-taskdefinition-healthcheck.html"
    tags = ["resources", "ecs"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        definitions = cfn.get_resources(["AWS::ECS::TaskDefinition"])
        matches = []
        for name, service in cfn.get_resources(["AWS::ECS::Service"]).items():
            props = service.get("Properties", {})
            if props.get("LoadBalancers"):
                continue
            for task in references(props.get("TaskDefinition")) & set(definitions):
                containers = definitions[task].get("Properties", {}).get("ContainerDefinitions", [])
                checked = [
                    c
                    for c in (containers if isinstance(containers, list) else [])
                    if isinstance(c, dict) and c.get("Essential", True) is not False and "HealthCheck" in c
                ]
                if not checked:
                    matches.append(
                        RuleMatch(
                            ["Resources", task, "Properties", "ContainerDefinitions"],
                            f"{name} has no load balancer and {task} no container HealthCheck: ECS counts a "
                            "RUNNING task as healthy; add a HealthCheck to the essential container",
                        )
                    )
        return matches
