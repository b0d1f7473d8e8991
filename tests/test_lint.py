"""The lint gate: cfn-lint, informational rules included, finds nothing in any generated template;
the one cached path every lint goes through (twins once, a content-hash cache) hides nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cfn_flip
import pytest
import yaml

from tap_cfn import lint as gate
from tap_cfn.lint import lint, template_files


def test_every_generated_template_is_lint_clean(profile_templates: Path, profile_findings: list[str]) -> None:
    # three profiles of 10 stacks each, and the project's registry, in JSON and YAML
    assert len(template_files(profile_templates)) == (3 * 10 + 1) * 2
    assert profile_findings == []


def test_json_and_yaml_twins_are_the_same_template_but_for_the_child_urls(profile_templates: Path) -> None:
    """Why linting one of each twin pair is enough: the YAML file holds the JSON file's data
    (read by cfn-flip, short-form tags and all); the root only points at children of its own format."""
    pairs = 0
    for path in template_files(profile_templates):
        if path.suffix != ".json":
            continue
        data, text = json.loads(path.read_text()), path.with_suffix(".yaml").read_text()
        if path.stem == "root":
            text = re.sub(r"TemplateURL: ([\w-]+)\.yaml", r"TemplateURL: \1.json", text)
        assert cfn_flip.load(text)[0] == data, path
        pairs += 1
    assert pairs == 3 * 10 + 1
    dev = template_files(profile_templates / "dev")
    paired = gate.twins(dev, dev)  # cfn-lint's own decoders agree
    assert len(paired) == 9 and not any(p.stem == "root" for p in paired)


def test_the_gate_reports_a_broken_template(tmp_path: Path, profile_templates: Path) -> None:
    broken = tmp_path / "network.yaml"
    text = (profile_templates / "dev" / "network.yaml").read_text()
    broken.write_text(text.replace("DestinationCidrBlock: 0.0.0.0/0", "DestinationCidrBlock: 0.0.0.0/99"))
    findings = lint([broken])
    assert findings and all(str(broken) in f for f in findings)


def test_a_yaml_twin_that_differs_from_its_json_is_linted_itself(
    tmp_path: Path, profile_templates: Path
) -> None:
    for suffix in (".json", ".yaml"):
        shutil.copy(profile_templates / "dev" / f"network{suffix}", tmp_path)
    yaml_file = tmp_path / "network.yaml"
    yaml_file.write_text(
        yaml_file.read_text().replace("DestinationCidrBlock: 0.0.0.0/0", "DestinationCidrBlock: 0.0.0.0/99")
    )
    findings = lint([tmp_path / "network.json", yaml_file])
    assert findings and all(f.startswith(f"{yaml_file}:") for f in findings)


def test_findings_of_a_json_file_are_also_reported_on_its_yaml_twin(
    tmp_path: Path, profile_templates: Path
) -> None:
    for suffix in (".json", ".yaml"):
        text = (profile_templates / "dev" / f"network{suffix}").read_text()
        (tmp_path / f"network{suffix}").write_text(text.replace("0.0.0.0/0", "0.0.0.0/99"))
    findings = lint(template_files(tmp_path))
    assert {f.split(":")[0] for f in findings} == {
        str(tmp_path / "network.json"),
        str(tmp_path / "network.yaml"),
    }


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(gate.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_cached_result_is_served_without_cfn_lint(
    tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(INFORMATIONAL_ONLY)
    first = lint([template])
    assert any(" I1022 " in f for f in first)
    entries = list(private_cache.rglob("*.json"))
    assert len(entries) == 1 and not list(private_cache.rglob(".*"))  # no temporary file left behind

    def no_cfn_lint(path: Path) -> list[gate.Finding]:
        raise AssertionError("cfn-lint ran on a cached template")

    monkeypatch.setattr(gate, "lint_one", no_cfn_lint)
    copy = tmp_path / "copy" / "t.yaml"  # same bytes elsewhere: same entry, its own path in the findings
    copy.parent.mkdir()
    copy.write_text(INFORMATIONAL_ONLY)
    assert lint([copy]) == [f.replace(str(template), str(copy)) for f in first]


def test_the_cache_key_changes_with_content_format_settings_version_and_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(INFORMATIONAL_ONLY)
    base = gate.cache_key(template)
    keys = set()
    template.write_text(INFORMATIONAL_ONLY + "\n")
    keys.add(gate.cache_key(template))
    template.write_text(INFORMATIONAL_ONLY)
    twin = tmp_path / "t.json"
    twin.write_text(INFORMATIONAL_ONLY)
    keys.add(gate.cache_key(twin))
    for name, value in (("CFN_LINT_VERSION", "0.0.0"), ("REGIONS", ["us-east-1"])):
        with monkeypatch.context() as patch:
            patch.setattr(gate, name, value)
            gate._settings_digest.cache_clear()
            keys.add(gate.cache_key(template))
    rules = tmp_path / "rules"
    rules.mkdir()
    monkeypatch.setattr(gate, "RULES_DIR", rules)
    (rules / "E9001.py").write_text("# a rule\n")
    gate._settings_digest.cache_clear()
    keys.add(with_rule := gate.cache_key(template))
    (rules / "E9001.py").write_text("# the rule, changed\n")
    gate._settings_digest.cache_clear()
    keys.add(gate.cache_key(template))
    assert gate.settings()["append_rules"] == ["tap_cfn.rules"]  # loaded as a module, hashed as files
    monkeypatch.undo()
    gate._settings_digest.cache_clear()
    assert gate.cache_key(template) == base
    assert len(keys) == 6 and base not in keys and with_rule in keys


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


def test_the_committed_templates_are_lint_clean() -> None:
    # The same cached path: a committed template equal to a generated one costs nothing.
    assert lint(template_files(REPO / "templates")) == []


def test_cfnlintrc_holds_the_settings_of_the_gate() -> None:
    """A plain `cfn-lint` in the repository checks what `lint()` checks, the way it does."""
    rc = yaml.safe_load((REPO / ".cfnlintrc").read_text())
    assert rc["include_checks"] == gate.settings()["include_checks"]
    assert rc["regions"] == gate.settings()["regions"]
    assert rc["append_rules"] == gate.settings()["append_rules"] == ["tap_cfn.rules"]
    committed = {str(p.relative_to(REPO)) for p in template_files(REPO / "templates")}
    globbed = {str(p.relative_to(REPO)) for pattern in rc["templates"] for p in REPO.glob(pattern)}
    assert committed and globbed == committed


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
