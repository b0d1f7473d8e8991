"""tap-cfn's cfn-lint rules: one AWS fact per file, each with the AWS page it rests on.

cfn-lint loads this folder with `--append-rules tap_cfn/rules` (`.cfnlintrc`, `generate.py lint`,
pre-commit). It imports every `[A-Za-z1-9]*.py` file here, so shared helpers live in `_common.py`.
Ids are E99xx/W99xx: cfn-lint's own `--custom-rules` files number theirs 9000 + line number."""

from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent


def table() -> str:
    """Our rules as the Markdown table the README shows (id, what must hold, the AWS page)."""
    from cfnlint.helpers import load_plugins  # cfn-lint is slow to import: only when asked

    lines = ["| rule | what must hold | source |", "|---|---|---|"]
    for rule in sorted(load_plugins(str(RULES_DIR)), key=lambda rule: rule.id):
        page = rule.source_url.rsplit("/", 1)[1].replace(".html", "")
        lines.append(f"| {rule.id} | {rule.shortdesc} | [{page}]({rule.source_url}) |")
    return "\n".join(lines) + "\n"
