"""The check registry, and the reserved names derived from the logical IDs a platform really emits."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tap_cfn import checks, generator, naming
from tap_cfn import config as cfg
from tap_cfn.stacks.nesting import WiringError
from tests.platforms import DEFAULT

PROBE = [f"zq{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"]  # words no platform ID contains
SECRETS = ["zsa", "zsb"]


def _probe_config(count: int) -> dict[str, Any]:
    """`count` services using every feature that adds a logical ID: the default, path and internal
    routes, ECS Exec, secrets of both kinds, request and memory scaling, callers, a scaling window;
    then a worker and a canary-released ALB service."""
    raw = copy.deepcopy(DEFAULT)
    services: list[dict[str, Any]] = []
    for i, name in enumerate(PROBE[:count]):
        route: dict[str, Any] = (
            {"type": "alb", "default": True}
            if i == 0
            else {"type": "internal"}
            if i % 2
            else {"type": "alb", "path": f"/{name}/*"}
        )
        svc: dict[str, Any] = {"name": name, "port": 8000, "cpu": 256, "memory": 512, "route": route}
        if route["type"] == "internal":
            svc["health_check"] = {"command": ["CMD", "/bin/probe"]}
        svc.update(exec=True, readonly_root_filesystem=False, secrets={"A": SECRETS[0], "B": SECRETS[1]})
        if "path" in route:
            svc["scaling"] = {"memory_target": 50, "requests_per_target": 10}
        if services:
            svc["callers"] = [services[-1]["name"]]
        services.append(svc)
    services.append(  # a worker on a queue
        {
            "name": PROBE[count],
            "cpu": 256,
            "memory": 512,
            "scaling": {"queue": {"queue": "q", "messages_per_task": 5}},
            "health_check": {"command": ["CMD", "/bin/probe"]},
        }
    )
    services.append(  # released by canary: a second target group, its rule's and role's IDs
        {
            "name": PROBE[count + 1],
            "port": 8000,
            "cpu": 256,
            "memory": 512,
            "route": {"type": "alb", "path": f"/{PROBE[count + 1]}/*"},
            "deployment": {"strategy": "canary", "test_listener_rule": True},
        }
    )
    raw["services"] = services
    raw["environments"]["staging"]["egress"] = "endpoints"  # the endpoints' IDs in one profile
    raw["secrets"] = [
        {"name": SECRETS[0]},
        {"name": SECRETS[1], "template": '{"u": "a"}', "generate_key": "p"},
    ]
    raw["environment_defaults"]["scheduled_scaling"] = {
        "start": "cron(0 20 ? * MON-FRI *)",
        "end": "cron(0 7 ? * MON-FRI *)",
    }
    return raw


def _namespace(section: str, stem: str) -> str:
    """Where two equal names clash: outputs travel up to the root (one namespace); resources,
    parameters and conditions within one kind of stack (service-x, data-2 -> service, data)."""
    if section == "Outputs":
        return "outputs"
    return re.sub(r"-\d+$", "", "service" if stem.startswith("service-") else stem)


def _derived_reserved() -> dict[str, set[str]]:
    """Owner kind (service, secret) -> the CamelCase prefixes that would clash, found by building
    probe platforms (one group and several) in every profile and splitting each logical ID into
    owner + suffix (per-owner) or not (the platform's own)."""
    owners = {naming.logical_id(n): "service" for n in PROBE} | {
        naming.logical_id(n): "secret" for n in SECRETS
    }
    suffixes: dict[tuple[str, str], set[str]] = {}  # (kind, suffix) -> namespaces
    platform: dict[str, set[str]] = {}  # logical ID -> namespaces
    for count in (3, 12):
        config = cfg.parse(_probe_config(count), "probe.yaml")
        for env in config.environments:
            for stem, template in generator.build_environment(cfg.Deployment(config, env)).items():
                for section in ("Resources", "Parameters", "Outputs", "Conditions"):
                    for key in template.get(section, {}):
                        owner = next((o for o in owners if key.startswith(o)), None)
                        where = _namespace(section, stem)
                        if owner is None:
                            platform.setdefault(key, set()).add(where)
                        elif not any(o in key[len(owner) :] for o in owners):  # edges name two owners
                            suffixes.setdefault((owners[owner], key[len(owner) :]), set()).add(where)
    reserved: dict[str, set[str]] = {"service": set(), "secret": set()}
    for key, places in platform.items():
        for (kind, suffix), owned_places in suffixes.items():
            if key.endswith(suffix) and key != suffix and places & owned_places:
                reserved[kind].add(key[: -len(suffix)])
    return reserved


def test_the_reserved_names_are_exactly_those_the_platform_s_logical_ids_take() -> None:
    derived = _derived_reserved()
    assert derived["service"] == {naming.logical_id(n) for n in naming.RESERVED_SERVICE_NAMES}
    assert derived["secret"] == {naming.logical_id(n) for n in naming.RESERVED_SECRET_NAMES}
    # written out: the table must not shrink unnoticed
    assert derived["service"] == {"Alb", "Endpoint", "Exec"}


@pytest.mark.parametrize("name", ["alb", "exec"])
def test_without_the_check_a_reserved_name_breaks_generation(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _probe_config(3)
    raw["services"][1]["name"] = name
    raw["services"][2]["callers"] = [name]
    monkeypatch.setattr(checks, "CHECKS", [c for c in checks.CHECKS if c.name != "reserved_names"])
    config = cfg.parse(raw, "probe.yaml")
    with pytest.raises((ValueError, WiringError)):
        generator.build_environment(cfg.Deployment(config, "dev"))


def test_with_the_check_a_reserved_name_is_a_config_error() -> None:
    raw = _probe_config(3)
    raw["services"][1]["name"] = "alb"
    raw["services"][2]["callers"] = ["alb"]
    with pytest.raises(cfg.ConfigError, match=r"^probe\.yaml: services\[alb\]\.name: 'alb' is reserved"):
        cfg.parse(raw, "probe.yaml")


def test_names_that_differ_before_a_digit_would_share_logical_ids() -> None:
    assert naming.logical_id("api-1") == naming.logical_id("api1")  # why the check exists
    raw = _probe_config(3)
    raw["services"][1]["name"], raw["services"][2]["name"] = "api-1", "api1"
    raw["services"][2]["callers"] = ["api-1"]
    with pytest.raises(cfg.ConfigError, match=r"services\[api1\]\.name: 'api1' and 'api-1' both become Api1"):
        cfg.parse(raw, "probe.yaml")


def test_every_check_is_registered_once_and_says_its_rule() -> None:
    names = [c.name for c in checks.CHECKS]
    assert len(names) == len(set(names))
    assert all(c.description for c in checks.CHECKS)
    assert {"reserved_names", "distinct_logical_ids", "fargate_size", "caller_cycles"} <= set(names)
