"""The lint gate: cfn-lint, through its Python API, informational rules and our rules included.

Imported only by the `lint` command and the tests (cfn-lint takes half a second to import)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

from tap_cfn import rules

# Nothing in the templates is region-specific (AZs come from Fn::GetAZs); two regions of
# different geographies catch a resource type or property one of them lacks.
REGIONS = ["us-east-1", "eu-west-1"]


def lint_one(path: Path) -> list[str]:
    # Our own rules (tap_cfn/rules/, one AWS fact each) run beside cfn-lint's, as in .cfnlintrc.
    config = ManualArgs(include_checks=["I"], regions=REGIONS, append_rules=[rules.MODULE])
    return [
        f"{path}:{match.linenumber}:{match.columnnumber}: {match.rule.id} {match.message}"
        for match in lint_file(path, config=config)
    ]


def lint(paths: Iterable[Path]) -> list[str]:
    """One line per finding, `file:line:column: RULE message`; empty when all is clean.
    Files are linted in parallel, a process per core; findings come back in path order."""
    ordered = sorted(paths)
    if len(ordered) < 4:
        return [line for path in ordered for line in lint_one(path)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [line for lines in pool.map(lint_one, ordered, chunksize=2) for line in lines]


def template_files(directory: Path) -> list[Path]:
    """Every generated template below `directory`."""
    return sorted(p for p in directory.rglob("*") if p.suffix in {".json", ".yaml"} and p.is_file())
