"""One environment in many accounts and regions, through CloudFormation StackSets.

What the StackSet deploys is the environment's flat template (tap_cfn/flat.py), never the nested
stacks, because:
- service-managed StackSets (AWS Organizations) cannot provision nested stacks with their default
  `stacksets-exec-*` execution role; only a custom execution role template can, which is a setup
  step of its own.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html
- with self-managed permissions each instance's nested TemplateURLs are fetched in the target
  account and region: the packaged templates would need a bucket policy open to every target
  account (aws:PrincipalOrgID or the listed accounts) and per-region copies. One template has
  none of that: the StackSet reads it once, in the administrator account.
Permission models: SELF_MANAGED needs AWSCloudFormationStackSetAdministrationRole in the
administrator account and AWSCloudFormationStackSetExecutionRole in each target (roles.yaml);
SERVICE_MANAGED targets OUs and can deploy automatically to accounts that join them.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
"""
