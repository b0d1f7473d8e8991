"""No ECR lifecycle rule counts over every image."""

from __future__ import annotations

import json

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template


class EcrLifecycleCountOverAnyTag(CloudFormationLintRule):
    """`tagStatus: any` evaluates every image, tagged or not: a count rule over it expires the
    oldest images whatever they are, the one a service still runs included."""

    id = "E9903"
    shortdesc = "An ECR lifecycle policy must not count over tagStatus any"
    description = (
        "An AWS::ECR::Repository lifecycle rule with countType imageCountMoreThan over tagStatus any "
        "can expire the image a running service uses: expire untagged images by age and keep the last "
        "N tagged ones instead."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html"
    tags = ["resources", "ecr"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for name, repository in cfn.get_resources(["AWS::ECR::Repository"]).items():
            text = repository.get("Properties", {}).get("LifecyclePolicy", {}).get("LifecyclePolicyText")
            if not isinstance(text, str):
                continue  # absent, or an intrinsic function resolved at deploy time
            try:
                rules = json.loads(text).get("rules", [])
            except (ValueError, AttributeError):
                continue  # cfn-lint's own schema rules report a malformed policy
            for rule in rules:
                selection = rule.get("selection", {}) if isinstance(rule, dict) else {}
                if selection.get("tagStatus") == "any" and selection.get("countType") == "imageCountMoreThan":
                    matches.append(
                        RuleMatch(
                            ["Resources", name, "Properties", "LifecyclePolicy", "LifecyclePolicyText"],
                            f"{name}: rule {rule.get('rulePriority')} counts over tagStatus any and can "
                            "expire a running image; expire untagged images by age and keep the last N "
                            "tagged ones",
                        )
                    )
        return matches
