"""Every subcommand explains itself: a description, examples to copy and its exit codes.

The commands are discovered from the parser, so a new command cannot escape the check.
"""

from __future__ import annotations

import argparse
import re

import pytest

from tap_cfn.cli import build_parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_group_is_registered() -> None:
    # the floor, not the list: a command that disappears fails here
    expected = {
        "templates",
        "diagram",
        "lint",
        "docs",
        "schema",
        "deploy",
        "destroy",
        "outputs",
        "registry",
        "images",
    }
    assert expected | {"drift", "cost"} <= set(subcommands())


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_help_has_a_description_examples_and_the_exit_codes(name: str) -> None:
    parser = subcommands()[name]
    text = parser.format_help()
    assert parser.description and len(parser.description.split()) >= 5, "a description"
    examples = text.split("examples:\n", 1)
    assert len(examples) == 2, "an `examples:` section"
    assert re.search(rf"^  python generate\.py {re.escape(name)}\b", examples[1], re.MULTILINE)
    assert re.search(r"^exit codes: 0 [^\n]*, 1 [^\n]*, 2 bad usage or input$", text, re.MULTILINE)
    assert "--quiet" in text and "--verbose" in text
    assert max(len(line) for line in text.splitlines()) <= 100


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_reading_templates_spells_the_folder_out(name: str) -> None:
    options = {o for a in subcommands()[name]._actions for o in a.option_strings}
    assert not options & {"--dir", "--templates"}
    positionals = [
        a.dest
        for a in subcommands()[name]._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)  # stackset's ACTION
    ]
    assert positionals == []
