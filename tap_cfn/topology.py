"""Facts derived from the config that several stacks (and the diagram) share.

Nothing here touches troposphere: these are plain data so that the security groups, the
listener rules, the task roles and the tests all read the same edges and priorities.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_cfn.config import Deployment, Service

ALB = "alb"  # the source name of edges that start at the load balancer
RULE_PRIORITY_STEP = 100


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
    result = [Edge(ALB, s.name, s.port) for s in dep.services if s.route.type == "alb"]
    for svc in dep.services:
        result.extend(Edge(caller, svc.name, svc.port) for caller in svc.callers)
    return result


def discoverable(svc: Service) -> bool:
    """Registered in Cloud Map: internal services and any service that has callers."""
    return svc.route.type == "internal" or bool(svc.callers)


def default_service(dep: Deployment) -> Service:
    return next(s for s in dep.services if s.route.type == "alb" and s.route.default)


def listener_rules(dep: Deployment) -> list[ListenerRule]:
    """Path/host rules; an explicit priority wins, otherwise 100, 200, ... in declaration order
    skipping priorities already taken, so appending a service never renumbers existing rules."""
    ruled = [s for s in dep.services if s.route.type == "alb" and not s.route.default]
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


def subnet_cidrs(dep: Deployment) -> list[tuple[str, str]]:
    """(public, private) CIDR per AZ: public subnets from the bottom of the VPC range, private
    ones from its upper half, so changing the AZ count never moves an existing subnet."""
    env = dep.env
    blocks = list(env.network.subnets(new_prefix=env.subnet_prefix))
    half = len(blocks) // 2
    return [(str(blocks[i]), str(blocks[half + i])) for i in range(env.az_count)]
