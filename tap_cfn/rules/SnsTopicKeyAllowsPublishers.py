"""The KMS key of an SNS topic lets the topic's publishers use it."""

from __future__ import annotations

import fnmatch
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from tap_cfn.rules._common import as_list, is_intrinsic, references, statements

ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
PUBLISH = ("kms:Decrypt", "kms:GenerateDataKey")  # what a publisher to an encrypted topic needs


def _allows(statement: dict[str, Any], actions: tuple[str, ...]) -> bool:
    granted = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
    return statement.get("Effect") == "Allow" and all(
        any(fnmatch.fnmatchcase(action.lower(), g.lower()) for g in granted) for action in actions
    )


def _principals(statement: dict[str, Any], kind: str) -> list[Any]:
    principal = statement.get("Principal", {})
    return as_list(principal.get(kind, [])) if isinstance(principal, dict) else []


def _grants_service(policy: Any, service: str) -> bool:
    return any(_allows(s, PUBLISH) and service in _principals(s, "Service") for _, s in statements(policy))


def _grants_account_via_sns(policy: Any) -> bool:
    """The account's principals may use the key for SNS: an account principal, and a kms:ViaService
    condition (if any) that names sns.<region>.amazonaws.com."""
    for _, statement in statements(policy):
        accounts = [p for p in _principals(statement, "AWS") if "AWS::AccountId" in references(p) or p == "*"]
        if not (_allows(statement, PUBLISH) and accounts):
            continue
        via = [
            v
            for operator in (statement.get("Condition") or {}).values()
            if isinstance(operator, dict)
            for v in as_list(operator.get("kms:ViaService", []))
        ]
        if not via or any("sns." in str(v) for v in via):
            return True
    return False


class SnsTopicKeyAllowsPublishers(CloudFormationLintRule):
    """CloudWatch alarms and the account's own publishers need the topic key's GenerateDataKey and
    Decrypt; the AWS managed key aws/sns cannot grant them to CloudWatch."""

    id = "E9906"
    shortdesc = (
        "The KMS key of an SNS topic must let its publishers (CloudWatch alarms, the account via SNS) use it"
    )
    description = (
        "An AWS::SNS::Topic encrypted with a KMS key of the same template needs a key policy that lets "
        "the account publish through SNS (kms:GenerateDataKey* and kms:Decrypt for the account, "
        "optionally limited by kms:ViaService sns.<region>.amazonaws.com) and, when CloudWatch alarms "
        "notify the topic, the same actions for cloudwatch.amazonaws.com. Alarms cannot notify a topic "
        "encrypted with the AWS managed key alias/aws/sns."
    )
    source_url = (
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services"
    )
    tags = ["resources", "sns", "kms", "cloudwatch"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        keys = cfn.get_resources(["AWS::KMS::Key"])
        alarmed = {
            target
            for alarm in cfn.get_resources(["AWS::CloudWatch::Alarm"]).values()
            for action in ALARM_ACTIONS
            for target in references(alarm.get("Properties", {}).get(action, []))
        }
        matches = []
        for name, topic in cfn.get_resources(["AWS::SNS::Topic"]).items():
            key_id = topic.get("Properties", {}).get("KmsMasterKeyId")
            path = ["Resources", name, "Properties", "KmsMasterKeyId"]
            if isinstance(key_id, str) and "alias/aws/sns" in key_id and name in alarmed:
                matches.append(
                    RuleMatch(
                        path,
                        f"{name}: alarms cannot notify a topic encrypted with alias/aws/sns; use a "
                        "customer managed key that grants cloudwatch.amazonaws.com",
                    )
                )
                continue
            key = next((k for k in references(key_id) if k in keys), None) if is_intrinsic(key_id) else None
            if key is None:
                continue  # a key from elsewhere (a parameter): its policy is not in this template
            policy = keys[key].get("Properties", {}).get("KeyPolicy")
            if is_intrinsic(policy) or not isinstance(policy, dict):
                continue
            key_path = ["Resources", key, "Properties", "KeyPolicy"]
            if not _grants_account_via_sns(policy):
                matches.append(
                    RuleMatch(
                        key_path,
                        f"{key} encrypts topic {name}: allow kms:GenerateDataKey* and kms:Decrypt to "
                        "the account through SNS (kms:ViaService sns.${AWS::Region}.amazonaws.com)",
                    )
                )
            if name in alarmed and not _grants_service(policy, "cloudwatch.amazonaws.com"):
                matches.append(
                    RuleMatch(
                        key_path,
                        f"{key} encrypts topic {name}, which alarms notify: allow "
                        "kms:GenerateDataKey* and kms:Decrypt to cloudwatch.amazonaws.com",
                    )
                )
        return matches
