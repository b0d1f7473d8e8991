"""Root stack: the user-facing parameters, one AWS::CloudFormation::Stack per child, and the
wiring between them, derived from the children's own Outputs and Parameters by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Export, GetAtt, Output, Parameter, Ref, Sub, Template, cloudformation

from tap_cfn import contract, naming
from tap_cfn.config import Deployment
from tap_cfn.contract import ALB_DNS_NAME, ENVIRONMENT_SUFFIX, IMAGE_TAG
from tap_cfn.naming import logical_id

IMAGE_TAG_PATTERN = r"^(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
IMAGE_TAG_CONSTRAINT = (
    "an image tag pushed to the service's repository, e.g. v1.4.2 or 3f9c2ab: up to 128 letters, "
    "digits, _ . - (not starting with . or -), and not 'latest' (the repositories are immutable)"
)
SUFFIX_CONSTRAINT = (
    "1 to {max} lowercase letters, digits and inner hyphens, e.g. dev or pr-42 "
    "(longer would push a name built from it past its AWS length limit)"
)

# The console's parameter form (AWS::CloudFormation::Interface): root parameter -> (group, label).
# Groups are shown in CONSOLE_GROUPS order, parameters in the order the template declares them.
# Per-service parameters are matched by their contract key (ImageTag) and labelled with the service.
# Every root parameter must have an entry: build() refuses one without, so none lands unlabelled.
CONSOLE_GROUPS = ("Environment", "Container images", "Load balancer", "Monitoring")
CONSOLE: dict[str, tuple[str, str]] = {
    ENVIRONMENT_SUFFIX.key: ("Environment", "Environment suffix"),
    IMAGE_TAG.key: ("Container images", "{owner} image tag"),
    "CertificateArn": ("Load balancer", "HTTPS certificate (ACM ARN)"),
    "AlarmEmail": ("Monitoring", "Alarm e-mail address"),
}


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
                ConstraintDescription=SUFFIX_CONSTRAINT.format(max=suffix_max_length(children)),
            )
        )
    }
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
    alb_stack = producers[ALB_DNS_NAME.key]
    t.add_output(
        Output(
            "AlbUrl",
            Description="URL of the platform (the load balancer's default action serves the frontend).",
            Value=Sub(f"http://${{{alb_stack}.Outputs.{ALB_DNS_NAME.key}}}"),
            Export=_export("AlbUrl"),
        )
    )
    t.set_metadata({"AWS::CloudFormation::Interface": console_interface(list(t.parameters), dep)})
    return t


def console_placement(key: str, dep: Deployment) -> tuple[str, str]:
    """(group, label) of root parameter `key` in the console; WiringError when it has none."""
    if key in CONSOLE:
        return CONSOLE[key]
    for svc in dep.services:
        for contract_key, (group, label) in CONSOLE.items():
            if key == logical_id(svc.name) + contract_key:
                return group, label.format(owner=svc.name)
    raise WiringError(
        f"root parameter {key} has no console group and label: add it to CONSOLE in tap_cfn/stacks/root.py"
    )


def console_interface(keys: list[str], dep: Deployment) -> dict[str, Any]:
    """ParameterGroups and ParameterLabels for the root parameters `keys` (declaration order)."""
    placed = {key: console_placement(key, dep) for key in keys}
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
