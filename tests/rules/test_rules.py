"""Our cfn-lint rules (tap_cfn/rules/), in cfn-lint's style: each rule is metadata plus a small
validator, and has a good and a bad template under tests/rules/templates/<RuleClass>/. The bad one
fails with exactly that rule's id, the good one passes every rule (cfn-lint's and ours)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.helpers import create_rules
from cfnlint.rules import CloudFormationLintRule

import tap_cfn.rules
from tap_cfn.lint import REGIONS

TEMPLATES = Path(__file__).parent / "templates"
RULES = sorted((rule() for rule in tap_cfn.rules.RULES), key=lambda rule: rule.id)
CONFIG = ManualArgs(include_checks=["I"], regions=REGIONS, append_rules=[tap_cfn.rules.MODULE])


def findings(text: str) -> list[str]:
    return [match.rule.id for match in lint(text, config=CONFIG)]


def test_every_rule_file_holds_one_rule_named_after_it_and_cfn_lint_loads_them_all() -> None:
    files = sorted(p.stem for p in tap_cfn.rules.RULES_DIR.glob("[A-Za-z1-9]*.py"))
    assert sorted(type(rule).__name__ for rule in RULES) == files
    assert len({rule.id for rule in RULES}) == len(RULES)
    # What `append_rules: [tap_cfn.rules]` instantiates: every rule class in the package namespace.
    assert sorted(rule.id for rule in create_rules(tap_cfn.rules)) == [rule.id for rule in RULES]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_states_an_aws_fact_with_its_source(rule: CloudFormationLintRule) -> None:
    # E/W 99xx: cfn-lint numbers the rules of a --custom-rules file 9000 + line number.
    assert re.fullmatch(r"[EW]99\d\d", rule.id)
    assert rule.shortdesc and len(rule.description) >= 80
    assert re.match(r"https://docs\.aws\.amazon\.com/", rule.source_url)
    assert rule.tags and "resources" in rule.tags


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_the_bad_template_fails_with_exactly_the_rule(rule: CloudFormationLintRule) -> None:
    found = findings((TEMPLATES / type(rule).__name__ / "bad.yaml").read_text())
    assert found and set(found) == {rule.id}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_the_good_template_passes_every_rule(rule: CloudFormationLintRule) -> None:
    assert findings((TEMPLATES / type(rule).__name__ / "good.yaml").read_text()) == []


def test_readme_lists_exactly_our_rules() -> None:
    table = tap_cfn.rules.table()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert all(rule.id in table for rule in RULES)
    assert table in readme, "run `python -m tap_cfn.rules` and update README"


# --- Edges the good/bad pairs do not show ---------------------------------------------------------

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


def test_an_egress_to_a_group_that_accepts_nothing_from_the_caller_is_found() -> None:
    good = (TEMPLATES / "SecurityGroupPathBothSides" / "good.yaml").read_text()
    no_ingress = good.split("  ApiIngressFromWeb:")[0] + good.split("      ToPort: 8080\n", 1)[1]
    assert "WebEgressToApi" in no_ingress and "ApiIngressFromWeb" not in no_ingress
    assert findings(no_ingress) == ["E9908"]


def test_a_name_from_a_parameter_is_left_to_the_deployer() -> None:
    bad = (TEMPLATES / "AccountGlobalNameHasRegion" / "bad.yaml").read_text()
    from_parameter = bad.replace("RoleName: !Sub app-role-${Suffix}", "RoleName: !Ref Suffix")
    assert findings(from_parameter) == []
