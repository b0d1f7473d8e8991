"""Helpers the rules share: reading references and policy documents in a template dict."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::If", "Fn::ImportValue", "Fn::Select")


def is_intrinsic(value: Any) -> bool:
    """True when `value` is a function CloudFormation resolves at deploy time (a parameter, a Ref...)."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS


def references(value: Any) -> set[str]:
    """Every logical id or parameter `value` refers to: Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(target, str):
                    found.add(target.split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(text, str):
                    found.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(inner, list) and len(inner) > 1:
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, statement) of an IAM policy document given as a dict; nothing for a string or intrinsic."""
    if isinstance(document, dict) and not is_intrinsic(document):
        for index, statement in enumerate(as_list(document.get("Statement", []))):
            if isinstance(statement, dict):
                yield index, statement
