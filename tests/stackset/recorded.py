"""Recorded StackSet answers, shaped as the CloudFormation API reference documents them, and the
scripted client the operations and progress tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from tap_cfn.stackset.plan import Preferences
from tap_cfn.stackset.progress import Io
from tests.stackset import B, plan

SET_ID = "tap-demo:6f1d0b0e-3c1a-4a57-9d0c-2f1e8a6b9c01"
TEMPLATE = {
    "Parameters": {
        "EnvironmentSuffix": {"Type": "String"},
        "CertificateArn": {"Type": "String", "Default": ""},
    }
}
STACK_NAME = "StackSet-tap-demo-0f4e1c2b"
STACK_ID = f"arn:aws:cloudformation:eu-west-1:{B}:stack/{STACK_NAME}/7d1c0a9e-aa11-11ef-9a1b-06f1c2d3e4f5"


def client() -> Any:
    return boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def operation(stubber: Stubber, op_id: str, status: str, results: list[tuple[str, str, str, str]]) -> None:
    """One poll: DescribeStackSetOperation then ListStackSetOperationResults."""
    stubber.add_response(
        "describe_stack_set_operation",
        {
            "StackSetOperation": {
                "OperationId": op_id,
                "StackSetId": SET_ID,
                "Action": "CREATE",
                "Status": status,
                "CreationTimestamp": T0,
            }
        },
        {"StackSetName": "tap-demo", "OperationId": op_id},
    )
    summaries = [
        {
            "Account": account,
            "Region": region,
            "Status": state,
            **({"StatusReason": reason} if reason else {}),
            "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "Function not found"},
        }
        for account, region, state, reason in results
    ]
    stubber.add_response(
        "list_stack_set_operation_results",
        {"Summaries": summaries},
        {"StackSetName": "tap-demo", "OperationId": op_id},
    )


def not_found(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_stack_set", "StackSetNotFoundException", "StackSet tap-demo not found", 404
    )


def two_region_plan(**changes: Any) -> Any:
    """A certificate for eu-west-1 only, us-east-1 first, half the accounts at once."""
    return plan(
        **{
            "region_parameters": [
                "eu-west-1:CertificateArn=arn:aws:acm:eu-west-1:111111111111:certificate/eu"
            ],
            "preferences": Preferences("50%", "0", region_order=("us-east-1", "eu-west-1")),
            **changes,
        }
    )


T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


class Lines:
    def __init__(self, answers: list[str] | None = None) -> None:
        self.lines: list[str] = []
        self.answers = answers
        ask = (lambda _prompt: self.answers.pop(0)) if answers is not None else None
        self.io = Io(self.lines.append, ask, sleep=lambda _s: None, poll_seconds=0)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
