"""A connection between two security groups is allowed on both sides."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from tap_cfn.rules._security_groups import collect


class SecurityGroupPathBothSides(CloudFormationLintRule):
    """Security groups are stateful for replies only: a new connection from group A to group B on
    port P needs A's egress and B's ingress to allow P."""

    id = "E9908"
    shortdesc = "A security-group rule naming another group must be matched on the other side"
    description = (
        "An ingress rule from security group A on port P is only usable when A's egress allows P "
        "(to B or to a CIDR), and an egress rule to B on P only when B's ingress allows P. A group "
        "that lists no egress keeps EC2's allow-all rule. Checked within one template."
    )
    source_url = "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"
    tags = ["resources", "ec2", "securitygroup"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        rules, open_egress = collect(cfn)
        matches = []
        for rule in rules:
            if rule.peer is None:
                continue
            wanted = f"{rule.protocol} {rule.ports[0]}-{rule.ports[1]}"
            if rule.direction == "ingress":
                ok = rule.peer in open_egress or any(
                    o.group == rule.peer
                    and o.direction == "egress"
                    and o.peer in {None, rule.group}
                    and o.covers(rule.protocol, rule.ports)
                    for o in rules
                )
                side = f"{rule.peer} has no egress allowing {wanted} to {rule.group}"
            else:
                ok = any(
                    o.group == rule.peer
                    and o.direction == "ingress"
                    and o.peer in {None, rule.group}
                    and o.covers(rule.protocol, rule.ports)
                    for o in rules
                )
                side = f"{rule.peer} has no ingress allowing {wanted} from {rule.group}"
            if not ok:
                matches.append(
                    RuleMatch(list(rule.path), f"{side}: the connection this rule allows cannot be opened")
                )
        return matches
