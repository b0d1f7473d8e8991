"""Parsing and checking a StackSet plan (tap_cfn/stackset/plan.py); the instance calls a plan makes
are tests/stackset/test_operations.py."""

from __future__ import annotations

from typing import Any

import pytest

from tap_cfn import config as cfg
from tap_cfn import flat
from tap_cfn.stackset.operations import instance_calls
from tap_cfn.stackset.plan import PlanError, Preferences, account_global_names
from tests.stackset import A, plan


@pytest.mark.parametrize(
    ("prefs", "expected"),
    [
        (Preferences("2", "1"), {"MaxConcurrentCount": 2, "FailureToleranceCount": 1}),
        (Preferences("50%", "10%"), {"MaxConcurrentPercentage": 50, "FailureTolerancePercentage": 10}),
    ],
)
def test_counts_and_percentages_become_the_matching_preference(
    prefs: Preferences, expected: dict[str, int]
) -> None:
    api = prefs.as_api()
    assert {k: v for k, v in api.items() if k.startswith(("Max", "Failure"))} == expected
    assert api["RegionConcurrencyType"] == "SEQUENTIAL"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": (None, None)}, "exactly one of --accounts"),
        ({"targets": (A, "ou-ab12-abcdefgh")}, "exactly one of --accounts"),
        ({"targets": ("1234", None)}, "'1234' is not a 12-digit account ID"),
        ({"targets": (None, "ou-x")}, "'ou-x' is not an organizational unit ID"),
        ({"regions": "eu-west-1,moon"}, "'moon' is not a region name"),
        ({"parameters": [("Nope", "1")]}, "parameter Nope is not declared by the template"),
        ({"parameters": []}, "parameter EnvironmentSuffix has no default"),
        ({"region_parameters": ["ap-south-1:VpcCidr=10.1.0.0/16"]}, "ap-south-1 is not one of --regions"),
        ({"region_parameters": ["eu-west-1:VpcCidr"]}, "expected REGION:KEY=VALUE"),
        ({"preferences": Preferences("0")}, "--max-concurrent '0': at least 1"),
        ({"preferences": Preferences("1", "150%")}, "between 0% and 100%"),
        ({"preferences": Preferences(region_order=("ap-south-1",))}, "--region-order: ap-south-1"),
    ],
)
def test_bad_targets_and_options_are_refused_in_one_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan(**changes)


def test_iam_names_without_the_region_are_reported_for_multi_region_accounts() -> None:
    template = {
        "Resources": {
            "Global": {
                "Type": "AWS::IAM::Role",
                "Properties": {"RoleName": {"Fn::Sub": "tap-x-${EnvironmentSuffix}"}},
            },
            "Regional": {
                "Type": "AWS::IAM::Role",
                "Properties": {"RoleName": {"Fn::Sub": "tap-x-${AWS::Region}-${EnvironmentSuffix}"}},
            },
            "Unnamed": {"Type": "AWS::IAM::Role", "Properties": {}},
        }
    }
    assert account_global_names(template) == ["Global"]


def test_every_iam_role_name_of_the_flat_templates_varies_by_region() -> None:
    """Two regions of one account must not create the same role name: the roles carry no RoleName
    (CloudFormation names them per stack), and every other account-global name has the region."""
    clashing = {
        env: account_global_names(flat.build(cfg.Deployment(cfg.load(None), env))) for env in ("dev", "prod")
    }
    assert clashing == {"dev": [], "prod": []}


def test_two_regions_are_refused_while_an_iam_name_lacks_the_region_and_one_region_is_not() -> None:
    from tap_cfn.stackset.plan import check_regions_per_account

    template = {
        "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "tap-role-demo"}}}
    }
    with pytest.raises(PlanError, match=r"1 IAM names do not contain \$\{AWS::Region\} \(Role"):
        check_regions_per_account(plan(), template)
    check_regions_per_account(plan(regions="eu-west-1"), template)


CONFIGURED = {
    "eu-west-1": {
        "VpcCidr": "10.1.0.0/16",
        "CertificateArn": "arn:aws:acm:eu-west-1:111111111111:certificate/eu",
    },
    "us-east-1": {"VpcCidr": "10.2.0.0/16"},
    "ap-south-1": {"VpcCidr": "10.3.0.0/16"},  # in the config, not a target: ignored
}


def test_the_configs_region_values_become_each_regions_overrides() -> None:
    # GIVEN the config's values for three regions, two of them targets
    p = plan(configured=CONFIGURED)
    # WHEN the instances are planned THEN each target region is one operation with its own values
    assert [(kw["Regions"], kw["ParameterOverrides"]) for _c, kw, _n in instance_calls(p, [])] == [
        (
            ["eu-west-1"],
            [
                {
                    "ParameterKey": "CertificateArn",
                    "ParameterValue": "arn:aws:acm:eu-west-1:111111111111:certificate/eu",
                },
                {"ParameterKey": "VpcCidr", "ParameterValue": "10.1.0.0/16"},
            ],
        ),
        (["us-east-1"], [{"ParameterKey": "VpcCidr", "ParameterValue": "10.2.0.0/16"}]),
    ]


def test_a_region_param_wins_over_the_config_and_a_param_over_the_configs_key() -> None:
    p = plan(configured=CONFIGURED, region_parameters=["us-east-1:VpcCidr=10.9.0.0/16"])
    assert p.region_parameters["us-east-1"] == {"VpcCidr": "10.9.0.0/16"}
    assert p.region_parameters["eu-west-1"]["VpcCidr"] == "10.1.0.0/16"
    # a --param for every instance: the config's per-region values of that key give way
    p = plan(configured=CONFIGURED, parameters=[("EnvironmentSuffix", "demo"), ("VpcCidr", "10.8.0.0/16")])
    assert p.region_parameters == {
        "eu-west-1": {"CertificateArn": "arn:aws:acm:eu-west-1:111111111111:certificate/eu"}
    }


def test_preflight_and_preview_lines_show_each_regions_values_and_overlaps() -> None:
    from tap_cfn.stackset.plan import region_lines
    from tests.stackset import TEMPLATE

    p = plan(
        regions="eu-west-1,us-east-1,eu-central-1",
        configured={"eu-west-1": {"VpcCidr": "10.1.0.0/16"}, "us-east-1": {"VpcCidr": "10.0.0.0/16"}},
    )
    assert region_lines(p, TEMPLATE) == [
        "eu-west-1: VpcCidr=10.1.0.0/16",
        "us-east-1: VpcCidr=10.0.0.0/16",
        "eu-central-1: VpcCidr=10.0.0.0/16",  # the template's default
        "note: eu-central-1's VpcCidr 10.0.0.0/16 overlaps us-east-1's 10.0.0.0/16: they cannot be peered",
    ]
