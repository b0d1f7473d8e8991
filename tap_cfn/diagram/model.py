"""The topology as data, read from the rendered templates of one environment (never from the config).

`read(folder)` loads `root.json` and the child templates its nested stacks point at. References
are followed across stacks the way CloudFormation does at deploy time: a child's parameter is fed
by the root, either from a root parameter or from a sibling's Output, whose value names a resource.
`build(folder)` turns that into groups (the stacks, the AZs), nodes (the resources that matter)
and edges (request paths, security-group permissions, uses, routes). The renderers in
`diagram.dot` and `diagram.mermaid` only draw what is here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_cfn.cidr import fn_cidr
from tap_cfn.config import COLLECTOR_NAME
from tap_cfn.conventions import REGISTRY_IMAGE, ROOT_STEM, root_file
from tap_cfn.naming import SUFFIX_VAR

ROOT_FILE = root_file("json")
STACK_TYPE = "AWS::CloudFormation::Stack"
INTERNET = "internet"
REGISTRY_GROUP = "RegistryStack"  # the project's registry, outside the environment's stack tree
ROOT_GROUP = "root"
ANYWHERE = "0.0.0.0/0"
NO_VALUE = "AWS::NoValue"  # an Fn::If branch that leaves the item out

# Edge kinds, in drawing order. request: how a request travels; allows: a security-group rule
# (who may open connections to whom, on which port); uses: image, secret, registration; route:
# where a subnet's default route (or a NAT's traffic) goes.
REQUEST, ALLOWS, USES, ROUTE = "request", "allows", "uses", "route"
EDGE_KINDS = (REQUEST, ALLOWS, USES, ROUTE)

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_AZ_INDEX = re.compile(r"(\d+)$")


class TemplateError(Exception):
    """The folder does not hold a readable stack tree (missing or unparsable root or child)."""


@dataclass(frozen=True, order=True)
class Target:
    """A resource of one stack: (stack logical ID, resource logical ID)."""

    stack: str
    resource: str


@dataclass(frozen=True, order=True)
class Group:
    id: str
    label: str
    parent: str | None = None


@dataclass(frozen=True, order=True)
class Node:
    id: str
    kind: str  # internet, alb, target-group, service, namespace, cluster, repository, secret, ...
    title: str
    detail: str = ""
    group: str | None = None


@dataclass(frozen=True, order=True)
class Edge:
    kind: str
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Graph:
    title: str
    groups: tuple[Group, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def titles(self, kind: str) -> list[str]:
        return sorted(n.title for n in self.nodes if n.kind == kind)

    def named_edges(self, kind: str) -> set[tuple[str, str, str]]:
        """(source title, target title, label) of every edge of `kind`: what tests compare."""
        return {
            (self.node(e.source).title, self.node(e.target).title, e.label)
            for e in self.edges
            if e.kind == kind
        }


def nested_lines(
    graph: Graph,
    node_line: Callable[[Node, str], str],
    open_group: Callable[[Group, str], list[str]],
    close_group: Callable[[str], str],
) -> list[str]:
    """The graph's nodes as text lines nested in their groups (what DOT and Mermaid share); each
    callback gets the indent of the line it makes."""
    children: dict[str | None, list[Group]] = {}
    for group in graph.groups:
        children.setdefault(group.parent, []).append(group)
    members: dict[str | None, list[Node]] = {}
    for node in graph.nodes:
        members.setdefault(node.group, []).append(node)
    lines = [node_line(node, "  ") for node in members.get(None, [])]

    def emit(group: Group, depth: int) -> None:
        indent = "  " * depth
        lines.extend(open_group(group, indent))
        lines.extend(node_line(node, indent + "  ") for node in members.get(group.id, []))
        for child in children.get(group.id, []):
            emit(child, depth + 1)
        lines.append(close_group(indent))

    for group in children.get(None, []):
        emit(group, 1)
    return lines


@dataclass
class Stacks:
    """One environment's stack tree as read from disk. A stack is known by its key: the logical
    IDs from the root down, joined by `_` (`NetworkStack`, `Services2Stack_DataStack`); the root's is ""."""

    templates: dict[str, dict[str, Any]]  # key -> template ("" is the root)
    parents: dict[str, tuple[str, str]]  # key -> (parent key, logical ID in the parent)
    stems: dict[str, str]  # key -> file stem (network, service-frontend, services-2, ...)

    @property
    def root(self) -> dict[str, Any]:
        return self.templates[""]

    def resources(self, kind: str) -> Iterator[tuple[Target, dict[str, Any]]]:
        """Every resource of CloudFormation type `kind`, in stack then logical-ID order."""
        for stack in sorted(self.templates):
            for logical, resource in sorted(self.templates[stack].get("Resources", {}).items()):
                if resource.get("Type") == kind:
                    yield Target(stack, logical), resource.get("Properties", {})

    def props(self, target: Target) -> dict[str, Any]:
        return self.templates[target.stack]["Resources"][target.resource].get("Properties", {})

    def type_of(self, target: Target) -> str:
        return str(self.templates[target.stack]["Resources"][target.resource]["Type"])

    def literal(self, stack: str, value: Any) -> Any:
        """`value` as the stack sees it with every root parameter at its default: Ref (up the
        parents to the root), Fn::Select and Fn::Cidr worked out; anything else as it is."""
        if isinstance(value, list):
            return [self.literal(stack, item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((name, arg),) = value.items()
        parameters = self.templates[stack].get("Parameters", {})
        if name == "Ref" and arg in parameters:
            if not stack:
                return parameters[arg].get("Default", value)
            parent, logical = self.parents[stack]
            fed = self.templates[parent]["Resources"][logical].get("Properties", {}).get("Parameters", {})
            return self.literal(parent, fed.get(arg, value))
        if name == "Fn::Select":
            index, items = self.literal(stack, arg)
            return items[int(index)] if isinstance(items, list) else value
        if name == "Fn::Cidr":
            block, count, bits = self.literal(stack, arg)
            return fn_cidr(block, int(count), int(bits)) if isinstance(block, str) else value
        return value

    def resolve(self, stack: str, value: Any) -> list[Target]:
        """The resources `value` (a property of a resource of `stack`) refers to, across stacks."""
        found: set[Target] = set()
        self._resolve(stack, value, found, depth=0)
        return sorted(found)

    def _resolve(self, stack: str, value: Any, found: set[Target], depth: int) -> None:
        if depth > 50:  # a cycle would be a CloudFormation error; refuse rather than loop
            raise TemplateError(f"{self.stems.get(stack, stack)}: reference chain too deep")
        if isinstance(value, list):
            for item in value:
                self._resolve(stack, item, found, depth)
        elif isinstance(value, dict):
            if "Ref" in value:
                self._ref(stack, str(value["Ref"]), found, depth)
            elif "Fn::GetAtt" in value:
                getatt = value["Fn::GetAtt"]
                name, attr = getatt if isinstance(getatt, list) else str(getatt).split(".", 1)
                self._getatt(stack, str(name), str(attr), found, depth)
            elif "Fn::Select" in value:
                index, items = value["Fn::Select"]
                picked = self._pick(stack, int(index), items, depth + 1)
                if picked is None:  # not a list we can see into: all of it
                    self._resolve(stack, items, found, depth)
                else:
                    self._resolve(picked[0], picked[1], found, depth + 1)
            elif "Fn::Sub" in value:
                text, variables = value["Fn::Sub"], {}
                if isinstance(text, list):
                    text, variables = text
                for var in _SUB_VARIABLE.findall(text):
                    name, _, attr = var.partition(".")
                    if name in variables:
                        self._resolve(stack, variables[name], found, depth + 1)
                    elif attr:
                        self._getatt(stack, name, attr, found, depth)
                    else:
                        self._ref(stack, name, found, depth)
            else:
                for item in value.values():
                    self._resolve(stack, item, found, depth)

    def _ref(self, stack: str, name: str, found: set[Target], depth: int) -> None:
        template = self.templates[stack]
        if name in template.get("Resources", {}):
            if template["Resources"][name].get("Type") != STACK_TYPE:
                found.add(Target(stack, name))
        elif name in template.get("Parameters", {}) and stack:
            # fed by the parent: a sibling's output, or the parent's own parameter (and so on up);
            # a root parameter is user input, no resource
            parent, logical = self.parents[stack]
            fed = self.templates[parent]["Resources"][logical].get("Properties", {}).get("Parameters", {})
            self._resolve(parent, fed.get(name), found, depth + 1)

    def _pick(self, stack: str, index: int, items: Any, depth: int) -> tuple[str, Any] | None:
        """(stack, value) of item `index` of the list `items`, followed through parameters and
        outputs to where it is written: a literal list, or comma-joined `${Name}`s in an Fn::Sub."""
        if depth > 50:
            raise TemplateError(f"{self.stems.get(stack, stack)}: reference chain too deep")
        if isinstance(items, list):
            return (stack, items[index]) if index < len(items) else None
        if not isinstance(items, dict):
            return None
        if isinstance(items.get("Fn::Sub"), str):
            parts = items["Fn::Sub"].split(",")
            return (stack, {"Fn::Sub": parts[index]}) if index < len(parts) else None
        template = self.templates[stack]
        name = items.get("Ref")
        if isinstance(name, str) and name in template.get("Parameters", {}) and stack:
            parent, logical = self.parents[stack]
            fed = self.templates[parent]["Resources"][logical].get("Properties", {}).get("Parameters", {})
            return self._pick(parent, index, fed.get(name), depth + 1)
        getatt = items.get("Fn::GetAtt")
        if isinstance(getatt, list) and str(getatt[1]).startswith("Outputs."):
            child = _key(stack, str(getatt[0]))
            output = self.templates[child].get("Outputs", {}).get(str(getatt[1]).removeprefix("Outputs."), {})
            return self._pick(child, index, output.get("Value"), depth + 1)
        return None

    def _getatt(self, stack: str, name: str, attr: str, found: set[Target], depth: int) -> None:
        resource = self.templates[stack].get("Resources", {}).get(name)
        if resource is None:
            return
        if resource.get("Type") == STACK_TYPE and attr.startswith("Outputs."):
            child = _key(stack, name)
            output = self.templates[child].get("Outputs", {}).get(attr.removeprefix("Outputs."), {})
            self._resolve(child, output.get("Value"), found, depth + 1)
        elif resource.get("Type") != STACK_TYPE:
            found.add(Target(stack, name))


def _key(parent: str, logical: str) -> str:
    return f"{parent}_{logical}" if parent else logical


def read(folder: Path) -> Stacks:
    """Load root.json and every nested stack below it (relative TemplateURLs, as generated)."""

    def load(parent: str, logical: str, url: object) -> tuple[str, dict[str, Any]]:
        if not isinstance(url, str) or "/" in url or not url.endswith(".json"):
            raise TemplateError(
                f"{folder / (parent + '.json')}: {logical}: TemplateURL {url!r} is not a local JSON file"
            )
        return url.removesuffix(".json"), _load(folder / url)

    return tree(_load(folder / ROOT_FILE), load)


def built(templates: dict[str, dict[str, Any]]) -> Stacks:
    """The same tree from the generator's template dicts by stem (generator.build_environment)."""
    return tree(templates[ROOT_STEM], lambda _parent, _logical, url: (str(url), templates[str(url)]))


def tree(root: dict[str, Any], load: Callable[[str, str, object], tuple[str, dict[str, Any]]]) -> Stacks:
    """Every nested stack below `root`; `load(parent stem, logical ID, TemplateURL)` gives a child's
    stem and template."""
    stacks = Stacks({"": root}, {}, {"": ROOT_STEM})
    pending = [""]
    while pending:
        parent = pending.pop()
        for logical, resource in sorted(stacks.templates[parent].get("Resources", {}).items()):
            if resource.get("Type") != STACK_TYPE:
                continue
            stem, template = load(
                stacks.stems[parent], logical, resource.get("Properties", {}).get("TemplateURL")
            )
            key = _key(parent, logical)
            stacks.templates[key] = template
            stacks.parents[key] = (parent, logical)
            stacks.stems[key] = stem
            pending.append(key)
    return stacks


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(
            f"{path}: no such file; generate the JSON templates first (python generate.py templates)"
        ) from None
    except (OSError, ValueError) as exc:
        raise TemplateError(f"{path}: not a readable JSON template ({exc})") from None
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


def display(text: Any) -> str:
    """A physical name as people see it: the Fn::Sub text without its environment suffix."""
    if isinstance(text, dict) and "Fn::Sub" in text:
        text = text["Fn::Sub"]
    text = str(text).removesuffix("-" + SUFFIX_VAR)
    return text.replace(SUFFIX_VAR, "SUFFIX")


def node_id(target: Target) -> str:
    """Identifiers safe in DOT and Mermaid alike: letters, digits, underscores."""
    return f"{target.stack}_{target.resource}"


@dataclass
class _Builder:
    stacks: Stacks
    groups: dict[str, Group] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def node(self, target: Target, kind: str, title: str, detail: str = "", group: str | None = None) -> str:
        """A node for `target`; one that exists only under a Condition says so in its detail."""
        nid = node_id(target)
        self.nodes[nid] = Node(nid, kind, title, _qualified(detail, self.when(target)), group or target.stack)
        return nid

    def when(self, target: Target) -> str:
        """When a resource with a Condition exists ("if CertificateArn"); "" for one without."""
        template = self.stacks.templates[target.stack]
        name = template["Resources"][target.resource].get("Condition")
        return _condition_text(template, str(name), True) if name else ""

    def edge(self, kind: str, source: str, target: str, label: str = "") -> None:
        self.edges[(kind, source, target)].add(label)

    def ids(self, stack: str, value: Any, kinds: set[str] | None = None) -> list[str]:
        """Node IDs of the resources `value` refers to (only those that are drawn)."""
        return [
            node_id(t)
            for t in self.stacks.resolve(stack, value)
            if node_id(t) in self.nodes and (kinds is None or self.nodes[node_id(t)].kind in kinds)
        ]


def build(folder: Path, title: str | None = None) -> Graph:
    """The graph of the stack tree in `folder` (templates/<env>/)."""
    stacks = read(folder)
    b = _Builder(stacks)
    description = str(stacks.root.get("Description", ""))
    b.groups[ROOT_GROUP] = Group(ROOT_GROUP, f"root stack: {description.split(':')[0] or folder.name}")
    for stack, (parent, _) in stacks.parents.items():
        b.groups[stack] = Group(stack, f"{stacks.stems[stack]} stack", parent or ROOT_GROUP)
    b.nodes[INTERNET] = Node(INTERNET, "internet", "internet")

    _network(b)
    _data(b)
    _load_balancing(b)
    _services(b)
    _security_groups(b)

    used_groups = _used_groups(b.groups, b.nodes.values())
    edges = [
        Edge(kind, source, target, ", ".join(sorted(labels, key=_natural)))
        for (kind, source, target), labels in b.edges.items()
    ]
    return Graph(
        title=title or description or folder.name,
        groups=tuple(sorted(g for g in b.groups.values() if g.id in used_groups)),
        nodes=tuple(sorted(b.nodes.values())),
        edges=tuple(sorted(edges, key=lambda e: (EDGE_KINDS.index(e.kind), e.source, e.target, e.label))),
    )


# What the services-only view keeps: how requests reach the services and who may call whom.
SERVICE_VIEW_KINDS = frozenset({"internet", "alb", "target-group", "service"})
SERVICE_VIEW_EDGES = frozenset({REQUEST, ALLOWS})


def services_view(graph: Graph) -> Graph:
    """The services, the load balancer in front of them and the request and security-group
    edges between those: the picture of the application without the plumbing."""
    nodes = tuple(n for n in graph.nodes if n.kind in SERVICE_VIEW_KINDS)
    kept = {n.id for n in nodes}
    edges = tuple(
        e for e in graph.edges if e.kind in SERVICE_VIEW_EDGES and e.source in kept and e.target in kept
    )
    used = _used_groups({g.id: g for g in graph.groups}, nodes)
    groups = tuple(g for g in graph.groups if g.id in used)
    return Graph(f"{graph.title}: services", groups, nodes, edges)


def _used_groups(groups: dict[str, Group], nodes: Iterable[Node]) -> set[str]:
    """The groups holding a node, and their parents: empty groups are not drawn."""
    used: set[str] = set()
    for node in nodes:
        group = node.group
        while group is not None and group not in used:
            used.add(group)
            group = groups[group].parent
    return used


def _natural(text: str) -> tuple[Any, ...]:
    """'tcp 80' before 'tcp 443'."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _network(b: _Builder) -> None:
    s = b.stacks
    for target, props in s.resources("AWS::EC2::VPC"):
        b.node(
            target,
            "vpc",
            display(_tag(props, "Name") or target.resource),
            f"VPC {s.literal(target.stack, props.get('CidrBlock', ''))}",
        )
    for target, _props in s.resources("AWS::EC2::InternetGateway"):
        b.node(target, "internet-gateway", "internet gateway")
        b.edge(ROUTE, node_id(target), INTERNET)
    subnet_az = {}
    for target, props in s.resources("AWS::EC2::Subnet"):
        az = _az_group(b, target, props.get("AvailabilityZone"))
        subnet_az[target] = az
        tier = _tag(props, "Tier") or "subnet"
        cidr = s.literal(target.stack, props.get("CidrBlock", ""))
        b.node(target, "subnet", f"{tier} {cidr}".strip(), "subnet", az)
    for target, props in s.resources("AWS::EC2::NatGateway"):
        homes = [t for t in s.resolve(target.stack, props.get("SubnetId")) if t in subnet_az]
        index = _AZ_INDEX.search(target.resource)
        title = f"NAT gateway {index.group(1)}" if index else "NAT gateway"
        b.node(
            target, "nat", title, "NAT gateway", _own_az(b, target, subnet_az[homes[0]]) if homes else None
        )
    # Default routes: subnet -> route table (association) -> NAT or internet gateway (route).
    # (target node, destination, when): a route or an association with a Condition holds only then
    table_targets: dict[Target, set[tuple[str, str, str]]] = defaultdict(set)
    for target, props in s.resources("AWS::EC2::Route"):
        via = props.get("NatGatewayId") or props.get("GatewayId")
        for table in s.resolve(target.stack, props.get("RouteTableId")):
            for nid in b.ids(target.stack, via):
                table_targets[table].add((nid, str(props.get("DestinationCidrBlock", "")), b.when(target)))
    subnet_routes: dict[Target, set[tuple[str, str]]] = defaultdict(set)
    for target, props in s.resources("AWS::EC2::SubnetRouteTableAssociation"):
        for subnet in s.resolve(target.stack, props.get("SubnetId")):
            for table in s.resolve(target.stack, props.get("RouteTableId")):
                subnet_routes[subnet] |= {
                    (nid, _qualified(cidr, *sorted({when, b.when(target)})))
                    for nid, cidr, when in table_targets[table]
                }
    for subnet, routes in subnet_routes.items():
        for nid, label in routes:
            b.edge(ROUTE, node_id(subnet), nid, label)
    # A NAT gateway sends on through the routes of the public subnet it lives in.
    for target, props in s.resources("AWS::EC2::NatGateway"):
        for subnet in s.resolve(target.stack, props.get("SubnetId")):
            for nid, label in subnet_routes[subnet]:
                b.edge(ROUTE, node_id(target), nid, label)


def _own_az(b: _Builder, target: Target, az: str) -> str:
    """The AZ group `az` (of the subnet a resource sits in) as drawn in the resource's own stack:
    a NAT gateway is drawn there, in its subnet's AZ (the same group when that stack is the subnet's)."""
    label = b.groups[az].label
    gid = f"{target.stack}_{label.replace(' ', '')}"
    b.groups.setdefault(gid, Group(gid, label, target.stack))
    return gid


def _az_group(b: _Builder, target: Target, az: Any) -> str:
    """A group per availability zone inside the network stack: AZ 1, AZ 2, ... (Fn::Select index)."""
    select = az.get("Fn::Select") if isinstance(az, dict) else None
    label = f"AZ {int(select[0]) + 1}" if select else f"AZ {az}"
    gid = f"{target.stack}_{label.replace(' ', '')}"
    b.groups[gid] = Group(gid, label, target.stack)
    return gid


def _data(b: _Builder) -> None:
    s = b.stacks
    for target, props in s.resources("AWS::SecretsManager::Secret"):
        how = "generated" if "GenerateSecretString" in props else "value given"
        b.node(target, "secret", display(props.get("Name", target.resource)), f"secret, {how}")
    for target, props in s.resources("AWS::ECS::Cluster"):
        providers = " + ".join(props.get("CapacityProviders", [])) or "ECS"
        b.node(
            target, "cluster", display(props.get("ClusterName", target.resource)), f"ECS cluster, {providers}"
        )
    for target, props in s.resources("AWS::ServiceDiscovery::PrivateDnsNamespace"):
        b.node(target, "namespace", display(props.get("Name", target.resource)), "Cloud Map namespace")
    for target, props in s.resources("AWS::XRay::Group"):
        b.node(target, "trace-group", display(props.get("GroupName", target.resource)), "X-Ray group, traces")


def _load_balancing(b: _Builder) -> None:
    s = b.stacks
    for target, props in s.resources("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        scheme = props.get("Scheme", "internet-facing")
        b.node(target, "alb", display(props.get("Name", target.resource)), f"ALB, {scheme}")
    for target, props in s.resources("AWS::ElasticLoadBalancingV2::TargetGroup"):
        detail = f"target group, {props.get('Protocol', '')} :{props.get('Port', '')}"
        if props.get("HealthCheckPath"):
            detail += f", health {props['HealthCheckPath']}"
        b.node(target, "target-group", display(props.get("Name", target.resource)), detail)
    listener_alb: dict[Target, list[str]] = {}
    for target, props in s.resources("AWS::ElasticLoadBalancingV2::Listener"):
        albs = b.ids(target.stack, props.get("LoadBalancerArn"), {"alb"})
        listener_alb[target] = albs
        notes = []
        for when, action in _branches(s.templates[target.stack], props.get("DefaultActions", [])):
            if action.get("Type") == "redirect":
                redirect = action.get("RedirectConfig", {})
                to = f"redirect to {redirect.get('Protocol', '')} :{redirect.get('Port', '')}"
                notes.append(f"{when}: {to}" if when else to)
            for tg in _forwards(b, target.stack, action):
                for alb in albs:
                    b.edge(REQUEST, alb, tg, "default")
        label = _qualified(
            f"{props.get('Protocol', '')} :{props.get('Port', '')}".strip(), *notes, b.when(target)
        )
        for alb in albs:
            b.edge(REQUEST, INTERNET, alb, label)
    for target, props in s.resources("AWS::ElasticLoadBalancingV2::ListenerRule"):
        listeners = [
            listener
            for arn in _alternatives(props.get("ListenerArn"), flatten=False)
            for listener in s.resolve(target.stack, arn)
        ]
        albs = [alb for listener in listeners for alb in listener_alb.get(listener, [])]
        label = _qualified(" ".join(_condition(c) for c in props.get("Conditions", [])), b.when(target))
        for action in props.get("Actions", []):
            for tg in _forwards(b, target.stack, action):
                for alb in albs:
                    b.edge(REQUEST, alb, tg, label)


def _alternatives(value: Any, flatten: bool = True) -> list[Any]:
    """Both branches of an Fn::If (HTTPS on or off): the diagram shows what either can do.
    With `flatten`, list branches are joined into one list of items."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return _alternatives(yes, flatten) + _alternatives(no, flatten)
    if flatten and isinstance(value, list):
        return [item for entry in value for item in _alternatives(entry, flatten=False)]
    return [value]


def _branches(template: dict[str, Any], value: Any, when: str = "") -> list[tuple[str, Any]]:
    """(condition text, item) for each item of a list that may sit behind Fn::If: the diagram
    shows both branches and says which holds when ("if CertificateArn", "without CertificateArn")."""
    if isinstance(value, dict) and "Fn::If" in value:
        name, yes, no = value["Fn::If"]
        return _branches(template, yes, _condition_text(template, name, True)) + _branches(
            template, no, _condition_text(template, name, False)
        )
    if isinstance(value, list):
        return [found for item in value for found in _branches(template, item, when)]
    return [(when, value)]


def _qualified(label: str, *notes: str) -> str:
    """`label (note; note)`, the empty notes left out: "tcp 443 (if CertificateArn)"."""
    said = "; ".join(note for note in notes if note)
    if not said:
        return label
    return f"{label} ({said})" if label else said


def _condition_text(template: dict[str, Any], name: str, holds: bool) -> str:
    """`Not(Equals(Ref P, ""))` reads "if P" / "without P"; any other condition by its name."""
    body = template.get("Conditions", {}).get(name, {})
    negated = isinstance(body, dict) and "Fn::Not" in body
    inner = body["Fn::Not"][0] if negated else body
    equals = inner.get("Fn::Equals") if isinstance(inner, dict) else None
    if equals and len(equals) == 2 and "" in equals:
        ref = next((v["Ref"] for v in equals if isinstance(v, dict) and "Ref" in v), None)
        if ref is not None:
            given = holds == negated
            return f"if {ref}" if given else f"without {ref}"
    return f"if {name}" if holds else f"unless {name}"


def _forwards(b: _Builder, stack: str, action: dict[str, Any]) -> list[str]:
    """Target groups a listener action forwards to (single or weighted)."""
    if action.get("Type") != "forward":
        return []
    return b.ids(stack, [action.get("TargetGroupArn"), action.get("ForwardConfig")], {"target-group"})


def _condition(condition: dict[str, Any]) -> str:
    if condition.get("Field") == "http-header":  # a test listener rule's
        return f"header {condition.get('HttpHeaderConfig', {}).get('HttpHeaderName', '')}"
    values = (
        condition.get("PathPatternConfig", {}).get("Values")
        or condition.get("HostHeaderConfig", {}).get("Values")
        or condition.get("Values")
        or []
    )
    prefix = "host " if condition.get("Field") == "host-header" else ""
    return prefix + ",".join(str(v) for v in values)


def _task_count(s: Any, target: Any, props: dict[str, Any]) -> str:
    """The service's DesiredCount, or its auto scaling range (min-max) when scaling owns the count."""
    if "DesiredCount" in props:
        return str(props["DesiredCount"])
    for scaling, props_ in s.resources("AWS::ApplicationAutoScaling::ScalableTarget"):
        if scaling.stack == target.stack:
            return f"{props_.get('MinCapacity', '?')}-{props_.get('MaxCapacity', '?')}"
    return "?"


def _release(config: dict[str, Any]) -> str:
    """How a blue/green-family release shifts traffic, e.g. ", canary 5% for 10 min, bake 10 min";
    nothing for a rolling one (the default, drawn as before)."""
    strategy = config.get("Strategy", "ROLLING")
    if strategy == "ROLLING":
        return ""
    canary, linear = config.get("CanaryConfiguration", {}), config.get("LinearConfiguration", {})
    shift = {
        "BLUE_GREEN": "blue/green",
        "CANARY": f"canary {canary.get('CanaryPercent')}% for {canary.get('CanaryBakeTimeInMinutes')} min",
        "LINEAR": f"linear {linear.get('StepPercent')}% every {linear.get('StepBakeTimeInMinutes')} min",
    }.get(str(strategy), str(strategy).lower())
    return f", {shift}, bake {config.get('BakeTimeInMinutes')} min"


# An image of the project's registry (the registry stack: outside the environment, drawn outside it).
_REGISTRY_IMAGE = re.compile(REGISTRY_IMAGE)


def _registry_repository(image: Any) -> str | None:
    """The repository of an image in the project's registry; None for an external image."""
    sub = image.get("Fn::Sub") if isinstance(image, dict) else None
    text = sub[0] if isinstance(sub, list) else sub
    found = _REGISTRY_IMAGE.search(text) if isinstance(text, str) else None
    return found["repository"] if found else None


def _registry_node(b: _Builder, repository: str) -> str:
    """The repository's node, in the registry's group beside the root (not one of its stacks)."""
    b.groups.setdefault(REGISTRY_GROUP, Group(REGISTRY_GROUP, "registry stack, shared by every environment"))
    nid = f"{REGISTRY_GROUP}_{re.sub(r'[^A-Za-z0-9]', '_', repository)}"
    b.nodes.setdefault(nid, Node(nid, "repository", repository, "ECR, immutable tags", REGISTRY_GROUP))
    return nid


def _services(b: _Builder) -> None:
    s = b.stacks
    for target, props in s.resources("AWS::ECS::Service"):
        tasks = s.resolve(target.stack, props.get("TaskDefinition"))
        task = s.props(tasks[0]) if tasks else {}
        containers = task.get("ContainerDefinitions", [])
        own = [c for c in containers if c.get("Name") != COLLECTOR_NAME]  # the tracing collector aside
        title = own[0].get("Name") if len(own) == 1 else display(props.get("ServiceName", ""))
        size = f"{task.get('Cpu', '?')} CPU / {task.get('Memory', '?')} MiB"
        traced = len(own) < len(containers)
        detail = f"ECS service, {size}, {_task_count(s, target, props)} tasks{', traced' if traced else ''}"
        detail += _release(props.get("DeploymentConfiguration", {}))
        service = b.node(target, "service", str(title or target.resource), detail)
        if traced:  # its collector sends spans to X-Ray, where the deployment's group holds them
            for group, _ in s.resources("AWS::XRay::Group"):
                b.edge(USES, service, node_id(group), "traces")
        for lb in props.get("LoadBalancers", []):
            for tg in b.ids(target.stack, lb.get("TargetGroupArn"), {"target-group"}):
                b.edge(REQUEST, tg, service, f":{lb.get('ContainerPort', '')}")
            alternate = lb.get("AdvancedConfiguration", {}).get("AlternateTargetGroupArn")
            for tg in b.ids(target.stack, alternate, {"target-group"}):
                b.edge(REQUEST, tg, service, f":{lb.get('ContainerPort', '')} (alternate)")
        for container in containers:
            repository = _registry_repository(container.get("Image"))
            if repository is not None:
                b.edge(USES, service, _registry_node(b, repository), "image")
            for secret in container.get("Secrets", []):
                for nid in b.ids(tasks[0].stack, secret.get("ValueFrom"), {"secret"}):
                    b.edge(USES, service, nid, "secret")
        for registry in props.get("ServiceRegistries", []):
            for entry in s.resolve(target.stack, registry.get("RegistryArn")):
                if s.type_of(entry) != "AWS::ServiceDiscovery::Service":
                    continue
                name = s.props(entry).get("Name", "")
                for namespace in b.ids(entry.stack, s.props(entry).get("NamespaceId"), {"namespace"}):
                    b.edge(USES, service, namespace, _qualified(f"registers {name}".strip(), b.when(entry)))
        for cluster in b.ids(target.stack, props.get("Cluster"), {"cluster"}):
            b.edge(USES, service, cluster, "runs on")


def _security_groups(b: _Builder) -> None:
    """Edges `who may open connections to whom`, from ingress rules, between the drawn resources
    that carry each group (ECS services, load balancers). A group nobody carries is drawn itself."""
    s = b.stacks
    carriers: dict[Target, list[str]] = defaultdict(list)
    for kind, path in (
        ("AWS::ECS::Service", ("NetworkConfiguration", "AwsvpcConfiguration", "SecurityGroups")),
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", ("SecurityGroups",)),
    ):
        for target, props in s.resources(kind):
            value: Any = props
            for key in path:
                value = value.get(key, {}) if isinstance(value, dict) else {}
            for group in s.resolve(target.stack, value):
                carriers[group].append(node_id(target))

    def holders(group: Target) -> list[str]:
        if group not in carriers:
            props = s.props(group)
            carriers[group] = [
                b.node(group, "security-group", str(props.get("GroupDescription", group.resource)))
            ]
        return carriers[group]

    # (stack, group, rule, when it exists): a rule of its own with a Condition, or one of a
    # group's inline rules (behind an Fn::If, or of a group with a Condition), holds only then
    rules: list[tuple[str, Any, dict[str, Any], str]] = []
    for target, props in s.resources("AWS::EC2::SecurityGroupIngress"):
        rules.append((target.stack, props.get("GroupId"), props, b.when(target)))
    for target, props in s.resources("AWS::EC2::SecurityGroup"):
        template = s.templates[target.stack]
        for when, rule in _branches(template, props.get("SecurityGroupIngress", [])):
            if isinstance(rule, dict) and rule != {"Ref": NO_VALUE}:
                rule_when = "; ".join(w for w in (b.when(target), when) if w)
                rules.append((target.stack, {"Ref": target.resource}, rule, rule_when))
    for stack, group_ref, rule, when in rules:
        ports = _qualified(_ports(rule), when)
        if rule.get("CidrIp") == ANYWHERE or rule.get("CidrIpv6") == "::/0":
            sources = [INTERNET]
        else:
            sources = [h for g in s.resolve(stack, rule.get("SourceSecurityGroupId")) for h in holders(g)]
        for group in s.resolve(stack, group_ref):
            if s.type_of(group) != "AWS::EC2::SecurityGroup":
                continue
            for holder in holders(group):
                for source in sources:
                    b.edge(ALLOWS, source, holder, ports)


def _ports(rule: dict[str, Any]) -> str:
    protocol = str(rule.get("IpProtocol", "tcp"))
    if protocol == "-1":
        return "all traffic"
    low, high = rule.get("FromPort"), rule.get("ToPort")
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def _tag(props: dict[str, Any], key: str) -> Any:
    return next((t.get("Value") for t in props.get("Tags", []) if t.get("Key") == key), None)
