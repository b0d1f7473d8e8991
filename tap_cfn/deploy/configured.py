"""`--config FILE` on the deploy commands: the templates are generated from the config into a
temporary folder (and linted before a deploy), so no committed templates/ are needed."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tap_cfn.deploy.deployer import Console, UsageError


class LintFailed(Exception):
    """cfn-lint found problems in the templates generated from the config (printed already)."""


def render_into(config: Path, env: str, out: Path) -> Path:
    """Generate env's templates (YAML) from `config` into out/<env>/; returns `out`."""
    from tap_cfn import config as cfg
    from tap_cfn import generator

    platform = cfg.load(config)
    if env not in platform.environments:
        raise UsageError(
            f"--env {env}: {config} has no such environment; known: {', '.join(platform.environments)}"
        )
    generator.write(out, {env: generator.render_environment(cfg.Deployment(platform, env), ["yaml"])})
    return out


@contextmanager
def templates_for(
    config: Path | None, env: str, templates: Path, lint: bool, console: Console
) -> Iterator[Path]:
    """The templates folder to use: `templates` as given, or one generated from `config` for the
    duration of the command (cfn-lint first when `lint`, any finding stops it)."""
    if config is None:
        yield templates
        return
    with tempfile.TemporaryDirectory(prefix="tap-cfn-") as tmp:
        out = render_into(config, env, Path(tmp))
        console.say(f"Generated {env} from {config} into a temporary folder")
        if lint:
            from tap_cfn.lint import lint as run_lint
            from tap_cfn.lint import template_files

            findings = run_lint(template_files(out / env))
            for line in findings:
                console.warn(line)
            if findings:
                raise LintFailed(
                    f"cfn-lint: {len(findings)} finding(s) in the templates generated from {config}"
                )
            console.say("cfn-lint: no findings")
        yield out
