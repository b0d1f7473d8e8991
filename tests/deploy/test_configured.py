"""`--config FILE`: deploy your own platform without committed templates (local endpoint)."""

from __future__ import annotations

from pathlib import Path

from tap_cfn.deploy.aws import Clients

from .test_cli_fixture import run

OWN = """\
project: acme
environments:
  dev:
    nat: single
    az_count: 2
    retain_data: false
services:
  - name: web
    port: 8080
    cpu: 256
    memory: 512
    route: {type: alb, default: true}
"""


def test_deploy_with_config_generates_lints_checks_and_deploys_without_a_templates_folder(
    aws: str, clients: Clients, tmp_path: Path, terminal
) -> None:
    # GIVEN a config of one's own and no templates folder at all
    config = tmp_path / "acme.yaml"
    config.write_text(OWN)
    term = terminal()
    # WHEN deploying it with --config (preflight included)
    code = run(aws, tmp_path / "none", term, "deploy", "--preflight", "--config", str(config),
               "--param", "WebImageTag=v1", "--yes")  # fmt: skip
    # THEN it was generated, linted, checked and deployed
    assert code == 0, term.stdout + term.stderr
    out = term.stdout
    assert out.index("Generated dev from") < out.index("cfn-lint: no findings") < out.index("Preflight for")
    assert "templates: " in out and "is current for the config" in out
    # the stack takes its name from the config's project
    stack = clients.cloudformation.describe_stacks(StackName="acme-demo")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # and the temporary folder is gone
    assert not (tmp_path / "none").exists()
