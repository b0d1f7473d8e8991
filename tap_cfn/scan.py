"""The checkov skips in the generated templates, as the table the README's Security section shows.

A check is skipped only through `checkov: skip` in a resource's Metadata (see
`stacks.base.skip_check`), with its reason. `python -m tap_cfn.scan` prints the table; a test
keeps the README equal to it, so the list cannot drift from the templates."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tap_cfn import config as cfg
from tap_cfn import generator


@dataclass(frozen=True)
class Skip:
    stack: str
    logical_id: str
    check: str
    reason: str


def skips(templates: Mapping[str, Mapping[str, Any]]) -> list[Skip]:
    """Every skip in `templates` (stem -> template dict), in stack, resource and check order."""
    found = []
    for stem, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                found.append(Skip(stem, logical_id, entry.get("id", ""), entry.get("comment", "")))
    return sorted(found, key=lambda s: (s.stack, s.logical_id, s.check))


def table(by_profile: Mapping[str, Iterable[Skip]]) -> str:
    """Markdown table of the skips of every profile; a skip found in some profiles only says which."""
    profiles: dict[Skip, list[str]] = {}
    for profile, found in by_profile.items():
        for skip in found:
            profiles.setdefault(skip, []).append(profile)
    lines = ["| stack | resource | check | profiles | reason |", "|---|---|---|---|---|"]
    for skip in sorted(profiles, key=lambda s: (s.stack, s.logical_id, s.check)):
        where = profiles[skip]
        shown = "all" if len(where) == len(by_profile) else ", ".join(where)
        lines.append(f"| {skip.stack} | `{skip.logical_id}` | {skip.check} | {shown} | {skip.reason} |")
    return "\n".join(lines) + "\n"


def packaged_table() -> str:
    """The table for the packaged config, every profile."""
    config = cfg.load()
    by_profile = {}
    for env in config.environments:
        by_profile[env] = skips(generator.build_environment(cfg.Deployment(config, env)))
    return table(by_profile)


if __name__ == "__main__":
    sys.stdout.write(packaged_table())
