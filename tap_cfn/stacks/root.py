"""Root stack: the user-facing parameters, one AWS::CloudFormation::Stack per child, and the
wiring between them, derived from the children's own Outputs and Parameters by name."""

from __future__ import annotations

from troposphere import Equals, Export, GetAtt, If, Not, Output, Parameter, Ref, Sub, Template

from tap_cfn import contract, naming
from tap_cfn.config import Deployment
from tap_cfn.contract import ALARM_EMAIL, ALB_DNS_NAME, CERTIFICATE_ARN, ENVIRONMENT_SUFFIX, IMAGE_TAG
from tap_cfn.stacks.base import HAS_CERTIFICATE
from tap_cfn.stacks.nesting import Child, WiringError, leaves, nest, producers

__all__ = ["Child", "WiringError", "build", "suffix_max_length"]
MAX_OUTPUTS = 200  # CloudFormation's quota of outputs per template

IMAGE_TAG_PATTERN = r"^(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
IMAGE_TAG_CONSTRAINT = "a Docker tag (letters, digits, _ . -), not latest"
CERTIFICATE_PATTERN = r"^(arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+)?$"
CERTIFICATE_CONSTRAINT = "empty, or the ARN of an ACM certificate in the stack's region"
# Empty (no subscription) or something shaped like an address; SNS confirms the rest by mail.
ALARM_EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
SUFFIX_CONSTRAINT = (
    "lowercase letters, digits and inner hyphens, short enough for every name it feeds "
    "(ALB and target group names have 32 characters)"
)


def suffix_max_length(children: list[Child]) -> int:
    """The longest suffix for which every name any stack emits stays within its AWS limit."""
    rooms = []
    for leaf in leaves(children):
        assert leaf.template is not None
        for resource in leaf.template.resources.values():
            for (kind, prop), limit in naming.NAME_LIMITS.items():
                value = resource.properties.get(prop) if resource.resource_type == kind else None
                if isinstance(value, Sub):
                    rooms.append(naming.suffix_room(value.data["Fn::Sub"], limit))
    return min(rooms)


def build(dep: Deployment, children: list[Child], extension: str) -> Template:
    """`extension` (json or yaml) picks the child files the relative TemplateURLs point at."""
    t = Template(
        Description=f"{dep.project} ({dep.env_name}): ECS Fargate platform, root of the nested stacks"
    )
    t.set_version("2010-09-09")
    root_params = {
        ENVIRONMENT_SUFFIX.key: t.add_parameter(
            Parameter(
                ENVIRONMENT_SUFFIX.key,
                Type="String",
                Description=ENVIRONMENT_SUFFIX.description,
                AllowedPattern=naming.SUFFIX_PATTERN,
                MinLength=1,
                MaxLength=suffix_max_length(children),
                ConstraintDescription=SUFFIX_CONSTRAINT,
            )
        )
    }
    root_params[CERTIFICATE_ARN.key] = certificate = t.add_parameter(
        Parameter(
            CERTIFICATE_ARN.key,
            Type="String",
            Description=CERTIFICATE_ARN.description,
            Default="",
            AllowedPattern=CERTIFICATE_PATTERN,
            MaxLength=2048,
            ConstraintDescription=CERTIFICATE_CONSTRAINT,
        )
    )
    t.add_condition(HAS_CERTIFICATE, Not(Equals(Ref(certificate), "")))
    for svc in dep.services:
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
    root_params[ALARM_EMAIL.key] = t.add_parameter(
        Parameter(
            ALARM_EMAIL.key,
            Type="String",
            Description=ALARM_EMAIL.description,
            Default="",
            AllowedPattern=ALARM_EMAIL_PATTERN,
            MaxLength=254,
            ConstraintDescription="an e-mail address, or empty for no subscription",
        )
    )
    t.set_metadata(
        {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": [
                    {"Label": {"default": "Environment"}, "Parameters": [ENVIRONMENT_SUFFIX.key]},
                    {"Label": {"default": "HTTPS"}, "Parameters": [CERTIFICATE_ARN.key]},
                    {
                        "Label": {"default": "Container images"},
                        "Parameters": [IMAGE_TAG.name(s.name) for s in dep.services],
                    },
                    {"Label": {"default": "Notifications"}, "Parameters": [ALARM_EMAIL.key]},
                ],
                # Image tags keep their names as labels (FrontendImageTag says it all): with a
                # hundred services, labels would push the root past the 51,200-byte body quota.
                "ParameterLabels": {
                    ENVIRONMENT_SUFFIX.key: {"default": "Environment suffix"},
                    CERTIFICATE_ARN.key: {"default": "ACM certificate ARN (empty: HTTP only)"},
                    ALARM_EMAIL.key: {"default": "Alarm e-mail (optional)"},
                },
            }
        }
    )

    templates = nest(dep, t, children, extension, declared=root_params)
    made = producers(templates)
    public = sorted(key for key in made if contract.is_public(key))
    if len(public) >= MAX_OUTPUTS:  # many services: per-service values stay on their group stacks
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
    alb_dns = "${" + made[ALB_DNS_NAME.key] + ".Outputs." + ALB_DNS_NAME.key + "}"
    t.add_output(
        Output(
            "AlbUrl",
            Description="URL of the platform (the load balancer's default action serves the frontend); "
            "https when a CertificateArn is given.",
            Value=If(HAS_CERTIFICATE, Sub(f"https://{alb_dns}"), Sub(f"http://{alb_dns}")),
            Export=_export("AlbUrl"),
        )
    )
    return t


def _export(key: str) -> Export:
    return Export(Sub(f"${{AWS::StackName}}-{key}"))
