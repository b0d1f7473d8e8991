"""tap_cfn/rules/StatefulRetainExceptOnCreate.py: its good and bad templates."""

from __future__ import annotations

from tap_cfn.rules.StatefulRetainExceptOnCreate import StatefulRetainExceptOnCreate
from tests.rules.support import RuleTests


class TestStatefulRetainExceptOnCreate(RuleTests):
    RULE = StatefulRetainExceptOnCreate
