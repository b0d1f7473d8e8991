"""tap_cfn/rules/SnsTopicKeyAllowsPublishers.py: good and bad templates, edges they miss."""

from __future__ import annotations

from tap_cfn.rules.SnsTopicKeyAllowsPublishers import SnsTopicKeyAllowsPublishers
from tests.rules.support import RuleTests, findings


class TestSnsTopicKeyAllowsPublishers(RuleTests):
    RULE = SnsTopicKeyAllowsPublishers


TOPIC_WITH_MANAGED_KEY = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      KmsMasterKeyId: alias/aws/sns
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmActions:
        - !Ref Topic
      ComparisonOperator: GreaterThanThreshold
      EvaluationPeriods: 1
      MetricName: CPUUtilization
      Namespace: AWS/ECS
      Period: 60
      Statistic: Average
      Threshold: 85
"""


def test_alarms_cannot_notify_a_topic_under_the_aws_managed_sns_key() -> None:
    assert findings(TOPIC_WITH_MANAGED_KEY) == ["E9906"]
    without_alarm = TOPIC_WITH_MANAGED_KEY.split("  Alarm:")[0]
    assert "E9906" not in findings(without_alarm)  # the managed key serves publishers other than alarms
