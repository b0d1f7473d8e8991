"""tap_cfn/deploy/changeset.py: how a change-set plan reads."""

from __future__ import annotations

from tap_cfn.deploy.changeset import ResourceChange, StackPlan, render_plan

from .recorded import (
    CS_APP,
    CS_NETWORK,
    CS_ROOT,
    STACK,
    nested_row,
    task_row,
)


def test_replacements_are_highlighted_and_unchanged_nested_stacks_are_hidden() -> None:
    # GIVEN a plan where one service's task definition is replaced and another nested stack only
    # may change (a Dynamic row) and its own change set is empty
    api = StackPlan(
        "tap-demo/ServiceApiGateway",
        "cs-api",
        [
            ResourceChange("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition", "True"),
            ResourceChange("Modify", "Service", "AWS::ECS::Service", "Conditional"),
        ],
    )
    idle = StackPlan("tap-demo/Network", "cs-net", [])
    root = StackPlan(
        "tap-demo",
        "cs-root",
        [
            ResourceChange("Modify", "ServiceApiGateway", STACK, "False", nested_change_set_id="cs-api"),
            ResourceChange("Modify", "Network", STACK, "False", nested_change_set_id="cs-net", certain=False),
        ],
        [api, idle],
    )
    # WHEN it is rendered for a terminal
    text = render_plan(root, color=True)
    # THEN only stacks with real changes appear, and replacements stand out
    assert "tap-demo/Network" not in text and "Network " not in text
    assert "Stack tap-demo/ServiceApiGateway: 2 change(s)" in text
    assert "\033[1;31mreplaced\033[0m" in text
    assert "\033[33mmay be replaced\033[0m" in text
    assert root.count() == 3


def test_dynamic_rows_show_as_may_change_and_never_as_a_certain_replacement() -> None:
    # GIVEN the rows of an update in which only the image tag changes for certain
    app = StackPlan(
        "tap-demo/App",
        CS_APP,
        [ResourceChange.from_api(task_row("Static"))],
    )
    network = StackPlan("tap-demo/Network", CS_NETWORK, [ResourceChange.from_api(task_row("Dynamic"))])
    root = StackPlan(
        "tap-demo",
        CS_ROOT,
        [
            ResourceChange.from_api(nested_row("App", CS_APP, "Static", "False")),
            ResourceChange.from_api(nested_row("Network", CS_NETWORK, "Dynamic")),
        ],
        [app, network],
    )
    # WHEN it is rendered
    text = render_plan(root)
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("  Modify")}
    # THEN the certain replacement says so, the Dynamic ones only may happen
    assert rows["App"].split()[-1] == "AWS::CloudFormation::Stack"
    assert rows["Network"].endswith("may be replaced")
    assert "Stack tap-demo/App: 1 change(s)" in text and text.count("  replaced") == 1
    assert root.has_certain_changes()
    assert not StackPlan("tap-demo", CS_ROOT, root.changes[1:], [network]).has_certain_changes()
