"""The rules of a template's security groups, as data (a plain module: cfn-lint loads the rule files
without registering them in sys.modules, which dataclasses need)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cfnlint.template import Template

from tap_cfn.rules._common import is_intrinsic, references

NOWHERE = "255.255.255.255/32"  # the conventional "no egress" rule


@dataclass(frozen=True)
class Rule:
    group: str  # logical id of the group the rule belongs to
    direction: str  # "ingress" | "egress"
    peer: str | None  # logical id of the peer group, None for a CIDR or prefix list
    protocol: str
    ports: tuple[int, int]
    path: tuple[Any, ...]

    def covers(self, protocol: str, ports: tuple[int, int]) -> bool:
        return self.protocol in {"-1", protocol} and (
            self.protocol == "-1" or self.ports[0] <= ports[0] and ports[1] <= self.ports[1]
        )


def _rule(
    group: str, direction: str, props: dict[str, Any], groups: set[str], path: list[Any]
) -> Rule | None:
    peer_key = "SourceSecurityGroupId" if direction == "ingress" else "DestinationSecurityGroupId"
    cidr = (
        props.get("CidrIp")
        or props.get("CidrIpv6")
        or props.get("SourcePrefixListId")
        or props.get("DestinationPrefixListId")
    )
    peer = next(iter(references(props.get(peer_key)) & groups), None)
    ports = (props.get("FromPort", -1), props.get("ToPort", -1))
    if cidr == NOWHERE or (peer is None and cidr is None) or not all(isinstance(p, int) for p in ports):
        return None  # nothing reachable, a peer outside this template, or ports set by a function
    return Rule(group, direction, peer, str(props.get("IpProtocol", "-1")).lower(), ports, tuple(path))


def collect(cfn: Template) -> tuple[list[Rule], set[str]]:
    """Every rule of the template's security groups, and the groups that keep the default allow-all egress."""
    groups = cfn.get_resources(["AWS::EC2::SecurityGroup"])
    names = set(groups)
    rules: list[Rule] = []
    open_egress = set()
    for name, group in groups.items():
        props = group.get("Properties", {})
        if "SecurityGroupEgress" not in props:
            open_egress.add(name)  # EC2 adds allow-all egress unless the group lists its own
        for direction, key in (("ingress", "SecurityGroupIngress"), ("egress", "SecurityGroupEgress")):
            entries = props.get(key, [])
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, dict) and not is_intrinsic(entry):
                    rule = _rule(name, direction, entry, names, ["Resources", name, "Properties", key, index])
                    if rule:
                        rules.append(rule)
    for kind, direction in (
        ("AWS::EC2::SecurityGroupIngress", "ingress"),
        ("AWS::EC2::SecurityGroupEgress", "egress"),
    ):
        for name, resource in cfn.get_resources([kind]).items():
            props = resource.get("Properties", {})
            owner = next(iter(references(props.get("GroupId")) & names), None)
            rule = _rule(owner, direction, props, names, ["Resources", name]) if owner else None
            if rule:
                rules.append(rule)
    return rules, open_egress
