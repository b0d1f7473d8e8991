"""tap_cfn/rules/EcsDeploymentWithinStackTimeout.py: its good and bad templates."""

from __future__ import annotations

from tap_cfn.rules.EcsDeploymentWithinStackTimeout import EcsDeploymentWithinStackTimeout
from tests.rules.support import RuleTests


class TestEcsDeploymentWithinStackTimeout(RuleTests):
    RULE = EcsDeploymentWithinStackTimeout
