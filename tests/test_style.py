"""House rules on the code itself (STYLE.md) that a test can hold."""

from __future__ import annotations

import ast
from pathlib import Path

import tap_cfn

MAX_FUNCTION_LINES = 60  # "functions a reader can hold"


def test_no_function_in_the_package_is_longer_than_a_reader_can_hold() -> None:
    package = Path(tap_cfn.__file__).parent
    long = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(
                        f"{path.relative_to(package.parent)}:{node.lineno} {node.name} ({lines} lines)"
                    )
    assert long == []


def test_every_test_the_scheduler_starts_first_exists() -> None:
    # tests/conftest.py names the longest tests as text; a renamed one would silently lose its place
    from tests.conftest import LONGEST

    tests = Path(__file__).parent
    defined = {
        node.name
        for path in tests.rglob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
    }
    assert [name for name in LONGEST if name not in defined] == []
