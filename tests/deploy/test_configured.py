"""`--config FILE`: deploy your own platform without committed templates (local endpoint)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import boto3
import pytest

from tap_cfn.deploy import configured
from tap_cfn.deploy.aws import Clients

from .test_cli_fixture import run
from .test_registry import MANIFEST, registry

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
    aws: str, clients: Clients, tmp_path: Path, terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a config of one's own and no templates folder at all, its registry deployed and v1 pushed
    config = tmp_path / "acme.yaml"
    config.write_text(OWN)
    assert registry(aws, terminal(), "deploy", "--config", str(config), "--yes") == 0
    boto3.client("ecr", endpoint_url=aws, region_name="us-east-1").put_image(
        repositoryName="acme/web", imageManifest=MANIFEST, imageTag="v1"
    )
    # and temporary folders made in an empty folder of the test's, the one generated into noted
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    generated_into: list[Path] = []
    render_into = configured.render_into

    def noting_render_into(config: Path, env: str, out: Path) -> Path:
        generated_into.append(out)
        return render_into(config, env, out)

    monkeypatch.setattr(configured, "render_into", noting_render_into)
    term = terminal()
    # WHEN deploying it with --config (preflight included) and a templates folder that does not exist
    code = run(aws, tmp_path / "none", term, "deploy", "--preflight", "--config", str(config),
               "--param", "WebImageTag=v1", "--yes")  # fmt: skip
    # THEN it was generated, linted, checked and deployed
    assert code == 0, term.stdout + term.stderr
    out = term.stdout
    assert out.index("Generated dev from") < out.index("cfn-lint: no findings") < out.index("Preflight for")
    assert "templates: " in out and "is current for the config" in out
    assert "ok    image WebImageTag: 123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/web:v1 exists" in out
    # the stack takes its name from the config's project
    stack = clients.cloudformation.describe_stacks(StackName="acme-demo")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # the templates were generated into a temporary folder, which is gone
    (out,) = generated_into
    assert out.parent == scratch and out.name.startswith("tap-cfn-")
    assert list(scratch.iterdir()) == []
    # and the templates folder given was never made
    assert not (tmp_path / "none").exists()
