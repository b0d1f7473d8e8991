"""The registry stack (tap_cfn/stacks/registry.py): the project's repositories, one per service that
runs the platform's image, kept, encrypted, scanned, immutable, and pullable by the listed accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tap_cfn import config as cfg
from tap_cfn.render import as_dict
from tap_cfn.stacks import registry

FIXTURES = Path(__file__).parent.parent / "fixtures"
PULL = {
    "Sid": "PullFromTheseAccounts",
    "Effect": "Allow",
    "Principal": {"AWS": {"Ref": "PullAccounts"}},
    "Action": [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
    ],
}


def built(config: cfg.Config) -> dict[str, Any]:
    return as_dict(registry.build(config))


@pytest.fixture(scope="module")
def packaged() -> dict[str, Any]:
    return built(cfg.load())


def test_one_kept_repository_per_service_named_project_slash_service(packaged: dict[str, Any]) -> None:
    repositories = {k: v for k, v in packaged["Resources"].items() if v["Type"] == "AWS::ECR::Repository"}
    assert {k: v["Properties"]["RepositoryName"] for k, v in repositories.items()} == {
        "FrontendRepository": "tap/frontend",
        "ApiGatewayRepository": "tap/api-gateway",
        "ProcessingRepository": "tap/processing",
    }
    for resource in [*repositories.values(), packaged["Resources"]["RegistryKey"]]:
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate"
        assert resource["UpdateReplacePolicy"] == "Retain"
        assert "EmptyOnDelete" not in resource["Properties"]


def test_repositories_are_immutable_scanned_encrypted_and_expire_by_tag(packaged: dict[str, Any]) -> None:
    props = packaged["Resources"]["FrontendRepository"]["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {
        "EncryptionType": "KMS",
        "KmsKey": {"Fn::GetAtt": ["RegistryKey", "Arn"]},
    }
    rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert [(r["rulePriority"], r["selection"]) for r in rules] == [
        (
            1,
            {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
        ),
        (
            2,
            {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": 50,
            },
        ),
    ]
    assert props["Tags"] == [
        {"Key": "ManagedBy", "Value": "tap-cfn"},
        {"Key": "Name", "Value": "tap/frontend"},
        {"Key": "Project", "Value": "tap"},
    ]


def test_the_registry_key_is_used_by_ecr_only_and_rotates(packaged: dict[str, Any]) -> None:
    key = packaged["Resources"]["RegistryKey"]["Properties"]
    assert key["EnableKeyRotation"] is True and key["PendingWindowInDays"] == 30
    sids = [s["Sid"] for s in key["KeyPolicy"]["Statement"]]
    assert sids == ["AccountAdministersTheKey", "Ecr", "GrantsOnlyForAwsResources"]
    ecr = key["KeyPolicy"]["Statement"][1]
    assert ecr["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "ecr.${AWS::Region}.amazonaws.com"
    }


def test_other_accounts_pull_only_when_listed(packaged: dict[str, Any]) -> None:
    assert packaged["Parameters"]["PullAccounts"]["Type"] == "CommaDelimitedList"
    assert packaged["Parameters"]["PullAccounts"]["Default"] == ""
    assert packaged["Conditions"]["HasPullAccounts"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "PullAccounts"}]}, ""]}]
    }
    policy = packaged["Resources"]["ApiGatewayRepository"]["Properties"]["RepositoryPolicyText"]
    assert policy == {
        "Fn::If": [
            "HasPullAccounts",
            {"Version": "2012-10-17", "Statement": [PULL]},
            {"Ref": "AWS::NoValue"},
        ]
    }


def test_outputs_are_the_repository_uris(packaged: dict[str, Any]) -> None:
    assert packaged["Outputs"]["ApiGatewayRepositoryUri"] == {
        "Description": "URI of the api-gateway repository: push api-gateway's images here.",
        "Value": {"Fn::GetAtt": ["ApiGatewayRepository", "RepositoryUri"]},
        "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-ApiGatewayRepositoryUri"}},
    }
    assert sorted(packaged["Outputs"]) == [
        "ApiGatewayRepositoryUri",
        "FrontendRepositoryUri",
        "ProcessingRepositoryUri",
    ]


def test_a_service_with_an_external_image_gets_no_repository() -> None:
    # GIVEN the real-services fixture, whose `reports` names ghcr.io/example/reports:2.3.1
    template = built(cfg.load(FIXTURES / "real-services.yaml"))
    names = sorted(
        r["Properties"]["RepositoryName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECR::Repository"
    )
    assert names == ["real/api", "real/jobs", "real/web"]


def test_keep_images_is_the_projects() -> None:
    raw: dict[str, Any] = {
        "project": "shop",
        "registry": {"keep_images": 7},
        "environments": {"dev": {}},
        "services": [
            {"name": "web", "port": 80, "cpu": 256, "memory": 512, "route": {"type": "alb", "default": True}}
        ],
    }
    rules = json.loads(
        built(cfg.parse(raw))["Resources"]["WebRepository"]["Properties"]["LifecyclePolicy"][
            "LifecyclePolicyText"
        ]
    )["rules"]
    assert rules[1]["selection"]["countNumber"] == 7
