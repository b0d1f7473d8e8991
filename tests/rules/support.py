"""What every rule's test file shares, in cfn-lint's shape (its `BaseRuleTestCase`): a rule is
metadata plus a small validator, with a good and a bad template under templates/<RuleClass>/. The
bad one fails with exactly that rule's id, the good one passes every rule (cfn-lint's and ours)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.rules import CloudFormationLintRule

import tap_cfn.rules
from tap_cfn.lint import REGIONS

TEMPLATES = Path(__file__).parent / "templates"
RULES = sorted((rule() for rule in tap_cfn.rules.RULES), key=lambda rule: rule.id)
CONFIG = ManualArgs(include_checks=["I"], regions=REGIONS, append_rules=[tap_cfn.rules.MODULE])


def findings(text: str) -> list[str]:
    return [match.rule.id for match in lint(text, config=CONFIG)]


class RuleTests:
    """Subclass as `Test<RuleClass>` with `RULE = <RuleClass>` for the three checks every rule passes."""

    RULE: type[CloudFormationLintRule]

    @pytest.fixture
    def rule(self) -> CloudFormationLintRule:
        return self.RULE()

    def test_rule_states_an_aws_fact_with_its_source(self, rule: CloudFormationLintRule) -> None:
        # E/W 99xx: cfn-lint numbers the rules of a --custom-rules file 9000 + line number.
        assert re.fullmatch(r"[EW]99\d\d", rule.id)
        assert rule.shortdesc and len(rule.description) >= 80
        assert re.match(r"https://docs\.aws\.amazon\.com/", rule.source_url)
        assert rule.tags and "resources" in rule.tags

    def test_the_bad_template_fails_with_exactly_the_rule(self, rule: CloudFormationLintRule) -> None:
        found = findings((TEMPLATES / type(rule).__name__ / "bad.yaml").read_text())
        assert found and set(found) == {rule.id}

    def test_the_good_template_passes_every_rule(self, rule: CloudFormationLintRule) -> None:
        assert findings((TEMPLATES / type(rule).__name__ / "good.yaml").read_text()) == []
