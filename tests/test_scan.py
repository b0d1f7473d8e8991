"""The checkov skips (tap_cfn/scan.py): each carries its reason, and the README shows exactly them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tap_cfn import scan
from tests.conftest import Built

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_checkov_skip_carries_a_reason(env_built: Built) -> None:
    found = scan.skips(env_built.children)
    assert found, "the packaged templates skip at least the port-80 checks"
    for skip in found:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip.check), skip
        assert len(skip.reason.strip()) >= 40, skip


def test_a_skip_without_a_reason_is_refused() -> None:
    from troposphere import s3

    from tap_cfn.stacks.base import skip_check

    with pytest.raises(ValueError, match="CKV_AWS_18 needs a reason"):
        skip_check(s3.Bucket("B"), "CKV_AWS_18", "  ")


def test_readme_lists_exactly_the_skips_in_the_templates(built: dict[str, Built]) -> None:
    expected = scan.table({env: scan.skips(b.children) for env, b in built.items()})
    assert expected in README.read_text(encoding="utf-8"), "run `python -m tap_cfn.scan` and update README"
    # and independently of scan.skips and scan.table: the README's rows are the skips the
    # templates' Metadata carry, read here straight from the built templates
    in_templates = {
        (stem, logical_id, entry["id"], entry["comment"])
        for b in built.values()
        for stem, template in b.children.items()
        for logical_id, resource in template["Resources"].items()
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    row = re.compile(r"^\| ([a-z0-9-]+) \| `(\w+)` \| (CKV2?_AWS_\d+) \| [^|]+ \| (.+) \|$", re.MULTILINE)
    assert set(row.findall(README.read_text(encoding="utf-8"))) == in_templates
