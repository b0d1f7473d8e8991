"""Shared fixtures: the packaged config, every profile's templates built as plain dicts, the
same written to disk and linted once per run; the hypothesis profiles."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from tap_cfn import config as cfg
from tap_cfn import generator

# Bounded and reproducible: the same examples every run (so the lint cache serves them again),
# no per-example deadline on a shared 2-core machine. HYPOTHESIS_PROFILE=ci in .ci/run.
settings.register_profile(
    "default", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", settings.get_profile("default"), print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PROFILES = ("dev", "staging", "prod")
SERVICES = ("frontend", "api-gateway", "processing")


class Built:
    """One environment's templates as dicts: `root` plus children by stem (network, service-frontend, ...)."""

    def __init__(self, dep: cfg.Deployment) -> None:
        stacks = generator.build_environment(dep)
        self.dep = dep
        self.root = stacks.pop(generator.ROOT_STEM)
        self.children = stacks
        self.logical_ids = {
            stack["Properties"]["TemplateURL"]: logical_id
            for logical_id, stack in self.root["Resources"].items()
        }

    def stack(self, stem: str) -> dict[str, Any]:
        return self.children[stem]

    def resources(self, stem: str, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.children[stem]["Resources"].items() if v["Type"] == kind}

    def resource(self, stem: str, logical_id: str) -> dict[str, Any]:
        return self.children[stem]["Resources"][logical_id]

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for stem, template in self.children.items():
            for logical_id, resource in template["Resources"].items():
                yield stem, logical_id, resource

    def fed_by(self, stem: str, parameter: str) -> Any:
        """What the root passes to `parameter` of child `stem`."""
        return self.root["Resources"][self.logical_ids[stem]]["Properties"]["Parameters"][parameter]


def pytest_configure(config: pytest.Config) -> None:
    from tap_cfn.lint import JOBS_ENV
    from tests.support.moto_endpoint import share_botocore_data

    share_botocore_data()
    # Under pytest-xdist each worker is already one of a process per core: a lint pool of its own
    # would run two cfn-lint processes per worker, each loading cfn-lint's rules again.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault(JOBS_ENV, "1")


# The longest tests, longest first (CPU seconds on a cold lint cache, measured 2026-11-30). `make
# pytest` hands each pytest-xdist worker the next test of the collection as it finishes one
# (--maxschedchunk=1; by default each worker first gets a quarter of its share in one block, and
# one worker got all of these): longest processing time first, so the run ends on short tests
# both workers share. A renamed test only loses its place in the queue.
LONGEST = (
    "test_random_valid_platforms_lint_clean_and_are_fully_wired",  # 15: cfn-lint, 51 templates
    "test_every_generated_template_is_lint_clean",  # 14: every profile, through profile_findings
    "test_the_real_services_templates_fail_no_checkov_check",  # 12: checkov
    "test_the_real_services_templates_pass_every_control_tower_control",  # 12: cfn-guard
    "test_the_eight_service_example_generates_and_lints_clean",  # 10
    "test_the_real_services_templates_are_lint_clean",  # 10
    "test_flat_templates_pass_the_lint_gate",  # 7
    "test_a_large_platform_lints_clean",  # 4
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, then those that deploy to the local endpoint (2 to 9 s each),
    then the property tests, then the rest in their own order: a long test started last is a
    tail the other worker cannot share."""

    def rank(item: pytest.Item) -> int:
        name = getattr(item, "originalname", item.name)
        if name in LONGEST:
            return LONGEST.index(name)
        if {"aws", "endpoint"} & set(getattr(item, "fixturenames", ())):
            return len(LONGEST)
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            return len(LONGEST) + 1
        return len(LONGEST) + 2

    items.sort(key=rank)


@pytest.fixture(scope="session")
def config() -> cfg.Config:
    return cfg.load()


@pytest.fixture(scope="session")
def built(config: cfg.Config) -> dict[str, Built]:
    return {env: Built(cfg.Deployment(config, env)) for env in PROFILES}


@pytest.fixture(params=PROFILES)
def env_built(request: pytest.FixtureRequest, built: dict[str, Built]) -> Built:
    return built[request.param]


@pytest.fixture(scope="session")
def profile_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every profile's templates, JSON and YAML, written as `python generate.py templates` does."""
    from tap_cfn import cli

    folder = tmp_path_factory.mktemp("templates")
    assert cli.main(["templates", "--out", str(folder), "--quiet"]) == 0
    return folder


@pytest.fixture(scope="session")
def profile_findings(profile_templates: Path) -> list[str]:
    """cfn-lint over every profile's templates, once per run (and cached across runs)."""
    from tap_cfn.lint import lint, template_files

    return lint(template_files(profile_templates))


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) pair below `node`."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


AUDIT = {
    "name": "audit",
    "port": 9100,
    "cpu": 256,
    "memory": 512,
    "health_check": {"command": ["CMD-SHELL", "wget -q -O /dev/null http://localhost:9100/health || exit 1"]},
    "route": {"type": "internal"},
    "callers": ["processing"],
    "secrets": {"API_KEYS": "api-keys"},
}


@pytest.fixture(scope="session")
def audit_config() -> cfg.Config:
    """The packaged config plus a 4th, internal service `audit` that processing calls on 9100."""
    import yaml

    from tap_cfn.config import DEFAULT_CONFIG

    raw = yaml.safe_load((Path(cfg.__file__).parent / DEFAULT_CONFIG).read_text(encoding="utf-8"))
    raw["services"].append(AUDIT)
    return cfg.parse(raw, "audit.yaml")


@pytest.fixture(scope="module")
def exec_built() -> Built:
    """dev, with ECS Exec enabled on api-gateway (which then needs a writable root filesystem)."""
    raw = copy.deepcopy(yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text()))
    raw["services"][1].update(exec=True, readonly_root_filesystem=False)
    return Built(cfg.Deployment(cfg.parse(raw), "dev"))


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def count(b: Built, stem: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in b.stack(stem)["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    return counts


def _raw() -> dict[str, Any]:
    return yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text(encoding="utf-8"))


def _endpoints_config() -> cfg.Config:
    raw = _raw()
    raw["environments"]["dev"]["egress"] = "endpoints"
    raw["services"][0]["environment"] = {}  # nothing may call the public ALB without NAT
    return cfg.parse(raw, "endpoints.yaml")
