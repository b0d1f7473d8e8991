"""The facts generate, deploy, ops and diagram share, each stated once.

Cheap to import (no troposphere, no boto3): the CLI loads it for every command.
"""

from __future__ import annotations

import re

# The config's `project` when it names none: the prefix of every physical name and stack name.
DEFAULT_PROJECT = "tap"

# The tool's own name: the ManagedBy tag value, the artifact bucket and key prefix, change set names.
TOOL = "tap-cfn"
MANAGED_BY = TOOL
ARTIFACT_KEY_PREFIX = TOOL
ARTIFACT_BUCKET_PREFIX = f"{TOOL}-artifacts"
CHANGE_SET_PREFIX = TOOL

# Tag keys: the generator puts all four on every resource; the deployer puts ManagedBy and
# Environment on the root stack, and drift reads Environment back to refuse the wrong profile.
TAG_PROJECT, TAG_ENVIRONMENT, TAG_MANAGED_BY, TAG_NAME = "Project", "Environment", "ManagedBy", "Name"

# The root template of an environment: templates/<env>/root.json and root.yaml.
ROOT_STEM = "root"
# The files of ours in templates/<env>/: every .json and .yaml (the templates), and what
# `generate.py diagram` draws from them (both views as Graphviz source and SVG, README.md with the
# Mermaid block). Nothing else there is ever removed.
TEMPLATE_SUFFIXES = (".json", ".yaml")
DIAGRAM_FILES = r"(topology|services)\.(dot|svg)|README\.md"
# The root template's Metadata for the deployer: {TOOL: {ALB_DELETION_PROTECTION: bool}}, whether
# the profile wants its load balancer protected (the deployer sets it, deploy/protection.py).
DEPLOYER_METADATA, ALB_DELETION_PROTECTION = TOOL, "AlbDeletionProtection"

# The root parameter every physical name ends with, and what it accepts.
SUFFIX_PARAMETER = "EnvironmentSuffix"
SUFFIX_PATTERN = "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
SUFFIX_RULE = "lowercase letters, digits and inner hyphens"
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html (StackName)
MAX_STACK_NAME = 128
# An AWS region's name: eu-west-1, us-gov-west-1, eusc-de-east-1, ...
REGION_PATTERN = r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$"


# The project's image registry: one stack per account and region, <project>-registry, shared by
# every environment; its template is templates/registry/registry.{json,yaml}. "registry" is
# therefore no environment suffix (its stack name) and no profile name (its folder).
REGISTRY = "registry"
# The root parameter naming the account that holds the repositories; empty: the deploying account.
REGISTRY_ACCOUNT_PARAMETER = "RegistryAccountId"
ACCOUNT_ID_PATTERN = "^[0-9]{12}$"
# An image tag a root parameter (<Service>ImageTag) accepts: not `latest` (tags are immutable and
# name one image everywhere). \w is [A-Za-z0-9_] in CloudFormation's (Java) patterns; kept short,
# it is repeated per service.
IMAGE_TAG_PATTERN = r"^(?!latest$)\w[\w.-]{0,127}$"


# The image of a service in the project's registry as the service stacks write it (Fn::Sub text):
# <account>.dkr.ecr.<region>.<suffix>/<repository>:${<Service>ImageTag}. Readers of rendered
# templates (preflight, the diagram) find the repository and its tag parameter with it.
REGISTRY_IMAGE = r"\.dkr\.ecr\.[^/]+/(?P<repository>[^:]+):\$\{(?P<tag>\w+)\}"


def registry_stack_name(project: str) -> str:
    return stack_name(project, REGISTRY)


def repository_name(project: str, service: str) -> str:
    """The ECR repository of a service's image: <project>/<service>, the same in every environment."""
    return f"{project}/{service}"


def registry_host(account: str, region: str) -> str:
    """The private registry's host name (docker login, image URIs); China regions end in .cn.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html"""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


def root_file(fmt: str) -> str:
    """'json' -> 'root.json'."""
    return f"{ROOT_STEM}.{fmt}"


def stack_name(project: str, suffix: str) -> str:
    """The root stack of an environment deployed with `suffix`: <project>-<suffix>."""
    return f"{project}-{suffix}"


def is_suffix(text: str) -> bool:
    return re.fullmatch(SUFFIX_PATTERN, text) is not None
