"""tap_cfn/rules/EcsServiceDesiredCountWithScaling.py: good and bad templates, edges they miss."""

from __future__ import annotations

from tap_cfn.rules.EcsServiceDesiredCountWithScaling import EcsServiceDesiredCountWithScaling
from tests.rules.support import RuleTests, findings


class TestEcsServiceDesiredCountWithScaling(RuleTests):
    RULE = EcsServiceDesiredCountWithScaling


SCALED_SERVICE = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Cluster:
    Type: String
  TaskDefinitionArn:
    Type: String
Resources:
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      DesiredCount: 2
      LaunchType: FARGATE
      TaskDefinition: !Ref TaskDefinitionArn
"""


def test_desired_count_is_fine_on_a_service_nothing_scales() -> None:
    assert "E9901" not in findings(SCALED_SERVICE)
