"""The data stack (tap_cfn/stacks/data.py): the platform key and who may use it, log groups and
generated secrets, all encrypted with that key (the image repositories are the registry's)."""

from __future__ import annotations

import json

import troposphere.kms
from troposphere import Template

from tap_cfn import iam
from tests.conftest import SERVICES, Built
from tests.stacks.conftest import CAMEL, KEY_ARN_PARAM

RETENTION = {"dev": 7, "staging": 30, "prod": 30}


def test_the_platform_key_rotates_and_only_named_users_may_use_it(env_built: Built) -> None:
    key = env_built.resource("data", "Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert set(by_sid) == {
        "AccountAdministersTheKey",
        "CloudWatchLogs",
        "SecretsManager",
        "CloudWatchAlarms",
        "SnsPublishers",
        "GrantsOnlyForAwsResources",
    }
    # the one Deny: nobody but an AWS service acting for its caller creates grants (CT.KMS.PR.3)
    assert by_sid.pop("GrantsOnlyForAwsResources") == {
        "Sid": "GrantsOnlyForAwsResources",
        "Effect": "Deny",
        "Principal": {"AWS": ["*"]},
        "Action": ["kms:CreateGrant"],
        "Resource": ["*"],
        "Condition": {
            "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
        },
    }
    account = {"AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]}
    for statement in by_sid.values():
        assert statement["Effect"] == "Allow" and statement["Principal"] != "*"
        assert "*" not in json.dumps(statement["Principal"])

    admin = by_sid["AccountAdministersTheKey"]
    assert admin["Principal"] == account
    crypto = {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"}
    assert not crypto & set(admin["Action"]), "administering the key must not include using it"
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation"} <= set(admin["Action"])

    logs = by_sid["CloudWatchLogs"]
    assert logs["Principal"] == {"Service": [{"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}]}
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
        }
    }
    for sid, service in (("SecretsManager", "secretsmanager"), ("SnsPublishers", "sns")):
        statement = by_sid[sid]
        assert statement["Principal"] == account
        assert statement["Condition"]["StringEquals"] == {
            "kms:CallerAccount": {"Fn::Sub": "${AWS::AccountId}"},
            "kms:ViaService": {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"},
        }
    assert "kms:CreateGrant" not in by_sid["SecretsManager"]["Action"]


def test_key_users_are_one_table_a_new_service_principal_lands_in_the_policy() -> None:
    from awacs import kms

    sns = iam.KeyUser("Sns", actions=(kms.Decrypt, kms.GenerateDataKey), service="sns.amazonaws.com")
    template = Template()
    template.add_resource(troposphere.kms.Key("K", KeyPolicy=iam.key_policy([*iam.KEY_USERS, sns])))
    policy = template.to_dict()["Resources"]["K"]["Properties"]["KeyPolicy"]
    sids = [s["Sid"] for s in policy["Statement"]]
    assert sids == [
        "AccountAdministersTheKey",
        "CloudWatchLogs",
        "SecretsManager",
        "CloudWatchAlarms",
        "SnsPublishers",
        "Sns",
        "GrantsOnlyForAwsResources",
    ]
    assert policy["Statement"][-2]["Principal"] == {"Service": ["sns.amazonaws.com"]}
    # a service user without conditions carries no empty Condition block
    assert "Condition" not in policy["Statement"][-2]


def test_log_groups_and_secrets_use_the_platform_key(env_built: Built) -> None:
    groups = 0
    for stem, logical_id, resource in env_built.all_resources():
        props = resource["Properties"]
        if resource["Type"] == "AWS::Logs::LogGroup":
            expected = {"Fn::GetAtt": ["Key", "Arn"]} if stem == "data" else KEY_ARN_PARAM
            assert props["KmsKeyId"] == expected, (stem, logical_id)
            groups += 1
        elif resource["Type"] == "AWS::SecretsManager::Secret":
            assert props["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}, logical_id
        assert resource["Type"] != "AWS::ECR::Repository", (stem, logical_id)
    assert groups == len(SERVICES) + 1  # + the flow-log group
    assert env_built.stack("data")["Outputs"]["KmsKeyArn"]["Value"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert env_built.fed_by("flowlogs", "KmsKeyArn") == {"Fn::GetAtt": ["DataStack", "Outputs.KmsKeyArn"]}


def test_data_stack_logs_and_generated_secrets(built: dict[str, Built]) -> None:
    for env, b in built.items():
        for svc in SERVICES:
            logs = b.resource("data", f"{CAMEL[svc]}LogGroup")["Properties"]
            assert logs["LogGroupName"] == {"Fn::Sub": f"/ecs/tap-{svc}-${{EnvironmentSuffix}}"}
            assert logs["RetentionInDays"] == RETENTION[env]
        for secret in b.resources("data", "AWS::SecretsManager::Secret").values():
            props = secret["Properties"]
            assert "SecretString" not in props
            assert props["GenerateSecretString"]["PasswordLength"] >= 32
