"""Root stack: the user-facing parameters, one AWS::CloudFormation::Stack per child, and the
wiring between them, derived from the children's own Outputs and Parameters by name."""

from __future__ import annotations

from typing import Any

from troposphere import Export, GetAtt, Output, Parameter, Sub, Template

from tap_cfn import cidr, contract, conventions, naming
from tap_cfn.config import ACM_CERTIFICATE, Deployment
from tap_cfn.contract import (
    ALARM_EMAIL,
    CERTIFICATE_ARN,
    DOMAIN_NAME,
    ENVIRONMENT_SUFFIX,
    HOSTED_ZONE_ID,
    IMAGE_TAG,
    REGISTRY_ACCOUNT_ID,
    VPC_CIDR,
)
from tap_cfn.stacks.nesting import Child, WiringError, leaves, nest, producers

__all__ = ["Child", "WiringError", "build", "suffix_max_length"]
MAX_OUTPUTS = 200  # CloudFormation's quota of outputs per template
# A choice, not a quota: past this many per-service outputs, the root exports the platform-wide
# values only and the per-service ones stay on the group stacks (a root a reader can scan).
MAX_OWNED_OUTPUTS = 60
ACCOUNT_PATTERN = f"^$|{conventions.ACCOUNT_ID_PATTERN}"
ACCOUNT_CONSTRAINT = "empty for this account, or a 12-digit AWS account ID, e.g. 123456789012 or 210987654321"
DOMAIN_PATTERN = r"^$|^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
DOMAIN_CONSTRAINT = (
    "empty, or a lowercase DNS name of up to 253 characters (the certificate's name), "
    "e.g. app.example.com or shop.example.org"
)
ZONE_PATTERN = r"^$|^Z[A-Z0-9]{1,31}$"
ZONE_CONSTRAINT = (
    "empty, or a Route 53 public hosted zone ID of up to 32 characters, "
    "e.g. Z0123456789ABCDEFGHIJ or Z2FDTNDATAQYW2"
)

IMAGE_TAG_PATTERN = conventions.IMAGE_TAG_PATTERN
# Short: it is repeated once per service in the root.
IMAGE_TAG_CONSTRAINT = "e.g. v1.4.2 or 3f9c2ab (not latest)"
CERTIFICATE_PATTERN = f"^({ACM_CERTIFICATE})?$"
CERTIFICATE_CONSTRAINT = (
    "empty for HTTP only, or the ARN (up to 2048 characters) of an ACM certificate in the stack's "
    "region, e.g. arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab "
    "or arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
)
# Empty (no subscription) or something shaped like an address; SNS confirms the rest by mail.
ALARM_EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
ALARM_EMAIL_CONSTRAINT = "e.g. ops@example.com or oncall@example.org, up to 254 characters; empty for none"
SUFFIX_CONSTRAINT = (
    "1 to {max} lowercase letters, digits and inner hyphens, e.g. dev or pr-42 "
    "(longer would push a name built from it past its AWS length limit)"
)

# The console's parameter form (AWS::CloudFormation::Interface): root parameter -> (group, label).
# Groups are shown in CONSOLE_GROUPS order, parameters in the order the template declares them.
# A per-service value (IMAGE_TAG) stands for one parameter per service (FrontendImageTag), `{owner}`
# in its label for the service's name. The labels take a hundred-service root past the 51,200-byte
# TemplateBody quota; a root that large goes as a TemplateURL (quota 1 MB): the deployer uploads it
# (deploy/packaging.py), as `aws cloudformation deploy --s3-bucket` does
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
# A root parameter without an entry fails the build.
CONSOLE_GROUPS = ("Environment", "Container images", "Network", "Load balancer", "Notifications")
CONSOLE: dict[contract.Value, tuple[str, str]] = {
    ENVIRONMENT_SUFFIX: ("Environment", "Environment suffix"),
    VPC_CIDR: ("Network", "VPC CIDR (RFC 1918; one range per region to peer them later)"),
    IMAGE_TAG: ("Container images", "Image tag of {owner}"),
    REGISTRY_ACCOUNT_ID: ("Container images", "Registry account (empty: this account)"),
    CERTIFICATE_ARN: ("Load balancer", "HTTPS certificate (ACM ARN, empty: HTTP only)"),
    DOMAIN_NAME: ("Load balancer", "Custom domain (optional)"),
    HOSTED_ZONE_ID: ("Load balancer", "Route 53 hosted zone of the domain (optional)"),
    ALARM_EMAIL: ("Notifications", "Alarm e-mail (optional)"),
}


def suffix_max_length(children: list[Child]) -> int:
    """The longest suffix for which every name any stack emits stays within its AWS limit."""
    limits: dict[str, list[tuple[str, int]]] = {}  # by resource type: one lookup per resource
    for (kind, prop), limit in naming.NAME_LIMITS.items():
        limits.setdefault(kind, []).append((prop, limit))
    rooms = []
    for leaf in leaves(children):
        assert leaf.template is not None
        for resource in leaf.template.resources.values():
            for prop, limit in limits.get(resource.resource_type, ()):
                value = resource.properties.get(prop)
                if isinstance(value, Sub):
                    rooms.append(naming.suffix_room(value.data["Fn::Sub"], limit))
    return min(rooms)


def build(dep: Deployment, children: list[Child], built: dict[str, Template]) -> Template:
    """The root over `children`; `built`: every template below it by stem (`templates_below`)."""
    t = Template(
        Description=f"{dep.project} ({dep.env_name}): ECS Fargate platform, root of the nested stacks"
    )
    t.set_version("2010-09-09")
    root_params = _parameters(t, dep, children)
    templates = nest(dep, t, children, built, declared=root_params)
    _outputs(t, templates)
    t.set_metadata(
        {
            **t.metadata,
            "AWS::CloudFormation::Interface": console_interface(list(t.parameters), dep),
            # Read by the deployer (tap_cfn/deploy/protection.py), which turns protection on after
            # the first successful create: a template that set it would trap a failed create's rollback.
            conventions.DEPLOYER_METADATA: {
                conventions.ALB_DELETION_PROTECTION: dep.env.alb_deletion_protection
            },
        }
    )
    return t


def _optional(t: Template, value: contract.Value, pattern: str, constraint: str, length: int) -> Parameter:
    """A root parameter that may stay empty (its feature off), constrained when given."""
    return t.add_parameter(
        Parameter(
            value.key,
            Type="String",
            Description=value.description,
            Default="",
            AllowedPattern=pattern,
            MaxLength=length,
            ConstraintDescription=constraint,
        )
    )


def _parameters(t: Template, dep: Deployment, children: list[Child]) -> dict[str, Parameter]:
    """The user-facing parameters, in console order: suffix, network, load balancer, images,
    notifications."""
    max_suffix = suffix_max_length(children)
    root_params = {
        ENVIRONMENT_SUFFIX.key: t.add_parameter(
            Parameter(
                ENVIRONMENT_SUFFIX.key,
                Type="String",
                Description=ENVIRONMENT_SUFFIX.description,
                AllowedPattern=naming.SUFFIX_PATTERN,
                MinLength=1,
                MaxLength=max_suffix,
                ConstraintDescription=SUFFIX_CONSTRAINT.format(max=max_suffix),
            )
        )
    }
    prefix = dep.env.network.prefixlen
    root_params[VPC_CIDR.key] = t.add_parameter(
        Parameter(
            VPC_CIDR.key,
            Type="String",
            Description=VPC_CIDR.description,
            Default=dep.env.vpc_cidr,
            AllowedPattern=cidr.allowed_pattern(prefix),
            ConstraintDescription=cidr.constraint(prefix),
        )
    )
    for value, pattern, constraint, length in (
        (CERTIFICATE_ARN, CERTIFICATE_PATTERN, CERTIFICATE_CONSTRAINT, 2048),
        (DOMAIN_NAME, DOMAIN_PATTERN, DOMAIN_CONSTRAINT, 253),
        (HOSTED_ZONE_ID, ZONE_PATTERN, ZONE_CONSTRAINT, 32),
    ):
        root_params[value.key] = _optional(t, value, pattern, constraint, length)
    if any(svc.image is None for svc in dep.services):
        root_params[REGISTRY_ACCOUNT_ID.key] = _optional(
            t, REGISTRY_ACCOUNT_ID, ACCOUNT_PATTERN, ACCOUNT_CONSTRAINT, 12
        )
    for svc in dep.services:
        if svc.image is not None:  # an image from elsewhere names its own tag or digest
            continue
        key = IMAGE_TAG.name(svc.name)
        root_params[key] = t.add_parameter(
            Parameter(
                key,
                Type="String",
                Description=IMAGE_TAG.describe(svc.name),
                AllowedPattern=IMAGE_TAG_PATTERN,  # also bounds the length: 1 to 128 characters
                ConstraintDescription=IMAGE_TAG_CONSTRAINT,
            )
        )
    root_params[ALARM_EMAIL.key] = _optional(t, ALARM_EMAIL, ALARM_EMAIL_PATTERN, ALARM_EMAIL_CONSTRAINT, 254)
    return root_params


def _outputs(t: Template, templates: dict[str, Template]) -> None:
    """The children's public outputs, exported (AlbUrl among them: the load balancer makes it)."""
    made = producers(templates)
    public = sorted(key for key in made if contract.is_public(key))
    owned = [key for key in public if contract.is_owned(key)]
    # many services: per-service values stay on the groups, each would cost the root ~200 bytes
    # (tests/test_platform_scale.py checks the root of 100 services against the quotas)
    if len(public) > MAX_OUTPUTS or len(owned) > MAX_OWNED_OUTPUTS:
        public = [key for key in public if not contract.is_owned(key)]
    for key in public:
        t.add_output(
            Output(
                key,
                Description=templates[made[key]].outputs[key].Description,
                Value=GetAtt(made[key], f"Outputs.{key}"),
                Export=_export(key),
            )
        )


def console_placements(dep: Deployment) -> dict[str, tuple[str, str]]:
    """Root parameter -> (group, label) in the console: the platform-wide CONSOLE values, and the
    per-service ones once per service (FrontendImageTag: "Image tag of frontend"). Made once, not
    searched per parameter."""
    placements = {value.key: placement for value, placement in CONSOLE.items() if not value.owned}
    for svc in dep.services:
        for value, (group, label) in CONSOLE.items():
            if value.owned:
                placements[value.name(svc.name)] = (group, label.format(owner=svc.name))
    return placements


def console_interface(keys: list[str], dep: Deployment) -> dict[str, Any]:
    """ParameterGroups and ParameterLabels for the root parameters `keys` (declaration order)."""
    known = console_placements(dep)
    missing = [key for key in keys if key not in known]
    if missing:
        raise WiringError(
            f"root parameter {missing[0]} has no console group and label: add it to CONSOLE in "
            "tap_cfn/stacks/root.py"
        )
    placed = {key: known[key] for key in keys}
    unknown = {group for group, _ in placed.values()} - set(CONSOLE_GROUPS)
    if unknown:
        raise WiringError(f"console group(s) {sorted(unknown)} missing from CONSOLE_GROUPS")
    groups = [
        {"Label": {"default": group}, "Parameters": [k for k in keys if placed[k][0] == group]}
        for group in CONSOLE_GROUPS
        if any(g == group for g, _ in placed.values())
    ]
    labels = {key: {"default": label} for key, (_, label) in placed.items()}
    return {"ParameterGroups": groups, "ParameterLabels": labels}


def _export(key: str) -> Export:
    return Export(Sub(f"${{AWS::StackName}}-{key}"))
