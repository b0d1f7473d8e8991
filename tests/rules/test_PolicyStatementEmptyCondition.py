"""tap_cfn/rules/PolicyStatementEmptyCondition.py: its good and bad templates."""

from __future__ import annotations

from tap_cfn.rules.PolicyStatementEmptyCondition import PolicyStatementEmptyCondition
from tests.rules.support import RuleTests


class TestPolicyStatementEmptyCondition(RuleTests):
    RULE = PolicyStatementEmptyCondition
