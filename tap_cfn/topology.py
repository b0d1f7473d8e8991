"""Facts derived from the config that several stacks (and the diagram) share.

Nothing here touches troposphere: these are plain data so that the security groups, the
listener rules, the task roles and the tests all read the same edges and priorities.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_cfn.config import Config, Deployment, Service

ALB = "alb"  # the source name of edges that start at the load balancer
RULE_PRIORITY_STEP = 100
# Services per group once a platform outgrows one set of shared stacks: keeps every template
# within CloudFormation's 51,200-byte body, 200-parameter and 500-resource quotas.
GROUP_SIZE = 10


@dataclass(frozen=True)
class Part:
    """The slice a data, security or load balancer stack holds: the platform-wide resources
    (`shared`), the per-service resources of `services`, or both (a platform of one group)."""

    services: tuple[str, ...]
    shared: bool
    group: int  # 0: the platform-wide stack; k: group k

    @staticmethod
    def whole(dep: Deployment) -> Part:
        return Part(tuple(s.name for s in dep.services), shared=True, group=1)

    def members(self, dep: Deployment) -> list[Service]:
        return [s for s in dep.services if s.name in self.services]


def service_groups(dep: Deployment) -> list[list[Service]]:
    """Services in groups of GROUP_SIZE, in declaration order: appending a service never moves
    an existing one to another stack (which would replace its resources)."""
    return [dep.services[i : i + GROUP_SIZE] for i in range(0, len(dep.services), GROUP_SIZE)]


def group_of(dep: Deployment) -> dict[str, int]:
    """Service name -> its group (1-based); the ALB belongs to the platform-wide stacks (0)."""
    found = {ALB: 0}
    for index, members in enumerate(service_groups(dep), start=1):
        found.update({s.name: index for s in members})
    return found


def edges_of(dep: Deployment, part: Part) -> list[Edge]:
    """The edges whose rules a security stack holds: those whose later end is in its group, so
    that a stack only ever refers to security groups of earlier groups (no dependency cycle)."""
    if len(service_groups(dep)) == 1:
        return edges(dep)
    group = group_of(dep)
    return [e for e in edges(dep) if max(group[e.source], group[e.target]) == part.group]


@dataclass(frozen=True)
class Edge:
    """`source` may open connections to `target` on `port` (source is a service name or ALB)."""

    source: str
    target: str
    port: int


@dataclass(frozen=True)
class ListenerRule:
    service: str
    priority: int
    path: str | None
    host: str | None


def edges(dep: Deployment) -> list[Edge]:
    """Who may call whom: the ALB calls every ALB service, callers call their targets."""
    result: list[Edge] = []
    for svc in dep.services:
        if svc.port is None:  # a worker: reached by no one (a config check)
            continue
        if svc.route.behind_alb:
            result.append(Edge(ALB, svc.name, svc.port))
        result.extend(Edge(caller, svc.name, svc.port) for caller in svc.callers)
    return sorted(result, key=lambda e: e.source != ALB)  # the ALB's edges first, as before


def discoverable(svc: Service) -> bool:
    """Registered in Cloud Map: internal services and any service that has callers."""
    return svc.route.internal or bool(svc.callers)


def default_service(dep: Deployment) -> Service:
    return next(s for s in dep.services if s.route.behind_alb and s.route.default)


def listener_rules(dep: Deployment) -> list[ListenerRule]:
    """Path/host rules; an explicit priority wins, otherwise 100, 200, ... in declaration order
    skipping priorities already taken, so appending a service never renumbers existing rules."""
    return listener_rules_of(dep.config)


def test_rule_priority(rule: ListenerRule) -> int:
    """A service's test listener rule comes right before its production rule (the lower number is
    evaluated first), so that a request with the test header and the service's path or host reaches
    it; 99, 199, ... with the default priorities, which are multiples of 100."""
    return rule.priority - 1


def listener_rules_of(config: Config) -> list[ListenerRule]:
    """`listener_rules` of a config (the routes do not differ between profiles)."""
    ruled = [s for s in config.services if s.route.behind_alb and not s.route.default]
    taken = {s.route.priority for s in ruled if s.route.priority is not None}
    rules = []
    next_priority = RULE_PRIORITY_STEP
    for svc in ruled:
        priority = svc.route.priority
        if priority is None:
            while next_priority in taken:
                next_priority += RULE_PRIORITY_STEP
            priority = next_priority
            taken.add(priority)
        rules.append(ListenerRule(svc.name, priority, svc.route.path, svc.route.host))
    return sorted(rules, key=lambda r: r.priority)
