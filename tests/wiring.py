"""Checks over a rendered environment (file name -> template dict) that hold at any depth."""

from __future__ import annotations

import json
from typing import Any

# CloudFormation quotas per template: a TemplateBody up to 51,200 bytes, a template read from S3
# (TemplateURL) up to 1 MB
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
MAX_RESOURCES, MAX_PARAMETERS, MAX_OUTPUTS = 500, 200, 200
MAX_BODY_BYTES, MAX_S3_BYTES = 51_200, 1_000_000
# A root over the body quota goes as a TemplateURL (the deployer, `aws cloudformation deploy
# --s3-bucket`); the nested templates, always read from S3, stay within the body quota as well.
ROOT_FILES = ("root.json", "root.yaml")


def parse(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The JSON templates by stem."""
    return {name[: -len(".json")]: json.loads(text) for name, text in files.items() if name.endswith(".json")}


def wiring_problems(templates: dict[str, dict[str, Any]]) -> list[str]:
    """Every nested stack gets exactly its child's parameters; each is fed by a sibling's output
    of the same name or by the parent's own parameter. Empty when all is wired."""
    problems = []
    reached = {"root"}
    for stem, template in templates.items():
        stacks = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}
        outputs = {
            lid: set(templates[r["Properties"]["TemplateURL"].rsplit(".", 1)[0]].get("Outputs", {}))
            for lid, r in stacks.items()
        }
        for logical_id, stack in stacks.items():
            child_stem = stack["Properties"]["TemplateURL"].rsplit(".", 1)[0]
            reached.add(child_stem)
            child = templates[child_stem]
            fed = stack["Properties"].get("Parameters", {})
            if set(fed) != set(child.get("Parameters", {})):
                problems.append(
                    f"{stem}/{logical_id}: fed {sorted(set(fed) ^ set(child.get('Parameters', {})))}"
                )
            for key, value in fed.items():
                if "Ref" in value:
                    if value["Ref"] not in template.get("Parameters", {}):
                        problems.append(f"{stem}/{logical_id}.{key}: Ref to an unknown parameter")
                else:
                    producer, attribute = value["Fn::GetAtt"]
                    if attribute != f"Outputs.{key}" or key not in outputs.get(producer, set()):
                        problems.append(f"{stem}/{logical_id}.{key}: {producer} has no output {key}")
    unreached = set(templates) - reached
    if unreached:
        problems.append(f"templates no stack refers to: {sorted(unreached)}")
    return problems


def quota_problems(files: dict[str, str]) -> list[str]:
    problems = []
    for name, text in files.items():
        size = len(text.encode())
        template = json.loads(text) if name.endswith(".json") else None
        body_limit = MAX_S3_BYTES if name in ROOT_FILES else MAX_BODY_BYTES
        if name.endswith(".yaml") and size > body_limit:
            problems.append(f"{name}: {size} bytes > {body_limit}")
        if template is None:
            continue
        compact = len(json.dumps(template, separators=(",", ":")).encode())
        if compact > body_limit or size > MAX_S3_BYTES:
            problems.append(f"{name}: {compact} bytes compact, {size} as written")
        for section, limit in (
            ("Resources", MAX_RESOURCES),
            ("Parameters", MAX_PARAMETERS),
            ("Outputs", MAX_OUTPUTS),
        ):
            if len(template.get(section, {})) > limit:
                problems.append(f"{name}: {len(template[section])} {section} > {limit}")
    return problems
