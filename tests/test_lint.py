"""The lint gate: cfn-lint, informational rules included, finds nothing in any generated template."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


REPO = Path(__file__).resolve().parent.parent
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
# Only reported with include_checks: [I]: an informational rule, so finding it proves .cfnlintrc is read.
INFORMATIONAL_ONLY = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Arn:
    Description: joined rather than substituted
    Value: !Join ["", ["arn-", !Ref Topic]]
"""


def test_a_plain_cfn_lint_in_the_repository_finds_nothing() -> None:
    result = subprocess.run([str(CFN_LINT)], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_cfnlintrc_checks_every_template_folder_with_informational_rules(tmp_path: Path) -> None:
    shutil.copy(REPO / ".cfnlintrc", tmp_path)
    (tmp_path / "templates" / "qa").mkdir(parents=True)
    (tmp_path / "templates" / "qa" / "root.json").write_text(
        '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}'
    )
    (tmp_path / "templates" / "qa" / "extra.yaml").write_text(INFORMATIONAL_ONLY)
    result = subprocess.run([str(CFN_LINT)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "I1022" in result.stdout and "templates/qa/extra.yaml" in result.stdout


def test_pre_commit_hooks_run_the_project_tools_on_the_right_files() -> None:
    hooks = {
        h["id"]: h
        for repo in yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())["repos"]
        for h in repo["hooks"]
    }
    assert {"ruff", "ruff-format", "cfn-lint"} <= set(hooks)
    for hook in hooks.values():
        assert hook["language"] == "system"  # offline: nothing to download when the hooks run
        assert (REPO / hook["entry"].split()[0]).name in {"ruff", "cfn-lint", "python"}
    cfn = hooks["cfn-lint"]
    assert (
        cfn["entry"] == ".venv/bin/cfn-lint" and cfn["pass_filenames"] is False
    )  # .cfnlintrc picks the files
    assert re.search(cfn["files"], "templates/prod/service-frontend.yaml")
    assert re.search(cfn["files"], "templates/dev/root.json")
    assert not re.search(cfn["files"], "templates/dev/topology.svg")
