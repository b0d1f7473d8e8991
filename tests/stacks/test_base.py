"""What every child stack builder shares (tap_cfn/stacks/base.py): tags on every taggable resource and
the data-retention policy of the profile."""

from __future__ import annotations

import pytest

from tests.conftest import PROFILES, Built

# An environment's stateful resources; the image repositories are the project's (test_registry.py).
STATEFUL = {
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
}


def _taggable_types() -> set[str]:
    import troposphere

    types = set()
    for module in (
        "ec2",
        "ecs",
        "ecr",
        "logs",
        "secretsmanager",
        "servicediscovery",
        "iam",
        "elasticloadbalancingv2",
        "applicationautoscaling",
        "cloudformation",
    ):
        mod = __import__(f"troposphere.{module}", fromlist=["x"])
        for obj in vars(mod).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, troposphere.AWSObject)
                and "Tags" in getattr(obj, "props", {})
            ):
                types.add(obj.resource_type)
    return types


@pytest.mark.parametrize("env", PROFILES)
def test_stateful_resources_are_retained_in_prod_and_staging_deleted_in_dev(
    built: dict[str, Built], env: str
) -> None:
    # RetainExceptOnCreate: a create that rolls back removes them, so a retry can reuse the names
    deletion, replacement = ("Delete", "Delete") if env == "dev" else ("RetainExceptOnCreate", "Retain")
    found = set()
    for stem, logical_id, resource in built[env].all_resources():
        if resource["Type"] in STATEFUL:
            found.add(resource["Type"])
            assert resource["DeletionPolicy"] == deletion, (stem, logical_id)
            assert resource["UpdateReplacePolicy"] == replacement, (stem, logical_id)
        assert resource["Type"] != "AWS::ECR::Repository", (stem, logical_id)
    assert found == STATEFUL


def test_every_taggable_resource_is_tagged(env_built: Built) -> None:
    taggable = _taggable_types()
    assert "AWS::ECS::Service" in taggable and "AWS::EC2::Route" not in taggable
    templates = {"root": env_built.root, **env_built.children}
    tagged = 0
    for stem, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] not in taggable:
                continue
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            assert {"Project", "Environment", "ManagedBy", "Name"} <= set(tags), (stem, logical_id)
            assert tags["Project"] == "tap" and tags["Environment"] == env_built.dep.env_name
            tagged += 1
    assert tagged > 30
