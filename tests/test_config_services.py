"""Service checks of the config (tap_cfn/config.py) that protect a real deploy: health checks within
ECS's bounds, no health-check path on an internal service, no NAT-less reference to the public ALB.
(Beside tests/test_config.py, which other work is extending.)"""

from __future__ import annotations

from typing import Any

import pytest

from tap_cfn import config as cfg
from tests.conftest import _raw


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


def test_without_nat_a_reference_to_the_public_load_balancer_is_a_config_error() -> None:
    raw = _raw()
    raw["environments"]["dev"]["egress"] = "endpoints"
    with pytest.raises(
        cfg.ConfigError, match=r"services\[frontend\]\.environment: refers to the load balancer"
    ):
        cfg.parse(raw, "t.yaml")


def test_without_nat_an_image_outside_private_ecr_is_a_config_error() -> None:
    # GIVEN dev closed to the internet (endpoints), a service from Docker Hub and a sidecar from ECR Public
    raw = _raw()
    raw["environments"]["dev"]["egress"] = "endpoints"
    raw["services"][1]["image"] = "nginx:1.27"
    raw["services"][1]["sidecars"] = [{"name": "agent", "image": "public.ecr.aws/aws/agent:1"}]
    # THEN each is named, with what is allowed
    with pytest.raises(cfg.ConfigError) as error:
        cfg.parse(raw, "t.yaml")
    text = str(error.value)
    assert (
        "services[api-gateway].image: nginx:1.27 is not in a private ECR registry, and dev has egress: "
        "endpoints (no way to other registries); allowed: an image in private ECR, or egress: nat"
    ) in text
    assert "services[api-gateway].sidecars[agent].image: public.ecr.aws/aws/agent:1 is not" in text


def test_without_nat_an_image_in_private_ecr_is_pulled_through_the_endpoints() -> None:
    raw = _raw()
    raw["environments"]["dev"]["egress"] = "endpoints"
    raw["services"][0]["environment"] = {}  # (no reference to the public load balancer)
    raw["services"][1]["image"] = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.0"
    assert cfg.parse(raw, "t.yaml").services[1].image.startswith("123456789012.dkr.ecr.")


@pytest.mark.parametrize(("egress", "via_endpoints"), [("nat", False), ("endpoints", True)])
def test_the_egress_kind_is_a_property_of_the_environment(egress: str, via_endpoints: bool) -> None:
    raw = _raw()
    raw["environments"]["dev"]["egress"] = egress
    raw["services"][0].pop("environment", None)  # no reference to the load balancer without NAT
    assert cfg.parse(raw, "t.yaml").environments["dev"].via_endpoints is via_endpoints
