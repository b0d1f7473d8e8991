"""tap_cfn/conventions.py: the shared facts, each checked against its literal value (a change to
one is a change to every stack name, tag or file users and their tools already know)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tap_cfn import conventions

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def test_stack_names_are_the_project_then_the_suffix() -> None:
    assert conventions.stack_name("tap", "dev") == "tap-dev"
    assert conventions.stack_name("acme", "pr-42") == "acme-pr-42"
    assert conventions.registry_stack_name("tap") == "tap-registry"


def test_the_root_template_is_root_json_and_root_yaml() -> None:
    assert conventions.ROOT_STEM == "root"
    assert (conventions.root_file("json"), conventions.root_file("yaml")) == ("root.json", "root.yaml")


def test_the_tag_keys_and_the_tool_name() -> None:
    keys = (
        conventions.TAG_PROJECT,
        conventions.TAG_ENVIRONMENT,
        conventions.TAG_MANAGED_BY,
        conventions.TAG_NAME,
    )
    assert keys == ("Project", "Environment", "ManagedBy", "Name")
    assert conventions.MANAGED_BY == conventions.TOOL == "tap-cfn"
    assert conventions.ARTIFACT_BUCKET_PREFIX == "tap-cfn-artifacts"


def test_the_parameter_names_users_pass() -> None:
    assert conventions.SUFFIX_PARAMETER == "EnvironmentSuffix"
    assert conventions.REGISTRY_ACCOUNT_PARAMETER == "RegistryAccountId"


def test_the_deployers_metadata_key_in_the_generated_root_templates() -> None:
    assert (conventions.DEPLOYER_METADATA, conventions.ALB_DELETION_PROTECTION) == (
        "tap-cfn",
        "AlbDeletionProtection",
    )
    # the committed templates carry it: prod wants its load balancer protected, dev does not
    for env, wanted in (("dev", False), ("prod", True)):
        root = json.loads((TEMPLATES / env / "root.json").read_text())
        assert root["Metadata"]["tap-cfn"] == {"AlbDeletionProtection": wanted}


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("dev", True),
        ("pr-42", True),
        ("a", True),
        ("Dev", False),
        ("-dev", False),
        ("dev-", False),
        ("a_b", False),
    ],
)
def test_the_suffix_pattern(text: str, valid: bool) -> None:
    assert conventions.is_suffix(text) is valid


def test_an_account_id_is_twelve_digits() -> None:
    assert re.fullmatch(conventions.ACCOUNT_ID_PATTERN, "123456789012")
    assert not re.fullmatch(conventions.ACCOUNT_ID_PATTERN, "12345678901")
    assert not re.fullmatch(conventions.ACCOUNT_ID_PATTERN, "1234567890123")


def test_repositories_and_the_registry_host() -> None:
    assert conventions.repository_name("tap", "api-gateway") == "tap/api-gateway"
    assert (
        conventions.registry_host("123456789012", "eu-west-1")
        == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    )
    assert (
        conventions.registry_host("123456789012", "cn-north-1")
        == "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    )
    image = "${RegistryAccount}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/tap/frontend:${FrontendImageTag}"
    found = re.search(conventions.REGISTRY_IMAGE, image)
    assert found is not None and (found["repository"], found["tag"]) == ("tap/frontend", "FrontendImageTag")
