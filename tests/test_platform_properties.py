"""Property-based: random platforms of 1 to 20 services, their names drawn from a wide alphabet that
includes every word the platform itself uses, are rejected for a name or generate (a few of up to 8
services are linted, all are checked fully wired); random invalid mutations of the default give a
config error, never a traceback, and never touch the output folder.

Platform-wide (config, generator, every stack, lint together), so at the top level, not beside a module."""

from __future__ import annotations

import copy
import io
import re
import tempfile
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from tap_cfn import cli, generator
from tap_cfn import config as cfg
from tap_cfn.lint import lint
from tests.platforms import DEFAULT
from tests.wiring import parse, quota_problems, wiring_problems

# Every word the platform itself uses in stack names, logical IDs and outputs, and names whose
# CamelCase forms meet (api-1 and api1 both become Api1): a name must be rejected or generate.
PLATFORM_WORDS = [
    "alb",
    "exec",
    "network",
    "cluster",
    "data",
    "security",
    "monitoring",
    "notifications",
    "egress",
    "flowlogs",
    "loadbalancer",
    "service",
    "services",
    "kms",
    "vpc",
    "nat",
    "flow",
    "key",
    "root",
    "stack",
    "secret",
    "target",
    "repository",
    "log",
    "task",
    "listener",
    "namespace",
    "alarm",
    "topic",
    "dashboard",
    "ingress",
    "egress",
    "public",
    "private",
    "subnet",
    "internet",
    "gateway",
    "http",
    "https",
    "image",
    "tag",
    "load-balancer",
    "security-group",
    "access-log",
    "flow-log",
    "target-group",
    "services-1",
    "data-1",
    "api-1",
    "api1",
]
NAMES = st.one_of(
    st.sampled_from(PLATFORM_WORDS),
    st.from_regex(r"[a-z][a-z0-9]{0,9}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9]{0,4}-[a-z0-9]{1,4}", fullmatch=True),
)
SIZES = [(cpu, memory) for cpu, mems in cfg.FARGATE_SIZES.items() for memory in mems if cpu <= 4096]


@st.composite
def platforms(draw: st.DrawFn, max_services: int = 20) -> dict[str, Any]:
    count = draw(st.integers(1, max_services))
    names = draw(st.lists(NAMES, min_size=count, max_size=count, unique=True))
    services: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        cpu, memory = draw(st.sampled_from(SIZES))
        low = draw(st.integers(0, 3))
        desired = draw(st.integers(low, 5))
        kind = "default" if i == 0 else draw(st.sampled_from(["path", "host", "internal"]))
        route: dict[str, Any] = {
            "default": {"type": "alb", "default": True},
            "path": {"type": "alb", "path": f"/{name}/*"},
            "host": {"type": "alb", "host": f"{name}.example.com"},
            "internal": {"type": "internal"},
        }[kind]
        earlier = [s["name"] for s in services]
        callers = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        scaling = {
            "cpu_target": draw(st.one_of(st.none(), st.floats(10, 95))),
            "memory_target": draw(st.one_of(st.none(), st.floats(10, 95))),
        }
        if kind in {"path", "host"} and draw(st.booleans()):
            scaling["requests_per_target"] = draw(st.integers(1, 5000))
        services.append(
            {
                "name": name,
                "port": draw(st.integers(1, 65535)),
                "cpu": cpu,
                "memory": memory,
                "desired": desired,
                "min": low,
                "max": draw(st.integers(max(desired, 1), 50)),
                "route": route,
                "callers": callers,
                "scaling": scaling,
                "secrets": draw(
                    st.dictionaries(
                        st.sampled_from(["DB", "KEYS"]),
                        st.sampled_from(["db-credentials", "api-keys"]),
                        max_size=2,
                    )
                ),
                "environment": {"CALLS": f"${{service.{earlier[-1]}.url}}"}
                if callers[-1:] == earlier[-1:] and callers
                else {},
            }
        )
        if kind == "internal":  # required without a load balancer (checks.internal_health_check)
            services[-1]["health_check"] = {"command": ["CMD", "/bin/probe"]}
    # a reference to a service needs the caller edge the other way: drop the ones without it
    for svc in services:
        for key, value in list(svc["environment"].items()):
            target = value.split(".")[1]
            if svc["name"] not in next(s for s in services if s["name"] == target)["callers"]:
                del svc["environment"][key]
    egress = draw(st.sampled_from(["nat", "endpoints"]))
    for svc in services:
        if draw(st.booleans()):
            svc["health_check"] = {
                "command": ["CMD-SHELL", f"wget -q -O- localhost:{svc['port']}/ || exit 1"]
            }
    if egress == "nat":  # without NAT no task can reach the public load balancer
        services[0]["environment"]["PUBLIC_URL"] = "${alb.url}"
    raw = copy.deepcopy(DEFAULT)
    raw["services"] = services
    raw["environments"]["dev"]["az_count"] = draw(st.integers(2, 3))
    raw["environments"]["dev"]["egress"] = egress
    return raw


@settings(
    # cfn-lint is the cost, per template: 4 platforms of up to 8 services (51 templates) reach every
    # route kind, scaling kind, egress mode and the 37 resource types that 3 of up to 20 (78) did.
    # The grouped layout (over 10 services) is linted in test_platform_scale; the unlinted
    # property below takes 25 examples of up to 20 services.
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate],
)  # shrinking would re-run cfn-lint hundreds of times
@given(platforms(max_services=8))
def test_random_valid_platforms_lint_clean_and_are_fully_wired(raw: dict[str, Any]) -> None:
    config = _parsed(raw)
    assume(config is not None)
    assert config is not None
    files = generator.render_environment(cfg.Deployment(config, "dev"), ["json"])
    assert wiring_problems(parse(files)) == []
    assert quota_problems(files) == []
    # scaling owns every task count; every declared container check is in its task definition
    checked = {s.name for s in config.services if s.health_check is not None}
    for name, template in parse(files).items():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::ECS::Service":
                assert "DesiredCount" not in resource["Properties"], name
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                (container,) = resource["Properties"]["ContainerDefinitions"]
                assert ("HealthCheck" in container) is (container["Name"] in checked), name
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text)
        assert lint(sorted(Path(folder).iterdir())) == []


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.generate],
)
@given(platforms())
def test_every_platform_that_validates_generates_fully_wired(raw: dict[str, Any]) -> None:
    """Without the lint (the test above lints a few): a config error about a name or generated,
    fully wired templates, never a crash, whatever the names."""
    config = _parsed(raw)
    event("rejected for a name" if config is None else "generated")
    if config is not None:
        files = generator.render_environment(cfg.Deployment(config, "prod"), ["json"])
        assert wiring_problems(parse(files)) == []


def _parsed(raw: dict[str, Any]) -> cfg.Config | None:
    """The config, or None when a check rejects it for one of its names (reserved, or sharing a
    logical ID with another); any other error fails the test."""
    try:
        return cfg.parse(raw, "random.yaml")
    except cfg.ConfigError as error:
        for line in str(error).splitlines():
            assert re.search(r"\.name: '[a-z0-9-]+' (is reserved|and '[a-z0-9-]+' both become)", line), line
        return None


BAD_VALUES = st.sampled_from(
    [-1, 0, 70000, 10**9, "", "Not A Label", None, [], {}, True, 3.5, "/*", "x" * 80]
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(DEFAULT)


@st.composite
def mutations(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(DEFAULT)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node = raw
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()) and isinstance(node, dict) and isinstance(path[-1], str):
                node[path[-1] + "_typo"] = node.pop(path[-1])  # an unknown key
            else:
                node[path[-1]] = draw(BAD_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    return raw


@settings(max_examples=60, deadline=None, derandomize=True)
@given(mutations())
def test_invalid_mutations_fail_cleanly_and_touch_nothing(raw: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        (out / "dev").mkdir(parents=True)
        (out / "dev" / "root.json").write_text("previous\n")
        config = Path(folder) / "tap.yaml"
        config.write_text(yaml.safe_dump(raw))
        stderr = io.StringIO()
        with redirect_stderr(stderr):
            code = cli.main(
                [
                    "templates",
                    "--config",
                    str(config),
                    "--env",
                    "dev",
                    "--format",
                    "json",
                    "--out",
                    str(out),
                    "--quiet",
                ]
            )
        assert code in (0, 2), stderr.getvalue()  # 1 would be an unexpected error
        if code == 2:
            first, *more = stderr.getvalue().strip().splitlines()  # every finding, one per line
            assert first.startswith(f"error: {config}: ")
            assert all(line.startswith(f"{config}: ") for line in more)
            assert [p.name for p in out.rglob("*")] == ["dev", "root.json"]
            assert (out / "dev" / "root.json").read_text() == "previous\n"
