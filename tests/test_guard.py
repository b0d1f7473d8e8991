"""The cfn-guard gate (tap_cfn/guard.py): its report folding, its waiver table, and the real engine on
two small templates. The gate over the committed templates is `make guard`, run by `make test`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tap_cfn import guard

FIXTURES = Path(__file__).parent / "fixtures" / "guard"
README = Path(__file__).resolve().parent.parent / "README.md"
installed = pytest.mark.skipif(
    not guard.binary().is_file(), reason="cfn-guard not installed: run `make guard`"
)


def _failing(rule: str, control: str, path: str) -> dict[str, object]:
    """A not_compliant entry shaped as cfn-guard 3.1.1 --structured writes it (trimmed)."""
    clause = {"Clause": {"Unary": {"check": {"Resolved": {"value": {"path": path, "value": 30}}}}}}
    check = {
        "Rule": {
            "name": "check",
            "messages": {"custom_message": f"\n [{control}]: ...\n"},
            "checks": [clause],
        }
    }
    return {"Rule": {"name": rule, "messages": {"custom_message": None}, "checks": [check]}}


def test_a_report_folds_into_controls_passed_failed_and_where() -> None:
    report = [
        {
            "name": "/x/prod/data.json",
            "compliant": ["kms_key_rotation_enabled_check", "s3_bucket_versioning_enabled_check"],
            "not_compliant": [
                _failing("s3_bucket_object_lock_enabled_check", "CT.S3.PR.9", "/Resources/Bucket/Properties")
            ],
        },
        {
            "name": "/x/prod/network.json",
            "compliant": ["s3_bucket_object_lock_enabled_check"],
            "not_compliant": [],
        },
    ]
    result = guard.result(report)
    assert result.passed == {"kms_key_rotation_enabled_check", "s3_bucket_versioning_enabled_check"}
    assert result.failed == {"s3_bucket_object_lock_enabled_check"}  # failing anywhere fails the control
    assert result.failures == (guard.Failure("data", "CT.S3.PR.9", "Bucket"),)
    assert result.unexplained == [
        guard.Failure("data", "CT.S3.PR.9", "Bucket")
    ]  # not the waived AccessLogBucket


def test_a_failure_is_waived_only_by_its_control_and_resource() -> None:
    waiver = guard.Waiver("CT.S3.PR.9", "AccessLogBucket", "why")
    assert guard.Failure("data", "CT.S3.PR.9", "AccessLogBucket").waiver([waiver]) == waiver
    assert guard.Failure("data", "CT.S3.PR.9", "OtherBucket").waiver([waiver]) is None
    assert guard.Failure("data", "CT.S3.PR.2", "AccessLogBucket").waiver([waiver]) is None


def test_a_pattern_waives_every_resource_it_matches_of_its_control_only() -> None:
    waiver = guard.Waiver("CT.CLOUDWATCH.PR.2", "*LogGroup", "why")
    for group in ("WebLogGroup", "FlowLogGroup", "ExecLogGroup"):
        assert guard.Failure("data", "CT.CLOUDWATCH.PR.2", group).waiver([waiver]) == waiver
    assert guard.Failure("data", "CT.CLOUDWATCH.PR.2", "LogGroupPolicy").waiver([waiver]) is None
    assert guard.Failure("data", "CT.CLOUDWATCH.PR.3", "WebLogGroup").waiver([waiver]) is None


def test_every_waiver_names_a_control_a_logical_id_or_pattern_and_a_reason() -> None:
    keys = [(w.control, w.resource) for w in guard.WAIVERS]
    assert len(keys) == len(set(keys))
    for waiver in guard.WAIVERS:
        assert re.fullmatch(r"CT\.[A-Z0-9]+\.PR\.\d+", waiver.control), waiver
        assert re.fullmatch(r"\*?[A-Za-z0-9]+", waiver.resource), waiver  # an id, or *Suffix
        assert len(waiver.reason) >= 60, waiver


def test_readme_shows_exactly_the_waivers() -> None:
    readme = README.read_text(encoding="utf-8")
    assert guard.table() in readme, "run `python -m tap_cfn.guard --table`"
    # and independently of guard.table: the README's rows are the waivers, each with its reason
    row = re.compile(r"^\| (CT\.[A-Z0-9]+\.PR\.\d+) \| `([*A-Za-z0-9]+)` \| (.+) \|$", re.MULTILINE)
    rows = row.findall(readme)
    assert len(rows) == len(set(rows))
    assert set(rows) == {(w.control, w.resource, w.reason) for w in guard.WAIVERS}


@installed
def test_the_engine_finds_a_container_running_as_root_and_accepts_a_numeric_user() -> None:
    (root,) = guard.validate([FIXTURES / "root-task.yaml"])
    (nonroot,) = guard.validate([FIXTURES / "nonroot-task.yaml"])
    found = {(f.control, f.resource) for f in guard.result([root]).failures}
    fixed = {(f.control, f.resource) for f in guard.result([nonroot]).failures}
    assert found - fixed == {("CT.ECS.PR.3", "TaskDefinition"), ("CT.ECS.PR.7", "TaskDefinition")}
    assert fixed < found


@installed
def test_a_waiver_that_explains_no_failure_is_reported_stale(tmp_path: Path) -> None:
    (tmp_path / "qa").mkdir()
    shutil.copy(FIXTURES / "nonroot-task.yaml", tmp_path / "qa" / "service.json")  # YAML is read as data too
    results, stale = guard.gate(tmp_path)
    assert list(results) == ["qa"]
    assert stale == list(guard.WAIVERS)
    # not true of an empty table: the fixture has no access-log bucket, so its waivers are stale
    assert ("CT.S3.PR.9", "AccessLogBucket") in {(w.control, w.resource) for w in stale}


def test_the_gate_refuses_a_missing_folder_in_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert guard.main(["--out", "/nonexistent/templates"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: guard: /nonexistent/templates is not a folder; run `python generate.py templates` first"
    ]


def test_the_gate_spells_the_folder_out_as_every_command_does(capsys: pytest.CaptureFixture[str]) -> None:
    # a positional folder is bad usage (exit 2, one line), as in generate.py's commands
    assert guard.main(["templates"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: python -m tap_cfn.guard: unrecognized arguments: templates"
    ]


def test_the_gate_help_has_examples_and_exit_codes() -> None:
    text = guard.parser().format_help()
    assert "  python -m tap_cfn.guard --out templates" in text
    assert re.search(r"^exit codes: 0 [^\n]*, 1 [^\n]*, 2 bad usage or input$", text, re.MULTILINE)
