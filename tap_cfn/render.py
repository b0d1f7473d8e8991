"""From built stacks to files, in one place: troposphere templates to plain dicts (`as_dict`),
dicts to JSON or YAML (`render`), an environment's stacks to its files (`files`). Deterministic:
sorted keys, two-space JSON, short-form YAML, a trailing newline; regenerating changes no byte."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
import yaml
from troposphere import AWSHelperFn, BaseAWSObject, Tags, Template
from yaml.events import (
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

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
    own encoder (`awsencode`, json's `default` hook) made over by orjson, whose walk runs in C and
    calls back only for the objects (`_object`); the plain dicts come back from its JSON."""
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
    plain: dict[str, Any] = {key: value for key, value in sections.items() if value}
    plain["Resources"] = template.resources
    return orjson.loads(orjson.dumps(plain, default=_object))


def _object(obj: Any) -> Any:
    """One object's value one level down (orjson asks again for any object inside it): what its
    `to_dict()` gives, after the same validation."""
    if isinstance(obj, AWSHelperFn) and type(obj).to_dict is AWSHelperFn.to_dict:
        return obj.data
    if isinstance(obj, BaseAWSObject):  # BaseAWSObject.to_dict
        if obj.do_validation:
            obj._validate_props()
            obj.validate()
        if obj.properties:
            return obj.resource
        if hasattr(obj, "resource_type"):
            return {key: value for key, value in obj.resource.items() if key != "Properties"}
        return {}
    if isinstance(obj, Tags):
        return obj.tags
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "JSONrepr"):  # awacs
        return obj.JSONrepr()
    raise TypeError(f"cannot render {type(obj).__name__} in a template")


def to_json(data: dict[str, Any]) -> str:
    """Sorted keys, two-space indent: byte for byte what json.dumps(indent=2, sort_keys=True) gives
    for ASCII input, at a fraction of the time."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


_Emitter = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter where available
_RESOLVER = yaml.SafeDumper(io.StringIO())
_MAP_START = MappingStartEvent(None, _MAP, True, flow_style=False)
_SEQ_START = SequenceStartEvent(None, _SEQ, True, flow_style=False)
_MAP_END, _SEQ_END = MappingEndEvent(), SequenceEndEvent()
_SCALARS: dict[tuple[str, str], ScalarEvent] = {}
_STRINGS: dict[str, ScalarEvent] = {}  # the string ones of _SCALARS, by text alone


def to_yaml(data: dict[str, Any]) -> str:
    """Short-form intrinsic functions (!Ref, !Sub, !GetAtt, ...), block style, sorted keys.
    The events of the document go to libyaml's emitter directly: what yaml.serialize would make
    of the node tree, without a node per value, the anchor pass over them or two calls back
    into Python per scalar to resolve its tag (a fifth of a 100-service run)."""
    stream = io.StringIO()
    emitter = _Emitter(stream, width=120, allow_unicode=True)
    emit = emitter.emit
    emit(StreamStartEvent())
    emit(DocumentStartEvent(explicit=False))
    _events(data, emit)
    emit(DocumentEndEvent(explicit=False))
    emit(StreamEndEvent())
    emitter.dispose()
    return stream.getvalue()


def _scalar(value: str, tag: str = _STR) -> ScalarEvent:
    """One event per distinct scalar (events carry no identity: no anchors are emitted). Its
    implicit flags as the serializer sets them: plain when the text reads back with its tag,
    quoted when the tag is the string one."""
    event = _SCALARS.get((value, tag))
    if event is None:
        plain = _RESOLVER.resolve(ScalarNode, value, (True, False)) == tag
        event = _SCALARS[value, tag] = ScalarEvent(None, tag, (plain, tag == _STR), value)
        if tag == _STR:
            _STRINGS[value] = event
    return event


def _events(value: Any, emit: Callable[[Event], None]) -> None:
    kind = type(value)
    if kind is str:
        emit(_STRINGS.get(value) or _scalar(value))
    elif kind is dict:
        if len(value) == 1:
            ((key, inner),) = value.items()
            if _short_form(key, inner, emit):
                return
        emit(_MAP_START)
        for key in sorted(value):
            emit(_STRINGS.get(key) or _scalar(key))
            item = value[key]
            if type(item) is str:  # most values: no call for them
                emit(_STRINGS.get(item) or _scalar(item))
            else:
                _events(item, emit)
        emit(_MAP_END)
    elif kind is list:
        emit(_SEQ_START)
        for item in value:
            if type(item) is str:
                emit(_STRINGS.get(item) or _scalar(item))
            else:
                _events(item, emit)
        emit(_SEQ_END)
    elif kind is bool:
        emit(_scalar("true" if value else "false", _BOOL))
    elif kind is int:
        emit(_scalar(str(value), _INT))
    elif kind is float:
        emit(_scalar(repr(value), _FLOAT))
    else:
        raise TypeError(f"cannot render {kind.__name__} as YAML")


def _short_form(key: str, value: Any, emit: Callable[[Event], None]) -> bool:
    """{'Fn::X': v} as !X v (False when `key` is no function). Where v is itself a function,
    the outer one keeps its long form, since a YAML node carries one tag (`!Base64 !Sub ...`
    is not valid)."""
    if key == "Ref" and type(value) is str:
        emit(ScalarEvent(None, "!Ref", (False, False), value))
        return True
    if key == "Fn::GetAtt" and type(value) is list and all(type(v) is str for v in value):
        emit(ScalarEvent(None, "!GetAtt", (False, False), ".".join(value)))
        return True
    if not key.startswith("Fn::"):
        return False
    inner: list[Event] = []
    _events(value, inner.append)
    first = inner[0]
    assert isinstance(first, ScalarEvent | CollectionStartEvent)
    if first.tag is not None and first.tag.startswith("!"):
        inner = [_MAP_START, _scalar(key), *inner, _MAP_END]
    elif isinstance(first, ScalarEvent):
        inner[0] = ScalarEvent(None, "!" + key[4:], (False, False), first.value)
    else:
        inner[0] = type(first)(None, "!" + key[4:], False, flow_style=False)
    for event in inner:
        emit(event)
    return True
