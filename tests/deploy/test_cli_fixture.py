"""The deploy, destroy and outputs commands end to end on the local endpoint (hand-written fixture).

Each test runs the command handlers users run, with `--endpoint-url` pointing at moto.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tap_cfn.cli import build_parser, main
from tap_cfn.deploy.aws import Clients

from .conftest import Terminal


def run(endpoint: str, templates: Path, term: Terminal, *argv: str) -> int:
    """`python generate.py VERB --env dev --suffix demo --endpoint-url E --out T ARGV...`,
    parsed by the main CLI's parser, with the test's terminal (a later --env wins). Deploys skip
    the preflight (tests/deploy/test_preflight.py proves it): the fixture is hand-written."""
    verb, *rest = argv
    if verb == "deploy" and "--preflight" not in rest:
        rest = ["--no-preflight", *rest]
    rest = [arg for arg in rest if arg != "--preflight"]
    args = build_parser().parse_args(
        [
            verb,
            "--env",
            "dev",
            "--suffix",
            "demo",
            "--endpoint-url",
            endpoint,
            "--out",
            str(templates),
            *rest,
        ]
    )
    return int(args.func(args, term.console))


def stack_events(clients: Clients) -> int:
    return len(clients.cloudformation.describe_stack_events(StackName="tap-demo")["StackEvents"])


def change_sets(clients: Clients) -> int:
    return len(clients.cloudformation.list_change_sets(StackName="tap-demo")["Summaries"])


def test_first_deploy_builds_every_stack_and_wires_outputs(aws, clients, fixture_templates, terminal):
    # GIVEN an empty account
    term = terminal()
    # WHEN the fixture is deployed with --yes
    code = run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v1", "--yes")
    # THEN it succeeds and names the stack
    assert code == 0, term.stderr
    assert "Stack tap-demo (env dev" in term.stdout
    root = clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]
    assert root["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in root["Outputs"]}
    # the secret exists with a generated password merged into its template
    secrets = boto3.client("secretsmanager", endpoint_url=aws, region_name="us-east-1")
    value = json.loads(secrets.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    assert value["username"] == "app" and len(value["password"]) == 24
    # the Cloud Map namespace and service, wired through GetAtt .Id / .Arn
    sd = boto3.client("servicediscovery", endpoint_url=aws, region_name="us-east-1")
    assert sd.get_namespace(Id=outputs["NamespaceId"])["Namespace"]["Name"] == "fixture-demo.local"
    # the grandchild got the image from the child's repository and the tag from the root
    ecs = boto3.client("ecs", endpoint_url=aws, region_name="us-east-1")
    task = ecs.describe_task_definition(taskDefinition="fixture-worker-demo")["taskDefinition"]
    assert task["containerDefinitions"][0]["image"] == f"{outputs['RepositoryUri']}:v1"
    assert outputs["WorkerLogGroup"] == "/fixture/worker-demo"
    # and the events of all three levels were printed as they arrived
    assert "tap-demo/App/Worker" in term.stdout and "TaskDefinition" in term.stdout


def test_redeploying_the_same_thing_uploads_and_executes_nothing(aws, clients, fixture_templates, terminal):
    assert run(aws, fixture_templates, terminal(), "deploy", "--param", "AppImageTag=v1", "--yes") == 0
    events_before, change_sets_before = stack_events(clients), change_sets(clients)
    term = terminal()
    code = run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v1", "--yes")
    assert code == 0
    assert "Uploaded 0 template(s), 0 bytes" in term.stdout
    assert "No changes" in term.stdout
    assert stack_events(clients) == events_before  # nothing was executed
    assert change_sets(clients) == change_sets_before  # none left behind


def test_changing_the_image_tag_previews_only_the_stacks_that_use_it(
    aws, clients, fixture_templates, terminal
):
    assert run(aws, fixture_templates, terminal(), "deploy", "--param", "AppImageTag=v1", "--yes") == 0
    # WHEN the new tag is planned
    term = terminal()
    code = run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v2", "--plan")
    # THEN the plan reaches down to the task definition and mentions no other stack
    assert code == 0, term.stderr
    assert "Stack tap-demo/App/Worker: 1 change(s)" in term.stdout
    assert "Modify  TaskDefinition" in term.stdout
    assert "Network" not in term.stdout and "Repository" not in term.stdout
    assert "nothing executed" in term.stdout
    ecs = boto3.client("ecs", endpoint_url=aws, region_name="us-east-1")
    image = ecs.describe_task_definition(taskDefinition="fixture-worker-demo")["taskDefinition"]
    assert image["containerDefinitions"][0]["image"].endswith(":v1")
    # and executing it changes the image
    assert run(aws, fixture_templates, terminal(), "deploy", "--param", "AppImageTag=v2", "--yes") == 0
    image = ecs.describe_task_definition(taskDefinition="fixture-worker-demo")["taskDefinition"]
    assert image["containerDefinitions"][0]["image"].endswith(":v2")


def test_without_yes_and_without_a_terminal_nothing_is_created(aws, clients, fixture_templates, terminal):
    term = terminal(interactive=False)
    code = run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v1")
    assert code == 1
    assert "stdin is not a terminal to confirm on; rerun with --yes" in term.stderr
    assert "Stack tap-demo: 2 change(s)" in term.stdout  # the preview was shown
    stacks = clients.cloudformation.list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == "tap-demo"] in ([], ["DELETE_COMPLETE"])


def test_a_user_who_answers_yes_gets_the_deploy(aws, clients, fixture_templates, terminal):
    term = terminal(interactive=True, answers="y\n")
    assert run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v1") == 0
    assert "Execute these 12 change(s) on tap-demo? [y/N]" in term.stdout
    declined = terminal(interactive=True, answers="\n")
    assert run(aws, fixture_templates, declined, "deploy", "--param", "AppImageTag=v2") == 1
    assert "Not executed: declined" in declined.stderr


def test_an_induced_failure_exits_1_with_its_cause_and_the_fixed_deploy_succeeds(
    aws, clients, fixture_templates, terminal
):
    # GIVEN a repository the stack wants to create already exists (made outside CloudFormation)
    ecr = boto3.client("ecr", endpoint_url=aws, region_name="us-east-1")
    ecr.create_repository(repositoryName="fixture-app-demo")
    # WHEN deploying
    term = terminal()
    code = run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v1", "--yes")
    # THEN it fails, and the first thing said about it is the root cause, two stacks down
    assert code == 1
    first = term.stderr.splitlines()[0]
    assert first.startswith(
        "Root cause: Repository (AWS::ECR::Repository) in stack tap-demo/App: CREATE_FAILED:"
    )
    assert "already exists" in first
    assert "stack is ROLLBACK_COMPLETE" in term.stderr
    root = clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]
    assert root["StackStatus"] == "ROLLBACK_COMPLETE"
    # the rollback removed what the failed create had made
    ec2 = boto3.client("ec2", endpoint_url=aws, region_name="us-east-1")
    assert not ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.42.0.0/16"]}])["Vpcs"]

    # WHEN deploying again without --yes, the dead stack is explained, not touched
    again = terminal()
    assert run(aws, fixture_templates, again, "deploy", "--param", "AppImageTag=v1") == 1
    assert again.stderr.splitlines()[0].startswith("Root cause: Repository")
    assert (
        "or delete and recreate it:  python generate.py deploy --env dev --suffix demo "
        f"--out {fixture_templates} --yes" in again.stderr
    )

    # WHEN the fault is removed and the deploy rerun with --yes, it replaces the stack and succeeds
    ecr.delete_repository(repositoryName="fixture-app-demo")
    fixed = terminal()
    assert run(aws, fixture_templates, fixed, "deploy", "--param", "AppImageTag=v1", "--yes") == 0, (
        fixed.stderr
    )
    assert "Deleting tap-demo (ROLLBACK_COMPLETE) to create it again (--yes)" in fixed.stdout
    root = clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]
    assert root["StackStatus"] == "CREATE_COMPLETE"


def test_outputs_and_destroy(aws, clients, fixture_templates, terminal):
    assert run(aws, fixture_templates, terminal(), "deploy", "--param", "AppImageTag=v1", "--yes") == 0
    term = terminal()
    assert run(aws, fixture_templates, term, "outputs", "--json") == 0
    printed = json.loads(term.stdout)
    assert printed["WorkerLogGroup"] == "/fixture/worker-demo" and printed["VpcId"].startswith("vpc-")

    refused = terminal()
    assert run(aws, fixture_templates, refused, "destroy") == 1
    assert "Not deleted" in refused.stderr

    gone = terminal()
    assert run(aws, fixture_templates, gone, "destroy", "--yes") == 0, gone.stderr
    assert "DELETE_COMPLETE" in gone.stdout
    ec2 = boto3.client("ec2", endpoint_url=aws, region_name="us-east-1")
    assert not ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.42.0.0/16"]}])["Vpcs"]

    again = terminal()
    assert run(aws, fixture_templates, again, "destroy", "--yes") == 0
    assert "does not exist: nothing to destroy" in again.stdout
    missing = terminal()
    assert run(aws, fixture_templates, missing, "outputs") == 1
    assert "Stack tap-demo does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--param", "AppImageTag"], "--param 'AppImageTag': expected KEY=VALUE"),
        (["--param", "AppImageTag=v1", "--param", "Colour=blue"], "unknown parameter Colour"),
        ([], "missing parameter AppImageTag: pass --param AppImageTag=VALUE"),
        (
            ["--param", "AppImageTag=not a tag"],
            "parameter AppImageTag='not a tag': must be a valid image tag",
        ),
        (["--param", "EnvironmentSuffix=x"], "--param EnvironmentSuffix: the suffix is set with --suffix"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_it(aws, clients, fixture_templates, terminal, argv, message):
    term = terminal()
    assert run(aws, fixture_templates, term, "deploy", *argv, "--yes") == 2
    assert term.stderr.strip().startswith(f"error: {message}")
    assert len(term.stderr.strip().splitlines()) == 1
    assert clients.s3.list_buckets()["Buckets"] == []  # rejected before anything was made


def test_bad_suffix_and_missing_templates_exit_2(aws, fixture_templates, terminal, tmp_path, capsys):
    argv = [
        "deploy",
        "--env",
        "dev",
        "--suffix",
        "Demo_1",
        "--endpoint-url",
        aws,
        "--out",
        str(fixture_templates),
    ]
    assert main(argv) == 2
    assert "argument --suffix: 'Demo_1': use lowercase letters" in capsys.readouterr().err
    term = terminal()
    assert run(aws, tmp_path / "nowhere", term, "deploy", "--yes") == 2
    assert "no template" in term.stderr and "run `python generate.py templates` first" in term.stderr


def test_no_region_anywhere_exits_2(aws, fixture_templates, terminal, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    term = terminal()
    assert run(aws, fixture_templates, term, "outputs") == 2
    assert term.stderr.startswith("error: You must specify a region. (pass --region")


def test_the_command_line_does_not_import_boto3_until_a_command_needs_it():
    code = "import sys, tap_cfn.cli; sys.exit('boto3' in sys.modules or 'botocore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_an_outputs_only_change_is_deployed(aws, clients, fixture_templates, terminal):
    # GIVEN the fixture deployed
    assert run(aws, fixture_templates, terminal(), "deploy", "--param", "AppImageTag=v1", "--yes") == 0
    # WHEN only an output is added to the root
    root = fixture_templates / "dev" / "root.yaml"
    root.write_text(root.read_text() + "  Suffix:\n    Value: !Ref EnvironmentSuffix\n")
    term = terminal()
    code = run(aws, fixture_templates, term, "deploy", "--param", "AppImageTag=v1", "--yes")
    # THEN it is executed, not reported as "no changes", and the output is there
    assert code == 0, term.stderr
    assert "No changes" not in term.stdout
    outputs = clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]["Outputs"]
    assert {"OutputKey": "Suffix", "OutputValue": "demo"} in [
        {"OutputKey": o["OutputKey"], "OutputValue": o["OutputValue"]} for o in outputs
    ]
