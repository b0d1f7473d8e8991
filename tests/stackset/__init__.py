"""Shared by the StackSet tests: two accounts and a plan over a small template."""

from __future__ import annotations

from typing import Any

from tap_cfn.stackset.plan import Plan, Preferences, make_plan

A, B = "111111111111", "222222222222"
TEMPLATE = {
    "Parameters": {
        "EnvironmentSuffix": {"Type": "String"},
        "CertificateArn": {"Type": "String", "Default": ""},
        "VpcCidr": {"Type": "String", "Default": "10.0.0.0/16"},
    },
    "Resources": {},
}


def plan(**changes: Any) -> Plan:
    """Accounts A and B, eu-west-1 and us-east-1, the suffix given; `changes` replace arguments."""
    args: dict[str, Any] = {
        "name": "tap-demo",
        "template": TEMPLATE,
        "targets": (f"{A},{B}", None),
        "regions": "eu-west-1,us-east-1",
        "parameters": [("EnvironmentSuffix", "demo")],
        "region_parameters": [],
        "preferences": Preferences(),
    }
    args.update(changes)
    return make_plan(**args)
