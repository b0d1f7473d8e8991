"""Nested stacks and their wiring, at any depth.

A parent holds one AWS::CloudFormation::Stack per child and feeds every child parameter from a
sibling's Output of the same name. What no sibling produces is fed from the parent's own
parameters: the root declares those itself (anything else is a WiringError); a group stack
declares them on the fly, so they bubble up to its parent, and re-exports its children's outputs.
Groups keep every template within CloudFormation's quotas when a platform has many services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from troposphere import GetAtt, Output, Parameter, Ref, Template, cloudformation

from tap_cfn import naming
from tap_cfn.config import Deployment


class WiringError(Exception):
    """A child parameter nobody feeds, or an output two children claim."""


@dataclass(frozen=True)
class Child:
    """A nested stack: a leaf with its template, or a group of further children."""

    stem: str  # file name without extension: network, service-frontend, services-2, ...
    logical_id: str
    template: Template | None = None
    children: tuple[Child, ...] = field(default=())
    # Siblings (logical IDs) to wait for: a DependsOn on those it takes no value from (a value
    # taken makes it wait already, and a DependsOn beside it is obsolete: cfn-lint W3005).
    after: tuple[str, ...] = field(default=())


def leaves(children: list[Child] | tuple[Child, ...]) -> Iterator[Child]:
    """Every leaf below `children`, depth first, in order."""
    for child in children:
        if child.template is not None:
            yield child
        else:
            yield from leaves(child.children)


def groups(children: list[Child] | tuple[Child, ...]) -> Iterator[Child]:
    for child in children:
        if child.template is None:
            yield child
            yield from groups(child.children)


def templates_below(dep: Deployment, children: list[Child] | tuple[Child, ...]) -> dict[str, Template]:
    """Every template below `children` by stem; each group's is built once, inner groups first."""
    found = {leaf.stem: leaf.template for leaf in leaves(children) if leaf.template is not None}
    for group in reversed(list(groups(children))):
        found[group.stem] = group_template(dep, group, found)
    return found


def group_template(dep: Deployment, group: Child, templates: dict[str, Template]) -> Template:
    """The stack of a group: its children nested and wired, their outputs re-exported."""
    t = Template(Description=f"{dep.project} ({dep.env_name}): {group.stem}, a group of nested stacks")
    t.set_version("2010-09-09")
    nest(dep, t, list(group.children), templates, declared=None)
    for child in group.children:
        for key, output in sorted(templates[child.stem].outputs.items()):
            t.add_output(
                Output(key, Description=output.Description, Value=GetAtt(child.logical_id, f"Outputs.{key}"))
            )
    return t


def producers(templates: dict[str, Template]) -> dict[str, str]:
    """Output name -> logical ID of the child that declares it (each name declared once)."""
    found: dict[str, str] = {}
    for logical_id, template in templates.items():
        for key in template.outputs:
            if key in found:
                raise WiringError(f"output {key} is declared by both {found[key]} and {logical_id}")
            found[key] = logical_id
    return found


def nest(
    dep: Deployment,
    t: Template,
    children: list[Child],
    built: dict[str, Template],
    declared: dict[str, Parameter] | None,
) -> dict[str, Template]:
    """Add a stack resource per child to `t`, wired; returns the children's templates by logical ID.
    `built`: every template by stem (see `templates_below`). `declared`: the parent's own
    parameters (the root), or None to declare them as needed (a group)."""
    # The relative TemplateURLs are the point: `aws cloudformation package` (or our deployer)
    # uploads each child and rewrites its URL, which is what cfn-lint's W3002 warns about.
    t.set_metadata({**t.metadata, "cfn-lint": {"config": {"ignore_checks": ["W3002"]}}})
    templates = {child.logical_id: built[child.stem] for child in children}
    made = producers(templates)
    for child in children:
        unknown = set(child.after) - set(templates)
        if unknown:
            raise WiringError(f"{child.stem} waits for {sorted(unknown)}, which are not its siblings")
        params: dict[str, object] = {}
        for key, parameter in sorted(templates[child.logical_id].parameters.items()):
            if made.get(key, child.logical_id) != child.logical_id:
                params[key] = GetAtt(made[key], f"Outputs.{key}")
            elif declared is not None:
                if key not in declared:
                    raise WiringError(
                        f"{child.stem}: parameter {key} is neither a root parameter nor a sibling output"
                    )
                params[key] = Ref(declared[key])
            else:
                if key not in t.parameters:
                    t.add_parameter(Parameter(key, Type=parameter.Type, Description=parameter.Description))
                params[key] = Ref(key)
        stack = t.add_resource(
            cloudformation.Stack(
                child.logical_id,
                TemplateURL=child.stem,  # the file extension is added per format by render.files
                Parameters=params,
                Tags=naming.tags(dep, "stack", child.stem),
                # Deleting the root deletes its children; the data inside follows its own policies.
                DeletionPolicy="Delete",
                UpdateReplacePolicy="Delete",
            )
        )
        waits = set(child.after) - {made[key] for key in params if key in made}
        if waits:
            stack.DependsOn = sorted(waits)
    return templates
