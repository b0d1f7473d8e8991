"""Drift detection on recorded, real-shaped CloudFormation answers (botocore Stubber validates every
request and response against the service model).

The local endpoint cannot be used here: moto 5.2.5's CloudFormation implements none of the drift
operations (DetectStackDrift, DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts
answer HTTP 500 "has not been implemented").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from tap_cfn.ops import drift

NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
ACCOUNT = "123456789012"
ROOT = "tap-dev"


def arn(name: str, uid: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/{uid}"


ROOT_ARN = arn(ROOT, "11111111-aaaa-bbbb-cccc-000000000001")
DATA_ARN = arn(f"{ROOT}-DataStack-1ABCDEF", "22222222-aaaa-bbbb-cccc-000000000002")
SECURITY_ARN = arn(f"{ROOT}-SecurityStack-2BCDEFG", "33333333-aaaa-bbbb-cccc-000000000003")


@pytest.fixture
def cfn() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.get_session().create_client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def summary(logical_id: str, kind: str, physical_id: str) -> dict[str, Any]:
    return {
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": kind,
        "LastUpdatedTimestamp": NOW,
        "ResourceStatus": "CREATE_COMPLETE",
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    }


def stub_root(stubber: Stubber, environment: str = "dev") -> None:
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": ROOT,
                    "StackId": ROOT_ARN,
                    "CreationTime": NOW,
                    "StackStatus": "UPDATE_COMPLETE",
                    "Tags": [
                        {"Key": "ManagedBy", "Value": "tap-cfn"},
                        {"Key": "Environment", "Value": environment},
                    ],
                }
            ]
        },
        {"StackName": ROOT},
    )


def stub_tree(stubber: Stubber) -> None:
    stub_root(stubber)
    stubber.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                summary("SecurityStack", "AWS::CloudFormation::Stack", SECURITY_ARN),
                summary("DataStack", "AWS::CloudFormation::Stack", DATA_ARN),
            ]
        },
        {"StackName": ROOT_ARN},
    )
    # nested stacks are visited in logical-ID order: DataStack, then SecurityStack
    stubber.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                summary("FrontendLogGroup", "AWS::Logs::LogGroup", "/ecs/tap-frontend-dev"),
                summary("Key", "AWS::KMS::Key", "0f1e2d3c-aaaa-bbbb-cccc-444455556666"),
            ]
        },
        {"StackName": DATA_ARN},
    )
    stubber.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                summary("AlbSecurityGroup", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0")
            ]
        },
        {"StackName": SECURITY_ARN},
    )


def stub_detect(stubber: Stubber) -> None:
    for stack_arn, detection_id in ((ROOT_ARN, "d-root"), (DATA_ARN, "d-data"), (SECURITY_ARN, "d-sec")):
        stubber.add_response(
            "detect_stack_drift",
            {"StackDriftDetectionId": f"{detection_id}-0000-0000-0000-000000000000"},
            {"StackName": stack_arn},
        )


def status(
    stack_arn: str,
    detection_id: str,
    detection: str,
    drift_status: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "StackId": stack_arn,
        "StackDriftDetectionId": f"{detection_id}-0000-0000-0000-000000000000",
        "DetectionStatus": detection,
        "Timestamp": NOW,
    }
    if drift_status:
        answer["StackDriftStatus"] = drift_status
        answer["DriftedStackResourceCount"] = 1 if drift_status == "DRIFTED" else 0
    if reason:
        answer["DetectionStatusReason"] = reason
    return answer


def stub_status(stubber: Stubber, answer: dict[str, Any]) -> None:
    stubber.add_response(
        "describe_stack_drift_detection_status",
        answer,
        {"StackDriftDetectionId": answer["StackDriftDetectionId"]},
    )


def stub_drifts(
    stubber: Stubber, stack_arn: str, drifts: list[dict[str, Any]], token: str | None = None
) -> None:
    expected: dict[str, Any] = {
        "StackName": stack_arn,
        "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"],
    }
    if token:
        expected["NextToken"] = token
    stubber.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": drifts}, expected)


RETENTION_DRIFT = {
    "StackId": DATA_ARN,
    "LogicalResourceId": "FrontendLogGroup",
    "PhysicalResourceId": "/ecs/tap-frontend-dev",
    "ResourceType": "AWS::Logs::LogGroup",
    "ExpectedProperties": '{"LogGroupName":"/ecs/tap-frontend-dev","RetentionInDays":7}',
    "ActualProperties": '{"LogGroupName":"/ecs/tap-frontend-dev","RetentionInDays":14}',
    "PropertyDifferences": [
        {
            "PropertyPath": "/RetentionInDays",
            "ExpectedValue": "7",
            "ActualValue": "14",
            "DifferenceType": "NOT_EQUAL",
        }
    ],
    "StackResourceDriftStatus": "MODIFIED",
    "Timestamp": NOW,
}
INGRESS_DRIFT = {
    "StackId": SECURITY_ARN,
    "LogicalResourceId": "AlbSecurityGroup",
    "PhysicalResourceId": "sg-0123456789abcdef0",
    "ResourceType": "AWS::EC2::SecurityGroup",
    "ExpectedProperties": '{"SecurityGroupIngress":[]}',
    "ActualProperties": '{"SecurityGroupIngress":[{"CidrIp":"0.0.0.0/0","FromPort":22}]}',
    "PropertyDifferences": [
        {
            "PropertyPath": "/SecurityGroupIngress/0",
            "ExpectedValue": "null",
            "ActualValue": '{"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22}',
            "DifferenceType": "ADD",
        }
    ],
    "StackResourceDriftStatus": "MODIFIED",
    "Timestamp": NOW,
}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def run(client: Any, time: FakeTime, **kwargs: Any) -> drift.DriftReport:
    return drift.detect(client, ROOT, environment="dev", sleep=time.sleep, clock=time.clock, **kwargs)


def test_drift_in_nested_stacks_is_found_and_printed_with_its_differences(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stub_tree(stubber)
    stub_detect(stubber)
    # first round: the root and the security stack are done, the data stack is still detecting
    stub_status(stubber, status(ROOT_ARN, "d-root", "DETECTION_COMPLETE", "IN_SYNC"))
    stub_status(stubber, status(DATA_ARN, "d-data", "DETECTION_IN_PROGRESS"))
    stub_status(stubber, status(SECURITY_ARN, "d-sec", "DETECTION_COMPLETE", "DRIFTED"))
    stub_status(stubber, status(DATA_ARN, "d-data", "DETECTION_COMPLETE", "DRIFTED"))
    stub_drifts(stubber, ROOT_ARN, [])
    # the data stack's drifts arrive over two pages
    stubber.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [], "NextToken": "page-2"},
        {"StackName": DATA_ARN, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]},
    )
    stub_drifts(stubber, DATA_ARN, [RETENTION_DRIFT], token="page-2")
    stub_drifts(stubber, SECURITY_ARN, [INGRESS_DRIFT])
    time = FakeTime()

    report = run(client, time, poll_seconds=5)

    assert time.sleeps == [5]  # one wait, for the data stack only
    assert [s.label for s in report.stacks] == ["root", "DataStack", "SecurityStack"]
    assert report.exit_code == drift.EXIT_DRIFTED == 3
    text = drift.render(report)
    assert text.splitlines() == [
        "root: IN_SYNC",
        "DataStack: DRIFTED, 1 drifted",
        "  FrontendLogGroup (AWS::Logs::LogGroup /ecs/tap-frontend-dev): MODIFIED",
        "    /RetentionInDays: NOT_EQUAL expected 7 actual 14",
        "SecurityStack: DRIFTED, 1 drifted",
        "  AlbSecurityGroup (AWS::EC2::SecurityGroup sg-0123456789abcdef0): MODIFIED",
        '    /SecurityGroupIngress/0: ADD expected null actual {"CidrIp":"0.0.0.0/0","FromPort":22,'
        '"IpProtocol":"tcp","ToPort":22}',
        "tap-dev: DRIFTED: 2 resources in 2 of 3 stacks",
    ]


def stub_all_done(stubber: Stubber, data: dict[str, Any] | None = None) -> None:
    stub_status(stubber, status(ROOT_ARN, "d-root", "DETECTION_COMPLETE", "IN_SYNC"))
    stub_status(stubber, data or status(DATA_ARN, "d-data", "DETECTION_COMPLETE", "IN_SYNC"))
    stub_status(stubber, status(SECURITY_ARN, "d-sec", "DETECTION_COMPLETE", "IN_SYNC"))
    for stack_arn in (ROOT_ARN, DATA_ARN, SECURITY_ARN):
        stub_drifts(stubber, stack_arn, [])


def test_in_sync_exits_0(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stub_tree(stubber)
    stub_detect(stubber)
    stub_all_done(stubber)
    time = FakeTime()
    report = run(client, time)
    assert report.exit_code == drift.EXIT_IN_SYNC == 0
    assert time.sleeps == []
    assert drift.render(report).splitlines()[-1] == "tap-dev: IN SYNC: 3 stacks"


def test_a_failed_detection_without_drift_cannot_say_in_sync(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stub_tree(stubber)
    stub_detect(stubber)
    reason = "Failed to detect drift on resource [Key]: not authorized to perform kms:DescribeKey"
    stub_all_done(stubber, status(DATA_ARN, "d-data", "DETECTION_FAILED", "IN_SYNC", reason))
    report = run(client, FakeTime())
    assert report.exit_code == drift.EXIT_ERROR == 1
    text = drift.render(report)
    assert f"DataStack: IN_SYNC [DETECTION_FAILED: {reason}]" in text
    assert text.splitlines()[-1] == "tap-dev: UNKNOWN: detection did not complete on 1 stacks"


def test_detection_that_never_finishes_times_out(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stub_tree(stubber)
    stub_detect(stubber)
    stub_status(stubber, status(ROOT_ARN, "d-root", "DETECTION_COMPLETE", "IN_SYNC"))
    stub_status(stubber, status(DATA_ARN, "d-data", "DETECTION_IN_PROGRESS"))
    stub_status(stubber, status(SECURITY_ARN, "d-sec", "DETECTION_COMPLETE", "IN_SYNC"))
    for _ in range(2):  # polled at t=0 and t=10; the deadline is t=15
        stub_status(stubber, status(DATA_ARN, "d-data", "DETECTION_IN_PROGRESS"))
    stub_drifts(stubber, ROOT_ARN, [])
    stub_drifts(stubber, SECURITY_ARN, [])
    time = FakeTime()
    report = run(client, time, poll_seconds=10, timeout_seconds=15)
    assert time.sleeps == [10, 10]
    data = report.stacks[1]
    assert (data.label, data.detection, data.reason) == ("DataStack", "TIMED_OUT", "no result within 15 s")
    assert report.exit_code == drift.EXIT_ERROR


def test_a_missing_stack_is_an_error_naming_it(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stubber.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {ROOT} does not exist",
        http_status_code=400,
        expected_params={"StackName": ROOT},
    )
    with pytest.raises(drift.DriftError, match=f"^stack {ROOT}: Stack with id {ROOT} does not exist$"):
        run(client, FakeTime())


def test_a_busy_stack_is_an_error(cfn: tuple[Any, Stubber]) -> None:
    client, stubber = cfn
    stub_tree(stubber)
    stubber.add_client_error(
        "detect_stack_drift",
        service_error_code="ValidationError",
        service_message="Drift detection is not supported for stacks in UPDATE_IN_PROGRESS state",
        expected_params={"StackName": ROOT_ARN},
    )
    with pytest.raises(drift.DriftError, match="starting drift detection on root: .*UPDATE_IN_PROGRESS"):
        run(client, FakeTime())
