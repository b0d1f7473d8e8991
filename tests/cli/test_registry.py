"""`images` (tap_cfn/cli/registry.py): per service its repository and the lines that push to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tap_cfn import cli

FIXTURE = Path(__file__).parent.parent / "fixtures" / "real-services.yaml"
HOST = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"


def test_images_prints_the_login_once_and_per_service_its_tag_and_push_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the real-services fixture: web, jobs and api run the platform's image, reports an external one
    argv = ["images", "--env", "dev", "--tag", "v2.0.1", "--config", str(FIXTURE)]
    # WHEN images is asked for a registry named in full (no AWS call)
    code = cli.main([*argv, "--account", "210987654321", "--region", "eu-west-1", "--profile", "ci"])
    # THEN it prints exactly what to run, in service order
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "Images of real (env dev), registry 210987654321 in eu-west-1, tag v2.0.1",
        "",
        "Log in once (the token lasts 12 hours):",
        "  aws ecr get-login-password --region eu-west-1 --profile ci | "
        f"docker login --username AWS --password-stdin {HOST}",
        "",
        f"web: {HOST}/real/web",
        f"  docker tag web:v2.0.1 {HOST}/real/web:v2.0.1",
        f"  docker push {HOST}/real/web:v2.0.1",
        "",
        "reports: external image ghcr.io/example/reports:2.3.1, pulled from its registry (nothing to push)",
        "",
        f"api: {HOST}/real/api",
        f"  docker tag api:v2.0.1 {HOST}/real/api:v2.0.1",
        f"  docker push {HOST}/real/api:v2.0.1",
        "",
        f"jobs: {HOST}/real/jobs",
        f"  docker tag jobs:v2.0.1 {HOST}/real/jobs:v2.0.1",
        f"  docker push {HOST}/real/jobs:v2.0.1",
        "",
        "Then deploy with:",
        "  --param WebImageTag=v2.0.1 --param ApiImageTag=v2.0.1 --param JobsImageTag=v2.0.1",
    ]


def test_images_in_a_china_region_log_in_to_the_cn_host(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["images", "--env", "prod", "--tag", "v1", "--account", "210987654321", "--region", "cn-north-1"]
    )
    assert code == 0
    assert (
        "docker push 210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/tap/frontend:v1"
        in capsys.readouterr().out
    )


def test_without_a_tag_the_lines_use_a_shell_variable(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["images", "--env", "dev", "--account", "210987654321", "--region", "eu-west-1"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"  docker push {HOST}/tap/frontend:$TAG\n" in out
    assert (
        "  --param FrontendImageTag=$TAG --param ApiGatewayImageTag=$TAG --param ProcessingImageTag=$TAG"
        in out
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tag", "latest"], "argument --tag: 'latest': 1 to 128 letters, digits, '_', '.', '-'"),
        (["--account", "12345"], "argument --account: '12345': an AWS account ID is 12 digits"),
        (["--env", "qa"], "--env: unknown environment 'qa'; known: dev, staging, prod"),
    ],
)
def test_bad_images_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["images", "--env", "dev", "--account", "210987654321", "--region", "eu-west-1", *argv])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
