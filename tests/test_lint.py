"""The lint gate: cfn-lint, informational rules included, finds nothing in any generated template."""

from __future__ import annotations

from pathlib import Path

import pytest

from tap_cfn import cli
from tap_cfn.lint import lint, template_files


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lint")
    assert cli.main(["templates", "--out", str(folder), "--quiet"]) == 0
    return folder


def test_every_generated_template_is_lint_clean(out: Path) -> None:
    paths = template_files(out)
    assert len(paths) == 3 * 10 * 2
    assert lint(paths) == []


def test_the_gate_reports_a_broken_template(tmp_path: Path, out: Path) -> None:
    broken = tmp_path / "network.yaml"
    text = (out / "dev" / "network.yaml").read_text()
    broken.write_text(text.replace("CidrBlock: 10.0.0.0/16", "CidrBlock: 10.0.0.0/99"))
    findings = lint([broken])
    assert findings and all(str(broken) in f for f in findings)
