"""The deployer's decisions on recorded CloudFormation answers, shaped as the API reference shows them.

CloudFormation is scripted with botocore's Stubber (any call not in the script fails the test);
S3 and STS are the local endpoint. The local endpoint cannot show these stories: nested change
sets with `Dynamic` evaluations, an ExecuteChangeSet that errs after all or before anything,
stacks stuck in *_FAILED states.
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from tap_cfn.cli import common
from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.changeset import ChangeSetError
from tap_cfn.deploy.deployer import Console, DeployOptions, Target, deploy
from tap_cfn.deploy.packaging import load_template

from .recorded import (
    ACCOUNT,
    CS_APP,
    CS_ROOT,
    ROOT,
    STACK,
    described,
    existing_stack,
    nested_row,
    script_failed_tree,
    stubbed_clients,
    task_row,
)

CERTIFICATE = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def with_certificate(templates: Path) -> Path:
    """The fixture's root with an optional CertificateArn, as the generated root declares it."""
    root = templates / "dev" / "root.yaml"
    root.write_text(
        root.read_text().replace(
            "Parameters:\n", "Parameters:\n  CertificateArn:\n    Type: String\n    Default: ''\n", 1
        )
    )
    return templates


def deployed(status: str = "UPDATE_COMPLETE") -> dict[str, Any]:
    """DescribeStacks of tap-demo deployed with a certificate, plus a tag someone added by hand."""
    stack = existing_stack(status)["Stacks"][0]
    stack["Parameters"] = [
        {"ParameterKey": "EnvironmentSuffix", "ParameterValue": "demo"},
        {"ParameterKey": "AppImageTag", "ParameterValue": "v1"},
        {"ParameterKey": "CertificateArn", "ParameterValue": CERTIFICATE},
    ]
    stack["Tags"] = [
        {"Key": "CostCenter", "Value": "4711"},
        {"Key": "ManagedBy", "Value": "tap-cfn"},
        {"Key": "Environment", "Value": "dev"},
    ]
    return {"Stacks": [stack]}


def script_plan(stubber: Stubber, changes: list[dict[str, Any]], *children: dict[str, Any]) -> None:
    """The change set comes out CREATE_COMPLETE (one wait), then is read with its children."""
    stubber.add_response("describe_change_set", described(CS_ROOT, changes))
    stubber.add_response("describe_change_set", described(CS_ROOT, changes))
    for child in children:
        stubber.add_response("describe_change_set", child)


def script_update(stubber: Stubber, changes: list[dict[str, Any]], *children: dict[str, Any]) -> None:
    """tap-demo is deployed; an UPDATE change set is made with `changes` and nested `children`."""
    stubber.add_response("describe_stacks", deployed(), {"StackName": "tap-demo"})
    stubber.add_response("create_change_set", {"Id": CS_ROOT, "StackId": ROOT})
    script_plan(stubber, changes, *children)


def script_watch_to(stubber: Stubber, status: str) -> None:
    """Start, one poll that finds the final status, the last poll, and the outputs."""
    no_events = {"StackEvents": []}
    no_resources = {"StackResourceSummaries": []}
    stubber.add_response("describe_stack_events", no_events, {"StackName": ROOT})  # start
    return_status = existing_stack(status)
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CS_ROOT, "ClientRequestToken": ANY})
    stubber.add_response("describe_stack_events", no_events, {"StackName": ROOT})
    stubber.add_response("list_stack_resources", no_resources, {"StackName": ROOT})
    stubber.add_response("describe_stacks", return_status, {"StackName": ROOT})
    stubber.add_response("describe_stack_events", no_events, {"StackName": ROOT})
    stubber.add_response("list_stack_resources", no_resources, {"StackName": ROOT})
    stubber.add_response("describe_stacks", return_status, {"StackName": "tap-demo"})


def run_deploy(scripted: Clients, templates: Path, terminal, tag: str = "v2", **options: Any):
    term = terminal()
    result = deploy(
        scripted,
        Target("dev", "demo", templates),
        DeployOptions({"AppImageTag": tag}, **options),
        term.console,
    )
    return result, term


def test_redeploy_without_certificate_keeps_previous_value_and_tags_added_outside(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN tap-demo deployed with a certificate and a CostCenter tag added by hand
    templates = with_certificate(fixture_templates)
    scripted = stubbed_clients(clients)
    with Stubber(scripted.cloudformation) as stubber:
        stubber.add_response("describe_stacks", deployed(), {"StackName": "tap-demo"})
        # THEN the change set keeps CertificateArn (UsePreviousValue) and passes every tag back
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html
        stubber.add_response(
            "create_change_set",
            {"Id": CS_ROOT, "StackId": ROOT},
            {
                "StackName": "tap-demo",
                "ChangeSetName": ANY,
                "ChangeSetType": "UPDATE",
                "Parameters": [
                    {"ParameterKey": "AppImageTag", "ParameterValue": "v2"},
                    {"ParameterKey": "CertificateArn", "UsePreviousValue": True},
                    {"ParameterKey": "EnvironmentSuffix", "ParameterValue": "demo"},
                ],
                "Capabilities": ANY,
                "IncludeNestedStacks": True,
                "Tags": [
                    {"Key": "CostCenter", "Value": "4711"},
                    {"Key": "Environment", "Value": "dev"},
                    {"Key": "ManagedBy", "Value": "tap-cfn"},
                ],
                "TemplateBody": ANY,
            },
        )
        app = described(CS_APP, [task_row("Static")])
        script_plan(stubber, [nested_row("App", CS_APP, "Static", "False")], app)
        script_watch_to(stubber, "UPDATE_COMPLETE")
        # WHEN the image tag changes and CertificateArn is not passed
        result, term = run_deploy(scripted, templates, terminal, yes=True)
        stubber.assert_no_pending_responses()
    assert result.exit_code == 0, term.stderr
    # and the preview lists the parameters before the resources
    out = term.stdout
    assert out.index("Parameter AppImageTag: v1 -> v2") < out.index(
        "Parameters kept from the last deploy: CertificateArn"
    )
    assert out.index("CertificateArn") < out.index("Stack tap-demo: 1 change(s)")
    assert "TaskDefinition" in out and "replaced" in out


def script_create(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id tap-demo does not exist",
        400,
        {"StackName": "tap-demo"},
    )
    stubber.add_response("create_change_set", {"Id": CS_ROOT, "StackId": ROOT})
    changes = [nested_row("App", CS_APP, "Static", "False")]
    changes[0]["ResourceChange"] = {
        "Action": "Add",
        "LogicalResourceId": "App",
        "ResourceType": STACK,
        "Scope": [],
        "Details": [],
        "ChangeSetId": CS_APP,
    }
    stubber.add_response("describe_change_set", described(CS_ROOT, changes))
    stubber.add_response("describe_change_set", described(CS_ROOT, changes))
    stubber.add_response("describe_change_set", described(CS_APP, []))
    stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})


def test_a_first_create_whose_execute_is_refused_is_discarded_at_once_without_polling(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN a first create whose ExecuteChangeSet is refused (AccessDenied)
    scripted = stubbed_clients(clients)
    with Stubber(scripted.cloudformation) as stubber:
        script_create(stubber)
        # a first create asks CloudFormation to delete even Retain resources if it rolls back
        stubber.add_client_error(
            "execute_change_set",
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform:"
            " cloudformation:ExecuteChangeSet",
            403,
            {"ChangeSetName": CS_ROOT, "ClientRequestToken": ANY, "RetainExceptOnCreate": True},
        )
        # THEN the deployer looks: the change set is still AVAILABLE and the stack REVIEW_IN_PROGRESS
        stubber.add_response("describe_change_set", described(CS_ROOT, []), {"ChangeSetName": CS_ROOT})
        stubber.add_response("describe_stacks", existing_stack("REVIEW_IN_PROGRESS"), {"StackName": ROOT})
        # and discards the change set and the empty stack, with no DescribeStackEvents polling
        stubber.add_response("delete_change_set", {}, {"ChangeSetName": CS_ROOT})
        stubber.add_response("delete_stack", {}, {"StackName": ROOT})
        # WHEN it is deployed
        result, term = run_deploy(scripted, fixture_templates, terminal, yes=True)
        stubber.assert_no_pending_responses()
    assert (result.exit_code, result.executed) == (1, False)
    assert "did not execute the change set for tap-demo (AccessDenied" in term.stderr
    assert "nothing changed" in term.stderr


def test_a_retried_execute_that_went_through_is_watched_and_reported_as_success(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN the answer to ExecuteChangeSet is an error although the change set started executing
    scripted = stubbed_clients(clients)
    with Stubber(scripted.cloudformation) as stubber:
        app = described(CS_APP, [task_row("Static")])
        script_update(stubber, [nested_row("App", CS_APP, "Static", "False")], app)
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
        stubber.add_client_error(
            "execute_change_set",
            "InvalidChangeSetStatus",
            "ChangeSet [tap-cfn-1] cannot be executed in its current execution status"
            " of [EXECUTE_IN_PROGRESS]",
            400,
        )
        executing = described(CS_ROOT, [], ExecutionStatus="EXECUTE_IN_PROGRESS")
        stubber.add_response("describe_change_set", executing, {"ChangeSetName": CS_ROOT})
        for call, answer in [
            ("describe_stack_events", {"StackEvents": []}),
            ("list_stack_resources", {"StackResourceSummaries": []}),
            ("describe_stacks", existing_stack("UPDATE_COMPLETE")),
            ("describe_stack_events", {"StackEvents": []}),
            ("list_stack_resources", {"StackResourceSummaries": []}),
            ("describe_stacks", existing_stack("UPDATE_COMPLETE")),
        ]:
            stubber.add_response(call, answer)
        # WHEN it is deployed
        result, term = run_deploy(scripted, with_certificate(fixture_templates), terminal, yes=True)
        stubber.assert_no_pending_responses()
    # THEN the update is reported as the success it is
    assert (result.exit_code, result.status) == (0, "UPDATE_COMPLETE"), term.stderr
    assert "but the change set is executing: watching it" in term.stderr


def script_dynamic_tree(stubber: Stubber) -> None:
    """What an unchanged redeploy of root -> Network, App looks like on AWS: App is fed from
    Network's outputs, so it shows Modify / Dynamic / Conditional, and so does its content."""
    app = described(CS_APP, [task_row("Dynamic")], ParentChangeSetId=CS_ROOT)
    script_update(stubber, [nested_row("App", CS_APP, "Dynamic")], app)


def test_an_unchanged_redeploy_whose_nested_rows_are_all_dynamic_executes_nothing(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    templates = with_certificate(fixture_templates)
    root = load_template(templates / "dev" / "root.yaml")
    scripted = stubbed_clients(clients)
    with Stubber(scripted.cloudformation) as stubber:
        script_dynamic_tree(stubber)
        # the deployed root has the same outputs: nothing else could change
        stubber.add_response(
            "get_template",
            {"TemplateBody": json.dumps(root), "StagesAvailable": ["Original", "Processed"]},
            {"StackName": ROOT, "TemplateStage": "Original"},
        )
        stubber.add_response("delete_change_set", {}, {"ChangeSetName": CS_ROOT})
        # WHEN the same thing is deployed again (no execute_change_set is scripted)
        result, term = run_deploy(scripted, templates, terminal, tag="v1", yes=True)
        stubber.assert_no_pending_responses()
    assert (result.exit_code, result.executed) == (0, False)
    assert "No changes: tap-demo already matches" in term.stdout


def test_an_outputs_only_change_set_without_resource_changes_is_executed(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN CloudFormation made a change set (CREATE_COMPLETE) with no resource changes: only
    # outputs or exports differ, which it applies when the change set is executed
    scripted = stubbed_clients(clients)
    with Stubber(scripted.cloudformation) as stubber:
        script_update(stubber, [])
        script_watch_to(stubber, "UPDATE_COMPLETE")
        # WHEN it is deployed
        result, term = run_deploy(scripted, with_certificate(fixture_templates), terminal, yes=True)
        stubber.assert_no_pending_responses()
    # THEN it is executed, and says why there is no table
    assert (result.exit_code, result.executed) == (0, True), term.stderr
    assert "No resource changes: outputs or exports change" in term.stdout


@pytest.mark.parametrize(
    ("status", "next_step"),
    [
        ("UPDATE_ROLLBACK_FAILED", "aws cloudformation continue-update-rollback --stack-name tap-demo"),
        ("ROLLBACK_FAILED", "python generate.py destroy --env dev --suffix demo"),
        ("DELETE_FAILED", "python generate.py destroy --env dev --suffix demo"),
        ("REVIEW_IN_PROGRESS", "python generate.py deploy --env dev --suffix demo --out * --yes"),
    ],
)
def test_a_stuck_stack_is_answered_with_its_next_step_before_any_change_set(
    clients: Clients, fixture_templates: Path, terminal, status: str, next_step: str
) -> None:
    scripted = stubbed_clients(clients)
    with Stubber(scripted.cloudformation) as stubber:
        stubber.add_response("describe_stacks", deployed(status), {"StackName": "tap-demo"})
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT})
        stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": ROOT})
        # WHEN deploying (no upload, no change set: neither is scripted)
        result, term = run_deploy(scripted, with_certificate(fixture_templates), terminal)
        stubber.assert_no_pending_responses()
    assert (result.exit_code, result.bytes_uploaded) == (1, 0)
    assert f"Stack tap-demo is in {status}:" in term.stderr
    # "*": the templates folder of the test, named because it is not the default one
    assert re.search(re.escape(next_step).replace(r"\*", r"\S+"), term.stderr)


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ChangeSetError("Template format error: Unresolved resource dependencies [Vpc]"),
            "error: change set: Template",
        ),
        (TimeoutError("stack tap-demo still in progress after 2880 polls"), "CloudFormation carries on"),
        (
            ClientError(
                {
                    "Error": {
                        "Code": "ExpiredToken",
                        "Message": "The security token included in the request is expired",
                    }
                },
                "DescribeStacks",
            ),
            "error: AWS credentials expired (ExpiredToken): refresh them",
        ),
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "CreateChangeSet"),
            "error: CreateChangeSet: AccessDenied: not authorized",
        ),
    ],
)
def test_every_error_a_user_can_hit_is_one_line_without_a_traceback(error: Exception, line: str) -> None:
    err = io.StringIO()
    console = Console(io.StringIO(), err, io.StringIO(), False, False)

    def operation() -> int:
        raise error

    assert common.run(operation, console.err) == 1
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("error: ") and line in err.getvalue()
    assert "Traceback" not in err.getvalue()
    verbose = Console(io.StringIO(), io.StringIO(), io.StringIO(), False, False, verbose=True)
    common.run(operation, verbose.err, verbose=True)
    assert "Traceback" in verbose.err.getvalue()  # type: ignore[attr-defined]


def test_rollback_complete_is_explained_and_left_alone_without_yes(
    clients: Clients, fixture_templates: Path, terminal
) -> None:
    # GIVEN a stack left in ROLLBACK_COMPLETE by a failed first create
    scripted = stubbed_clients(clients)
    term = terminal()
    with Stubber(scripted.cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks", existing_stack("ROLLBACK_COMPLETE"), {"StackName": "tap-demo"}
        )
        script_failed_tree(stubber)
        # WHEN deploying without --yes
        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v1"}),
            term.console,
        )
        # THEN nothing else is called (no upload, no change set): Stubber rejects unscripted calls
        stubber.assert_no_pending_responses()
    assert result.exit_code == 1
    assert result.bytes_uploaded == 0
    # and the user reads the original cause first, then how to proceed
    lines = term.stderr.splitlines()
    assert lines[0].startswith("Root cause: Service (AWS::ECS::Service) in stack tap-demo/Services/Api")
    assert "ROLLBACK_COMPLETE" in lines[1]
    assert "python generate.py destroy --env dev --suffix demo" in term.stderr
    # (the templates are not in templates/: the suggested commands say where they are)
    assert f"python generate.py deploy --env dev --suffix demo --out {fixture_templates} --yes" in term.stderr


def script_change_set_creation(stubber: Stubber) -> None:
    stubber.add_response("describe_stacks", existing_stack("UPDATE_COMPLETE"), {"StackName": "tap-demo"})


NO_CHANGE_FAILED = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)
DYNAMIC = (
    '[{"Target": {"Attribute": "Properties", "Name": "Parameters", "RequiresRecreation": "Never"},'
    ' "Evaluation": "Dynamic", "ChangeSource": "ResourceAttribute",'
    ' "CausingEntity": "Network.Outputs.VpcId"}]'
)


@pytest.mark.parametrize("answer", ["failed change set", "validation error", "dynamic nested change sets"])
def test_every_way_of_saying_no_changes_exits_0_without_executing(
    clients: Clients, fixture_templates: Path, terminal, answer: str
) -> None:
    # GIVEN CloudFormation answers "nothing to do" in one of the ways it does
    scripted = stubbed_clients(clients)
    term = terminal()
    created = {"Id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1", "StackId": ROOT}
    base = {"ChangeSetName": "cs", "ChangeSetId": created["Id"], "StackId": ROOT, "StackName": "tap-demo"}
    with Stubber(scripted.cloudformation) as stubber:
        script_change_set_creation(stubber)
        if answer == "validation error":
            stubber.add_client_error(
                "create_change_set", "ValidationError", "No updates are to be performed.", 400
            )
        else:
            stubber.add_response("create_change_set", created)
        if answer == "failed change set":
            stubber.add_response(
                "describe_change_set",
                {**base, "Status": "FAILED", "StatusReason": NO_CHANGE_FAILED, "Changes": []},
            )
            stubber.add_response("delete_change_set", {})
        if answer == "dynamic nested change sets":
            nested_id = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs-App/2"
            modify_app = {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "App",
                    "ResourceType": STACK,
                    "Replacement": "Conditional",
                    "Details": json.loads(DYNAMIC),
                    "ChangeSetId": nested_id,
                },
            }
            complete = {**base, "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE"}
            stubber.add_response("describe_change_set", {**complete, "Changes": [modify_app]})
            stubber.add_response("describe_change_set", {**complete, "Changes": [modify_app]})
            stubber.add_response("describe_change_set", {**complete, "ChangeSetId": nested_id, "Changes": []})
            root = json.dumps(load_template(fixture_templates / "dev" / "root.yaml"))
            stubber.add_response("get_template", {"TemplateBody": root})
            stubber.add_response("delete_change_set", {})
        # WHEN deploying with --yes
        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v1"}, yes=True),
            term.console,
        )
        # THEN no execute_change_set was made (it is not scripted: Stubber would raise)
        stubber.assert_no_pending_responses()
    assert (result.exit_code, result.executed) == (0, False)
    assert "No changes: tap-demo already matches" in term.stdout


def test_a_busy_stack_is_not_touched(clients: Clients, fixture_templates: Path, terminal) -> None:
    scripted = stubbed_clients(clients)
    term = terminal()
    with Stubber(scripted.cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks", existing_stack("UPDATE_IN_PROGRESS"), {"StackName": "tap-demo"}
        )
        result = deploy(
            scripted,
            Target("dev", "demo", fixture_templates),
            DeployOptions({"AppImageTag": "v1"}),
            term.console,
        )
    assert result.exit_code == 1
    assert "is busy (UPDATE_IN_PROGRESS)" in term.stderr
