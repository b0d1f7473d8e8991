"""Preflight: refuse before anything is created. Each check prints one line, ok or the problem and
its exact fix; any problem exits 1 before a change set exists. `deploy` runs it first.

The checks read the rendered templates (never tap_cfn.stacks) and the account through the
clients passed in, so the same code runs against AWS and against a local endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_cfn.contract import CERTIFICATE_ARN
from tap_cfn.conventions import REGISTRY_ACCOUNT_PARAMETER, REGISTRY_IMAGE, ROOT_STEM
from tap_cfn.deploy.aws import Clients, error_code, error_message
from tap_cfn.deploy.changeset import USE_PREVIOUS
from tap_cfn.deploy.deployer import (
    EXIT_FAILED,
    EXIT_OK,
    Console,
    Target,
    UsageError,
    _load_root,
    _previous_parameters,
    describe_stack,
    resolve_parameters,
)
from tap_cfn.deploy.events import list_nested_stacks
from tap_cfn.deploy.packaging import PackagingError, load_template
from tap_cfn.deploy.rootcause import REPLACEABLE, STUCK, state_advice
from tap_cfn.naming import SUFFIX_VAR

ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"


@dataclass(frozen=True)
class Check:
    """One preflight line: what was checked, whether it holds, and the fix when it does not."""

    name: str
    ok: bool
    text: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"  {mark}  {self.name}: {self.text}" + (f"\n        fix: {self.fix}" if self.fix else "")


@dataclass
class Context:
    """What every check may read: the account, the target, its templates and parameter values."""

    clients: Clients
    target: Target
    templates: dict[str, dict[str, Any]]  # stem -> template, as deployed
    parameters: dict[str, str | None]  # resolved; USE_PREVIOUS where the stack's value is kept
    previous: dict[str, str]  # the stack's current parameter values ({} on create)
    existing: dict[str, Any] | None
    console: Console
    yes: bool = False
    config: Path | None = None
    account: str = ""
    notes: list[str] = field(default_factory=list)

    def value(self, parameter: str) -> str:
        """The value a root parameter will have: given, kept from the stack, or its default."""
        given = self.parameters.get(parameter)
        if given is USE_PREVIOUS or (given is None and parameter in self.previous):
            return self.previous.get(parameter, "")
        if given is not None:
            return given
        spec = (self.templates[ROOT_STEM].get("Parameters") or {}).get(parameter, {})
        return str(spec.get("Default", ""))

    def resources(self, resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(stem, logical id, resource) of every resource of `resource_type` in every template."""
        for stem, template in sorted(self.templates.items()):
            for logical, resource in sorted((template.get("Resources") or {}).items()):
                if resource.get("Type") == resource_type:
                    yield stem, logical, resource

    def physical(self, text: Any) -> str:
        """A `Fn::Sub` name of the templates with the suffix filled in."""
        if isinstance(text, dict) and "Fn::Sub" in text:
            text = text["Fn::Sub"]
        return str(text).replace(SUFFIX_VAR, self.target.suffix)


def load_templates(target: Target) -> dict[str, dict[str, Any]]:
    """Every template of target's environment, by stem, in the root's format."""
    root = target.root_template
    _load_root(target)  # the one message for a missing root
    templates = {}
    for path in sorted(root.parent.glob(f"*{root.suffix}")):
        try:
            templates[path.stem] = load_template(path)
        except PackagingError as exc:
            raise UsageError(str(exc)) from exc
    return templates


def context(
    clients: Clients,
    target: Target,
    given: dict[str, str],
    console: Console,
    yes: bool = False,
    config: Path | None = None,
) -> Context:
    target.validate()
    templates = load_templates(target)
    existing = describe_stack(clients.cloudformation, target.stack_name)
    updatable = existing is not None and existing["StackStatus"] not in REPLACEABLE
    previous = _previous_parameters(existing) if updatable else {}
    parameters = resolve_parameters(
        templates[ROOT_STEM], target.root_template, target.suffix, given, previous if updatable else None
    )
    return Context(clients, target, templates, parameters, previous, existing, console, yes, config)


# --- the checks, in the order they print ----------------------------------------------------------


def check_identity(ctx: Context) -> list[Check]:
    """Who and where. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"""
    who = ctx.clients.sts.get_caller_identity()
    ctx.account = who["Account"]
    return [Check("identity", True, f"account {who['Account']}, region {ctx.clients.region}, {who['Arn']}")]


def check_service_linked_role(ctx: Context) -> list[Check]:
    """A cluster with capacity providers in an account that never used ECS fails without the role.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceLinkedRole.html
    """
    from botocore.exceptions import ClientError

    iam = ctx.clients.client("iam")
    name = "ECS service-linked role"
    try:
        iam.get_role(RoleName=ECS_SERVICE_LINKED_ROLE)
        return [Check(name, True, f"{ECS_SERVICE_LINKED_ROLE} exists")]
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    create = "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com"
    answer = True if ctx.yes else ctx.console.confirm(f"{ECS_SERVICE_LINKED_ROLE} is missing: create it now?")
    if not answer:
        return [
            Check(
                name,
                False,
                f"{ECS_SERVICE_LINKED_ROLE} is missing (a new account's cluster fails without it)",
                f"{create}  (or rerun with --yes)",
            )
        ]
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    return [Check(name, True, f"{ECS_SERVICE_LINKED_ROLE} created")]


@dataclass(frozen=True)
class Quota:
    """A regional quota the network stack draws on: the resource type that draws on it, its Service
    Quotas code and how to count what is in use.
    Codes: https://docs.aws.amazon.com/general/latest/gr/vpc-service.html (vpc) and
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html (ec2 Elastic IPs)
    """

    label: str
    resource_type: str
    service_code: str
    quota_code: str
    in_use: Callable[[Any], int]
    per_az: bool = False


def _count(ec2: Any, operation: str, key: str, **kwargs: Any) -> int:
    return sum(len(page.get(key) or []) for page in ec2.get_paginator(operation).paginate(**kwargs))


def _nat_gateways_in_busiest_az(ec2: Any) -> int:
    """NAT gateways (pending or available) in the AZ that has most: the quota is per AZ."""
    live = [{"Name": "state", "Values": ["pending", "available"]}]
    gateways = [
        g
        for page in ec2.get_paginator("describe_nat_gateways").paginate(Filters=live)
        for g in page.get("NatGateways") or []
    ]
    subnets = sorted({g["SubnetId"] for g in gateways if g.get("SubnetId")})
    if not subnets:
        return 0
    zones = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]}
    per_zone: dict[str, int] = {}
    for gateway in gateways:
        zone = zones.get(gateway.get("SubnetId", ""), "?")
        per_zone[zone] = per_zone.get(zone, 0) + 1
    return max(per_zone.values())


QUOTAS = (
    Quota(
        "Elastic IPs",
        "AWS::EC2::EIP",
        "ec2",
        "L-0263D0A3",
        lambda ec2: len(ec2.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"]),
    ),
    Quota("VPCs", "AWS::EC2::VPC", "vpc", "L-F678F1CE", lambda ec2: _count(ec2, "describe_vpcs", "Vpcs")),
    Quota(
        "internet gateways",
        "AWS::EC2::InternetGateway",
        "vpc",
        "L-A4707A72",
        lambda ec2: _count(ec2, "describe_internet_gateways", "InternetGateways"),
    ),
    Quota(
        "NAT gateways", "AWS::EC2::NatGateway", "vpc", "L-FE5A380F", _nat_gateways_in_busiest_az, per_az=True
    ),
)


def applied_quota(quotas: Any, quota: Quota) -> float | None:
    """The account's applied value, else the AWS default; None when neither can be read.
    https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
    (NoSuchResourceException when no applied value exists: the default is in effect)
    """
    from botocore.exceptions import ClientError

    for read in (quotas.get_service_quota, quotas.get_aws_default_service_quota):
        try:
            return float(read(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)["Quota"]["Value"])
        except ClientError as exc:
            if error_code(exc) not in ("NoSuchResourceException", "NoSuchResource"):
                raise
    return None


def deployed_counts(ctx: Context) -> dict[str, int]:
    """Resources of each type the live stack tree already holds: an update adds only the rest."""
    counts: dict[str, int] = {}
    if ctx.existing is None or ctx.existing["StackStatus"] in REPLACEABLE:
        return counts
    cfn, pending = ctx.clients.cloudformation, [ctx.existing["StackId"]]
    while pending:
        stack = pending.pop()
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
            for summary in page.get("StackResourceSummaries") or []:
                if summary.get("ResourceStatus") != "DELETE_COMPLETE":
                    counts[summary["ResourceType"]] = counts.get(summary["ResourceType"], 0) + 1
        pending += [child for _logical, child in list_nested_stacks(cfn, stack)]
    return counts


def check_quotas(ctx: Context) -> list[Check]:
    deployed = deployed_counts(ctx)
    ec2, quotas = ctx.clients.client("ec2"), ctx.clients.client("service-quotas")
    checks = []
    for quota in QUOTAS:
        adds = max(
            0, sum(1 for _ in ctx.resources(quota.resource_type)) - deployed.get(quota.resource_type, 0)
        )
        needs = min(adds, 1) if quota.per_az else adds  # our NAT gateways go one to an AZ
        name = f"quota {quota.label}" + (" per AZ" if quota.per_az else "")
        if needs == 0:
            checks.append(Check(name, True, "this deployment adds none"))
            continue
        limit = applied_quota(quotas, quota)
        used = quota.in_use(ec2)
        if limit is None:
            checks.append(
                Check(name, True, f"needs {needs}, {used} in use; quota {quota.quota_code} not readable")
            )
        elif used + needs > limit:
            link = (
                f"https://console.aws.amazon.com/servicequotas/home/services/{quota.service_code}"
                f"/quotas/{quota.quota_code}"
            )
            checks.append(
                Check(
                    name,
                    False,
                    f"needs {needs}; {used} of {limit:g} in use",
                    f"free {used + needs - int(limit)} or request an increase: {link}",
                )
            )
        else:
            checks.append(Check(name, True, f"needs {needs}; {used} of {limit:g} in use"))
    return checks


def repositories(templates: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(repository name, image tag parameter) of each container that runs an image of the
    project's registry, read from the task definitions' images (conventions.REGISTRY_IMAGE)."""
    found = set()
    for template in templates.values():
        for resource in (template.get("Resources") or {}).values():
            if resource.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            for container in (resource.get("Properties") or {}).get("ContainerDefinitions") or []:
                image = container.get("Image")
                sub = image.get("Fn::Sub") if isinstance(image, dict) else None
                text = sub[0] if isinstance(sub, list) else sub
                match = re.search(REGISTRY_IMAGE, text) if isinstance(text, str) else None
                if match:
                    found.add((match["repository"], match["tag"]))
    return sorted(found)


def registry_account(ctx: Context) -> str:
    """The account holding the repositories: RegistryAccountId when given, else the caller's."""
    declared = ctx.templates[ROOT_STEM].get("Parameters") or {}
    given = ctx.value(REGISTRY_ACCOUNT_PARAMETER) if REGISTRY_ACCOUNT_PARAMETER in declared else ""
    return given or ctx.account


def _registry_deploy(ctx: Context, account: str) -> str:
    """The command that creates the repositories (in `account`, allowing this one to pull)."""
    command = "python generate.py registry deploy" + (f" --config {ctx.config}" if ctx.config else "")
    command += f" --region {ctx.clients.region}"
    if account and account != ctx.account:
        command += f" --pull-accounts {ctx.account}  (with credentials of account {account})"
    return command


def check_images(ctx: Context) -> list[Check]:
    """Each service's repository exists in the registry and holds its tag: a missing one otherwise
    costs a 10+ minute failed rollout (CannotPullContainerError).
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositories.html
    """
    from botocore.exceptions import ClientError

    ecr, checks, account = ctx.clients.client("ecr"), [], registry_account(ctx)
    registry = {"registryId": account} if account else {}  # none: the caller's (identity unknown)
    for repository, parameter in repositories(ctx.templates):
        tag, name = ctx.value(parameter), f"image {parameter}"
        try:
            found = ecr.describe_repositories(**registry, repositoryNames=[repository])
        except ClientError as exc:
            if error_code(exc) not in ("RepositoryNotFoundException", "AccessDeniedException"):
                raise
            why = (
                "not found" if error_code(exc) == "RepositoryNotFoundException" else "not readable from here"
            )
            checks.append(
                Check(
                    name,
                    False,
                    f"repository {repository} {why} in account {account or 'of the caller'}",
                    _registry_deploy(ctx, account),
                )
            )
            continue
        uri = found["repositories"][0]["repositoryUri"]
        try:
            ecr.describe_images(**registry, repositoryName=repository, imageIds=[{"imageTag": tag}])
            checks.append(Check(name, True, f"{uri}:{tag} exists"))
        except ClientError as exc:
            if error_code(exc) != "ImageNotFoundException":
                raise
            images = f"python generate.py images --env {ctx.target.env} --tag {tag}" + (
                f" --config {ctx.config}" if ctx.config else ""
            )
            checks.append(
                Check(
                    name,
                    False,
                    f"no image tagged {tag!r} in {repository}",
                    f"docker push {uri}:{tag}  (the login, tag and push lines: {images};"
                    f" or --param {parameter}=TAG of an image that exists)",
                )
            )
    return checks


def host_names(ctx: Context) -> list[str]:
    """The host names the listener rules answer, which the certificate must cover."""
    hosts: set[str] = set()
    for _stem, _logical, rule in ctx.resources("AWS::ElasticLoadBalancingV2::ListenerRule"):
        for condition in (rule.get("Properties") or {}).get("Conditions") or []:
            if condition.get("Field") == "host-header":
                config = condition.get("HostHeaderConfig") or {}
                hosts.update(str(v) for v in config.get("Values") or condition.get("Values") or [])
    return sorted(hosts)


def covers(names: list[str], host: str) -> bool:
    """An ACM name covers a host exactly or as a wildcard of one label (`*.example.com`).
    https://docs.aws.amazon.com/acm/latest/userguide/acm-certificate.html (wildcard names)
    """
    for name in names:
        if name == host or (name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]):
            return True
    return False


def check_certificate(ctx: Context) -> list[Check]:
    """In this region, ISSUED, covering the listener rules' hosts.
    https://docs.aws.amazon.com/acm/latest/APIReference/API_DescribeCertificate.html
    """
    from botocore.exceptions import ClientError

    parameter = CERTIFICATE_ARN.name()
    arn = ctx.value(parameter) if parameter in (ctx.templates[ROOT_STEM].get("Parameters") or {}) else ""
    if not arn:
        return [Check("certificate", True, "none given: HTTP only")]
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    if region != ctx.clients.region:
        return [
            Check(
                "certificate",
                False,
                f"{arn} is in {region or 'no region'}, the stack in {ctx.clients.region}",
                f"request or import the certificate in {ctx.clients.region} and pass its ARN",
            )
        ]
    try:
        cert = ctx.clients.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return [
            Check(
                "certificate",
                False,
                f"{arn} not found: {error_message(exc)}",
                "pass --param CertificateArn= with an ARN from `aws acm list-certificates`",
            )
        ]
    status = cert.get("Status", "")
    if status != "ISSUED":
        return [
            Check(
                "certificate",
                False,
                f"{cert.get('DomainName')} is {status}, not ISSUED",
                "complete its validation (DNS record) or request a new one",
            )
        ]
    names = [cert.get("DomainName", ""), *(cert.get("SubjectAlternativeNames") or [])]
    missing = [h for h in host_names(ctx) if not covers(names, h)]
    if missing:
        return [
            Check(
                "certificate",
                False,
                f"{cert['DomainName']} does not cover {', '.join(missing)}",
                "add them as subject alternative names (a new certificate)",
            )
        ]
    return [Check("certificate", True, f"{cert['DomainName']} ISSUED in {region}")]


def check_stack_state(ctx: Context) -> list[Check]:
    """Not busy (someone else deploying) and not stuck.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html
    """
    name = "stack state"
    stack = ctx.existing
    if stack is None:
        return [Check(name, True, f"{ctx.target.stack_name} does not exist: it will be created")]
    status, target = stack["StackStatus"], ctx.target
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        events = ctx.clients.cloudformation.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
        since = min((e["Timestamp"] for e in events if e.get("ResourceStatus") == status), default=None)
        when = f" since {since:%Y-%m-%d %H:%M:%S %Z}".rstrip() if since else ""
        return [
            Check(
                name,
                False,
                f"{target.stack_name} is {status}{when}: someone else is deploying",
                f"wait for it: aws cloudformation wait stack-update-complete --stack-name {target.stack_name}"
                if status.startswith("UPDATE")
                else "wait for it to finish, then rerun",
            )
        ]
    if status in STUCK and not (status in REPLACEABLE and ctx.yes):
        advice = state_advice(status, target.stack_name, target.command("destroy"), target.command("deploy"))
        if status == "UPDATE_ROLLBACK_FAILED":
            advice += f"\n  or let tap-cfn explain and continue it:  {target.command('recover')}"
        return [Check(name, False, advice.replace("\n", "\n        "))]
    if status in REPLACEABLE:  # --yes: the deployer deletes it and creates it again
        return [Check(name, True, f"{target.stack_name} is {status}: it will be deleted and created again")]
    return [Check(name, True, f"{target.stack_name} is {status}")]


def check_templates_current(ctx: Context) -> list[Check]:
    """The templates on disk are what the config generates now (no stale templates/)."""
    from tap_cfn import config as cfg
    from tap_cfn import generator
    from tap_cfn.render import files

    root = ctx.target.root_template
    config = cfg.load(ctx.config)
    if ctx.target.env not in config.environments:
        return [
            Check(
                "templates",
                False,
                f"the config has no environment {ctx.target.env!r}",
                f"use one of {', '.join(config.environments)}",
            )
        ]
    fmt = root.suffix.lstrip(".")
    fresh = files(generator.build_environment(cfg.Deployment(config, ctx.target.env)), [fmt])
    stale = sorted(
        n
        for n, text in fresh.items()
        if not (root.parent / n).is_file() or (root.parent / n).read_text(encoding="utf-8") != text
    )
    extra = sorted(p.name for p in root.parent.glob(f"*.{fmt}") if p.name not in fresh)
    if stale or extra:
        return [
            Check(
                "templates",
                False,
                f"{root.parent} is stale: {', '.join(stale + extra)}",
                f"python generate.py templates --env {ctx.target.env}"
                + (f" --config {ctx.config}" if ctx.config else "")
                + f" --out {root.parent.parent}",
            )
        ]
    return [Check("templates", True, f"{root.parent} is current for the config")]


CHECKS: tuple[Callable[[Context], list[Check]], ...] = (
    check_identity,
    check_stack_state,
    check_templates_current,
    check_service_linked_role,
    check_quotas,
    check_images,
    check_certificate,
)


def run(ctx: Context) -> list[Check]:
    """Every check, printed as it is made; the caller decides by `all(c.ok ...)`."""
    ctx.console.say(
        f"Preflight for {ctx.target.stack_name} (env {ctx.target.env}, region {ctx.clients.region}):"
    )
    results = []
    for check in CHECKS:
        for result in check(ctx):
            ctx.console.say(result.line())
            results.append(result)
    problems = [r for r in results if not r.ok]
    if problems:
        ctx.console.warn(f"Preflight: {len(problems)} problem(s); nothing was changed")
    return results


def preflight(ctx: Context) -> int:
    """Exit code of the whole preflight: 0 when every check is ok."""
    return EXIT_OK if all(r.ok for r in run(ctx)) else EXIT_FAILED
