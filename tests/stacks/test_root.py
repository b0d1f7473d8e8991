"""The root stack (tap_cfn/stacks/root.py) as a user meets it in the CloudFormation console: every
parameter explained and constrained, a grouped and labelled form, outputs described and exported."""

from __future__ import annotations

import re

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator
from tap_cfn.stacks import root
from tests.conftest import SERVICES, Built
from tests.platforms import platform
from tests.stacks.conftest import CAMEL

CONSTRAINTS = ("AllowedPattern", "AllowedValues", "MinLength", "MaxLength", "MinValue", "MaxValue")


def all_parameters(built: Built) -> list[tuple[str, str, dict]]:
    templates = {"root": built.root, **built.children}
    return [
        (stem, key, parameter)
        for stem, template in templates.items()
        for key, parameter in template.get("Parameters", {}).items()
    ]


def test_certificate_arn_is_an_optional_root_parameter_fed_to_the_stacks_that_need_it(
    env_built: Built,
) -> None:
    assert env_built.root["Parameters"]["CertificateArn"]["Default"] == ""
    assert env_built.fed_by("network", "CertificateArn") == {"Ref": "CertificateArn"}
    assert env_built.stack("network")["Conditions"]["HasCertificate"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]
    }
    takers = [stem for stem, t in env_built.children.items() if "CertificateArn" in t.get("Parameters", {})]
    assert takers == ["network"]


def test_root_outputs_what_an_operator_needs(env_built: Built) -> None:
    outputs = env_built.root["Outputs"]
    expected = {
        "AlbDnsName",
        "AlbUrl",
        "ClusterName",
        "ClusterArn",
        "VpcId",
        "PublicSubnetIds",
        "PrivateSubnetIds",
        "NamespaceName",
        "AlarmTopicArn",
        "DashboardName",
        *(f"{CAMEL[s]}ServiceName" for s in SERVICES),
    }  # the repository URIs are the registry stack's outputs
    assert set(outputs) == expected
    assert outputs["AlbUrl"]["Value"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.AlbUrl"]}
    assert outputs["FrontendServiceName"]["Value"] == {
        "Fn::GetAtt": ["FrontendServiceStack", "Outputs.FrontendServiceName"]
    }
    for name, output in outputs.items():
        assert output["Description"]
        assert output["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}


def test_root_parameters_constrain_user_input(env_built: Built) -> None:
    params = env_built.root["Parameters"]
    assert set(params) == {
        "EnvironmentSuffix",
        "CertificateArn",
        "RegistryAccountId",
        "FrontendImageTag",
        "ApiGatewayImageTag",
        "ProcessingImageTag",
        "AlarmEmail",
        "DomainName",
        "HostedZoneId",
        "VpcCidr",
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
    registry = params["RegistryAccountId"]
    assert registry["Default"] == ""  # the deploying account's registry
    assert re.fullmatch(registry["AllowedPattern"], "210987654321")
    assert not re.fullmatch(registry["AllowedPattern"], "21098765432")
    certificate = params["CertificateArn"]
    assert certificate["Default"] == ""  # optional: HTTP only
    assert re.fullmatch(certificate["AllowedPattern"], "")
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b0e2f51-6c5d-4c4f-9d2e-1a2b3c4d5e6f"
    assert re.fullmatch(certificate["AllowedPattern"], arn)
    assert re.fullmatch(certificate["AllowedPattern"], arn.replace("arn:aws:", "arn:aws-us-gov:"))
    assert not re.fullmatch(certificate["AllowedPattern"], "arn:aws:iam::123456789012:server-certificate/x")
    for parameter in params.values():
        assert parameter["Description"] and parameter["ConstraintDescription"]


def test_every_parameter_of_every_stack_has_a_description(env_built: Built) -> None:
    for stem, key, parameter in all_parameters(env_built):
        assert len(parameter.get("Description", "")) >= 10, f"{stem}: {key}"


def test_constrained_parameters_say_what_to_type(env_built: Built) -> None:
    constrained = [(s, k, p) for s, k, p in all_parameters(env_built) if any(c in p for c in CONSTRAINTS)]
    assert {k for _, k, _ in constrained} >= {"EnvironmentSuffix", "FrontendImageTag", "RegistryAccountId"}
    for stem, key, parameter in constrained:
        hint = parameter.get("ConstraintDescription", "")
        where = f"{stem}: {key}: {hint!r}"
        assert hint, where
        assert parameter.get("AllowedPattern", "@@") not in hint, f"{where} repeats the regex"
        if "MaxLength" in parameter:
            assert str(parameter["MaxLength"]) in hint, f"{where} does not state the length limit"
        # the examples it gives are values the console accepts
        examples = re.search(r"e\.g\. (\S+?) or (\S+?)(?::\s|[,)]|\s|$)", hint)
        assert examples, f"{where} gives no example"
        for example in examples.groups():
            assert re.fullmatch(parameter["AllowedPattern"], example), f"{where}: {example}"
            assert parameter.get("MinLength", 0) <= len(example) <= parameter.get("MaxLength", 4096)


# What the console shows beside each root parameter of the packaged config, in every profile.
PACKAGED_LABELS = {
    "EnvironmentSuffix": "Environment suffix",
    "VpcCidr": "VPC CIDR (RFC 1918; one range per region to peer them later)",
    "CertificateArn": "HTTPS certificate (ACM ARN, empty: HTTP only)",
    "DomainName": "Custom domain (optional)",
    "HostedZoneId": "Route 53 hosted zone of the domain (optional)",
    "RegistryAccountId": "Registry account (empty: this account)",
    "FrontendImageTag": "Image tag of frontend",
    "ApiGatewayImageTag": "Image tag of api-gateway",
    "ProcessingImageTag": "Image tag of processing",
    "AlarmEmail": "Alarm e-mail (optional)",
}


def test_every_root_parameter_has_its_console_label(env_built: Built) -> None:
    interface = env_built.root["Metadata"]["AWS::CloudFormation::Interface"]
    labels = {key: label["default"] for key, label in interface["ParameterLabels"].items()}
    assert set(env_built.root["Parameters"]) == set(PACKAGED_LABELS)
    assert labels == PACKAGED_LABELS


def test_every_root_parameter_of_a_hundred_services_is_grouped_and_labelled() -> None:
    dep = cfg.Deployment(cfg.parse(platform(100), "platform.yaml"), "prod")
    root_template = generator.build_environment(dep)[generator.ROOT_STEM]
    interface = root_template["Metadata"]["AWS::CloudFormation::Interface"]
    parameters = set(root_template["Parameters"])
    assert len(parameters) == 107  # 7 platform-wide, an image tag per service
    assert set(interface["ParameterLabels"]) == parameters
    assert all(label["default"] for label in interface["ParameterLabels"].values())
    assert interface["ParameterLabels"]["Worker99ImageTag"] == {"default": "Image tag of worker-99"}
    grouped = [key for group in interface["ParameterGroups"] for key in group["Parameters"]]
    assert sorted(grouped) == sorted(parameters)


def test_every_root_parameter_is_grouped_once(env_built: Built) -> None:
    interface = env_built.root["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [key for group in interface["ParameterGroups"] for key in group["Parameters"]]
    assert sorted(grouped) == sorted(env_built.root["Parameters"])
    assert [(g["Label"]["default"], g["Parameters"]) for g in interface["ParameterGroups"]] == [
        ("Environment", ["EnvironmentSuffix"]),
        # where the images come from, then the tags in service order
        (
            "Container images",
            ["RegistryAccountId", "FrontendImageTag", "ApiGatewayImageTag", "ProcessingImageTag"],
        ),
        ("Network", ["VpcCidr"]),
        ("Load balancer", ["CertificateArn", "DomainName", "HostedZoneId"]),
        ("Notifications", ["AlarmEmail"]),
    ]


def test_a_new_service_gets_its_image_tag_grouped(audit_config: cfg.Config) -> None:
    dep = cfg.Deployment(audit_config, "dev")
    template = generator.build_environment(dep)[generator.ROOT_STEM]
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert groups[1]["Label"] == {"default": "Container images"}
    assert groups[1]["Parameters"][-1] == "AuditImageTag"
    labels = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    assert labels["AuditImageTag"] == {"default": "Image tag of audit"}


def test_groups_follow_the_declared_order_whatever_the_parameter_order(config: cfg.Config) -> None:
    dep = cfg.Deployment(config, "dev")
    keys = ["AlarmEmail", "FrontendImageTag", "CertificateArn", "EnvironmentSuffix"]
    interface = root.console_interface(keys, dep)
    assert [(g["Label"]["default"], g["Parameters"]) for g in interface["ParameterGroups"]] == [
        ("Environment", ["EnvironmentSuffix"]),
        ("Container images", ["FrontendImageTag"]),
        ("Load balancer", ["CertificateArn"]),
        ("Notifications", ["AlarmEmail"]),
    ]


def test_a_root_parameter_without_a_console_entry_is_refused(config: cfg.Config) -> None:
    dep = cfg.Deployment(config, "dev")
    with pytest.raises(root.WiringError, match="root parameter DatabaseSize has no console group"):
        root.console_interface(["EnvironmentSuffix", "DatabaseSize"], dep)
    with pytest.raises(root.WiringError, match="UnknownImageTag"):  # not a service of this config
        root.console_interface(["UnknownImageTag"], dep)


def test_every_output_is_described_and_root_outputs_are_exported_under_the_stack_name(
    env_built: Built,
) -> None:
    for stem, template in env_built.children.items():
        for key, output in template.get("Outputs", {}).items():
            assert len(output.get("Description", "")) >= 10, f"{stem}: {key}"
            assert "Export" not in output, f"{stem}: {key}: nested stacks export nothing (the root does)"
    for key, output in env_built.root["Outputs"].items():
        assert len(output.get("Description", "")) >= 10, key
        assert output["Export"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{key}"}}, key
