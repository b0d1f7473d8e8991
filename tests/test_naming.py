"""Physical names (tap_cfn/naming.py): the convention, and AWS's length limits for the longest suffix."""

from __future__ import annotations

import json
import re

from tap_cfn import naming
from tests.conftest import Built

# The AWS name-length limits this project must respect, written out from the AWS docs, not from naming.py.
AWS_LIMITS = {
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): 32,
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"): 32,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::ECS::Service", "ServiceName"): 255,
    ("AWS::ECS::Cluster", "ClusterName"): 255,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::S3::Bucket", "BucketName"): 63,
}
# The other names we set, whose limits the suffix check above does not need to replay.
OTHER_AWS_LIMITS = {
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html (up to 255)
    ("AWS::ECS::TaskDefinition", "Family"): 255,
    # https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (2 to 256)
    ("AWS::ECR::Repository", "RepositoryName"): 256,
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html (1 to 512)
    ("AWS::SecretsManager::Secret", "Name"): 512,
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-servicediscovery-privatednsnamespace.html
    ("AWS::ServiceDiscovery::PrivateDnsNamespace", "Name"): 253,
    # https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html (1 to 256)
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "PolicyName"): 256,
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (1 to 255)
    ("AWS::CloudWatch::Alarm", "AlarmName"): 255,
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html (up to 255)
    ("AWS::CloudWatch::Dashboard", "DashboardName"): 255,
    # https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (up to 256)
    ("AWS::SNS::Topic", "TopicName"): 256,
    # https://docs.aws.amazon.com/xray/latest/api/API_CreateGroup.html (GroupName: 1 to 32)
    ("AWS::XRay::Group", "GroupName"): 32,
}
# Worst cases of the pseudo parameters inside names: a 12-digit account, a long region name.
PSEUDO = {"${AWS::AccountId}": "1" * 12, "${AWS::Region}": "ap-southeast-15"}


def test_suffix_limits_keep_every_name_within_aws_limits(env_built: Built) -> None:
    suffix = env_built.root["Parameters"]["EnvironmentSuffix"]
    # tightest: target group tap-tg-api-gateway-<suffix> within 32 characters
    assert suffix["MaxLength"] == 32 - len("tap-tg-api-gateway-")
    assert re.fullmatch(suffix["AllowedPattern"], "pr-42")
    assert not re.fullmatch(suffix["AllowedPattern"], "Prod")
    assert not re.fullmatch(suffix["AllowedPattern"], "dev-")
    longest = "x" * suffix["MaxLength"]
    checked = 0
    for _, _, resource in env_built.all_resources():
        for (kind, prop), limit in AWS_LIMITS.items():
            if resource["Type"] == kind and prop in resource["Properties"]:
                name = resource["Properties"][prop]["Fn::Sub"].replace("${EnvironmentSuffix}", longest)
                for variable, worst in PSEUDO.items():
                    name = name.replace(variable, worst)
                assert len(name) <= limit, name
                checked += 1
    # ALB, TGs, services, cluster, log groups (+ flow logs), access-log bucket; roles carry no name
    assert checked == 1 + 2 + 3 + 1 + (3 + 1) + 1


def test_account_global_names_carry_the_region_or_are_left_to_cloudformation(env_built: Built) -> None:
    """IAM role names are global to the account: a name of ours would stop the same suffix from
    deploying in a second region. Bucket names carry account and region."""
    roles = buckets = 0
    for _, logical_id, resource in env_built.all_resources():
        if resource["Type"] == "AWS::IAM::Role":
            assert "RoleName" not in resource["Properties"], logical_id
            roles += 1
        if resource["Type"] == "AWS::S3::Bucket":
            assert "${AWS::Region}" in resource["Properties"]["BucketName"]["Fn::Sub"], logical_id
            buckets += 1
    assert (roles, buckets) == (6 + 1, 1)


def test_every_name_property_has_a_known_limit(env_built: Built) -> None:
    """A new named resource must get its AWS limit in naming.NAME_LIMITS, or the suffix check misses it."""
    for _, logical_id, resource in env_built.all_resources():
        for prop, value in resource.get("Properties", {}).items():
            names_something = prop.endswith("Name") or prop == "Family"
            if names_something and isinstance(value, dict) and "${EnvironmentSuffix}" in json.dumps(value):
                assert (resource["Type"], prop) in naming.NAME_LIMITS, (logical_id, prop)
    # and the limits the code holds are AWS's, as written out above from the docs
    assert naming.NAME_LIMITS == {**AWS_LIMITS, **OTHER_AWS_LIMITS}


def test_physical_names_follow_the_convention(env_built: Built) -> None:
    pattern = re.compile(r"^tap-[a-z0-9-]+-\$\{EnvironmentSuffix\}$")
    names = 0
    for _, _, resource in env_built.all_resources():
        for kind, prop in naming.NAME_LIMITS:
            if resource["Type"] == kind and prop in resource["Properties"]:
                text = resource["Properties"][prop]["Fn::Sub"]
                if kind == "AWS::Logs::LogGroup":
                    text = text.removeprefix("/ecs/").removeprefix("/vpc-flow-logs/")
                    text = text.replace("tap-${", "tap-flow-logs-${")  # /vpc-flow-logs/tap-<suffix>
                if kind == "AWS::S3::Bucket":
                    text = text.replace("-${AWS::AccountId}-${AWS::Region}", "")
                if kind == "AWS::ServiceDiscovery::PrivateDnsNamespace":
                    assert text == "tap-${EnvironmentSuffix}.local"
                    continue
                assert pattern.match(text), text
                names += 1
    assert names > 20
