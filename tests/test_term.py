"""Colour only where a person looks at a terminal."""

from __future__ import annotations

import io

import pytest

from tap_cfn.term import RED, colour


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert colour("error:", RED, Tty()) == "\033[31merror:\033[0m"


def test_plain_text_in_a_pipe_or_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour("error:", RED, io.StringIO()) == "error:"


@pytest.mark.parametrize(("name", "value"), [("NO_COLOR", "1"), ("TERM", "dumb")])
def test_no_color_and_dumb_terminals_turn_it_off(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert colour("error:", RED, Tty()) == "error:"


def test_errors_from_the_cli_carry_no_escape_codes_when_piped() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "generate.py"
    result = subprocess.run(
        [sys.executable, str(script), "templates", "--env", "qa"], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "\033" not in result.stderr
