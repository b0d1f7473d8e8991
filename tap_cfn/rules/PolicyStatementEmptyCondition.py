"""No policy statement carries an empty Condition block."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template


def _documents(value: Any, path: list[Any]) -> Iterator[tuple[list[Any], list[Any]]]:
    """(path, statements) of every policy document (a dict with a Statement list) below `value`."""
    if isinstance(value, dict):
        if isinstance(value.get("Statement"), list):
            yield path + ["Statement"], value["Statement"]
        for key, inner in value.items():
            yield from _documents(inner, path + [key])
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _documents(inner, path + [index])


class PolicyStatementEmptyCondition(CloudFormationLintRule):
    """An empty Condition restricts nothing, yet reads as if the statement were scoped."""

    id = "E9905"
    shortdesc = "Policy statements must not carry an empty Condition block"
    description = (
        "The policy grammar defines a Condition block as one or more condition operators, each with "
        "condition keys: a statement (key policy, IAM or resource policy) with Condition {} is outside "
        "it and scopes nothing. Omit the element or state the condition."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"
    tags = ["resources", "iam", "kms"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for name, resource in cfn.get_resources().items():
            for path, statements in _documents(
                resource.get("Properties", {}), ["Resources", name, "Properties"]
            ):
                for index, statement in enumerate(statements):
                    if isinstance(statement, dict) and statement.get("Condition") == {}:
                        sid = statement.get("Sid", index)
                        matches.append(
                            RuleMatch(
                                path + [index, "Condition"],
                                f"{name}: statement {sid} has an empty Condition block; "
                                "omit it or state the condition",
                            )
                        )
        return matches
