"""How a bad config is told: one line naming the field by its path (services and secrets by name),
with what is allowed there in words; YAML refused with the parser's line, column and reason.

`tap_cfn.config` declares the models; this module turns msgspec's and PyYAML's findings into those
lines, and knows the words for every pattern a field is declared with (`pattern`).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import yaml

try:  # libyaml's parser when present; the constructor (and so the check below) is Python's either way
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

# Every pattern a config field is declared with, in words: an error shows these, never the regex.
PATTERN_WORDS: dict[str, str] = {}


def pattern(regex: str, words: str) -> str:
    """Declare `regex` with the words an error shows for it (what a matching value looks like)."""
    PATTERN_WORDS[regex] = words
    return regex


# --- YAML ---------------------------------------------------------------------------------------


class UniqueKeyLoader(_SafeLoader):
    """PyYAML's safe loader, refusing a mapping that repeats a key: YAML requires mapping keys to be
    unique (YAML 1.2, 3.2.1.1 Nodes), and PyYAML would silently keep the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges may be overridden by the mapping's own keys
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: the base constructor says so
            if first is not key_node.start_mark:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key `{key}` (first at line {first.line + 1})", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """The document in `text`; a yaml.YAMLError (see `yaml_problem`) when it is not valid YAML."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """'not valid YAML at line 3, column 5: <the parser's reason>'."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem, context = getattr(exc, "problem", None), getattr(exc, "context", None)
    reason = f": {problem}" if problem else ""
    return f"not valid YAML{where}{reason}" + (f" ({context})" if problem and context else "")


# --- msgspec's findings -------------------------------------------------------------------------

_AT = re.compile(r"^(?P<what>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`)?$")
_STEP = re.compile(r"\.(?P<field>[^.\[]+)|\[(?P<index>\d+)\]|\[(?P<key>[^\]]*)\]")
_REGEX = re.compile(r"^Expected `str` matching regex '.*'$")
_WRONG_TYPE = re.compile(r"^Expected `[^`]*`, got `[^`]*`$")

# Keys that live elsewhere now that the platform has one place for them: the new place is named.
MOVED_KEYS = {
    "keep_images": "registry.keep_images (one registry holds every environment's images)",
}


def describe(message: str, raw: Any, model: type, prefix: str = "") -> str:
    """msgspec's 'Expected `int`, got `str` - at `$.services[2].port`' -> 'services[api].port: ...';
    an unknown key gets the closest known one; a wrong type or value, what is allowed there."""
    match = _AT.match(message)
    assert match is not None
    path, node, value = _path(match["path"] or "", raw, msgspec.inspect.type_info(model), prefix, model)
    what = match["what"]
    unknown = re.match(r"Object contains unknown field `(.*)`", what)
    missing = re.match(r"Object missing required field `(.*)`", what)
    if unknown or missing:
        field = (unknown or missing).group(1)  # type: ignore[union-attr]
        path = f"{path}.{field}" if path else field
        what = _unknown_key(field, _unwrap(node)) if unknown else "required field is missing"
    elif match["key"]:
        what = f"a key: {_mismatch(what, getattr(_unwrap(node), 'key_type', None), _bad_key(value, node))}"
    else:
        what = _mismatch(what, node, value)
    return f"{path or '(top level)'}: {what}"


def _mismatch(what: str, node: Any, value: Any) -> str:
    """msgspec's complaint about `value`, with the words for a pattern and the allowed values."""
    words = [PATTERN_WORDS[regex] for regex in _patterns(node) if regex in PATTERN_WORDS]
    if _REGEX.match(what) and words:
        return f"Invalid value {value!r}; allowed: {words[0]}"
    allowed = _allowed(node)
    if allowed and (_WRONG_TYPE.match(what) or what.startswith("Invalid enum value")):
        return f"{what}; allowed: {allowed}"
    return what


def _path(at: str, raw: Any, node: Any, prefix: str, hint: Any) -> tuple[str, Any, Any]:
    """The display path of msgspec's `at` (services and secrets by name, a mapping's key where
    msgspec writes `[...]`), the type declared there (its metadata kept) and the value found there.
    `hint` follows along as the Python annotation, to tell which key of a mapping is the bad one."""
    shown = prefix
    for step in _STEP.finditer(at):
        node, hint = _unwrap(node), _bare(hint)
        if step["field"] is not None:
            shown += f".{step['field']}"
            raw = raw.get(step["field"]) if isinstance(raw, dict) else None
            field = next((f for f in getattr(node, "fields", ()) if f.encode_name == step["field"]), None)
            node = field.type if field else None
            hints = typing.get_type_hints(hint, include_extras=True) if isinstance(hint, type) else {}
            hint = hints.get(field.name) if field else None
            continue
        args = typing.get_args(hint)
        if isinstance(raw, dict):
            hint = args[1] if len(args) == 2 else None
            key: Any = _bad_value(raw, hint) if step["key"] == "..." else step["key"]
            shown += f".{key}"
            raw = raw.get(key)
        else:
            key = int(step["index"]) if step["index"] is not None else step["key"]
            hint = args[0] if args else None
            item = raw[key] if isinstance(raw, list) and isinstance(key, int) and key < len(raw) else None
            name = item.get("name") if isinstance(item, dict) else None
            shown += f"[{name}]" if isinstance(name, str) and name else f"[{key}]"
            raw = item
        node = getattr(node, "item_type", None) or getattr(node, "value_type", None)
    return shown.lstrip("."), node, raw


def _bare(hint: Any) -> Any:
    """The annotation under Annotated[...] and `X | None`."""
    if typing.get_origin(hint) is typing.Annotated:
        return _bare(typing.get_args(hint)[0])
    kinds = [t for t in typing.get_args(hint) if t is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(kinds) == 1:
        return _bare(kinds[0])
    return hint


def _bad_value(mapping: dict[Any, Any], value_type: Any) -> Any:
    """The first key whose value msgspec refuses (it stops there, but writes the key as `[...]`)."""
    for key, value in mapping.items():
        try:
            msgspec.convert(value, value_type)
        except (msgspec.ValidationError, TypeError):
            return key
    return "..."


def _unwrap(node: Any) -> Any:
    """The type under Annotated metadata and `X | None`."""
    if isinstance(node, msgspec.inspect.Metadata):
        return _unwrap(node.type)
    if isinstance(node, msgspec.inspect.UnionType):
        kinds = [t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _unwrap(kinds[0]) if len(kinds) == 1 else node
    return node


def _layers(node: Any) -> Iterable[Any]:
    """`node` and every type it wraps (Annotated metadata, `X | None`), outermost first."""
    while node is not None:
        yield node
        if isinstance(node, msgspec.inspect.Metadata):
            node = node.type
        elif isinstance(node, msgspec.inspect.UnionType):
            kinds = [t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)]
            node = kinds[0] if len(kinds) == 1 else None
        else:
            node = None


def _patterns(node: Any) -> list[str]:
    return [layer.pattern for layer in _layers(node) if getattr(layer, "pattern", None)]


def _allowed(node: Any) -> str | None:
    """The closed set of values a field takes, in words: a Literal's values, the `enum` a field
    declares (Fargate sizes, log retention days), or true/false."""
    for layer in _layers(node):
        if isinstance(layer, msgspec.inspect.LiteralType):
            return ", ".join(map(str, layer.values))
        if isinstance(layer, msgspec.inspect.Metadata):
            extra, schema = layer.extra or {}, layer.extra_json_schema or {}
            if "allowed" in extra:
                return str(extra["allowed"])
            if "enum" in schema:
                return ", ".join(map(str, schema["enum"]))
        if isinstance(layer, msgspec.inspect.BoolType):
            return "true, false"
    return None


def _bad_key(mapping: Any, node: Any) -> Any:
    """The first key of `mapping` the declared key pattern refuses (msgspec does not say which)."""
    key_type = getattr(_unwrap(node), "key_type", None)
    regexes = _patterns(key_type)
    if not isinstance(mapping, Mapping) or not regexes:
        return None
    return next((k for k in mapping if not (isinstance(k, str) and re.search(regexes[0], k))), None)


def _unknown_key(field: str, node: Any) -> str:
    if field in MOVED_KEYS:
        return f"unknown key here; it belongs at {MOVED_KEYS[field]}"
    known = [f.encode_name for f in getattr(node, "fields", ())]
    close = difflib.get_close_matches(field, known, n=1)
    if close:
        return f"unknown key; did you mean `{close[0]}`?"
    return f"unknown key; allowed: {', '.join(known)}" if known else "unknown key"


# --- where a finding belongs --------------------------------------------------------------------

_IN_ENVIRONMENT = re.compile(r"^environments\.(?P<env>[^.\[]+)\.(?P<rest>.+)$")


def attribute_to_defaults(
    findings: Iterable[tuple[str, str]], environments: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Findings about a setting an environment inherits from environment_defaults, moved there and
    told once; when it fails in only some of the environments inheriting it, those are named."""
    told: dict[tuple[str, str], list[str]] = {}
    for where, what in findings:
        match = _IN_ENVIRONMENT.match(where)
        steps = match["rest"].split(".") if match else []
        if match and _inherited(environments.get(match["env"]), defaults, steps):
            told.setdefault((f"environment_defaults.{match['rest']}", what), []).append(match["env"])
        else:
            told.setdefault((where, what), [])
    result = []
    for (where, what), envs in told.items():
        steps = where.split(".")[1:]
        if envs and envs != [
            name for name in environments if _inherited(environments[name], defaults, steps)
        ]:
            what += f" (in {', '.join(f'environments.{name}' for name in envs)})"
        result.append((where, what))
    return result


def _inherited(own: Any, defaults: Any, steps: list[str]) -> bool:
    """Whether the value at `steps` of an environment comes from the defaults (the merge rule of
    `config.deep_merge`: mappings merge key by key, anything else the environment sets replaces)."""
    own = own if own is not None else {}
    for step in steps:
        if not isinstance(own, Mapping):
            return False  # the environment set a value here itself
        if step not in own:
            return isinstance(defaults, Mapping) and step in defaults
        own, defaults = own[step], defaults.get(step) if isinstance(defaults, Mapping) else None
    return False
