"""Root stack: the user-facing parameters, one AWS::CloudFormation::Stack per child, and the
wiring between them, derived from the children's own Outputs and Parameters by name."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, Export, GetAtt, If, Not, Output, Parameter, Ref, Sub, Template, cloudformation

from tap_cfn import contract, naming
from tap_cfn.config import Deployment
from tap_cfn.contract import ALB_DNS_NAME, CERTIFICATE_ARN, ENVIRONMENT_SUFFIX, IMAGE_TAG
from tap_cfn.stacks.base import HAS_CERTIFICATE

IMAGE_TAG_PATTERN = r"^(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
IMAGE_TAG_CONSTRAINT = (
    "a Docker image tag (letters, digits, _ . -), not 'latest': the repositories are immutable"
)
CERTIFICATE_PATTERN = r"^(arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+)?$"
CERTIFICATE_CONSTRAINT = "empty, or the ARN of an ACM certificate in the stack's region"
SUFFIX_CONSTRAINT = (
    "lowercase letters, digits and inner hyphens, short enough for every name it feeds "
    "(ALB and target group names have 32 characters)"
)


class WiringError(Exception):
    """A child parameter nobody feeds, or an output two children claim."""


@dataclass(frozen=True)
class Child:
    stem: str  # file name without extension: network, service-frontend, ...
    logical_id: str
    template: Template


def suffix_max_length(children: list[Child]) -> int:
    """The longest suffix for which every name any child emits stays within its AWS limit."""
    rooms = []
    for child in children:
        for resource in child.template.resources.values():
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
                AllowedPattern=IMAGE_TAG_PATTERN,
                MinLength=1,
                MaxLength=128,
                ConstraintDescription=IMAGE_TAG_CONSTRAINT,
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
                ],
                "ParameterLabels": {
                    ENVIRONMENT_SUFFIX.key: {"default": "Environment suffix"},
                    CERTIFICATE_ARN.key: {"default": "ACM certificate ARN (empty: HTTP only)"},
                    **{IMAGE_TAG.name(s.name): {"default": f"{s.name} image tag"} for s in dep.services},
                },
            }
        }
    )

    producers = _producers(children)
    for child in children:
        params = {}
        for key in sorted(child.template.parameters):
            if key in root_params:
                params[key] = Ref(root_params[key])
            elif key in producers:
                params[key] = GetAtt(producers[key], f"Outputs.{key}")
            else:
                raise WiringError(
                    f"{child.stem}: parameter {key} is neither a root parameter nor a sibling output"
                )
        stack = cloudformation.Stack(
            child.logical_id,
            TemplateURL=f"{child.stem}.{extension}",
            Parameters=params,
            Tags=naming.tags(dep, "stack", child.stem),
            # Deleting the root deletes its children; the data inside follows its own policies.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
            # The relative TemplateURL is the point: `aws cloudformation package` (or our deployer)
            # uploads the child and rewrites it, which is what W3002 warns about.
            Metadata={"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
        )
        t.add_resource(stack)

    for key, producer in sorted(producers.items()):
        if contract.is_public(key):
            output = children_output(children, producer, key)
            t.add_output(
                Output(
                    key,
                    Description=output.Description,
                    Value=GetAtt(producer, f"Outputs.{key}"),
                    Export=_export(key),
                )
            )
    alb_dns = "${" + producers[ALB_DNS_NAME.key] + ".Outputs." + ALB_DNS_NAME.key + "}"
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


def _producers(children: list[Child]) -> dict[str, str]:
    """Output name -> logical ID of the child that declares it (each name declared once)."""
    producers: dict[str, str] = {}
    for child in children:
        for key in child.template.outputs:
            if key in producers:
                raise WiringError(f"output {key} is declared by both {producers[key]} and {child.logical_id}")
            producers[key] = child.logical_id
    return producers


def children_output(children: list[Child], producer: str, key: str) -> Output:
    child = next(c for c in children if c.logical_id == producer)
    return child.template.outputs[key]


def _export(key: str) -> Export:
    return Export(Sub(f"${{AWS::StackName}}-{key}"))
