"""IAM policy builders (awacs only). Resource "*" is allowed solely for the actions below,
which AWS offers no resource-level permission for; anything else must name its ARNs."""

from __future__ import annotations

from collections.abc import Sequence

from awacs import cloudwatch, ecr, kms, sts
from awacs.aws import Action, Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Sub

# Actions with no resource-level permissions (Service Authorization Reference: "Resource types" empty).
UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    a.JSONrepr() for a in (ecr.GetAuthorizationToken, cloudwatch.PutMetricData)
)


# AWS services that use the deployment's KMS key on the platform's behalf, with what each needs.
KEY_USERS: dict[str, tuple[Action, ...]] = {
    # Alarms publish to the KMS-encrypted alarm topic; the aws/sns managed key cannot allow this,
    # which is why the topic uses the customer-managed key.
    "cloudwatch.amazonaws.com": (kms.Decrypt, kms.GenerateDataKey),
}


class PolicyError(ValueError):
    """A statement would grant Resource "*" for an action that supports resource-level permissions."""


def allow(
    actions: Sequence[Action], resources: Sequence[object], condition: Condition | None = None
) -> Statement:
    """An Allow statement; Resource "*" only for `UNSCOPED_ACTIONS`."""
    if "*" in resources:
        scoped = sorted(a.JSONrepr() for a in actions if a.JSONrepr() not in UNSCOPED_ACTIONS)
        if scoped:
            raise PolicyError(f"Resource '*' is not allowed for {', '.join(scoped)}")
    extra = {"Condition": condition} if condition is not None else {}
    return Statement(Effect=Allow, Action=list(actions), Resource=list(resources), **extra)


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def service_trust(service: str) -> PolicyDocument:
    """Trust `service` (e.g. ecs-tasks.amazonaws.com) from this account only (confused-deputy guard)."""
    return document(
        Statement(
            Effect=Allow,
            Principal=Principal("Service", [service]),
            Action=[sts.AssumeRole],
            Condition=Condition(
                [
                    StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")}),
                    ArnLike(
                        {"aws:SourceArn": Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")}
                    ),
                ]
            ),
        )
    )


def key_policy() -> PolicyDocument:
    """The deployment key's policy: the account administers it through IAM, `KEY_USERS` use it.
    (A key policy's Resource is the key itself, written "*".)"""
    statements = [
        Statement(
            Sid="AccountAdministersThroughIam",
            Effect=Allow,
            Principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
            Action=[kms.Action("*")],
            Resource=["*"],
        )
    ]
    for service, actions in sorted(KEY_USERS.items()):
        statements.append(
            Statement(
                Sid=f"{service.split('.')[0].capitalize()}UsesTheKey",
                Effect=Allow,
                Principal=Principal("Service", [service]),
                Action=list(actions),
                Resource=["*"],
            )
        )
    return document(*statements)
