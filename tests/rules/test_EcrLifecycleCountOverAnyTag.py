"""tap_cfn/rules/EcrLifecycleCountOverAnyTag.py: its good and bad templates."""

from __future__ import annotations

from tap_cfn.rules.EcrLifecycleCountOverAnyTag import EcrLifecycleCountOverAnyTag
from tests.rules.support import RuleTests


class TestEcrLifecycleCountOverAnyTag(RuleTests):
    RULE = EcrLifecycleCountOverAnyTag
