"""Kept data uses RetainExceptOnCreate, and is kept on replacement too."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

STATEFUL = [
    "AWS::ECR::Repository",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
]
KEEPS = {"Retain", "RetainExceptOnCreate", "Snapshot"}


class StatefulRetainExceptOnCreate(CloudFormationLintRule):
    """A resource kept with plain Retain survives the rollback of the create that made it, and its
    name then blocks the retry ("already exists"). RetainExceptOnCreate keeps it on delete and
    replacement but deletes it when its own create rolls back."""

    id = "E9902"
    shortdesc = (
        "Kept stateful resources use DeletionPolicy RetainExceptOnCreate and UpdateReplacePolicy Retain"
    )
    description = (
        "A log group, repository, secret, bucket or KMS key that is kept (DeletionPolicy Retain or "
        "Snapshot) must use RetainExceptOnCreate, so a failed first create leaves nothing behind that "
        "blocks a retry with the same names, and UpdateReplacePolicy Retain, so a replacement keeps "
        "the data too."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"
    tags = ["resources", "deletionpolicy"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for name, resource in cfn.get_resources(STATEFUL).items():
            deletion = resource.get("DeletionPolicy")
            if deletion not in KEEPS:
                continue
            if deletion != "RetainExceptOnCreate":
                matches.append(
                    RuleMatch(
                        ["Resources", name, "DeletionPolicy"],
                        f"{name} ({resource['Type']}) has DeletionPolicy {deletion}: use "
                        "RetainExceptOnCreate, or the rollback of a failed first create leaves it "
                        "behind and the retry fails with 'already exists'",
                    )
                )
            if resource.get("UpdateReplacePolicy") != "Retain":
                matches.append(
                    RuleMatch(
                        ["Resources", name],
                        f"{name} ({resource['Type']}) is kept on delete: set UpdateReplacePolicy Retain so "
                        "a replacement keeps its data as well",
                    )
                )
        return matches
