"""The command line as users run it: exit codes, one-line errors, atomic and deterministic output."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "generate.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    result = run("templates", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_generates_every_profile_in_both_formats(generated: Path) -> None:
    expected_stems = {
        "root",
        "network",
        "flowlogs",
        "data",
        "cluster",
        "notifications",
        "monitoring",
        "service-frontend",
        "service-api-gateway",
        "service-processing",
    }
    for env in ("dev", "staging", "prod"):
        names = {p.name for p in (generated / env).iterdir()}
        assert names == {f"{s}.{f}" for s in expected_stems for f in ("json", "yaml")}, env


def test_no_command_means_templates_and_runs_are_byte_identical(generated: Path, tmp_path: Path) -> None:
    result = run("--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path) == snapshot(generated)


def test_committed_templates_are_up_to_date(generated: Path) -> None:
    committed = REPO / "templates"
    compare = filecmp.dircmp(committed, generated)
    stale = []
    for env in ("dev", "staging", "prod", "registry"):
        sub = filecmp.dircmp(committed / env, generated / env)
        _, mismatch, errors = filecmp.cmpfiles(
            committed / env, generated / env, sub.right_list, shallow=False
        )
        stale += [f"{env}/{m}" for m in mismatch + errors]
    assert not stale, f"run `make templates` and commit: {stale}"
    assert not compare.right_only


def test_one_format_one_env(tmp_path: Path) -> None:
    result = run("templates", "--env", "prod", "--format", "yaml", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prod", "registry"]
    assert all(p.suffix == ".yaml" for p in (tmp_path / "prod").iterdir())
    assert sorted(p.name for p in (tmp_path / "registry").iterdir()) == ["registry.yaml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["templates", "--env", "qa"], "unknown environment 'qa'; known: dev, staging, prod, all"),
        (["templates", "--format", "xml"], "invalid choice: 'xml'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = run(*args, "--out", str(tmp_path)) if args[0] == "templates" else run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_bad_config_exits_2_and_leaves_the_output_untouched(generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("templates", "--out", str(out)).returncode == 0
    before = snapshot(out)
    bad = tmp_path / "bad.yaml"
    text = (REPO / "tap_cfn" / "tap.yaml").read_text().replace("memory: 4096", "memory: 1000")
    bad.write_text(text)
    result = run("templates", "--config", str(bad), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {bad}: services[processing].memory: 1000 MiB is not offered with 2048 CPU; "
        "allowed: 4096-16384 in steps of 1024"
    )
    assert snapshot(out) == before


def test_a_failure_while_writing_leaves_the_output_as_it_was(tmp_path: Path) -> None:
    from tap_cfn import generator

    out = tmp_path / "out"
    (out / "dev").mkdir(parents=True)
    (out / "dev" / "root.json").write_text("old\n")
    before = snapshot(out)
    # the second environment cannot be written: the staging folder makes its name a file
    with pytest.raises(OSError):
        generator.write(out, {"dev": {"root.json": "new\n"}, "bad/name": {"x.json": "{}\n"}})
    assert snapshot(out) == before


def test_a_rerun_rewrites_only_the_files_whose_bytes_change(tmp_path: Path) -> None:
    from tap_cfn import generator

    out = tmp_path / "out"
    generator.write(out, {"dev": {"root.json": "same\n", "a.json": "old\n", "b.json": "x\n"}})
    (out / "dev" / "b.json").write_bytes(b"x\r\n")  # the same text read back, other bytes
    for name in ("root.json", "a.json", "b.json"):
        os.utime(out / "dev" / name, ns=(0, 0))
    generator.write(out, {"dev": {"root.json": "same\n", "a.json": "new\n", "b.json": "x\n"}})
    assert (out / "dev" / "root.json").stat().st_mtime_ns == 0  # left alone
    assert (out / "dev" / "a.json").read_bytes() == b"new\n"
    assert (out / "dev" / "b.json").read_bytes() == b"x\n"
    assert sorted(p.name for p in out.iterdir()) == ["dev"]  # no staging folder left behind


PLATFORM = ["root", "network", "flowlogs", "data", "cluster", "notifications", "monitoring"]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def templates_of(stems: list[str]) -> list[str]:
    return [f"{stem}.{fmt}" for stem in stems for fmt in ("json", "yaml")]


def test_regenerating_with_another_config_leaves_nothing_of_the_previous_one(tmp_path: Path) -> None:
    """GIVEN a folder generated and drawn from the packaged config, with a file of the user's in
    dev/ and in prod/, WHEN another config (only dev; processing renamed worker) is generated into
    it, THEN dev holds its templates and no drawing of the old services, and once every
    environment is generated, no folder of an environment it does not have; `diagram` then draws
    dev alone, and the user's files are where they were."""
    import yaml

    out = tmp_path / "out"
    assert run("templates", "--out", str(out), "--quiet").returncode == 0
    assert run("diagram", "--out", str(out), "--quiet").returncode == 0
    drawn = ["README.md", "services.dot", "topology.dot"]
    svgs = ["services.svg", "topology.svg"] if shutil.which("dot") else []
    drawn += svgs
    (out / "dev" / "notes.txt").write_text("mine\n")
    (out / "prod" / "runbook.txt").write_text("mine\n")
    raw = yaml.safe_load((REPO / "tap_cfn" / "tap.yaml").read_text().replace("processing", "worker"))
    raw["environments"] = {"dev": raw["environments"]["dev"]}
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(raw))
    packaged = templates_of([*PLATFORM, "service-frontend", "service-api-gateway", "service-processing"])
    now = templates_of([*PLATFORM, "service-frontend", "service-api-gateway", "service-worker"])

    result = run("templates", "--config", str(other), "--env", "dev", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert names(out) == ["dev", "prod", "registry", "staging"]  # one environment asked for
    assert names(out / "dev") == sorted([*now, *svgs, "notes.txt"])  # the SVGs wait for `diagram`
    assert names(out / "staging") == sorted([*packaged, *drawn])

    result = run("templates", "--config", str(other), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert names(out) == ["dev", "prod", "registry"]
    assert names(out / "prod") == ["runbook.txt"]
    assert names(out / "registry") == ["registry.json", "registry.yaml"]
    assert names(out / "dev") == sorted([*now, *svgs, "notes.txt"])

    result = run("diagram", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"drew dev into {out}/<env>/ in ")  # status goes to stderr
    assert names(out / "dev") == sorted([*now, *drawn, "notes.txt"])
    topology = (out / "dev" / "topology.dot").read_text()
    assert '[label="worker\\n' in topology and "processing" not in topology
    for svg in svgs:  # drawn again: the topology changed
        assert "processing" not in (out / "dev" / svg).read_text()
    assert (out / "dev" / "notes.txt").read_text() == (out / "prod" / "runbook.txt").read_text() == "mine\n"


def test_help_lists_the_commands_and_the_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("templates", "diagram", "lint", "docs", "schema"):
        assert re.search(rf"^    {command}\b", result.stdout, re.MULTILINE), command
    assert "exit codes: 0 success, 1 failure" in result.stdout and "2 bad usage or input" in result.stdout
    assert "NO_COLOR" in result.stdout
