"""The README: the two commands first, the config reference generated from the schema and current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tap_cfn import config as cfg
from tap_cfn import docs
from tests.conftest import Built

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
STRUCTS = (cfg.Config, cfg.Environment, cfg.Capacity, cfg.Secret, cfg.Service, cfg.Route, cfg.Scaling)


def section(text: str, heading: str) -> str:
    match = re.search(rf"^### {heading}\n(.*?)(?=^### |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, heading
    return match.group(1)


def test_the_readme_config_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert docs.update(text) == text, (
        "run `python generate.py docs` (or `make templates`) and commit README.md"
    )


def test_every_field_of_every_struct_is_documented_with_its_default() -> None:
    reference = docs.reference()
    for struct in STRUCTS:
        rows = {
            cells[1].strip(" `"): [c.strip() for c in cells[2:-1]]
            for row in section(reference, struct.__name__).splitlines()
            if row.startswith("| `")
            for cells in [re.split(r"(?<!\\)\|", row)]  # a pattern's own \| is escaped
        }
        for field in msgspec.structs.fields(struct):
            assert field.name in rows, f"{struct.__name__}.{field.name}"
            kind, default, _, meaning = rows[field.name]
            assert kind and len(meaning) >= 10, f"{struct.__name__}.{field.name}"
            if field.required:
                assert default == "**required**"
            elif field.default is not msgspec.NODEFAULT and not isinstance(field.default, msgspec.Struct):
                shown = (
                    "none" if field.default is None else f"`{msgspec.json.encode(field.default).decode()}`"
                )
                assert default.replace(" ", "") == shown.replace(" ", ""), f"{struct.__name__}.{field.name}"


def test_constraints_and_links_come_from_the_schema() -> None:
    service = section(docs.reference(), "Service")
    assert re.search(r"^\| `port` \| integer or null \| none \| 1 ≤ x ≤ 65535 \|", service, re.MULTILINE)
    assert "| `route` | [Route](#route) | see the struct |" in service
    # placeholders are escaped, or Markdown would swallow them as HTML tags
    assert "${service.&lt;name&gt;.url}" in service


def test_patterns_read_in_the_words_the_errors_use_then_the_regex() -> None:
    top = docs.reference()
    assert (
        '| `project` | string | `"tap"` | a lowercase letter, then at most 9 lowercase letters or digits '
        "(`^[a-z][a-z0-9]{0,9}$`) |" in top
    )
    assert (
        "names: letters, digits and underscores, not starting with a digit (`^[A-Za-z_][A-Za-z0-9_]*$`)"
        in top
    )


def test_markers_are_required(tmp_path: Path) -> None:
    with pytest.raises(docs.MarkerError, match="BEGIN config-reference"):
        docs.update("# README without markers\n")
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "generate.py"), "docs", "--readme", str(readme)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_check_reports_a_stale_reference_and_writes_nothing(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    stale = README.read_text(encoding="utf-8").replace("Container port;", "Port;")
    readme.write_text(stale, encoding="utf-8")
    args = [sys.executable, str(REPO / "generate.py"), "docs", "--readme", str(readme)]
    checked = subprocess.run([*args, "--check"], capture_output=True, text=True, check=False)
    assert checked.returncode == 1 and "stale" in checked.stderr
    assert readme.read_text(encoding="utf-8") == stale
    assert subprocess.run(args, capture_output=True, check=False).returncode == 0
    assert readme.read_text(encoding="utf-8") == README.read_text(encoding="utf-8")


def test_the_readme_starts_with_the_two_commands_and_has_the_promised_sections() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert first_block and [line.split("#")[0].strip() for line in first_block.group(1).splitlines()] == [
        "make templates",
        "make test",
    ]
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    for heading in (
        "Generate and review",
        "Your own platform",
        "Deploy",
        "Operate",
        "Exit codes",
        "Config reference",
        "Troubleshooting",
        "Security",
    ):
        assert heading in headings
    troubles = text.split("## Troubleshooting")[1].split("\n## ")[0]
    for topic in ("nested stack", "circuit breaker", "ROLLBACK_COMPLETE", "MaxLength"):
        assert topic in troubles, topic


def test_the_readme_names_every_root_parameter_and_output_of_every_profile(built: dict[str, Built]) -> None:
    """Hand-written in "Stacks and parameters": what a user types and what they read back."""
    text = README.read_text(encoding="utf-8")
    stacks = text.split("### Stacks and parameters\n")[1].split("\n## ")[0]
    for env, environment in built.items():
        for key in [*environment.root["Parameters"], *environment.root["Outputs"]]:
            assert f"`{key}`" in stacks, f"{env}: {key}"
