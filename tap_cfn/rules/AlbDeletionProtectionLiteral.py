"""ALB deletion protection is switched by the deployer, not hard-coded."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

KEY = "deletion_protection.enabled"


class AlbDeletionProtectionLiteral(CloudFormationLintRule):
    """A protected load balancer cannot be deleted, by a rollback either: a literal `true` turns a
    failed first create into ROLLBACK_FAILED and a stack delete into DELETE_FAILED."""

    id = "E9907"
    shortdesc = "Load balancer deletion protection must not be a literal true"
    description = (
        "LoadBalancerAttributes deletion_protection.enabled = true as a literal makes a rollback of the "
        "first create, and any delete of the stack, fail on the protected load balancer. Deletion "
        "protection must be switched by the deployer after a successful create (or come from a "
        "parameter or condition it governs), not hard-coded."
    )
    source_url = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#deletion-protection"
    tags = ["resources", "elasticloadbalancingv2"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for name, balancer in cfn.get_resources(["AWS::ElasticLoadBalancingV2::LoadBalancer"]).items():
            attributes = balancer.get("Properties", {}).get("LoadBalancerAttributes", [])
            for index, attribute in enumerate(attributes if isinstance(attributes, list) else []):
                if not isinstance(attribute, dict) or attribute.get("Key") != KEY:
                    continue
                if str(attribute.get("Value")).lower() == "true":
                    matches.append(
                        RuleMatch(
                            ["Resources", name, "Properties", "LoadBalancerAttributes", index, "Value"],
                            f"{name}: deletion protection must be switched by the deployer after a "
                            "successful create, not hard-coded (a protected load balancer blocks the "
                            "rollback and the delete)",
                        )
                    )
        return matches
