"""Cross-cutting promises: wiring, naming and name limits, tags, Fn::Sub, IAM scope."""

from __future__ import annotations

import json
import re

import pytest
from cfn_tools import load_yaml  # reads the short-form tags, as CloudFormation does
from troposphere import Parameter, Template

from tap_cfn import config as cfg
from tap_cfn import contract, generator, iam, naming
from tap_cfn.stacks import root
from tap_cfn.stacks.nesting import templates_below
from tests.conftest import Built, walk

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
# Worst cases of the pseudo parameters inside names: a 12-digit account, a long region name.
PSEUDO = {"${AWS::AccountId}": "1" * 12, "${AWS::Region}": "ap-southeast-15"}


def test_every_child_parameter_is_fed_by_a_root_parameter_or_a_sibling_output(env_built: Built) -> None:
    root_params = set(env_built.root["Parameters"])
    for stem, template in env_built.children.items():
        stack = env_built.root["Resources"][env_built.logical_ids[stem]]
        assert stack["Type"] == "AWS::CloudFormation::Stack"
        fed = stack["Properties"]["Parameters"]
        assert set(fed) == set(template.get("Parameters", {})), stem
        for parameter, value in fed.items():
            if "Ref" in value:
                assert value["Ref"] in root_params
            else:
                producer, output = value["Fn::GetAtt"]
                assert output == f"Outputs.{parameter}"
                producer_stem = next(s for s, lid in env_built.logical_ids.items() if lid == producer)
                assert producer_stem != stem
                assert parameter in env_built.children[producer_stem]["Outputs"]


STEMS = ["network", "security", "data", "loadbalancer", "cluster", "monitoring"] + [
    "service-frontend",
    "service-api-gateway",
    "service-processing",
]


def test_root_references_children_by_relative_path_in_its_own_format(config: cfg.Config) -> None:
    files = generator.render_environment(cfg.Deployment(config, "dev"), ["json", "yaml"])
    for extension in ("json", "yaml"):
        resources = load_yaml(files[f"root.{extension}"])["Resources"]
        urls = sorted(r["Properties"]["TemplateURL"] for r in resources.values())
        assert urls == sorted(f"{stem}.{extension}" for stem in STEMS)
        assert sorted(files) == sorted(
            f"{stem}.{fmt}" for stem in [*STEMS, "root"] for fmt in ("json", "yaml")
        )


def test_wiring_fails_when_a_parameter_has_no_producer(config: cfg.Config) -> None:
    dep = cfg.Deployment(config, "dev")
    kids = [*generator.children(dep), root.Child("orphan", "OrphanStack", Template())]
    kids[-1].template.add_parameter(Parameter("NobodyMakesThis", Type="String"))  # type: ignore[union-attr]
    with pytest.raises(root.WiringError, match="NobodyMakesThis"):
        root.build(dep, kids, templates_below(dep, kids))


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


def _taggable_types() -> set[str]:
    import troposphere

    types = set()
    for module in (
        "ec2",
        "ecs",
        "ecr",
        "logs",
        "secretsmanager",
        "servicediscovery",
        "iam",
        "elasticloadbalancingv2",
        "applicationautoscaling",
        "cloudformation",
    ):
        mod = __import__(f"troposphere.{module}", fromlist=["x"])
        for obj in vars(mod).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, troposphere.AWSObject)
                and "Tags" in getattr(obj, "props", {})
            ):
                types.add(obj.resource_type)
    return types


def test_every_taggable_resource_is_tagged(env_built: Built) -> None:
    taggable = _taggable_types()
    assert "AWS::ECS::Service" in taggable and "AWS::EC2::Route" not in taggable
    templates = {"root": env_built.root, **env_built.children}
    tagged = 0
    for stem, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] not in taggable:
                continue
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            assert {"Project", "Environment", "ManagedBy", "Name"} <= set(tags), (stem, logical_id)
            assert tags["Project"] == "tap" and tags["Environment"] == env_built.dep.env_name
            tagged += 1
    assert tagged > 30


def test_strings_with_variables_use_fn_sub_and_never_fn_join(env_built: Built) -> None:
    for stem, template in [("root", env_built.root), *env_built.children.items()]:
        text = json.dumps(template)
        assert "Fn::Join" not in text, stem
        assert '"arn:aws:' not in text, stem  # partitions come from ${AWS::Partition}
        for path, value in walk(template):
            if isinstance(value, str) and "${" in value:
                assert path.endswith(".Fn::Sub") or path.endswith("LifecyclePolicyText"), (stem, path)


def test_iam_statements_use_star_only_for_actions_without_resource_level_permissions(
    env_built: Built,
) -> None:
    statements = 0
    for stem, logical_id, resource in env_built.all_resources():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                statements += 1
                if "*" in statement["Resource"]:
                    assert set(statement["Action"]) <= iam.UNSCOPED_ACTIONS, (stem, logical_id, statement)
    assert statements >= 3 * 4


def test_policy_builder_refuses_star_for_scoped_actions() -> None:
    from awacs import secretsmanager

    with pytest.raises(iam.PolicyError, match="secretsmanager:GetSecretValue"):
        iam.allow([secretsmanager.GetSecretValue], ["*"])


def test_each_execution_role_reads_only_its_own_secrets_repository_and_logs(env_built: Built) -> None:
    expected_secrets = {
        "frontend": set(),
        "api-gateway": {"ApiKeysSecretArn", "DbCredentialsSecretArn"},
        "processing": {"DbCredentialsSecretArn"},
    }
    for svc, secrets in expected_secrets.items():
        role = env_built.resource(f"service-{svc}", "ExecutionRole")["Properties"]
        (policy,) = role["Policies"]
        by_action = {}
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in statement["Action"]:
                by_action[action] = statement["Resource"]
        read = by_action.get("secretsmanager:GetSecretValue", [])
        assert {r["Ref"] for r in read} == secrets, svc
        camel = "".join(w.title() for w in svc.split("-"))
        assert by_action["ecr:BatchGetImage"] == [{"Ref": f"{camel}RepositoryArn"}]
        assert f"${{{camel}LogGroupName}}" in by_action["logs:PutLogEvents"][0]["Fn::Sub"]
        trust = role["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": ["ecs-tasks.amazonaws.com"]}
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]


def test_root_parameters_constrain_user_input(env_built: Built) -> None:
    params = env_built.root["Parameters"]
    assert set(params) == {
        "EnvironmentSuffix",
        "CertificateArn",
        "FrontendImageTag",
        "ApiGatewayImageTag",
        "ProcessingImageTag",
        "AlarmEmail",
        "DomainName",
        "HostedZoneId",
    }
    domain, zone = params["DomainName"], params["HostedZoneId"]
    assert domain["Default"] == zone["Default"] == ""  # optional: the ALB's own DNS name
    assert re.fullmatch(domain["AllowedPattern"], "app.example.com")
    assert not re.fullmatch(domain["AllowedPattern"], "https://app.example.com")
    assert re.fullmatch(zone["AllowedPattern"], "Z0123456789ABCDEFGHIJ")
    assert not re.fullmatch(zone["AllowedPattern"], "example.com")
    tag = params["FrontendImageTag"]
    assert re.fullmatch(tag["AllowedPattern"], "v1.2.3")
    assert not re.fullmatch(tag["AllowedPattern"], "latest")
    assert "Default" not in tag
    certificate = params["CertificateArn"]
    assert certificate["Default"] == ""  # optional: HTTP only
    assert re.fullmatch(certificate["AllowedPattern"], "")
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b0e2f51-6c5d-4c4f-9d2e-1a2b3c4d5e6f"
    assert re.fullmatch(certificate["AllowedPattern"], arn)
    assert re.fullmatch(certificate["AllowedPattern"], arn.replace("arn:aws:", "arn:aws-us-gov:"))
    assert not re.fullmatch(certificate["AllowedPattern"], "arn:aws:iam::123456789012:server-certificate/x")
    for parameter in params.values():
        assert parameter["Description"] and parameter["ConstraintDescription"]


def test_every_output_is_a_declared_value_made_by_its_owner_stack(env_built: Built) -> None:
    for stem, template in env_built.children.items():
        kind = "service" if stem.startswith("service-") else stem
        for key in template.get("Outputs", {}):
            value = contract.value_of(key)
            assert value is not None, f"{stem}: output {key} is not declared in tap_cfn/contract.py"
            assert value.owner == kind, (stem, key, value.owner)
            owner = key.removesuffix(value.key)
            assert (owner != "") == (value.scope is not contract.Scope.PLATFORM), key


def test_every_child_parameter_is_a_declared_value(env_built: Built) -> None:
    for stem, template in env_built.children.items():
        for key in template.get("Parameters", {}):
            assert contract.value_of(key) is not None, f"{stem}: parameter {key}"


def test_the_contract_declares_each_key_once_with_owner_and_scope() -> None:
    keys = [v.key for v in contract.VALUES]
    assert len(keys) == len(set(keys))
    assert contract.KMS_KEY_ARN.owner == "data" and contract.KMS_KEY_ARN.scope is contract.Scope.PLATFORM
    assert contract.IMAGE_TAG.scope is contract.Scope.SERVICE and contract.IMAGE_TAG.owner == "root"
    assert contract.SECRET_ARN.scope is contract.Scope.SECRET
    with pytest.raises(ValueError, match="declared twice"):
        contract._declare("KmsKeyArn", "String", "data", "again")


def test_public_and_owned_come_from_the_table_not_the_descriptions() -> None:
    assert contract.is_public("VpcId") and not contract.is_owned("VpcId")
    assert contract.is_public("ApiGatewayServiceName") and contract.is_owned("ApiGatewayServiceName")
    assert not contract.is_public("AlbSecurityGroupId") and not contract.is_owned("AlbSecurityGroupId")
    assert contract.value_of("FrontendSecurityGroupId") is contract.SERVICE_SECURITY_GROUP_ID
    assert contract.value_of("NotAValue") is None
