"""The notifications stack (tap_cfn/stacks/notifications.py): the one encrypted topic every alarm
notifies and the optional e-mail subscription; it waits for the key only."""

from __future__ import annotations

import re

from tests.conftest import SERVICES, Built
from tests.stacks.conftest import alarms

TOPIC = {"Ref": "AlarmTopicArn"}


def test_every_service_alarm_notifies_the_one_topic_of_the_notifications_stack(env_built: Built) -> None:
    topic = env_built.stack("notifications")["Outputs"]["AlarmTopicArn"]["Value"]
    assert topic == {"Ref": "AlarmTopic"}
    for svc in SERVICES:
        stem = f"service-{svc}"
        assert env_built.fed_by(stem, "AlarmTopicArn") == {
            "Fn::GetAtt": ["NotificationsStack", "Outputs.AlarmTopicArn"]
        }
        for props in alarms(env_built, stem).values():
            assert props["AlarmActions"] == [TOPIC] and props["OKActions"] == [TOPIC]


def test_the_topic_waits_for_the_key_only_never_for_the_load_balancer(env_built: Built) -> None:
    fed = env_built.root["Resources"]["NotificationsStack"]["Properties"]["Parameters"]
    siblings = {value["Fn::GetAtt"][0] for value in fed.values() if "Fn::GetAtt" in value}
    assert siblings == {"DataStack"}


def test_the_topic_is_encrypted_with_the_deployment_key_that_cloudwatch_may_use(env_built: Built) -> None:
    topic = env_built.resource("notifications", "AlarmTopic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "KmsKeyArn"}
    assert env_built.fed_by("notifications", "KmsKeyArn") == {
        "Fn::GetAtt": ["DataStack", "Outputs.KmsKeyArn"]
    }
    assert env_built.stack("data")["Outputs"]["KmsKeyArn"]["Value"] == {"Fn::GetAtt": ["Key", "Arn"]}
    key = env_built.resource("data", "Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        st
        for st in key["KeyPolicy"]["Statement"]
        if st["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    ]
    assert len(cloudwatch) == 1
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(cloudwatch[0]["Action"])


def test_the_email_subscription_exists_only_when_an_address_is_given(env_built: Built) -> None:
    notifications = env_built.stack("notifications")
    subscription = notifications["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert notifications["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert subscription["Properties"] == {
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
        "TopicArn": {"Ref": "AlarmTopic"},
    }
    parameter = env_built.root["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    assert env_built.fed_by("notifications", "AlarmEmail") == {"Ref": "AlarmEmail"}
    for accepted in ("", "oncall@example.com", "team+alerts@ops.example.co.uk"):
        assert re.fullmatch(parameter["AllowedPattern"], accepted), accepted
    for refused in ("oncall", "oncall@example", "on call@example.com", "a@b@c.com"):
        assert not re.fullmatch(parameter["AllowedPattern"], refused), refused
