"""The `deployment` of a service (tap_cfn/config.py ServiceDeployment and its checks in
tap_cfn/checks.py): which strategy each route kind may take, which figure belongs to which strategy,
ECS's ranges and steps, CloudFormation's 33-hour limit. The packaged services: frontend (the ALB
default), api-gateway (ALB path rule, no callers), processing (internal, called by api-gateway)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tap_cfn import config as cfg
from tests.conftest import _raw

FRONTEND, API, PROCESSING = 0, 1, 2


def _with(index: int, **deployment: Any) -> dict[str, Any]:
    raw = _raw()
    raw["services"][index]["deployment"] = deployment
    return raw


def _worker(**deployment: Any) -> dict[str, Any]:
    raw = _raw()
    raw["services"].append(
        {
            "name": "jobs",
            "cpu": 256,
            "memory": 512,
            "health_check": {"command": ["CMD", "/bin/check"]},
            "deployment": deployment,
        }
    )
    return raw


def test_rolling_is_the_default_and_every_figure_is_unset() -> None:
    svc = cfg.parse(_raw(), "t.yaml").services[API]
    assert svc.deployment == cfg.ServiceDeployment()
    assert (svc.deployment.strategy, svc.deployment.native) == ("rolling", False)
    assert cfg.deployment_minutes(svc.deployment) == 0


def test_unset_figures_take_ecs_defaults_and_ours_for_the_bake_time() -> None:
    canary = cfg.parse(_with(API, strategy="canary"), "t.yaml").services[API].deployment
    assert (canary.canary, canary.bake_minutes) == ((5.0, 10), 10)
    linear = cfg.parse(_with(API, strategy="linear", step_percent=25), "t.yaml").services[API].deployment
    assert linear.linear == (25.0, 6)


@pytest.mark.parametrize(
    ("deployment", "minutes"),
    [
        ({"strategy": "canary", "canary_bake_time_minutes": 30, "bake_time_minutes": 5}, 35),
        ({"strategy": "linear", "step_percent": 10, "step_bake_time_minutes": 6}, 10 + 6 * 9),  # 100/10 - 1
        ({"strategy": "linear", "step_percent": 11, "step_bake_time_minutes": 6}, 10 + 6 * 9),  # floor(9.09)
        ({"strategy": "linear", "step_percent": 100}, 10),
        ({"strategy": "blue_green", "bake_time_minutes": 0}, 0),
    ],
)
def test_the_deployment_time_is_counted_as_cloudformation_counts_it(
    deployment: dict[str, Any], minutes: int
) -> None:
    assert cfg.deployment_minutes(cfg.ServiceDeployment(**deployment)) == minutes


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            _with(API, strategy="canary", canary_percent=0),
            r"services\[api-gateway\]\.deployment\.canary_percent: Expected `float` >= 0\.1",
        ),
        (
            _with(API, strategy="canary", canary_percent=100.5),
            r"services\[api-gateway\]\.deployment\.canary_percent: Expected `float` <= 100",
        ),
        (
            _with(API, strategy="canary", canary_percent=12.34),
            r"services\[api-gateway\]\.deployment\.canary_percent: 12\.34: ECS takes multiples of 0\.1",
        ),
        (
            _with(API, strategy="linear", step_percent=2.5),
            r"services\[api-gateway\]\.deployment\.step_percent: Expected `float` >= 3",
        ),
        (
            _with(API, strategy="canary", bake_time_minutes=1441),
            r"services\[api-gateway\]\.deployment\.bake_time_minutes: Expected `int` <= 1440",
        ),
        (
            _with(API, strategy="canary_release"),
            r"services\[api-gateway\]\.deployment\.strategy: Invalid enum value 'canary_release'; "
            r"allowed: blue_green, canary, linear, rolling",
        ),
        (
            _with(API, stratgy="canary"),
            r"services\[api-gateway\]\.deployment\.stratgy: unknown key; did you mean `strategy`\?",
        ),
        (
            _with(API, strategy="linear", canary_percent=10),
            r"services\[api-gateway\]\.deployment\.canary_percent: only with strategy canary "
            r"\(strategy is linear\)",
        ),
        (
            _with(API, bake_time_minutes=5),
            r"services\[api-gateway\]\.deployment\.bake_time_minutes: only with strategy blue_green or "
            r"canary or linear \(strategy is rolling\)",
        ),
        (
            _with(PROCESSING, strategy="blue_green"),
            r"services\[processing\]\.deployment\.strategy: blue_green is not available here \(it is "
            r"registered in Cloud Map .*\); allowed: rolling$",
        ),
        (
            _with(FRONTEND, strategy="canary"),
            r"services\[frontend\]\.deployment\.strategy: canary is not available here \(the listener's "
            r"default action is no listener rule ECS could shift: .*\); allowed: rolling$",
        ),
        (
            _worker(strategy="linear"),
            r"services\[jobs\]\.deployment\.strategy: linear is not available here \(a worker has no "
            r"traffic to shift gradually\); allowed: rolling, blue_green$",
        ),
        (
            _with(API, strategy="linear", step_percent=3, step_bake_time_minutes=60, bake_time_minutes=60),
            r"services\[api-gateway\]\.deployment: bake times add up to 2040 minutes; CloudFormation "
            r"rejects more than 1980 \(33 hours\)",
        ),
    ],
    ids=[
        "canary-percent-zero",
        "canary-percent-over-100",
        "canary-percent-not-a-tenth",
        "step-percent-under-3",
        "bake-time-over-a-day",
        "unknown-strategy",
        "misspelled-field",
        "figure-of-another-strategy",
        "bake-time-with-rolling",
        "internal-service",
        "default-alb-service",
        "worker-linear",
        "over-33-hours",
    ],
)
def test_a_bad_deployment_is_one_line_naming_the_service_and_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.parse(raw, "t.yaml")
    (line,) = str(caught.value).splitlines()
    assert line.startswith("t.yaml: ")
    assert re.search(message, line), line


def test_request_count_scaling_cannot_follow_a_service_between_its_two_target_groups() -> None:
    raw = _with(API, strategy="blue_green")
    raw["services"][API]["scaling"] = {"requests_per_target": 100}
    with pytest.raises(
        cfg.ConfigError,
        match=r"services\[api-gateway\]\.scaling\.requests_per_target: not with strategy blue_green:",
    ):
        cfg.parse(raw, "t.yaml")


def test_a_test_listener_rule_needs_a_shifting_alb_service_and_a_free_priority() -> None:
    with pytest.raises(
        cfg.ConfigError,
        match=r"services\[api-gateway\]\.deployment\.test_listener_rule: needs an ALB service "
        r"\(route\.type: alb\) with strategy blue_green, canary or linear$",
    ):
        cfg.parse(_with(API, test_listener_rule=True), "t.yaml")
    raw = _with(API, strategy="canary", test_listener_rule=True)
    raw["services"][API]["route"]["priority"] = 1
    with pytest.raises(
        cfg.ConfigError,
        match=r"services\[api-gateway\]\.deployment\.test_listener_rule: its test rule takes the "
        r"priority before the service's rule \(0\), which is below 1; choose another route\.priority",
    ):
        cfg.parse(raw, "t.yaml")
    raw = _with(API, strategy="canary", test_listener_rule=True)
    raw["services"].append(
        {
            "name": "admin",
            "port": 80,
            "cpu": 256,
            "memory": 512,
            "route": {"type": "alb", "path": "/admin/*", "priority": 99},
        }
    )
    with pytest.raises(cfg.ConfigError, match=r"\(99\), which is taken by 'admin'"):
        cfg.parse(raw, "t.yaml")
    assert cfg.parse(_with(API, strategy="canary", test_listener_rule=True), "t.yaml")


def test_a_caller_makes_an_alb_service_discoverable_and_so_rolling_only() -> None:
    raw = _with(API, strategy="canary")
    raw["services"][API]["callers"] = ["frontend"]
    with pytest.raises(
        cfg.ConfigError, match=r"services\[api-gateway\]\.deployment\.strategy: canary is not"
    ):
        cfg.parse(raw, "t.yaml")


@pytest.mark.parametrize("strategy", ["blue_green", "canary", "linear"])
def test_an_alb_rule_service_takes_every_strategy_and_a_worker_blue_green(strategy: str) -> None:
    assert cfg.parse(_with(API, strategy=strategy), "t.yaml").services[API].deployment.strategy == strategy
    assert cfg.parse(_worker(strategy="blue_green"), "t.yaml").services[-1].deployment.native


@pytest.mark.parametrize(
    ("strategy", "kinds"),
    [
        ("rolling", (False, False, False, False)),
        ("blue_green", (True, False, False, False)),
        ("canary", (True, True, False, True)),
        ("linear", (True, False, True, True)),
    ],
)
def test_each_strategy_answers_its_kind_as_a_property(strategy: str, kinds: tuple[bool, ...]) -> None:
    release = cfg.ServiceDeployment(strategy=strategy)  # type: ignore[arg-type]
    assert (release.native, release.is_canary, release.is_linear, release.shifts_traffic_gradually) == kinds
