"""tap_cfn/rules/AccountGlobalNameHasRegion.py: good and bad templates, edges they miss."""

from __future__ import annotations

from tap_cfn.rules.AccountGlobalNameHasRegion import AccountGlobalNameHasRegion
from tests.rules.support import TEMPLATES, RuleTests, findings


class TestAccountGlobalNameHasRegion(RuleTests):
    RULE = AccountGlobalNameHasRegion


def test_a_name_from_a_parameter_is_left_to_the_deployer() -> None:
    bad = (TEMPLATES / "AccountGlobalNameHasRegion" / "bad.yaml").read_text()
    from_parameter = bad.replace("RoleName: !Sub app-role-${Suffix}", "RoleName: !Ref Suffix")
    assert findings(from_parameter) == []
