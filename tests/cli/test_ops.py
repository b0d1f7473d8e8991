"""tap_cfn/cli/ops.py: the `cost` and `drift` commands (their reports are tested with tap_cfn/ops/
in tests/ops/: the recorded drift answers and the price figures come from there)."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tap_cfn import cli
from tap_cfn.cli import ops as commands
from tap_cfn.deploy.aws import Clients
from tests.ops.test_cost import AS_OF
from tests.ops.test_drift import (
    DATA_ARN,
    RETENTION_DRIFT,
    ROOT_ARN,
    SECURITY_ARN,
    status,
    stub_detect,
    stub_drifts,
    stub_root,
    stub_status,
    stub_tree,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_command_prints_a_table_per_item_and_the_total() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "generate.py"), "cost", "--env", "dev"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "as of " + AS_OF in result.stdout
    assert "NAT gateways (1)" in result.stdout and "$32.85" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("total")][0].endswith("$261.20")
    assert "not included:" in result.stdout


def test_the_comparison_shows_dev_and_prod_side_by_side() -> None:
    from io import StringIO

    from tap_cfn import cli
    from tap_cfn.cli.ops import handle_cost

    out = StringIO()
    args = cli.build_parser().parse_args(["cost"])
    assert handle_cost(args, out) == 0
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.startswith("item"))
    assert header.split() == ["item", "dev", "staging", "prod"]
    nat = next(line for line in lines if line.startswith("NAT gateways"))
    assert nat.split()[-3:] == ["$32.85", "$98.55", "$98.55"]
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1:] == ["$261.20", "$334.33", "$334.33"]

    out = StringIO()
    assert handle_cost(cli.build_parser().parse_args(["cost", "--json"]), out) == 0
    data = json.loads(out.getvalue())
    assert data["environments"]["dev"]["total"] == 261.20 and data["as_of"] == AS_OF


def drift_args(*extra: str) -> Any:
    return cli.build_parser().parse_args(["drift", *extra])


def test_the_command_prints_the_report_and_exits_3_when_drifted(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stub_tree(stubber)
    stub_detect(stubber)
    stub_status(stubber, status(ROOT_ARN, "d-root", "DETECTION_COMPLETE", "IN_SYNC"))
    stub_status(stubber, status(DATA_ARN, "d-data", "DETECTION_COMPLETE", "DRIFTED"))
    stub_status(stubber, status(SECURITY_ARN, "d-sec", "DETECTION_COMPLETE", "IN_SYNC"))
    stub_drifts(stubber, ROOT_ARN, [])
    stub_drifts(stubber, DATA_ARN, [RETENTION_DRIFT])
    stub_drifts(stubber, SECURITY_ARN, [])
    out = StringIO()
    code = commands.handle_drift(drift_args("--env", "dev", "--suffix", "dev", "-q"), cfn=client, out=out)
    assert code == 3
    assert "FrontendLogGroup (AWS::Logs::LogGroup /ecs/tap-frontend-dev): MODIFIED" in out.getvalue()


def test_the_command_refuses_a_stack_of_another_environment(
    cfn: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = cfn
    stub_root(stubber, environment="prod")  # nothing is detected: the fixture checks no call is left
    monkeypatch.setattr(commands.common, "clients", lambda args: Clients(client, None, None, "us-east-1"))
    assert cli.main(["drift", "--env", "dev", "--suffix", "dev", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: stack tap-dev is the prod environment, not dev"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["drift", "--env", "qa", "--suffix", "dev"], "unknown environment 'qa'"),
        (["drift", "--env", "all", "--suffix", "dev"], "drift works on one environment's stack"),
        (["drift", "--env", "dev", "--suffix", "Dev_1"], "--suffix: 'Dev_1': use lowercase letters"),
        (["drift", "--suffix", "dev"], "the following arguments are required: --env"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
