"""tap_cfn/rules/SecurityGroupPathBothSides.py: good and bad templates, edges they miss."""

from __future__ import annotations

from tap_cfn.rules.SecurityGroupPathBothSides import SecurityGroupPathBothSides
from tests.rules.support import TEMPLATES, RuleTests, findings


class TestSecurityGroupPathBothSides(RuleTests):
    RULE = SecurityGroupPathBothSides


def test_an_egress_to_a_group_that_accepts_nothing_from_the_caller_is_found() -> None:
    good = (TEMPLATES / "SecurityGroupPathBothSides" / "good.yaml").read_text()
    no_ingress = good.split("  ApiIngressFromWeb:")[0] + good.split("      ToPort: 8080\n", 1)[1]
    assert "WebEgressToApi" in no_ingress and "ApiIngressFromWeb" not in no_ingress
    assert findings(no_ingress) == ["E9908"]
