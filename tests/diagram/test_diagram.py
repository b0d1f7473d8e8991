"""`generate.py diagram` (tap_cfn/diagram/__init__.py): what it writes is deterministic, fits a
slide, carries its legend, is readable and current. The renderers have their own test files
(test_dot.py, test_mermaid.py); the model is test_model.py."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tap_cfn import diagram
from tap_cfn.diagram import dot
from tests.diagram.conftest import REPO

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
DRAWN = ("README.md", "services.dot", "services.svg", "topology.dot", "topology.svg")


def svg_size(svg: str) -> tuple[float, float]:
    match = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert match, svg[:300]
    return float(match[1]), float(match[2])


@needs_dot
def test_the_command_writes_svg_and_readme_byte_identically(folders: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "t"
    shutil.copytree(folders["dev"], out / "dev")
    args = [sys.executable, str(REPO / "generate.py"), "diagram", "--out", str(out), "--env", "dev"]
    first = subprocess.run(args, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    before = {name: (out / "dev" / name).read_bytes() for name in DRAWN}
    svg = before[diagram.SVG_FILE]
    assert svg.startswith(b"<?xml") and b"<svg" in svg and b"target group, HTTP :8080" in svg
    assert b"```mermaid\nflowchart LR\n" in before[diagram.README_FILE]
    assert subprocess.run(args, capture_output=True, check=False).returncode == 0
    assert {name: (out / "dev" / name).read_bytes() for name in DRAWN} == before


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_committed_drawings_fit_a_slide_and_carry_their_legend(env: str) -> None:
    """Measured on the committed SVGs (drawn from the committed DOT text: see the staleness test)."""
    for name in (diagram.SVG_FILE, diagram.SERVICES_SVG_FILE):
        svg = (REPO / "templates" / env / name).read_text(encoding="utf-8")
        width, height = svg_size(svg)
        assert width / height <= 2.0 and height / width <= 2.0, (name, width, height)
        assert "request path (listener, rule, container port)" in svg  # the legend, inside the picture
        assert "security group allows it" in svg


def test_drawings_are_readable_by_everyone_and_earlier_ones_removed(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    """GIVEN a folder holding drawings of another config, WHEN redrawn, THEN each file is 0644
    (whatever the umask) and no drawing of the earlier config stays."""
    shutil.copytree(folders["dev"], tmp_path / "dev")
    folder = tmp_path / "dev"
    (folder / "services.svg").write_text('<?xml version="1.0"?>\n<!-- tap-cfn: drawn from DOT sha256 0 -->\n')
    (folder / "services.dot").write_text("digraph old {}\n")
    (folder / "notes.txt").write_text("mine\n")
    previous = os.umask(0o077)
    try:
        _, files = diagram.render(folder, svg=False)
        diagram.write(folder, files)
    finally:
        os.umask(previous)
    assert sorted(files) == ["README.md", "services.dot", "topology.dot"]
    assert not (folder / "services.svg").exists() and (folder / "notes.txt").read_text() == "mine\n"
    for name in files:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644, name
    # the stale drawing is replaced by the services view of these templates (the packaged services)
    services = (folder / "services.dot").read_text()
    assert services.startswith("digraph") and "digraph old" not in services
    for name in ("frontend", "api-gateway", "processing"):
        assert f'[label="{name}\\n' in services, name


@needs_dot
def test_a_current_svg_is_kept_whatever_graphviz_drew_it(folders: dict[str, Path], tmp_path: Path) -> None:
    shutil.copytree(folders["dev"], tmp_path / "dev")
    folder = tmp_path / "dev"
    diagram.write(folder, diagram.render(folder)[1])
    text = (folder / "topology.dot").read_text()
    # as another Graphviz version would have drawn it: other bytes, the same stamp
    other = f'<?xml version="1.0"?>\n{dot.stamp(text)}\n<svg width="10pt" height="10pt"></svg>\n'
    (folder / diagram.SVG_FILE).write_text(other)
    _, files = diagram.render(folder)
    assert diagram.SVG_FILE not in files and diagram.SERVICES_SVG_FILE not in files
    diagram.write(folder, files)
    assert (folder / diagram.SVG_FILE).read_text() == other


def test_diagram_without_templates_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    args = [sys.executable, str(REPO / "generate.py"), "diagram", "--out", str(tmp_path)]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: diagram: no <env>/root.json in {tmp_path}; run `python generate.py templates` first"
    ]
    assert list(tmp_path.iterdir()) == []


def test_diagram_without_graphviz_skips_the_svgs_with_one_line_saying_how_to_get_it(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    shutil.copytree(folders["dev"], tmp_path / "dev")
    env = {"PATH": str(Path(sys.executable).parent)}  # python, but no dot
    args = [sys.executable, str(REPO / "generate.py"), "diagram", "--out", str(tmp_path), "--quiet"]
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "diagram: SVG skipped: Graphviz `dot` not found "
        "(apt-get install graphviz, or brew install graphviz on macOS)"
    ]
    drawn = sorted(p.name for p in (tmp_path / "dev").iterdir() if not p.name.endswith((".json", ".yaml")))
    assert drawn == ["README.md", "services.dot", "topology.dot"]


def test_committed_diagrams_are_current() -> None:
    """templates/<env>/: README.md and the DOT files match a redraw, and each SVG was drawn from
    its DOT file (the stamp), so the check does not depend on the local Graphviz version."""
    for env in ("dev", "staging", "prod"):
        committed = REPO / "templates" / env
        _, files = diagram.render(committed, svg=False)
        for name, text in files.items():
            assert (committed / name).read_text(encoding="utf-8") == text, (
                f"templates/{env}/{name} is stale: run `make templates` and commit"
            )
        for dot_file, svg_file in diagram.VIEWS.values():
            assert diagram.is_current(committed / svg_file, files[dot_file]), (
                f"templates/{env}/{svg_file} is stale: run `make diagram` and commit"
            )
