"""Deterministic rendering: sorted keys, two-space JSON, short-form YAML, a trailing newline.
Regenerating must not change a byte."""

from __future__ import annotations

import json
from typing import Any

import yaml
from troposphere import Template

FORMATS = ("json", "yaml")


def to_json(template: Template) -> str:
    return _json(template.to_dict())


def to_yaml(template: Template) -> str:
    return _yaml(template.to_dict())


def render(template: Template, fmt: str) -> str:
    data = template.to_dict()
    return _json(data) if fmt == "json" else _yaml(data)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


class _Tagged:
    """An intrinsic function in YAML short form: `!Sub '...'`, `!GetAtt A.B`, `!Select [...]`."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: str, value: Any) -> None:
        self.tag, self.value = tag, value


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter where available: the YAML of a profile takes milliseconds."""


def _represent_tagged(dumper: yaml.SafeDumper, data: _Tagged) -> yaml.Node:
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value)
    if isinstance(data.value, dict):
        return dumper.represent_mapping(data.tag, data.value)
    return dumper.represent_scalar(data.tag, str(data.value))


_Dumper.add_representer(_Tagged, _represent_tagged)


def _short_form(node: Any) -> Any:
    """Turn {'Fn::X': v} into !X v. Where v is itself a function, the outer one keeps its long
    form, since a YAML node carries one tag (`!Base64 !Sub ...` is not valid)."""
    if isinstance(node, list):
        return [_short_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        inner = _short_form(value)
        if not isinstance(inner, _Tagged):
            if key == "Ref":
                return _Tagged("!Ref", inner)
            if key == "Fn::GetAtt" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                return _Tagged("!GetAtt", ".".join(value))
            if key.startswith("Fn::"):
                return _Tagged("!" + key[4:], inner)
        return {key: inner}
    return {key: _short_form(value) for key, value in node.items()}


def _yaml(data: dict[str, Any]) -> str:
    text: str = yaml.dump(
        _short_form(data),
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        width=120,
        allow_unicode=True,
    )
    return text
