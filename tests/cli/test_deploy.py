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


def test_deploy_in_a_region_takes_that_regions_values_from_the_config_and_a_param_wins(
    tmp_path: Path,
) -> None:
    import yaml

    from tap_cfn import config as cfg
    from tap_cfn.cli.deploy import _parameters
    from tap_cfn.deploy.aws import Clients

    # GIVEN prod with its own range and certificate in eu-west-1
    raw = yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text())
    cert = "arn:aws:acm:eu-west-1:111111111111:certificate/0b0e2f51-6c5d-4c4f-9d2e-1a2b3c4d5e6f"
    raw["environments"]["prod"]["regions"] = {
        "eu-west-1": {"vpc_cidr": "10.1.0.0/16", "certificate_arn": cert}
    }
    config = tmp_path / "platform.yaml"
    config.write_text(yaml.safe_dump(raw))

    def values(region: str, *argv: str) -> dict[str, str]:
        args = build_parser().parse_args(
            ["deploy", "--env", "prod", "--suffix", "prod", "--config", str(config), *argv]
        )
        return _parameters(args, Clients(None, None, None, region))

    # WHEN deploying in eu-west-1 THEN its values; elsewhere none; a --param wins
    assert values("eu-west-1", "--param", "A=1") == {
        "VpcCidr": "10.1.0.0/16",
        "CertificateArn": cert,
        "A": "1",
    }
    assert values("us-east-1") == {}
    assert values("eu-west-1", "--param", "VpcCidr=10.7.0.0/16")["VpcCidr"] == "10.7.0.0/16"
