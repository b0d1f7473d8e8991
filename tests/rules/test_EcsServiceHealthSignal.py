"""tap_cfn/rules/EcsServiceHealthSignal.py: its good and bad templates."""

from __future__ import annotations

from tap_cfn.rules.EcsServiceHealthSignal import EcsServiceHealthSignal
from tests.rules.support import RuleTests


class TestEcsServiceHealthSignal(RuleTests):
    RULE = EcsServiceHealthSignal
