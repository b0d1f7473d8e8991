"""How long a first deploy takes, modelled from the rendered templates (read like the diagram reads them).

Each resource is weighted by a typical creation time (`WEIGHTS`, a dated table with sources) and
starts when everything it references has completed. CloudFormation creates independent resources
in parallel, so the deploy takes as long as the longest chain.

- **nested**: a resource waits for what it references in its own template; a nested stack is one
  resource of its parent that starts when the siblings feeding its parameters have *completed*
  (an output is only readable once the whole stack is done) and completes when all of its
  resources have, plus `STACK_OVERHEAD`;
- **flat**: the same resources in one graph, each waiting only for the resources its values really
  come from (followed through parameters and outputs), plus the DependsOn the flat template adds
  (tap_cfn/flat.py: the gateway attachment; for an ECS service, its listeners and the way out).

The ratio says what the nesting costs; `chain()` names the sibling stacks a stack waits for and
the parameters that make it wait. Used by `make bench` (tests/bench.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tap_cfn.diagram.model import STACK_TYPE, Stacks, Target
from tap_cfn.flat import ECS_SERVICE, GATEWAY_ATTACHMENT, egress, forwards_to, needs_gateway, target_groups

TABLE_DATE = "2026-11-30"
# Resource type -> (typical seconds from CREATE_IN_PROGRESS to CREATE_COMPLETE, source).
# "estimate" where no published figure was found; other types take DEFAULT_WEIGHT.
WEIGHTS: dict[str, tuple[float, str]] = {
    "AWS::EC2::NatGateway": (
        150,
        "pending -> available 'up to 5 min' / 'up to 10 min': github.com/kubernetes/kops/pull/995, "
        "/pull/944; 3m+ observed: github.com/hashicorp/terraform/issues/8687",
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        180,
        "provisioning -> active '2 min and more': github.com/zalando-incubator/kube-ingress-aws-controller"
        "/issues/42; 'no more than 5 min' on most runs: github.com/hashicorp/terraform/issues/24799",
    ),
    "AWS::ECS::Service": (
        180,
        "estimate: CloudFormation waits for a steady state "
        "(github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1391): image pull, start, "
        "then 5 healthy checks 30 s apart behind an ALB (defaults, docs.aws.amazon.com/elasticloadbalancing"
        "/latest/APIReference/API_CreateTargetGroup.html)",
    ),
    "AWS::KMS::Key": (
        30,
        "15 s final propagation wait plus retries since 2024 "
        "(github.com/aws-cloudformation/aws-cloudformation-resource-providers-kms/pull/61); 2 min before",
    ),
    "AWS::IAM::Role": (
        15,
        "estimate: IAM is eventually consistent, 'a few seconds' to propagate "
        "(github.com/hashicorp/terraform/issues/2869)",
    ),
    "AWS::ServiceDiscovery::PrivateDnsNamespace": (60, "estimate: creates a Route 53 private hosted zone"),
    "AWS::EC2::VPCGatewayAttachment": (15, "estimate"),
    "AWS::EC2::FlowLog": (10, "estimate"),
    "AWS::ECS::Cluster": (10, "estimate"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (10, "estimate"),
    "AWS::Logs::LogGroup": (2, "estimate"),
    "AWS::CloudWatch::Alarm": (2, "estimate"),
    "AWS::ECS::TaskDefinition": (2, "estimate"),
}
DEFAULT_WEIGHT = (5.0, "estimate")
STACK_OVERHEAD = (
    30.0,
    "estimate, above the 20-23 s observed around fast resources: a nested stack of a topic and a "
    "queue 23 s from CREATE_IN_PROGRESS to CREATE_COMPLETE (github.com/aws/aws-cdk/pull/7805), a "
    "stack 14 s before its first resource and 6 s after its last (github.com/unbounce/iidy/issues/145); "
    "nested stacks also serialise on whole-stack completion (github.com/panther-labs/panther/pull/467)",
)

LOW_OVERHEAD = 20.0  # s per nested stack as observed (see STACK_OVERHEAD's sources)

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

Weigh = Callable[[str], float]


def typical(kind: str) -> float:
    return WEIGHTS.get(kind, DEFAULT_WEIGHT)[0]


@dataclass(frozen=True)
class Step:
    name: str  # "NetworkStack" or "NetworkStack/NatGateway1"
    kind: str
    finish: float


@dataclass(frozen=True)
class Estimate:
    seconds: float
    path: tuple[Step, ...]  # the critical path, first to last


def names(value: Any) -> set[str]:
    """Logical names `value` refers to in its own template (Ref, GetAtt, Sub variables)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= names(item)
    elif isinstance(value, dict):
        if "Ref" in value:
            found.add(str(value["Ref"]))
        elif "Fn::GetAtt" in value:
            getatt = value["Fn::GetAtt"]
            found.add(str(getatt[0] if isinstance(getatt, list) else str(getatt).split(".")[0]))
        elif "Fn::Sub" in value:
            text, variables = value["Fn::Sub"], {}
            if isinstance(text, list):
                text, variables = text
                found |= names(list(variables.values()))
            found |= {v.split(".")[0] for v in _SUB_VARIABLE.findall(text) if v not in variables}
        else:
            for item in value.values():
                found |= names(item)
    return found


def _depends_on(resource: dict[str, Any]) -> set[str]:
    value = resource.get("DependsOn", [])
    return {value} if isinstance(value, str) else set(value)


def longest(graph: dict[str, tuple[float, set[str]]]) -> dict[str, tuple[float, str | None]]:
    """node -> (finish time, the predecessor it waited for last) in a DAG of (weight, deps)."""
    done: dict[str, tuple[float, str | None]] = {}

    def visit(node: str, trail: frozenset[str]) -> float:
        if node in done:
            return done[node][0]
        if node in trail:
            raise ValueError(f"dependency cycle through {node}")
        weight, deps = graph[node]
        start, last = 0.0, None
        for dep in sorted(deps):
            finish = visit(dep, trail | {node})
            if finish > start:
                start, last = finish, dep
        done[node] = (start + weight, last)
        return start + weight

    for node in graph:
        visit(node, frozenset())
    return done


def _key(parent: str, logical: str) -> str:
    return f"{parent}_{logical}" if parent else logical


def _trace(finishes: dict[str, tuple[float, str | None]], end: str) -> list[str]:
    chain = [end]
    while (before := finishes[chain[-1]][1]) is not None:
        chain.append(before)
    return chain[::-1]


def nested(stacks: Stacks, weigh: Weigh = typical, overhead: float = STACK_OVERHEAD[0]) -> Estimate:
    """The nested form: each stack a unit that completes when all its resources have."""
    return _nested(stacks, "", weigh, overhead, 0.0)


def _stack_graph(
    stacks: Stacks, key: str, weigh: Weigh, overhead: float
) -> dict[str, tuple[float, set[str]]]:
    resources = stacks.templates[key].get("Resources", {})
    graph = {}
    for logical, resource in resources.items():
        if resource["Type"] == STACK_TYPE:
            weight = _nested(stacks, _key(key, logical), weigh, overhead, 0.0).seconds + overhead
            refs = names(resource.get("Properties", {}).get("Parameters", {}))
        else:
            weight, refs = weigh(resource["Type"]), names(resource.get("Properties", {}))
        deps = {d for d in refs | _depends_on(resource) if d in resources and d != logical}
        graph[logical] = (weight, deps)
    return graph


def _nested(stacks: Stacks, key: str, weigh: Weigh, overhead: float, start: float) -> Estimate:
    """Stack `key` started at `start`: its duration, and its critical path with absolute times."""
    graph = _stack_graph(stacks, key, weigh, overhead)
    if not graph:
        return Estimate(0.0, ())
    finishes = longest(graph)
    end = max(finishes, key=lambda n: (finishes[n][0], n))
    steps: list[Step] = []
    resources = stacks.templates[key]["Resources"]
    for logical in _trace(finishes, end):
        finish = finishes[logical][0]
        name = f"{stacks.stems.get(key, 'root')}/{logical}" if key else logical
        if resources[logical]["Type"] == STACK_TYPE:
            weight = graph[logical][0]
            inner = _nested(stacks, _key(key, logical), weigh, overhead, start + finish - weight + overhead)
            steps += inner.path
        steps.append(Step(name, resources[logical]["Type"], start + finish))
    return Estimate(finishes[end][0], tuple(steps))


def _all(stacks: Stacks) -> Iterator[tuple[Target, dict[str, Any]]]:
    for key, template in sorted(stacks.templates.items()):
        for logical, resource in sorted(template.get("Resources", {}).items()):
            if resource["Type"] != STACK_TYPE:
                yield Target(key, logical), resource


def _inside(stacks: Stacks, key: str) -> list[Target]:
    """Every non-stack resource of stack `key` and of the stacks below it."""
    return [t for t, _ in _all(stacks) if t.stack == key or t.stack.startswith(f"{key}_")]


def _stack_waits(stacks: Stacks, key: str) -> set[Target]:
    """What a resource of stack `key` inherits: the DependsOn of its stack resource(s) up the tree."""
    found: set[Target] = set()
    while key:
        parent, logical = stacks.parents[key]
        siblings = stacks.templates[parent]["Resources"]
        for name in _depends_on(siblings[logical]):
            if siblings[name]["Type"] == STACK_TYPE:
                found |= set(_inside(stacks, _key(parent, name)))
            else:
                found.add(Target(parent, name))
        key = parent
    return found


def _listeners(stacks: Stacks, stack: str, service: dict[str, Any]) -> set[Target]:
    """The listeners and rules that forward to the target groups of ECS service `service`."""
    found: set[Target] = set()
    for group in stacks.resolve(stack, target_groups(service)):
        siblings = stacks.templates[group.stack]["Resources"]
        found |= {Target(group.stack, n) for n, r in siblings.items() if forwards_to(r, group.resource)}
    return found


def flat(stacks: Stacks, weigh: Weigh = typical) -> Estimate:
    """The same resources in one stack: each waits only for the resources its values come from."""
    graph: dict[str, tuple[float, set[str]]] = {}
    label: dict[str, tuple[Target, str]] = {}
    attachments = [t for t, r in _all(stacks) if r["Type"] == GATEWAY_ATTACHMENT]
    way_out = {t for t, r in _all(stacks) if egress(r)}
    for target, resource in _all(stacks):
        deps = set(stacks.resolve(target.stack, resource.get("Properties", {}))) | _stack_waits(
            stacks, target.stack
        )
        if len(attachments) == 1 and needs_gateway(resource):  # as the flat template orders them
            deps.add(attachments[0])
        if resource["Type"] == ECS_SERVICE:  # after its listeners and the way out, likewise
            deps |= _listeners(stacks, target.stack, resource) | way_out
        siblings = stacks.templates[target.stack]["Resources"]
        for name in _depends_on(resource):
            if siblings[name]["Type"] == STACK_TYPE:
                deps |= set(_inside(stacks, _key(target.stack, name)))
            else:
                deps.add(Target(target.stack, name))
        node = f"{stacks.stems[target.stack]}/{target.resource}"
        label[node] = (target, resource["Type"])
        graph[node] = (
            weigh(resource["Type"]),
            {f"{stacks.stems[d.stack]}/{d.resource}" for d in deps} - {node},
        )
    if not graph:
        return Estimate(0.0, ())
    finishes = longest(graph)
    end = max(finishes, key=lambda n: (finishes[n][0], n))
    path = tuple(Step(node, label[node][1], finishes[node][0]) for node in _trace(finishes, end))
    return Estimate(finishes[end][0], path)


@dataclass(frozen=True)
class Link:
    stack: str  # logical ID in the parent
    finish: float
    via: tuple[str, ...]  # the parameters fed from the stack before it in the chain


def chain(
    stacks: Stacks, key: str, weigh: Weigh = typical, overhead: float = STACK_OVERHEAD[0]
) -> list[Link]:
    """The sibling stacks nested stack `key` waits for, in order, on its longest chain, each
    with the parameters that make the next one wait."""
    parent, logical = stacks.parents[key]
    graph = _stack_graph(stacks, parent, weigh, overhead)
    finishes = longest(graph)
    resources = stacks.templates[parent]["Resources"]
    order = _trace(finishes, logical)
    links = []
    for before, name in zip([None, *order], order, strict=False):
        fed = resources[name].get("Properties", {}).get("Parameters", {})
        via = tuple(sorted(p for p, v in fed.items() if before is not None and before in names(v)))
        links.append(Link(name, finishes[name][0], via))
    return links
