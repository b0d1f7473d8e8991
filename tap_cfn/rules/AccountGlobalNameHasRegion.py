"""Names unique per account (not per region) carry the region."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from tap_cfn.rules._common import references

# Resource type -> its name property, for names that are unique across the regions of an account
# (IAM: the RoleName page below) or of a partition (S3:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
GLOBAL_NAMES = {
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::S3::Bucket": "BucketName",
}


class AccountGlobalNameHasRegion(CloudFormationLintRule):
    """The same template deployed with the same names in a second region of the account fails with
    "already exists" on every IAM and S3 name that lacks the region."""

    id = "E9904"
    shortdesc = "Account-global names include the region, or are left to CloudFormation"
    description = (
        "IAM role, policy, user, group and instance-profile names are global to the account and bucket "
        "names to the partition: a name given in the template must include ${AWS::Region} (or be "
        "omitted), so the same stack deploys in two regions of one account."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html#cfn-iam-role-rolename"
    tags = ["resources", "iam", "s3", "naming"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for name, resource in cfn.get_resources(list(GLOBAL_NAMES)).items():
            prop = GLOBAL_NAMES[resource["Type"]]
            value = resource.get("Properties", {}).get(prop)
            if value is None or (
                isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] != "AWS::Region"
            ):
                continue  # omitted, or a parameter: the deployer chooses it
            if "AWS::Region" not in references(value):
                matches.append(
                    RuleMatch(
                        ["Resources", name, "Properties", prop],
                        f"{name}: {prop} is unique across regions; include ${{AWS::Region}} or omit it, "
                        "so the same names deploy in a second region of the account",
                    )
                )
        return matches
