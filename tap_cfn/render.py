"""From built stacks to files, in one place: troposphere templates to plain dicts (`as_dict`),
dicts to JSON or YAML (`render`), an environment's stacks to its files (`files`). Deterministic:
sorted keys, two-space JSON, short-form YAML, a trailing newline; regenerating changes no byte."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import yaml
from troposphere import AWSHelperFn, BaseAWSObject, Tags, Template
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

FORMATS = ("json", "yaml")
NESTED_STACK = "AWS::CloudFormation::Stack"
_STR, _INT, _FLOAT, _BOOL, _MAP, _SEQ = (
    f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "map", "seq")
)


def files(stacks: Mapping[str, dict[str, Any]], formats: Iterable[str]) -> dict[str, str]:
    """`<stem>.<fmt>` -> text for every stack (stem -> template dict) in every format. The one
    place nested stacks get their TemplateURL: the relative file of the child in the same format."""
    return {
        f"{stem}.{fmt}": render(_pointing_at(template, fmt), fmt)
        for fmt in formats
        for stem, template in stacks.items()
    }


def render(template: dict[str, Any], fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return to_json(template) if fmt == "json" else to_yaml(template)


def _pointing_at(template: dict[str, Any], fmt: str) -> dict[str, Any]:
    """`template` with each nested stack's TemplateURL (the child's stem) naming its `fmt` file."""
    resources = template["Resources"]
    if not any(r["Type"] == NESTED_STACK for r in resources.values()):
        return template
    pointed = {}
    for key, resource in resources.items():
        if resource["Type"] == NESTED_STACK:
            url = f"{resource['Properties']['TemplateURL']}.{fmt}"
            resource = {**resource, "Properties": {**resource["Properties"], "TemplateURL": url}}
        pointed[key] = resource
    return {**template, "Resources": pointed}


def as_dict(template: Template) -> dict[str, Any]:
    """What `template.to_dict()` returns, validation included, in a single walk: troposphere's
    encoder walks each nested object's output again, a third of a 100-service run."""
    sections = {
        "Description": template.description,
        "Metadata": template.metadata,
        "Conditions": template.conditions,
        "Mappings": template.mappings,
        "Outputs": template.outputs,
        "Parameters": template.parameters,
        "AWSTemplateFormatVersion": template.version,
        "Transform": template.transform,
        "Rules": template.rules,
        "Globals": template.globals,
    }
    plain: dict[str, Any] = {key: _plain(value) for key, value in sections.items() if value}
    plain["Resources"] = _plain(template.resources)
    return plain


def _plain(obj: Any) -> Any:
    kind = type(obj)
    if kind is str or kind is int or kind is bool or kind is float or obj is None:
        return obj
    if kind is dict:
        return {key: _plain(value) for key, value in obj.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in obj]
    if isinstance(obj, BaseAWSObject):  # BaseAWSObject.to_dict, walking once
        if obj.do_validation:
            obj._validate_props()
            obj.validate()
        if obj.properties:
            return _plain(obj.resource)
        if hasattr(obj, "resource_type"):
            return {key: _plain(value) for key, value in obj.resource.items() if key != "Properties"}
        return {}
    if isinstance(obj, Tags):
        return [_plain(tag) for tag in obj.tags]
    if isinstance(obj, AWSHelperFn) and type(obj).to_dict is AWSHelperFn.to_dict:
        return _plain(obj.data)
    if hasattr(obj, "to_dict"):
        return _plain(obj.to_dict())
    if hasattr(obj, "JSONrepr"):  # awacs
        return _plain(obj.JSONrepr())
    return obj


def to_json(data: dict[str, Any]) -> str:
    """Sorted keys, two-space indent: byte for byte what json.dumps(indent=2, sort_keys=True) gives
    for ASCII input, at a fraction of the time."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter where available. It asks `resolve` twice per scalar whether the scalar
    would read back with its tag: plain (the answer depends on the text alone, and templates
    repeat the same texts: resolved once each) and quoted (always a string)."""

    _plain: dict[str, str] = {}
    # libyaml calls these path-resolver hooks around every node; with no path resolvers registered
    # they do nothing, and C callables that take their arguments (slice) or none (tuple) save two
    # Python calls per node.
    descend_resolver = slice
    ascend_resolver = tuple

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not ScalarNode:
            return _SEQ if kind is SequenceNode else _MAP  # what the base resolver says for them
        if not implicit[0]:
            return _STR
        tag = self._plain.get(value)
        if tag is None:
            tag = self._plain[value] = super().resolve(kind, value, implicit)
        return tag


def to_yaml(data: dict[str, Any]) -> str:
    """Short-form intrinsic functions (!Ref, !Sub, !GetAtt, ...), block style, sorted keys.
    The node tree is built here directly: PyYAML's generic representer costs twice as much."""
    text: str = yaml.serialize(_node(data), Dumper=_Dumper, width=120, allow_unicode=True)
    return text


def _node(value: Any) -> Node:
    if isinstance(value, str):
        return ScalarNode(_STR, value)
    if isinstance(value, bool):
        return ScalarNode(_BOOL, "true" if value else "false")
    if isinstance(value, int):
        return ScalarNode(_INT, str(value))
    if isinstance(value, float):
        return ScalarNode(_FLOAT, repr(value))
    if isinstance(value, list):
        return SequenceNode(_SEQ, [_node(item) for item in value], flow_style=False)
    if len(value) == 1:
        ((key, inner),) = value.items()
        short = _short_form(key, inner)
        if short is not None:
            return short
    return MappingNode(
        _MAP, [(ScalarNode(_STR, k), _node(value[k])) for k in sorted(value)], flow_style=False
    )


def _short_form(key: str, value: Any) -> Node | None:
    """{'Fn::X': v} as !X v. Where v is itself a function, the outer one keeps its long form,
    since a YAML node carries one tag (`!Base64 !Sub ...` is not valid)."""
    if key == "Ref" and isinstance(value, str):
        return ScalarNode("!Ref", value)
    if key == "Fn::GetAtt" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ScalarNode("!GetAtt", ".".join(value))
    if not key.startswith("Fn::"):
        return None
    inner = _node(value)
    if inner.tag.startswith("!"):
        return MappingNode(_MAP, [(ScalarNode(_STR, key), inner)], flow_style=False)
    inner.tag = "!" + key[4:]
    return inner
