"""The stack commands name the stack after the config's project and suggest commands that reach it."""

from __future__ import annotations

from pathlib import Path

from tap_cfn.cli import build_parser
from tap_cfn.cli.deploy import _target


def test_the_target_carries_the_config_into_the_commands_it_suggests(
    acme_config: Path,
) -> None:
    config = acme_config
    args = build_parser().parse_args(
        ["destroy", "--env", "prod", "--suffix", "blue", "--config", str(config), "--out", "/tmp/t"]
    )
    target = _target(args)
    assert target.stack_name == "acme-blue"
    assert target.root_template == Path("/tmp/t/prod/root.yaml")
    # with a config, deploy generates the templates from it: no --out to suggest
    assert target.command("deploy") == f"python generate.py deploy --env prod --suffix blue --config {config}"
    without_config = _target(
        build_parser().parse_args(["destroy", "--env", "prod", "--suffix", "blue", "--out", "/tmp/t"])
    )
    assert (
        without_config.command("deploy") == "python generate.py deploy --env prod --suffix blue --out /tmp/t"
    )


def test_with_the_defaults_the_suggested_command_is_the_short_one() -> None:
    target = _target(build_parser().parse_args(["outputs", "--env", "dev", "--suffix", "demo"]))
    assert target.stack_name == "tap-demo"
    assert target.command("destroy") == "python generate.py destroy --env dev --suffix demo"
