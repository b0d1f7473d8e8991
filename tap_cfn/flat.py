"""One template for a whole environment: the nested stacks folded into their root.

What a console user uploads directly and what a StackSet deploys (service-managed StackSets cannot
create nested stacks with their default execution role). Every leaf resource keeps its logical ID;
a name declared by more than one stack is prefixed, in every stack that declares it, with the path
of stack logical IDs leading to it (`FrontendServiceStack` -> `FrontendServiceTaskDefinition`).
A child parameter fed from a sibling's output becomes the expression behind that output (the
producing resource's Ref/GetAtt); root parameters and root outputs stay; conditions merge, and a
condition declared twice with different bodies is renamed like a resource.

Works on rendered template dicts only, so it follows whatever the stack builders produce.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tap_cfn.config import Deployment
from tap_cfn.conventions import ROOT_STEM

NESTED_STACK = "AWS::CloudFormation::Stack"
STEM = "flat"
# Understand CloudFormation quotas:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
MAX_BODY_BYTES = 51_200  # TemplateBody passed directly (API/CLI)
MAX_S3_BYTES = 1_000_000  # TemplateURL in S3, and the console's file upload ("1 MB")
_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")
_LIST_TYPES = ("CommaDelimitedList", "List<")


class FlatError(Exception):
    """The environment cannot be one template: a quota, or a construct the folding cannot carry."""


def source_templates(dep: Deployment) -> dict[str, dict[str, Any]]:
    """The environment's templates by file stem (`root`, `network`, ...), as the generator builds them."""
    from tap_cfn import generator

    return generator.build_environment(dep)


def build(dep: Deployment) -> dict[str, Any]:
    """The flat template of `dep`, checked against the quotas (FlatError when it does not fit)."""
    flat = flatten(source_templates(dep))
    check_quotas(flat, f"{dep.env_name}/{STEM}")
    return flat


def check_quotas(template: dict[str, Any], name: str) -> None:
    from tap_cfn.render import to_json

    counts = [
        ("resources", len(template["Resources"]), MAX_RESOURCES),
        ("parameters", len(template.get("Parameters", {})), MAX_PARAMETERS),
        ("outputs", len(template.get("Outputs", {})), MAX_OUTPUTS),
        ("bytes", len(to_json(template).encode()), MAX_S3_BYTES),
    ]
    over = [f"{count} {what} (quota {limit})" for what, count, limit in counts if count > limit]
    if over:
        raise FlatError(
            f"{name}: one template would hold {', '.join(over)}; deploy the nested stacks instead"
        )


@dataclass
class _Scope:
    """One template during the walk: where it sits and what its parameters resolve to."""

    template: dict[str, Any]
    path: tuple[str, ...]  # logical IDs of the stack resources leading here; () for the root
    params: dict[str, Any] | None  # None: the root, whose parameters stay parameters
    conditions: dict[str, str] = field(default_factory=dict)  # own name -> flat name
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # child stack id -> its outputs
    after: tuple[str, ...] = ()  # flat names every resource here waits for (its stack's DependsOn)


def flatten(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fold `templates` (stem -> template dict, the root at ROOT_STEM; nested TemplateURLs name
    stems) into one dict."""
    return _Folder(templates).fold()


class _Folder:
    def __init__(self, templates: dict[str, dict[str, Any]]) -> None:
        self.templates = templates
        self.resources: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}
        self.renamed = self._resource_names(templates)

    def fold(self) -> dict[str, Any]:
        top = self.templates[ROOT_STEM]
        for key in ("Mappings", "Rules", "Transform"):
            if any(key in t for t in self.templates.values()):
                raise FlatError(f"templates with {key} cannot be folded into one")
        scope = _Scope(top, (), None)
        self._template(scope)
        _after_gateway_attachment(self.resources)
        _order_services(self.resources)
        out: dict[str, Any] = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"{top.get('Description', '')} (one template, no nested stacks)".strip(),
            "Resources": self.resources,
        }
        metadata = {k: v for k, v in top.get("Metadata", {}).items() if k != "cfn-lint"}
        if metadata:
            out["Metadata"] = metadata
        if top.get("Parameters"):
            out["Parameters"] = top["Parameters"]
        if self.conditions:
            out["Conditions"] = self.conditions
        outputs = {key: self._output(scope, output) for key, output in top.get("Outputs", {}).items()}
        if outputs:
            out["Outputs"] = outputs
        return out

    def _resource_names(self, templates: dict[str, dict[str, Any]]) -> dict[tuple[str, ...], str]:
        """(path..., logical id) -> flat logical ID: prefixed only where two stacks share a name."""
        found = list(self._leaf_resources(templates, ROOT_STEM, ()))
        counts = Counter(name for _path, name in found)
        names = {(*path, name): name if counts[name] == 1 else _prefix(path) + name for path, name in found}
        clash = [n for n, c in Counter(names.values()).items() if c > 1]
        if clash:
            raise FlatError(f"logical IDs collide after prefixing: {', '.join(sorted(clash))}")
        return names

    def _leaf_resources(
        self, templates: dict[str, dict[str, Any]], stem: str, path: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        for name, resource in templates[stem]["Resources"].items():
            if resource["Type"] == NESTED_STACK:
                yield from self._leaf_resources(templates, _stem(resource), (*path, name))
            else:
                yield path, name

    def _template(self, scope: _Scope) -> None:
        self._conditions(scope)
        for name, resource in scope.template["Resources"].items():
            if resource["Type"] == NESTED_STACK:
                self._child_outputs(scope, name)
            else:
                self.resources[self.renamed[(*scope.path, name)]] = self._resource(scope, resource)

    def _resource(self, scope: _Scope, resource: dict[str, Any]) -> dict[str, Any]:
        out = {key: self._value(scope, value) for key, value in resource.items()}
        if "Condition" in resource:
            out["Condition"] = scope.conditions[resource["Condition"]]
        depends = resource.get("DependsOn")
        if depends is not None:
            names = [depends] if isinstance(depends, str) else depends
            out["DependsOn"] = [self._ref_name(scope, n) for n in names]
            if isinstance(depends, str) and not scope.after:
                out["DependsOn"] = out["DependsOn"][0]
        if scope.after:
            out["DependsOn"] = list(dict.fromkeys([*out.get("DependsOn", []), *scope.after]))
        return out

    def _waits(self, scope: _Scope, stack_id: str, resource: dict[str, Any]) -> tuple[str, ...]:
        """What the DependsOn of nested stack `stack_id` means flat: every resource of the stacks
        and each resource it names (a stack completes when all of its resources have)."""
        depends = resource.get("DependsOn", [])
        found = set(scope.after)
        for name in [depends] if isinstance(depends, str) else depends:
            where = (*scope.path, name)
            for key, flat in self.renamed.items():
                if key[: len(where)] == where:
                    if "Condition" in self._resource_at(key):
                        raise FlatError(f"nested stack {stack_id} waits for {flat}, which has a Condition")
                    found.add(flat)
        return (*scope.after, *sorted(found - set(scope.after)))

    def _resource_at(self, key: tuple[str, ...]) -> dict[str, Any]:
        """The resource at (stack ids..., logical id) from the root down."""
        stem = ROOT_STEM
        for stack_id in key[:-1]:
            stem = _stem(self.templates[stem]["Resources"][stack_id])
        return dict(self.templates[stem]["Resources"][key[-1]])

    def _conditions(self, scope: _Scope) -> None:
        """Add the template's conditions: an identical body already present is reused."""
        pending = dict(scope.template.get("Conditions", {}))
        while pending:
            ready = [n for n, body in pending.items() if _condition_refs(body) <= set(scope.conditions)]
            if not ready:
                raise FlatError(f"conditions refer to each other in a cycle: {', '.join(sorted(pending))}")
            for name in ready:
                body = self._value(scope, pending.pop(name), in_condition=True)
                scope.conditions[name] = self._condition_name(scope, name, body)

    def _condition_name(self, scope: _Scope, name: str, body: Any) -> str:
        for candidate in (name, _prefix(scope.path) + name):
            if self.conditions.get(candidate, body) == body:
                self.conditions[candidate] = body
                return candidate
        raise FlatError(f"condition {_prefix(scope.path) + name} is declared twice with different bodies")

    def _child_outputs(self, scope: _Scope, stack_id: str) -> dict[str, Any]:
        """The outputs of nested stack `stack_id` of `scope`, folding the child on first use."""
        if stack_id in scope.outputs:
            return scope.outputs[stack_id]
        resource = scope.template["Resources"][stack_id]
        if "Condition" in resource:
            raise FlatError(f"nested stack {stack_id} has a Condition, which cannot be folded")
        child = self.templates[_stem(resource)]
        fed = resource.get("Properties", {}).get("Parameters", {})
        params = {}
        for key, spec in child.get("Parameters", {}).items():
            if key in fed:
                params[key] = _as_type(self._value(scope, fed[key]), spec.get("Type", "String"))
            elif "Default" in spec:
                params[key] = spec["Default"]
            else:
                raise FlatError(f"nested stack {stack_id}: parameter {key} is not fed")
        inner = _Scope(child, (*scope.path, stack_id), params, after=self._waits(scope, stack_id, resource))
        self._template(inner)
        outputs = {
            key: self._value(inner, output["Value"]) for key, output in child.get("Outputs", {}).items()
        }
        scope.outputs[stack_id] = outputs
        return outputs

    def _output(self, scope: _Scope, output: dict[str, Any]) -> dict[str, Any]:
        out = {key: self._value(scope, value) for key, value in output.items()}
        if "Condition" in output:
            out["Condition"] = scope.conditions[output["Condition"]]
        return out

    # --- intrinsic functions -----------------------------------------------------------------

    def _value(self, scope: _Scope, value: Any, in_condition: bool = False) -> Any:
        if isinstance(value, list):
            return [self._value(scope, item, in_condition) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._functions.get(key)
            if handler is not None:
                return handler(self, scope, arg, in_condition)
            if key == "Condition" and in_condition and isinstance(arg, str):
                return {"Condition": scope.conditions[arg]}
        return {key: self._value(scope, item, in_condition) for key, item in value.items()}

    def _ref(self, scope: _Scope, name: Any, _in_condition: bool) -> Any:
        if name.startswith("AWS::"):
            return {"Ref": name}
        if name in scope.template.get("Parameters", {}):
            return {"Ref": name} if scope.params is None else scope.params[name]
        return {"Ref": self._ref_name(scope, name)}

    def _ref_name(self, scope: _Scope, name: str) -> str:
        resource = scope.template["Resources"].get(name)
        if resource is None or resource["Type"] == NESTED_STACK:
            raise FlatError(f"{'/'.join(scope.path) or 'root'}: cannot fold a reference to {name}")
        return self.renamed[(*scope.path, name)]

    def _get_att(self, scope: _Scope, arg: Any, _in_condition: bool) -> Any:
        name, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        resource = scope.template["Resources"].get(name, {})
        if resource.get("Type") == NESTED_STACK and attribute.startswith("Outputs."):
            return self._child_outputs(scope, name)[attribute.removeprefix("Outputs.")]
        return {"Fn::GetAtt": [self._ref_name(scope, name), self._value(scope, attribute)]}

    def _if(self, scope: _Scope, arg: Any, in_condition: bool) -> Any:
        condition, *branches = arg
        return {
            "Fn::If": [scope.conditions[condition], *(self._value(scope, b, in_condition) for b in branches)]
        }

    def _sub(self, scope: _Scope, arg: Any, _in_condition: bool) -> Any:
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        variables = {key: self._value(scope, value) for key, value in local.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local or name.startswith("AWS::"):
                return match.group(0)
            expr = self._get_att(scope, name, False) if "." in name else self._ref(scope, name, False)
            inline = _inline(expr)
            if inline is not None:
                return inline
            var = _fresh(name, variables, text)
            variables[var] = expr
            return "${" + var + "}"

        folded = _SUB_VAR.sub(replace, text)
        return {"Fn::Sub": [folded, variables] if variables else folded}

    _functions: dict[str, Callable[[_Folder, _Scope, Any, bool], Any]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::If": _if,
        "Fn::Sub": _sub,
    }


# Resources that need the VPC's internet gateway attached before they are created, which nothing in
# their properties says: "Elastic IP addresses" and "Elastic Load Balancing load balancers" (with a
# public address) in the DependsOn page's gateway-attachment list
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html);
# an internet-facing ALB created first fails with "VPC ... has no internet gateway". Within one
# template a DependsOn must say it: here, and in the network stack (stacks/network.py).
GATEWAY_ATTACHMENT = "AWS::EC2::VPCGatewayAttachment"


def needs_gateway(resource: dict[str, Any]) -> bool:
    kind, props = resource["Type"], resource.get("Properties", {})
    if kind == "AWS::EC2::EIP":
        return True
    return kind == "AWS::ElasticLoadBalancingV2::LoadBalancer" and props.get("Scheme") != "internal"


def _after_gateway_attachment(resources: dict[str, Any]) -> None:
    attachments = [name for name, r in resources.items() if r["Type"] == GATEWAY_ATTACHMENT]
    if len(attachments) != 1:
        return
    for resource in resources.values():
        if needs_gateway(resource):
            depends = resource.get("DependsOn", [])
            names = [depends] if isinstance(depends, str) else list(depends)
            resource["DependsOn"] = list(dict.fromkeys([*names, attachments[0]]))


# An ECS service behind a target group must be created after the listener or listener rule that
# ties that target group to the load balancer, or CreateService fails with "The target group ...
# does not have an associated load balancer" (github.com/aws/aws-cdk/issues/1160,
# github.com/aws-samples/ecs-refarch-cloudformation/pull/5). Its properties name only the target
# group, so nothing orders it after the listener. Nested, the stack order gives it (the
# load-balancer resources complete before any service stack starts); flat, a DependsOn must.
LISTENER_TYPES = ("AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule")
ECS_SERVICE = "AWS::ECS::Service"
# A DependsOn may not name a resource that has a Condition the service does not share (cfn-lint
# E3005), and cannot hold Fn::If ("Every DependsOn value must be a string"). A Ref inside Fn::If
# in the service's Metadata orders it after such a listener when the condition holds
# (cloudonaut.io/optional-dependson-with-cloudformation-metadata-to-the-rescue).
WAITS_FOR = "tap-cfn:waits-for"


def target_groups(service: dict[str, Any]) -> list[Any]:
    """The target-group values an ECS service registers its tasks in (the alternate one included)."""
    found = []
    for entry in service.get("Properties", {}).get("LoadBalancers", []):
        found.append(entry.get("TargetGroupArn"))
        found.append(entry.get("AdvancedConfiguration", {}).get("AlternateTargetGroupArn"))
    return [value for value in found if value is not None]


def forwards_to(resource: dict[str, Any], target_group: str) -> bool:
    """Whether listener or listener rule `resource` sends traffic to `target_group` (a logical ID
    of its own template), in any branch of its actions."""
    if resource["Type"] not in LISTENER_TYPES:
        return False
    props = resource.get("Properties", {})
    return _refers(props.get("DefaultActions", props.get("Actions")), target_group)


def _refers(value: Any, name: str) -> bool:
    if isinstance(value, list):
        return any(_refers(item, name) for item in value)
    if isinstance(value, dict):
        return value.get("Ref") == name or any(_refers(item, name) for item in value.values())
    return False


# A task in a private subnet pulls its image (and its secrets, and ships its logs) through the
# VPC's way out: the private subnets' routes to the NAT gateways and the public route to the
# internet gateway, with their subnet associations, or the VPC endpoints. A task started before
# they exist fails with CannotPullContainerError or ResourceInitializationError ("Cannot pull
# container image", docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html),
# and the circuit breaker can fail the create. Nothing in a service's properties names them (it
# names subnets only); the CDK orders such resources after the subnets'
# `internetConnectivityEstablished` group of routes for the same reason. Nested, the service
# stacks take values from the network stack, which holds them; flat, a DependsOn must say it.
EGRESS_TYPES = ("AWS::EC2::Route", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::VPCEndpoint")


def egress(resource: dict[str, Any]) -> bool:
    """Whether `resource` is part of the VPC's way out that tasks need before they start."""
    return resource["Type"] in EGRESS_TYPES


def _order_services(resources: dict[str, Any]) -> None:
    """Order each ECS service after the listeners of its target groups and the way out."""
    way_out = sorted(name for name, r in resources.items() if egress(r))
    for service in resources.values():
        if service["Type"] != ECS_SERVICE:
            continue
        groups = [tg["Ref"] for tg in target_groups(service) if isinstance(tg, dict) and "Ref" in tg]
        listeners = sorted(name for name, r in resources.items() if any(forwards_to(r, tg) for tg in groups))
        _wait_for(service, resources, listeners + way_out)


def _wait_for(service: dict[str, Any], resources: dict[str, Any], names: list[str]) -> None:
    """Order `service` after `names`: a DependsOn on those it shares its condition with, and the
    Metadata Ref of WAITS_FOR on those that exist only under a condition of their own."""
    plain = [n for n in names if resources[n].get("Condition") in (None, service.get("Condition"))]
    optional = [n for n in names if n not in plain]
    if plain:
        depends = service.get("DependsOn", [])
        before = [depends] if isinstance(depends, str) else list(depends)
        service["DependsOn"] = list(dict.fromkeys([*before, *plain]))
    if optional:
        waits = [{"Fn::If": [resources[n]["Condition"], {"Ref": n}, ""]} for n in optional]
        service["Metadata"] = {**service.get("Metadata", {}), WAITS_FOR: waits}


def _stem(resource: dict[str, Any]) -> str:
    url = resource["Properties"]["TemplateURL"]
    return str(url).rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _prefix(path: tuple[str, ...]) -> str:
    return "".join(part.removesuffix("Stack") for part in path)


def _condition_refs(body: Any) -> set[str]:
    """The condition names a condition body refers to ({"Condition": name})."""
    if isinstance(body, list):
        return set().union(*(_condition_refs(item) for item in body)) if body else set()
    if not isinstance(body, dict):
        return set()
    if set(body) == {"Condition"} and isinstance(body["Condition"], str):
        return {body["Condition"]}
    return set().union(*(_condition_refs(item) for item in body.values())) if body else set()


def _as_type(value: Any, parameter_type: str) -> Any:
    """A child parameter's value as the child sees it: outputs are strings, so a list-typed
    parameter fed from an output gets the list back (Fn::Join undone, or Fn::Split)."""
    if not parameter_type.startswith(_LIST_TYPES) or isinstance(value, list):
        return value
    if isinstance(value, dict) and list(value) == ["Fn::Join"] and value["Fn::Join"][0] == ",":
        return value["Fn::Join"][1]
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return value  # a list-typed parameter of the parent
    return {"Fn::Split": [",", value]}


def _inline(expr: Any) -> str | None:
    """`expr` as a ${...} reference inside a Sub string, when it is one."""
    if isinstance(expr, dict) and list(expr) == ["Ref"]:
        return "${" + expr["Ref"] + "}"
    if (
        isinstance(expr, dict)
        and list(expr) == ["Fn::GetAtt"]
        and all(isinstance(p, str) for p in expr["Fn::GetAtt"])
    ):
        return "${" + ".".join(expr["Fn::GetAtt"]) + "}"
    if isinstance(expr, str) and "${" not in expr:
        return expr
    return None


def _fresh(name: str, taken: dict[str, Any], text: str) -> str:
    base = re.sub(r"[^A-Za-z0-9]", "", name) or "Value"
    candidate, n = base, 1
    while candidate in taken or "${" + candidate in text:
        n += 1
        candidate = f"{base}{n}"
    return candidate
