"""Registry stack: the project's image repositories, `<project>-registry`, one stack per account and
region, shared by every environment and kept when an environment is torn down. One ECR repository
per service that runs the platform's image (not for a service with an external `image`), named
`<project>/<service>` in every environment, so an image is built and pushed once and promoted
dev -> staging -> prod by deploying the same tag; other accounts may pull through a repository
policy (PullAccounts). Deployed with `python generate.py registry deploy`."""

from __future__ import annotations

import json
from typing import TypeVar

from troposphere import (
    AWS_NO_VALUE,
    Equals,
    Export,
    GetAtt,
    If,
    Join,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Template,
    ecr,
    kms,
)

from tap_cfn import conventions, iam, naming
from tap_cfn.config import Config, Service
from tap_cfn.contract import REPOSITORY_URI
from tap_cfn.naming import logical_id

PULL_ACCOUNTS, HAS_PULL_ACCOUNTS = "PullAccounts", "HasPullAccounts"
UNTAGGED_IMAGE_DAYS = 1
KEY_DELETION_WINDOW_DAYS = 30  # the longest AWS allows (7 to 30): images are encrypted with it
# Kept on stack deletion and replacement; deleted only when the create that made it rolls back, so
# a retry of a failed first deploy finds no repository of the same name in its way
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
KEEP_ON_DELETE, KEEP_ON_REPLACE = "RetainExceptOnCreate", "Retain"


Kept = TypeVar("Kept", kms.Key, ecr.Repository)


def repository_services(config: Config) -> list[Service]:
    """The services whose image lives in the project's registry: all but those naming an `image`."""
    return [svc for svc in config.services if svc.image is None]


def lifecycle_policy(keep: int) -> str:
    """Expire untagged images after a day and tagged ones beyond the newest `keep`. Never a count
    rule over tagStatus any: it counts every image, so it can expire the one a service runs; a
    tagged rule needs tagPatternList (or tagPrefixList), and a rule over `any` would have to come
    last (https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html).
    The count is per repository and over every environment's tags: the project's, not a profile's."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {UNTAGGED_IMAGE_DAYS} day",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_IMAGE_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the newest {keep} tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


def build(config: Config) -> Template:
    t = Template(Description=f"{config.project}: image repositories shared by every environment")
    t.set_version("2010-09-09")
    accounts = t.add_parameter(
        Parameter(
            PULL_ACCOUNTS,
            Type="CommaDelimitedList",
            Default="",
            Description="Other AWS accounts (12-digit IDs, comma-separated) whose environments pull "
            "these images; empty: this account only.",
        )
    )
    t.add_condition(HAS_PULL_ACCOUNTS, Not(Equals(Join("", Ref(accounts)), "")))
    key = _key(t, config.project)
    for svc in repository_services(config):
        _repository(t, config, svc.name, key, Ref(accounts))
    return t


def _key(t: Template, project: str) -> kms.Key:
    name = f"{conventions.registry_stack_name(project)}-key"
    return _kept(
        t,
        kms.Key(
            "RegistryKey",
            Description=f"{name}: encrypts the images of the {project} repositories",
            KeySpec="SYMMETRIC_DEFAULT",
            KeyUsage="ENCRYPT_DECRYPT",
            EnableKeyRotation=True,
            PendingWindowInDays=KEY_DELETION_WINDOW_DAYS,
            KeyPolicy=iam.key_policy([iam.ECR_KEY_USER]),
            Tags=naming.registry_tags(project, name),
        ),
    )


def _repository(t: Template, config: Config, service: str, key: kms.Key, accounts: Ref) -> None:
    name = conventions.repository_name(config.project, service)
    repository = _kept(
        t,
        ecr.Repository(
            f"{logical_id(service)}Repository",
            RepositoryName=name,
            ImageTagMutability="IMMUTABLE",  # a tag names one image in every environment
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            EncryptionConfiguration=ecr.EncryptionConfiguration(
                EncryptionType="KMS", KmsKey=GetAtt(key, "Arn")
            ),
            LifecyclePolicy=ecr.LifecyclePolicy(
                LifecyclePolicyText=lifecycle_policy(config.registry.keep_images)
            ),
            RepositoryPolicyText=If(
                HAS_PULL_ACCOUNTS, iam.repository_pull_policy(accounts), Ref(AWS_NO_VALUE)
            ),
            Tags=naming.registry_tags(config.project, name),
        ),
    )
    key = REPOSITORY_URI.name(service)
    t.add_output(
        Output(
            key,
            Description=REPOSITORY_URI.describe(service),
            Value=GetAtt(repository, "RepositoryUri"),
            Export=Export(Sub(f"${{AWS::StackName}}-{key}")),
        )
    )


def _kept(t: Template, resource: Kept) -> Kept:
    resource.DeletionPolicy = KEEP_ON_DELETE
    resource.UpdateReplacePolicy = KEEP_ON_REPLACE
    return t.add_resource(resource)
