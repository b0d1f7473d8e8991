"""IAM policy builders (awacs only). Resource "*" is allowed solely for the actions below,
which AWS offers no resource-level permission for; anything else must name its ARNs.

Also the resource policies: the platform KMS key's policy (whose users are one table,
`KEY_USERS`) and the TLS-only guard of bucket policies."""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import awacs
from awacs import cloudwatch, ecr, kms, s3, ssmmessages, sts, xray
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Bool,
    BoolIfExists,
    Condition,
    ConditionElement,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

# Actions with no resource-level permissions: the Service Authorization Reference lists no
# resource type for them, so "*" is the only Resource IAM accepts.
# - ecr:GetAuthorizationToken: a registry-wide login token.
# - cloudwatch:PutMetricData: metrics have no ARN (our statements narrow it by cloudwatch:namespace).
# - ssmmessages:*Channel: the ECS Exec / Session Manager data channels of the task (granted only to
#   the task role of a service with `exec: true`).
# - xray: sending traces and reading sampling rules, what an X-Ray daemon or an OpenTelemetry
#   collector does; AWS's own AWSXRayDaemonWriteAccess grants exactly these on "*"
#   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html,
#   https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSXRayDaemonWriteAccess.html).
UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    a.JSONrepr()
    for a in (
        ecr.GetAuthorizationToken,
        cloudwatch.PutMetricData,
        ssmmessages.CreateControlChannel,
        ssmmessages.CreateDataChannel,
        ssmmessages.OpenControlChannel,
        ssmmessages.OpenDataChannel,
        xray.PutTraceSegments,
        xray.PutTelemetryRecords,
        xray.GetSamplingRules,
        xray.GetSamplingTargets,
        xray.GetSamplingStatisticSummaries,
    )
)

ACCOUNT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
LOG_GROUPS_HERE = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"


class PolicyError(ValueError):
    """A statement would grant Resource "*" for an action that supports resource-level permissions."""


def allow(
    actions: Sequence[Action], resources: Sequence[object], condition: Condition | None = None
) -> Statement:
    """An Allow statement; Resource "*" only for `UNSCOPED_ACTIONS`."""
    if "*" in resources:
        scoped = scoped_actions(a.JSONrepr() for a in actions)
        if scoped:
            raise PolicyError(f"Resource '*' is not allowed for {', '.join(scoped)}")
    extra = {"Condition": condition} if condition is not None else {}
    return Statement(Effect=Allow, Action=list(actions), Resource=list(resources), **extra)


def scoped_actions(names: Iterable[str]) -> list[str]:
    """The actions among `names` that support resource-level permissions (so never Resource "*")."""
    return sorted(name for name in names if name not in UNSCOPED_ACTIONS)


# --- Actions named in the config, checked against awacs' lists ------------------------------------


@cache
def _module(prefix: str) -> ModuleType | None:
    """The awacs module of an IAM service prefix (execute-api -> awacs.execute_api), if any."""
    try:
        module = importlib.import_module(f"awacs.{prefix.replace('-', '_')}")
    except ImportError:
        return None
    return module if getattr(module, "prefix", None) == prefix else None


@cache
def known_actions(prefix: str) -> tuple[str, ...]:
    """Every action name awacs declares for `prefix` (empty for an unknown service)."""
    module = _module(prefix)
    if module is None:
        return ()
    names = {v.action for v in vars(module).values() if isinstance(v, Action)}
    return tuple(sorted(name for name in names if name and name != "*"))


def action_problem(name: str) -> str | None:
    """Why `name` (service:Action, wildcards allowed) is no IAM action awacs knows, with the closest
    known one; None when it is known (or, with a wildcard, matches at least one)."""
    prefix, _, verb = name.partition(":")
    known = known_actions(prefix)
    if not known:
        services = [m.name.replace("_", "-") for m in pkgutil.iter_modules(awacs.__path__)]
        close = difflib.get_close_matches(prefix, services, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{name!r}: unknown IAM service {prefix!r}{hint}"
    if any(c in verb for c in "*?"):
        return None if fnmatch.filter(known, verb) else f"{name!r} matches no {prefix} action"
    if verb in known:
        return None
    close = difflib.get_close_matches(verb, known, n=1)
    hint = f"; did you mean '{prefix}:{close[0]}'?" if close else ""
    return f"{name!r} is not a known {prefix} action{hint}"


def action(name: str) -> Action:
    """The awacs Action of a validated `service:Action` name."""
    prefix, _, verb = name.partition(":")
    return Action(prefix, verb)


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def service_trust(
    service: str, source_arn: str = "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*"
) -> PolicyDocument:
    """Trust `service` (e.g. ecs-tasks.amazonaws.com) on behalf of this account only (confused-deputy
    guard): aws:SourceAccount, and aws:SourceArn matching `source_arn` (Fn::Sub text)."""
    return document(
        Statement(
            Effect=Allow,
            Principal=Principal("Service", [service]),
            Action=[sts.AssumeRole],
            Condition=Condition(
                [
                    StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")}),
                    ArnLike({"aws:SourceArn": Sub(source_arn)}),
                ]
            ),
        )
    )


def deny_insecure_transport(resources: Sequence[object]) -> Statement:
    """Refuse any request to `resources` that does not come over TLS (aws:SecureTransport false)."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[Action("s3", "*")],
        Resource=list(resources),
        Condition=Condition(Bool({"aws:SecureTransport": False})),
    )


# ALB access-log delivery. AWS documents two principals: the regional Elastic Load Balancing account
# (regions opened before August 2022; a per-region account ID table) and this service principal
# (newer regions, and the form AWS now recommends). The service principal needs no table of
# account IDs, and the Resource pins delivery to this account's prefix.
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_log_delivery(prefix_arn: Sub) -> Statement:
    """Let the load balancer's log delivery write objects under `prefix_arn` (Fn::Sub, ends in /*)."""
    return Statement(
        Sid="ElbAccessLogDelivery",
        Effect=Allow,
        Principal=Principal("Service", [ELB_LOG_DELIVERY]),
        Action=[s3.PutObject],
        Resource=[prefix_arn],
    )


# --- The platform KMS key -------------------------------------------------------------------------

# What the account may do to the key itself: manage it, never use it. CloudFormation (running as
# the deployer) needs these to create, update and delete the key; using the key for data goes
# through a `KeyUser` below. kms:PutKeyPolicy for the account is also what KMS's lockout check
# requires of a new key policy.
KEY_ADMIN_ACTIONS = (
    kms.DescribeKey,
    kms.GetKeyPolicy,
    kms.GetKeyRotationStatus,
    kms.ListResourceTags,
    kms.ListKeyPolicies,
    kms.ListGrants,
    kms.PutKeyPolicy,
    kms.EnableKey,
    kms.DisableKey,
    kms.EnableKeyRotation,
    kms.DisableKeyRotation,
    kms.UpdateKeyDescription,
    kms.TagResource,
    kms.UntagResource,
    kms.RevokeGrant,
    kms.ScheduleKeyDeletion,
    kms.CancelKeyDeletion,
)
ENVELOPE = (
    kms.Encrypt,
    kms.Decrypt,
    kms.ReEncryptFrom,
    kms.ReEncryptTo,
    kms.GenerateDataKey,
    kms.GenerateDataKeyWithoutPlaintext,
    kms.DescribeKey,
)


@dataclass(frozen=True)
class KeyUser:
    """One statement of the key policy: who may use the key, for what, under which conditions.

    With `service` (a service principal, Fn::Sub text) that service uses the key itself. Otherwise
    principals of this account may (kms:CallerAccount), with their IAM policies deciding which
    ones, and with `via` only through that service endpoint (kms:ViaService, Fn::Sub text: this
    region). `conditions` adds (operator, key, Fn::Sub text) triples, e.g. an encryption context."""

    sid: str
    actions: tuple[Action, ...]
    service: str | None = None
    via: str | None = None
    conditions: tuple[tuple[type[ConditionElement], str, str], ...] = ()

    def statement(self) -> Statement:
        elements: list[ConditionElement] = []
        if self.service is not None:
            principal = Principal("Service", [_sub(self.service)])
        else:
            principal = Principal("AWS", [Sub(ACCOUNT)])
            here = {"kms:CallerAccount": Sub("${AWS::AccountId}")}
            if self.via is not None:
                here["kms:ViaService"] = Sub(self.via)
            elements.append(StringEquals(here))
        elements.extend(op({key: _sub(value)}) for op, key, value in self.conditions)
        # In a key policy, Resource "*" means this key and nothing else. No empty Condition block.
        extra = {"Condition": Condition(elements)} if elements else {}
        return Statement(
            Sid=self.sid,
            Effect=Allow,
            Principal=principal,
            Action=list(self.actions),
            Resource=["*"],
            **extra,
        )


# Everyone who may use the platform key. Add a service here (SNS topics, CloudWatch alarms, ...)
# and the key policy of every environment lets it use the key.
KEY_USERS: tuple[KeyUser, ...] = (
    # CloudWatch Logs encrypts log groups itself; only log groups of this account and region.
    KeyUser(
        "CloudWatchLogs",
        actions=ENVELOPE,
        service="logs.${AWS::Region}.amazonaws.com",
        conditions=((ArnLike, "kms:EncryptionContext:aws:logs:arn", LOG_GROUPS_HERE),),
    ),
    # Secrets Manager encrypts and decrypts on behalf of its caller (execution roles, CloudFormation).
    KeyUser("SecretsManager", actions=ENVELOPE, via="secretsmanager.${AWS::Region}.amazonaws.com"),
    # Alarms publish to the KMS-encrypted alarm topic; the aws/sns managed key cannot allow this,
    # which is why the topic uses the customer-managed key.
    KeyUser(
        "CloudWatchAlarms", actions=(kms.Decrypt, kms.GenerateDataKey), service="cloudwatch.amazonaws.com"
    ),
    # Principals of this account (operators, applications) publishing to the encrypted alarm topic:
    # SNS calls KMS on their behalf, so only through SNS in this region
    # (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    KeyUser(
        "SnsPublishers", actions=(kms.Decrypt, kms.GenerateDataKey), via="sns.${AWS::Region}.amazonaws.com"
    ),
)
# The registry's key (tap_cfn/stacks/registry.py) has one user: ECR takes a grant when a repository
# is created and uses it to encrypt and decrypt layers, also for pulls from other accounts, which
# need no permission on the key (https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html).
ECR_KEY_USER = KeyUser(
    "Ecr",
    actions=(*ENVELOPE, kms.CreateGrant, kms.RetireGrant),
    via="ecr.${AWS::Region}.amazonaws.com",
)
# What an execution role does to pull an image from a repository (the repository's side of a pull
# from another account is the repository policy: `repository_pull_policy`).
ECR_PULL_ACTIONS = (ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage)


def repository_pull_policy(accounts: object) -> PolicyDocument:
    """A repository policy letting `accounts` (IDs; their IAM policies decide which principals) pull
    the images and read them (preflight checks a tag exists from the pulling account). A repository
    policy names no Resource: it is the repository's own.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html"""
    return document(
        Statement(
            Sid="PullFromTheseAccounts",
            Effect=Allow,
            Principal=Principal("AWS", accounts),  # type: ignore[arg-type]
            Action=[*ECR_PULL_ACTIONS, ecr.DescribeImages, ecr.DescribeRepositories],
        )
    )


# ECS Exec, only when a service enables it: the agent in the task decrypts and the operator's client
# makes the session data key, both calling KMS directly (Session Manager has no kms:ViaService).
EXEC_KEY_USER = KeyUser("EcsExecSessions", actions=(kms.Decrypt, kms.GenerateDataKey))


def _sub(text: str) -> str | Sub:
    return Sub(text) if "${" in text else text


def key_policy(users: Sequence[KeyUser]) -> PolicyDocument:
    """The platform key's policy: the account administers the key; `users` use it."""
    admin = Statement(
        Sid="AccountAdministersTheKey",
        Effect=Allow,
        Principal=Principal("AWS", [Sub(ACCOUNT)]),
        Action=list(KEY_ADMIN_ACTIONS),
        Resource=["*"],
    )
    return document(admin, *(user.statement() for user in users), GRANTS_ONLY_FOR_AWS_RESOURCES)


# Grants are how AWS services (ECR here) use the key on a caller's behalf; nobody else may create
# one, whatever their IAM policies say (kms:GrantIsForAWSResource is true only when an integrated
# AWS service sends the request: https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html).
# This is the statement the Control Tower control CT.KMS.PR.3 looks for.
GRANTS_ONLY_FOR_AWS_RESOURCES = Statement(
    Sid="GrantsOnlyForAwsResources",
    Effect=Deny,
    Principal=Principal("AWS", ["*"]),
    Action=[kms.CreateGrant],
    Resource=["*"],
    # one operator, both keys: a second BoolIfExists element would replace the first
    Condition=Condition(
        BoolIfExists({"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"})
    ),
)
