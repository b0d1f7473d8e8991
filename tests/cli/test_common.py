"""What every command shares: one-line errors and their exit codes, --env checked before AWS,
the stack named after the config's project."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import botocore.session
import pytest
from botocore.stub import Stubber

from tap_cfn import cli
from tap_cfn.cli import generate
from tap_cfn.deploy import aws
from tap_cfn.deploy.aws import Clients

STACK_COMMANDS = ["deploy", "destroy", "outputs", "drift"]


def fail(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError("an AWS client was asked for")


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to make a session or a client fails the test."""
    import boto3

    for target, name in [(aws, "make_session"), (aws, "make_clients"), (aws, "connect"), (boto3, "Session")]:
        monkeypatch.setattr(target, name, fail)
    monkeypatch.setattr(boto3, "client", fail)


@pytest.mark.parametrize("command", STACK_COMMANDS)
def test_an_unknown_env_exits_2_naming_the_known_ones_before_any_client(
    command: str, no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([command, "--env", "qa", "--suffix", "demo", "--region", "us-east-1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --env: unknown environment 'qa'; known: dev, staging, prod"
    ]


@pytest.mark.parametrize("command", STACK_COMMANDS)
def test_all_is_not_a_stack(command: str, no_aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--env", "all", "--suffix", "demo"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: --env: {command} works on one environment's stack; name it"
    ]


@pytest.mark.parametrize("command", ["templates", "cost"])
def test_an_unknown_env_of_the_offline_commands_offers_all(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [command, "--env", "qa"] + (["--out", str(tmp_path)] if command == "templates" else [])
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --env: unknown environment 'qa'; known: dev, staging, prod, all"
    ]


@pytest.fixture
def schema_raises(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """Make the `schema` command end with the given exception."""

    def arm(exc: BaseException) -> None:
        def broken(args: Any) -> int:
            raise exc

        monkeypatch.setattr(generate, "cmd_schema", broken)

    return arm


def test_an_unexpected_error_is_one_line_exit_1(
    schema_raises: Callable[[BaseException], None], capsys: pytest.CaptureFixture[str]
) -> None:
    schema_raises(RuntimeError("disk on fire"))
    assert cli.main(["schema"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: RuntimeError: disk on fire (run with --verbose for the traceback)"
    ]


def test_verbose_adds_the_traceback_before_the_line(
    schema_raises: Callable[[BaseException], None], capsys: pytest.CaptureFixture[str]
) -> None:
    schema_raises(RuntimeError("disk on fire"))
    assert cli.main(["schema", "--verbose"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "Traceback (most recent call last):"
    assert "RuntimeError: disk on fire" in err
    assert err[-1] == "error: RuntimeError: disk on fire"


def test_an_interrupt_is_one_line_exit_1(
    schema_raises: Callable[[BaseException], None], capsys: pytest.CaptureFixture[str]
) -> None:
    schema_raises(KeyboardInterrupt())
    assert cli.main(["schema"]) == 1
    assert capsys.readouterr().err == "error: interrupted\n"


def test_verbose_adds_no_traceback_to_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cost", "--env", "qa", "--verbose"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_a_bad_option_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["outputs", "--env", "dev", "--suffix", "Demo_1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: generate.py outputs: argument --suffix: 'Demo_1': "
        "use lowercase letters, digits and inner hyphens"
    ]


def test_the_stack_is_named_after_the_configs_project(
    acme_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a config whose project is acme, and a CloudFormation that knows only acme-demo
    cfn = botocore.session.get_session().create_client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(cfn)
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "acme-demo",
                    "CreationTime": "2026-11-29T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": "AlbUrl", "OutputValue": "http://acme.example"}],
                }
            ]
        },
        expected_params={"StackName": "acme-demo"},
    )
    seen: list[tuple[str | None, str | None, str | None]] = []

    def connect(profile: str | None, region: str | None, endpoint_url: str | None) -> Clients:
        seen.append((profile, region, endpoint_url))
        return Clients(cfn, None, None, "us-east-1")

    monkeypatch.setattr(aws, "connect", connect)
    argv = ["outputs", "--env", "dev", "--suffix", "demo", "--config", str(acme_config)]
    # WHEN its outputs are asked for
    with stubber:
        code = cli.main([*argv, "--json", "--profile", "ops", "--region", "eu-west-1"])
    # THEN the stack asked about is acme-demo, through the one client factory with the session options
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out) == {"AlbUrl": "http://acme.example"}
    assert seen == [("ops", "eu-west-1", None)]
    stubber.assert_no_pending_responses()
