"""The StackSet roles template (tap_cfn/stackset/roles.py): what each role may do, and the lint gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_cfn.cli import main
from tap_cfn.lint import lint


class _Loader(yaml.SafeLoader):
    """Short-form tags read as {"Fn::X": value} / {"Ref": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value = (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
    )  # type: ignore[arg-type]
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def roles_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("roles") / "roles.yaml"
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["stackset", "roles", "--env", "prod"]) == 0
    out.write_text(buffer.getvalue(), encoding="utf-8")
    return out


def test_the_roles_template_passes_the_lint_gate(roles_file: Path) -> None:
    assert lint([roles_file]) == []


def test_the_administration_role_exists_only_in_the_administrator_account_and_only_assumes_the_execution_role(
    roles_file: Path,
) -> None:
    resources = yaml.load(roles_file.read_text(), Loader=_Loader)["Resources"]
    admin = resources["AdministrationRole"]
    assert admin["Condition"] == "IsAdministrator"
    assert admin["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "cloudformation.amazonaws.com"
    }
    (statement,) = admin["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/AWSCloudFormationStackSetExecutionRole"}
    ]


def test_the_execution_role_trusts_the_administrator_account_and_can_make_a_hosted_zone(
    roles_file: Path,
) -> None:
    role = yaml.load(roles_file.read_text(), Loader=_Loader)["Resources"]["ExecutionRole"]["Properties"]
    assert role["RoleName"] == "AWSCloudFormationStackSetExecutionRole"
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AdministratorAccountId}:root"}}
    actions = role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"]
    # the platform's load balancer, service discovery (a Route 53 private zone) and roles
    assert {"elasticloadbalancing:*", "servicediscovery:*", "route53:*", "iam:*"} <= set(actions)
    assert "*" not in actions
