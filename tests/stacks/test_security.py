"""The security groups (tap_cfn/stacks/security.py, in the network stack): one group for the ALB and
one per service, rules that reference groups, egress mirroring ingress, a path for every reference
a service makes."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from tap_cfn import config as cfg
from tests.conftest import PROFILES, Built

CAMEL = {"frontend": "Frontend", "api-gateway": "ApiGateway", "processing": "Processing"}


def _ingress(b: Built) -> dict[str, list[tuple[str, int]]]:
    """Target security group -> [(source group, port)] over every ingress the stack allows."""
    found: dict[str, list[tuple[str, int]]] = {}
    rules = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
    for resource in b.stack("network")["Resources"].values():
        if resource["Type"] not in rules:
            continue
        props = resource["Properties"]
        assert props["FromPort"] == props["ToPort"]
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress" and "SourceSecurityGroupId" in props:
            target = props["GroupId"]["Fn::GetAtt"][0]
            source = props["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            found.setdefault(target, []).append((source, props["FromPort"]))
    return found


EIGHT = Path(__file__).resolve().parents[1] / "fixtures" / "eight-services.yaml"
ANYWHERE = "0.0.0.0/0"
SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")


def _built_configs(config: cfg.Config, audit_config: cfg.Config) -> list[Built]:
    eight = cfg.load(EIGHT)
    return [
        *(Built(cfg.Deployment(config, env)) for env in PROFILES),
        Built(cfg.Deployment(audit_config, "prod")),
        *(Built(cfg.Deployment(eight, env)) for env in eight.environments),
    ]


def _ports(rule: dict[str, Any]) -> range:
    return range(rule["FromPort"], rule["ToPort"] + 1)


def _group_of(b: Built, service_stem: str) -> str:
    """Logical ID (in the security stack) of the security group a service's tasks run in."""
    service = next(iter(b.resources(service_stem, "AWS::ECS::Service").values()))
    (group,) = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    return str(
        b.fed_by(service_stem, group["Ref"])["Fn::GetAtt"][1].removeprefix("Outputs.").removesuffix("Id")
    )


def _egress_to_anywhere(b: Built, group: str) -> set[int]:
    rules = b.resource("network", group)["Properties"].get("SecurityGroupEgress", [])
    return {port for rule in rules if rule.get("CidrIp") == ANYWHERE for port in _ports(rule)}


def _alb_open_from_anywhere(b: Built) -> set[int]:
    group = b.resource("network", "AlbSecurityGroup")["Properties"]
    ports = {p for rule in group["SecurityGroupIngress"] if rule["CidrIp"] == ANYWHERE for p in _ports(rule)}
    for resource in b.resources("network", "AWS::EC2::SecurityGroupIngress").values():
        props = resource["Properties"]
        if (
            props["GroupId"] == {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}
            and props.get("CidrIp") == ANYWHERE
        ):
            ports |= set(_ports(props))
    return ports


def _group_path(b: Built, source: str, target: str, port: int) -> bool:
    """An egress rule of `source` to `target` and an ingress rule of `target` from `source` on `port`."""

    def matches(kind: str, own: str, other_key: str, other: str) -> bool:
        return any(
            r["Properties"]["GroupId"] == {"Fn::GetAtt": [own, "GroupId"]}
            and r["Properties"].get(other_key) == {"Fn::GetAtt": [other, "GroupId"]}
            and port in _ports(r["Properties"])
            for r in b.resources("network", kind).values()
        )

    return matches("AWS::EC2::SecurityGroupEgress", source, "DestinationSecurityGroupId", target) and matches(
        "AWS::EC2::SecurityGroupIngress", target, "SourceSecurityGroupId", source
    )


def _nat_route_everywhere(b: Built) -> bool:
    routes = b.resources("network", "AWS::EC2::Route").values()
    private = [r for r in routes if "NatGatewayId" in r["Properties"]]
    tables = b.resources("network", "AWS::EC2::RouteTable")
    return len(private) == len(tables) - 1 and all(
        r["Properties"]["DestinationCidrBlock"] == ANYWHERE for r in private
    )


def test_alb_security_group_opens_443_only_with_a_certificate(env_built: Built) -> None:
    group = env_built.resource("network", "AlbSecurityGroup")["Properties"]
    assert [r["FromPort"] for r in group["SecurityGroupIngress"]] == [80]
    https = env_built.resource("network", "AlbIngressHttps")
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["FromPort"] == https["Properties"]["ToPort"] == 443


def test_security_groups_chain_alb_to_services_to_processing(env_built: Built) -> None:
    assert _ingress(env_built) == {
        "FrontendSecurityGroup": [("AlbSecurityGroup", 3000)],
        "ApiGatewaySecurityGroup": [("AlbSecurityGroup", 8080)],
        "ProcessingSecurityGroup": [("ApiGatewaySecurityGroup", 9000)],
    }
    groups = env_built.resources("network", "AWS::EC2::SecurityGroup")
    alb_rules = groups["AlbSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [(r["FromPort"], r["CidrIp"]) for r in alb_rules] == [(80, "0.0.0.0/0")]
    # 443 opens only with a certificate: a conditional rule of its own
    https = env_built.resource("network", "AlbIngressHttps")
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["GroupId"] == {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}
    assert (https["Properties"]["FromPort"], https["Properties"]["CidrIp"]) == (443, "0.0.0.0/0")
    for name, group in groups.items():
        if name != "AlbSecurityGroup":  # services accept nothing by CIDR
            assert "SecurityGroupIngress" not in group["Properties"], name


def test_every_security_group_rule_has_a_description_and_no_vpc_cidr(env_built: Built) -> None:
    vpc = ipaddress.ip_network("10.0.0.0/16")
    rules = []
    for resource in env_built.stack("network")["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules += props.get("SecurityGroupIngress", []) + props.get("SecurityGroupEgress", [])
        elif resource["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            rules.append(props)
    assert len(rules) >= 6
    for rule in rules:
        assert rule["Description"].strip()
        if "CidrIp" in rule:
            assert not ipaddress.ip_network(rule["CidrIp"]).subnet_of(vpc)


def test_egress_mirrors_ingress_so_sources_may_only_reach_their_targets(env_built: Built) -> None:
    egress = set()
    for resource in env_built.resources("network", "AWS::EC2::SecurityGroupEgress").values():
        props = resource["Properties"]
        egress.add(
            (
                props["GroupId"]["Fn::GetAtt"][0],
                props["DestinationSecurityGroupId"]["Fn::GetAtt"][0],
                props["FromPort"],
            )
        )
    ingress = {(src, target, port) for target, pairs in _ingress(env_built).items() for src, port in pairs}
    assert egress == ingress
    alb = env_built.resource("network", "AlbSecurityGroup")["Properties"]["SecurityGroupEgress"]
    assert alb == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]


def test_every_reference_of_every_service_has_a_security_group_path(
    config: cfg.Config, audit_config: cfg.Config
) -> None:
    """GIVEN every service's environment in the generated templates, WHEN a value names the load
    balancer or another service, THEN its tasks may open that connection and the target accepts it."""
    checked = {"alb": 0, "service": 0}
    for b in _built_configs(config, audit_config):
        stems = [stem for stem in b.children if stem.startswith("service-")]
        by_name = {stem.removeprefix("service-"): stem for stem in stems}
        for stem in stems:
            source = _group_of(b, stem)
            (task,) = b.resources(stem, "AWS::ECS::TaskDefinition").values()
            (container,) = task["Properties"]["ContainerDefinitions"]
            for variable in container.get("Environment", []):
                text = (
                    variable["Value"]["Fn::Sub"] if isinstance(variable["Value"], dict) else variable["Value"]
                )
                names = SUB_VARIABLE.findall(text)
                if {"AlbUrl", "AlbDnsName"} & set(names):
                    # the public ALB is reached at its public address through the NAT: 80, and 443
                    # when a certificate makes ${alb.url} https
                    assert {80, 443} <= _egress_to_anywhere(b, source), (b.dep.env_name, stem)
                    assert _alb_open_from_anywhere(b) >= {80, 443}
                    assert _nat_route_everywhere(b), b.dep.env_name
                    checked["alb"] += 1
                if "NamespaceName" in names:
                    match = re.search(r"(?:http://)?([a-z0-9-]+)\.\$\{NamespaceName\}(?::(\d+))?", text)
                    assert match, text
                    target_stem = by_name[match[1]]
                    (target_task,) = b.resources(target_stem, "AWS::ECS::TaskDefinition").values()
                    port = int(
                        match[2]
                        or target_task["Properties"]["ContainerDefinitions"][0]["PortMappings"][0][
                            "ContainerPort"
                        ]
                    )
                    assert _group_path(b, source, _group_of(b, target_stem), port), (stem, text)
                    checked["service"] += 1
    assert checked["alb"] >= 5 and checked["service"] >= 10, checked
