"""templates, diagram and lint read and write the same folder, spelled `--out DIR` by all three."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tap_cfn import cli

# One finding (E3012: a number where CloudFormation wants a string), quick to lint.
BROKEN = (
    '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"T": {"Type": "AWS::SNS::Topic", '
    '"Properties": {"TopicName": ["not", "a", "string"]}}}}\n'
)


def test_diagram_reads_what_templates_wrote_to_the_same_out_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t"
    assert cli.main(["templates", "--env", "dev", "--format", "json", "--out", str(out), "-q"]) == 0
    # the profile asked for, and the project's registry, which every profile shares
    assert sorted(p.name for p in out.iterdir()) == ["dev", "registry"]
    code = cli.main(["diagram", "--env", "dev", "--out", str(out)])
    err = capsys.readouterr().err
    if shutil.which("dot"):
        assert code == 0, err
        assert (out / "dev" / "topology.svg").read_text().startswith("<?xml")
    else:  # the graph was read from `out`; only the drawing needs Graphviz
        assert code == 1 and "dot" in err


def test_diagram_of_a_folder_without_templates_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["diagram", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: diagram: no <env>/root.json in {tmp_path}; run `python generate.py templates` first"
    ]


def test_lint_reads_the_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "qa").mkdir()
    (tmp_path / "qa" / "root.json").write_text(BROKEN)
    assert cli.main(["lint", "--out", str(tmp_path)]) == 1
    findings = capsys.readouterr().out.splitlines()
    assert findings and all(line.startswith(str(tmp_path / "qa" / "root.json")) for line in findings)


def test_lint_of_an_empty_out_folder_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["lint", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: lint: no templates in {tmp_path}; run `python generate.py templates` first"
    ]
