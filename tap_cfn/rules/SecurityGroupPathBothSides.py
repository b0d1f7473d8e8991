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
            if rule.peer is None or (rule.direction == "ingress" and rule.peer in open_egress):
                continue  # a CIDR rule, or a caller that keeps EC2's allow-all egress
            other = "egress" if rule.direction == "ingress" else "ingress"
            if not any(
                o.group == rule.peer
                and o.direction == other
                and o.peer in {None, rule.group}
                and o.covers(rule.protocol, rule.ports)
                for o in rules
            ):
                toward = "to" if other == "egress" else "from"
                matches.append(
                    RuleMatch(
                        list(rule.path),
                        f"{rule.peer} has no {other} allowing {rule.protocol} "
                        f"{rule.ports[0]}-{rule.ports[1]} {toward} {rule.group}: the connection this rule "
                        "allows cannot be opened",
                    )
                )
        return matches
