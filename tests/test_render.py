"""Both formats say the same thing: the short-form YAML, read back the way CloudFormation
reads it, equals the JSON."""

from __future__ import annotations

import json

import pytest
from cfn_tools import load_yaml  # cfn-flip's loader understands !Ref, !Sub, !GetAtt, ...

from tap_cfn import config as cfg
from tap_cfn import generator


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_yaml_and_json_are_the_same_template(env: str) -> None:
    files = generator.render_environment(cfg.Deployment(cfg.load(), env), ["json", "yaml"])
    stems = {name.rsplit(".", 1)[0] for name in files}
    assert len(stems) == 10
    for stem in stems:
        from_json = json.loads(files[f"{stem}.json"])
        from_yaml = json.loads(json.dumps(load_yaml(files[f"{stem}.yaml"])))
        if stem == "root":  # the only difference: which child files the TemplateURLs name
            for resource in from_yaml["Resources"].values():
                resource["Properties"]["TemplateURL"] = resource["Properties"]["TemplateURL"].replace(
                    ".yaml", ".json"
                )
        assert from_yaml == from_json, stem
        assert files[f"{stem}.json"].endswith("}\n") and files[f"{stem}.yaml"].endswith("\n")


def test_short_form_keeps_nested_functions_valid() -> None:
    from tap_cfn.render import to_yaml

    text = to_yaml({"A": {"Fn::Base64": {"Fn::Sub": "x-${Y}"}}, "B": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}})
    assert "Fn::Base64: !Sub x-${Y}" in text  # one tag per node: the outer function stays long
    assert load_yaml(text) == {
        "A": {"Fn::Base64": {"Fn::Sub": "x-${Y}"}},
        "B": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    }
