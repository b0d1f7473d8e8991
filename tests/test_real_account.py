"""What AWS does that lint and the emulator cannot see (issue 10): the templates, read as AWS reads
them. Scaling owns the task count, every reference has a security-group path, every service can
report its health, no NAT with egress: endpoints, and the quotas a profile takes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_cfn import config as cfg
from tap_cfn.ops import cost
from tests.conftest import PROFILES, Built

EIGHT = Path(__file__).parent / "fixtures" / "eight-services.yaml"
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
    rules = b.resource("security", group)["Properties"].get("SecurityGroupEgress", [])
    return {port for rule in rules if rule.get("CidrIp") == ANYWHERE for port in _ports(rule)}


def _alb_open_from_anywhere(b: Built) -> set[int]:
    group = b.resource("security", "AlbSecurityGroup")["Properties"]
    ports = {p for rule in group["SecurityGroupIngress"] if rule["CidrIp"] == ANYWHERE for p in _ports(rule)}
    for resource in b.resources("security", "AWS::EC2::SecurityGroupIngress").values():
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
            for r in b.resources("security", kind).values()
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


# --- Point 5: health ---------------------------------------------------------------------------


def test_an_internal_service_reports_its_health_through_a_container_check(env_built: Built) -> None:
    (task,) = env_built.resources("service-processing", "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["HealthCheck"] == {
        "Command": ["CMD-SHELL", "curl -fs http://localhost:9000/health || exit 1"],
        "Interval": 30,
        "Timeout": 5,
        "Retries": 3,
        "StartPeriod": 30,
    }


def _raw() -> dict[str, Any]:
    return yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text(encoding="utf-8"))


def test_a_health_check_path_on_an_internal_service_is_an_error_never_dropped() -> None:
    raw = _raw()
    processing = raw["services"][2]
    processing["health_check_path"] = "/health"
    with pytest.raises(
        cfg.ConfigError,
        match=r"services\[processing\]\.health_check_path: a service with route type internal has no target",
    ):
        cfg.parse(raw, "t.yaml")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("interval", 4, r"health_check\.interval: Expected `int` >= 5"),
        ("timeout", 61, r"health_check\.timeout: Expected `int` <= 60"),
        ("retries", 0, r"health_check\.retries: Expected `int` >= 1"),
        ("start_period", 301, r"health_check\.start_period: Expected `int` <= 300"),
        ("command", ["CMD-SHELL"], r"health_check\.command: Expected `array` of length >= 2"),
    ],
)
def test_container_health_check_bounds_are_ecs_bounds(field: str, value: Any, message: str) -> None:
    raw = _raw()
    raw["services"][2]["health_check"][field] = value
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.parse(raw, "t.yaml")


# --- Point 10: egress and quotas -----------------------------------------------------------------


def _endpoints_config() -> cfg.Config:
    raw = _raw()
    raw["environments"]["dev"]["egress"] = "endpoints"
    raw["services"][0]["environment"] = {}  # nothing may call the public ALB without NAT
    return cfg.parse(raw, "endpoints.yaml")


def test_endpoints_egress_has_no_nat_and_an_endpoint_for_every_api_a_fargate_task_calls() -> None:
    b = Built(cfg.Deployment(_endpoints_config(), "dev"))
    assert not b.resources("network", "AWS::EC2::NatGateway")
    assert not b.resources("network", "AWS::EC2::EIP")
    endpoints = b.resources("network", "AWS::EC2::VPCEndpoint").values()
    services = {e["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1] for e in endpoints}
    names = {e["Properties"]["ServiceName"]["Fn::Sub"] for e in endpoints}
    assert names == {
        f"com.amazonaws.${{AWS::Region}}.{s}"
        for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "s3")
    }, services
    by_type = {e["Properties"]["VpcEndpointType"] for e in endpoints}
    assert by_type == {"Interface", "Gateway"}
    gateway = next(e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway")
    private_tables = [t for t in b.resources("network", "AWS::EC2::RouteTable") if t.startswith("Private")]
    assert sorted(r["Ref"] for r in gateway["Properties"]["RouteTableIds"]) == sorted(private_tables)
    for endpoint in endpoints:
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_without_nat_a_reference_to_the_public_load_balancer_is_a_config_error() -> None:
    raw = _raw()
    raw["environments"]["dev"]["egress"] = "endpoints"
    with pytest.raises(
        cfg.ConfigError, match=r"services\[frontend\]\.environment: refers to the load balancer"
    ):
        cfg.parse(raw, "t.yaml")


def test_cost_shows_quota_use_per_profile_and_together(config: cfg.Config) -> None:
    prices = cost.load_prices()
    estimates = [cost.estimate(cfg.Deployment(config, env), prices) for env in PROFILES]
    used = {e.env: {q.name: q.used for q in e.quotas} for e in estimates}
    # dev: one shared NAT; staging and prod: one per AZ (3 AZs)
    assert used == {
        "dev": {"Elastic IPs": 1, "NAT gateways per AZ": 1, "VPCs": 1, "internet gateways": 1},
        "staging": {"Elastic IPs": 3, "NAT gateways per AZ": 1, "VPCs": 1, "internet gateways": 1},
        "prod": {"Elastic IPs": 3, "NAT gateways per AZ": 1, "VPCs": 1, "internet gateways": 1},
    }
    text = cost.render_comparison(estimates, prices, "tap")
    # staging and prod in one account need 6 of the default 5 Elastic IPs: visible before it fails
    assert re.search(r"Elastic IPs \(5\)\s+1\s+3\s+3\s+7 of 5", text), text
    endpoints = cost.estimate(cfg.Deployment(_endpoints_config(), "dev"), prices)
    assert {q.name: q.used for q in endpoints.quotas}["Elastic IPs"] == 0
    line = next(i for i in endpoints.items if i.name.startswith("VPC interface endpoints"))
    assert line.quantity == 5 * 3 * prices.hours  # 5 interface endpoints in each of 3 AZs
