"""Notifications stack: the one SNS topic every alarm notifies, encrypted with the platform key,
and its optional e-mail subscription. The service stacks take the topic from here: it waits for
the key only, never for the load balancer."""

from __future__ import annotations

from troposphere import Equals, Not, Ref, Template, sns

from tap_cfn.config import Deployment
from tap_cfn.contract import ALARM_EMAIL, ALARM_TOPIC_ARN, KMS_KEY_ARN
from tap_cfn.stacks.base import StackBuilder

HAS_ALARM_EMAIL = "HasAlarmEmail"


def build(dep: Deployment) -> Template:
    s = StackBuilder(dep, "the encrypted alarm topic and its e-mail subscription")
    email = s.param(ALARM_EMAIL)
    s.template.add_condition(HAS_ALARM_EMAIL, Not(Equals(email, "")))
    topic = s.add(
        sns.Topic(
            "AlarmTopic",
            TopicName=s.name("alarms"),
            DisplayName=f"{dep.project} {dep.env_name} alarms",
            KmsMasterKeyId=s.param(KMS_KEY_ARN),
            Tags=s.tags("alarms"),
        )
    )
    s.add(
        sns.SubscriptionResource(
            "AlarmEmailSubscription",
            Condition=HAS_ALARM_EMAIL,
            Protocol="email",
            Endpoint=email,
            TopicArn=Ref(topic),
        )
    )
    s.output(ALARM_TOPIC_ARN, Ref(topic))
    return s.template
