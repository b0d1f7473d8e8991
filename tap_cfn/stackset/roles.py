"""The two roles of self-managed StackSets, as a template the user deploys once per account.

- AWSCloudFormationStackSetAdministrationRole (administrator account only): trusted by
  CloudFormation, may only assume the execution role in the targets.
- AWSCloudFormationStackSetExecutionRole (every target account, the administrator's too when it is
  a target): trusted by the administrator account; allowed the services the flat template uses
  instead of AWS's sample AdministratorAccess.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
"""

from __future__ import annotations

from typing import Any

from awacs import sts
from awacs.aws import Action, Allow, AWSPrincipal, PolicyDocument, Principal, Statement
from troposphere import Equals, Parameter, Ref, Sub, Template, iam

from tap_cfn.conventions import TOOL
from tap_cfn.stackset.preflight import ADMIN_ROLE, EXECUTION_ROLE

# Resource type namespace -> IAM service prefix, where they differ from the lower-cased name.
# https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
SERVICE_PREFIX = {
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "ApplicationAutoScaling": "application-autoscaling",
    "CertificateManager": "acm",
}

# Services a resource type calls on the deployer's behalf: a Cloud Map private DNS namespace
# creates a Route 53 hosted zone.
# https://docs.aws.amazon.com/cloud-map/latest/dg/cloud-map-api-permissions-ref.html
ALSO_NEEDS = {"servicediscovery": ("route53",)}


# E9904 (account-global names carry the region) does not apply: self-managed StackSets look for
# these two names by default, once per account, whatever the region.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
_FIXED_NAME = {
    "cfn-lint": {"config": {"ignore_checks": ["E9904"]}},
    TOOL: {"E9904": "StackSets find the role by this fixed name, once per account"},
}


def services(template: dict[str, Any]) -> list[str]:
    """IAM service prefixes of every resource type in `template`, plus CloudFormation itself."""
    found = {"cloudformation"}
    for resource in template["Resources"].values():
        namespace = resource["Type"].split("::")[1]
        prefix = SERVICE_PREFIX.get(namespace, namespace.lower())
        found.update((prefix, *ALSO_NEEDS.get(prefix, ())))
    return sorted(found)


def build(flat_template: dict[str, Any]) -> Template:
    t = Template(Description="tap-cfn: the administration and execution roles of self-managed StackSets")
    t.set_version("2010-09-09")
    admin = t.add_parameter(
        Parameter(
            "AdministratorAccountId",
            Type="String",
            AllowedPattern=r"^\d{12}$",
            Description="account that holds the StackSets (the administration role is created only there)",
        )
    )
    t.add_condition("IsAdministrator", Equals(Ref(admin), Ref("AWS::AccountId")))
    t.add_resource(
        iam.Role(
            "AdministrationRole",
            Condition="IsAdministrator",
            Metadata=_FIXED_NAME,
            RoleName=ADMIN_ROLE,
            AssumeRolePolicyDocument=_trust(Principal("Service", "cloudformation.amazonaws.com")),
            Policies=[
                iam.Policy(
                    PolicyName="AssumeExecutionRole",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Effect=Allow,
                                Action=[sts.AssumeRole],
                                Resource=[Sub(f"arn:${{AWS::Partition}}:iam::*:role/{EXECUTION_ROLE}")],
                            )
                        ],
                    ),
                )
            ],
        )
    )
    # Resource "*": the execution role creates every resource of the platform, as CloudFormation's
    # own service role would; it is narrowed to the services the template uses.
    deploy_all = Statement(
        Effect=Allow, Action=[Action(s, "*") for s in services(flat_template)], Resource=["*"]
    )
    t.add_resource(
        iam.Role(
            "ExecutionRole",
            Metadata=_FIXED_NAME,
            RoleName=EXECUTION_ROLE,
            AssumeRolePolicyDocument=_trust(
                AWSPrincipal(Sub("arn:${AWS::Partition}:iam::${AdministratorAccountId}:root"))
            ),
            Policies=[
                iam.Policy(
                    PolicyName="DeployPlatform",
                    PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[deploy_all]),
                )
            ],
        )
    )
    return t


def _trust(principal: Principal) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[Statement(Effect=Allow, Principal=principal, Action=[sts.AssumeRole])],
    )
