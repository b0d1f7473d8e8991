"""The rules package (tap_cfn/rules/__init__.py): every rule file registered, the README's table.
Each rule's own tests are in test_<RuleClass>.py beside this file, as cfn-lint has one per rule; the
private helpers (_common.py, _security_groups.py) are covered through the rules that use them."""

from __future__ import annotations

import re
from pathlib import Path

from cfnlint.helpers import create_rules

import tap_cfn.rules
from tests.rules.support import RULES


def test_every_rule_file_holds_one_rule_named_after_it_and_cfn_lint_loads_them_all() -> None:
    files = sorted(p.stem for p in tap_cfn.rules.RULES_DIR.glob("[A-Za-z1-9]*.py"))
    assert sorted(type(rule).__name__ for rule in RULES) == files
    assert len({rule.id for rule in RULES}) == len(RULES)
    # What `append_rules: [tap_cfn.rules]` instantiates: every rule class in the package namespace.
    assert sorted(rule.id for rule in create_rules(tap_cfn.rules)) == [rule.id for rule in RULES]


# Our rule ids, one per file under tap_cfn/rules/, written out here.
OUR_RULE_IDS = ["E9901", "E9902", "E9903", "E9904", "E9905", "E9906", "E9907", "E9908", "E9920", "W9909"]


def test_readme_lists_exactly_our_rules() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert tap_cfn.rules.table() in readme, "run `python -m tap_cfn.rules` and update README"
    # and independently of tap_cfn.rules.table: the README's rows are the rules, whose ids are
    # read here from the rule files' text
    on_disk = [
        match
        for path in sorted(Path(tap_cfn.rules.__file__).parent.glob("[A-Za-z1-9]*.py"))
        for match in re.findall(r'^    id = "([EWI]\d{4})"$', path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert sorted(on_disk) == OUR_RULE_IDS
    row = re.compile(
        r"^\| ([EWI]\d{4}) \| [^|]+ \| \[[^]]+\]\(https://docs\.aws\.amazon\.com/[^)]+\) \|$", re.MULTILINE
    )
    assert row.findall(readme) == OUR_RULE_IDS
