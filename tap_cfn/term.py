"""Colour on a terminal only: `colour("error", RED, sys.stderr)`.

Plain text when the stream is not a terminal (pipes, files, CI logs), when NO_COLOR is set to
anything non-empty (https://no-color.org) or when TERM is `dumb`. Cheap to import: the generator's
CLI and the deployer both use it.
"""

from __future__ import annotations

import os
from typing import TextIO

RED, GREEN, YELLOW, BLUE, BOLD, DIM = "31", "32", "33", "34", "1", "2"


def enabled(stream: TextIO) -> bool:
    """Whether escape codes written to `stream` will be shown as colour."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def colour(text: str, code: str, stream: TextIO) -> str:
    """`text` wrapped in the SGR `code` (e.g. RED, or "1;31") when `stream` shows colour."""
    return f"\033[{code}m{text}\033[0m" if enabled(stream) else text
