"""How a bad config is told (tap_cfn/config_errors.py): each finding one line at a path the user's
file contains, with what is allowed in words; the YAML refused where the parser stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from tap_cfn import config as cfg
from tap_cfn.cli import main
from tap_cfn.config_errors import PATTERN_WORDS, load_yaml
from tests.test_config import mutated

PACKAGED = Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG


def problems(change: Callable[[dict[str, Any]], object]) -> list[str]:
    """Every line the default config changed by `change` is refused with."""
    with pytest.raises(cfg.ConfigError) as error:
        cfg.parse(mutated(change), "platform.yaml")
    return str(error.value).splitlines()


def defaults(**settings: Any) -> Callable[[dict[str, Any]], object]:
    return lambda r: r["environment_defaults"].update(settings)


# --- a setting every environment inherits is named where it is written, once ---------------------


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda r: r["environment_defaults"].update(natt=r["environment_defaults"].pop("nat")),
            "platform.yaml: environment_defaults.natt: unknown key; did you mean `nat`?",
        ),
        (
            lambda r: r["environment_defaults"]["alarms"].update(cpu_high=850),
            "platform.yaml: environment_defaults.alarms.cpu_high: Expected `float` <= 100.0",
        ),
        (
            defaults(log_retention_days=31),  # dev sets its own 7; staging and prod inherit 31
            "platform.yaml: environment_defaults.log_retention_days: 31 is not one of (1, 3, 5, 7, 14, 30, "
            "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
        ),
        (
            defaults(regions={"eu-west-1": {"vpc_cdir": "10.1.0.0/16"}}),
            "platform.yaml: environment_defaults.regions.eu-west-1.vpc_cdir: unknown key; "
            "did you mean `vpc_cidr`?",
        ),
    ],
    ids=["unknown key", "out of range", "check on an inherited value", "region settings"],
)
def test_a_bad_default_is_reported_once_at_environment_defaults(
    change: Callable[[dict[str, Any]], object], line: str
) -> None:
    assert problems(change) == [line]


def test_a_default_failing_in_some_environments_only_names_them() -> None:
    # prod's own, smaller range cannot hold the default /26 subnets; dev's and staging's can
    def change(r: dict[str, Any]) -> None:
        r["environment_defaults"].update(subnet_prefix=26)
        r["environments"]["prod"].update(vpc_cidr="10.0.0.0/24")

    assert problems(change) == [
        "platform.yaml: environment_defaults.subnet_prefix: 3 public and 3 private /26 subnets do not fit "
        "in 10.0.0.0/24 (in environments.prod)"
    ]


def test_an_environment_s_own_value_is_reported_at_the_environment() -> None:
    assert problems(lambda r: r["environments"]["staging"].update(log_retention_days=31)) == [
        "platform.yaml: environments.staging.log_retention_days: 31 is not one of (1, 3, 5, 7, 14, 30, "
        "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)"
    ]


def test_a_default_every_environment_overrides_still_passes_the_checks() -> None:
    def change(r: dict[str, Any]) -> None:
        r["environment_defaults"].update(log_retention_days=31)
        for env in r["environments"].values():
            env["log_retention_days"] = 14

    config = cfg.parse(mutated(change))
    assert {e.log_retention_days for e in config.environments.values()} == {14}


# --- a wrong type lists what is allowed ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda r: r["services"][1].update(cpu="lots"),
            "services[api-gateway].cpu: Expected `int`, got `str`; "
            "allowed: 256, 512, 1024, 2048, 4096, 8192, 16384",
        ),
        (
            lambda r: r["services"][1].update(memory="2 GB"),
            "services[api-gateway].memory: Expected `int`, got `str`; allowed: MiB the cpu offers: "
            "512, 1024, 2048 with cpu 256; 1024-4096 in steps of 1024 with cpu 512; "
            "2048-8192 in steps of 1024 with cpu 1024; 4096-16384 in steps of 1024 with cpu 2048; "
            "8192-30720 in steps of 1024 with cpu 4096; 16384-61440 in steps of 4096 with cpu 8192; "
            "32768-122880 in steps of 8192 with cpu 16384",
        ),
        (
            lambda r: r["services"][0].update(overrides={"dev": {"cpu": "small"}}),
            "services[frontend].overrides.dev.cpu: Expected `int | null`, got `str`; "
            "allowed: 256, 512, 1024, 2048, 4096, 8192, 16384",
        ),
        (
            lambda r: r["environments"]["prod"].update(nat=2),
            "environments.prod.nat: Expected `str`, got `int`; allowed: per_az, single",
        ),
        (
            lambda r: r["environments"]["dev"].update(log_retention_days="a week"),
            "environments.dev.log_retention_days: Expected `int`, got `str`; allowed: 1, 3, 5, 7, 14, 30, "
            "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ),
        (
            lambda r: r["services"][1].update(exec="yes"),
            "services[api-gateway].exec: Expected `bool`, got `str`; allowed: true, false",
        ),
    ],
    ids=["fargate cpu", "fargate memory", "a profile's cpu", "enum", "log retention", "boolean"],
)
def test_a_wrong_type_lists_the_allowed_values(change: Callable[[dict[str, Any]], object], line: str) -> None:
    assert problems(change) == [f"platform.yaml: {line}"]


# --- a pattern is told in words, with the value ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda r: r["services"][2].update(name="Processing"),
            "services[Processing].name: Invalid value 'Processing'; allowed: lowercase letters, digits and "
            "hyphens, starting with a letter, not ending with a hyphen, at most 63 characters",
        ),
        (
            lambda r: r["services"][0]["environment"].update({"API-URL": "x"}),
            "services[frontend].environment: a key: Invalid value 'API-URL'; allowed: letters, digits and "
            "underscores, not starting with a digit",
        ),
        (
            lambda r: r["services"][1]["route"].update(path="api/*"),
            "services[api-gateway].route.path: Invalid value 'api/*'; allowed: / and at most 127 more "
            "letters, digits or _-.$/~\"'@:+*?&, e.g. /api/*",
        ),
        (
            lambda r: r.update(project="Tap"),
            "project: Invalid value 'Tap'; allowed: a lowercase letter, then at most 9 lowercase letters "
            "or digits",
        ),
    ],
    ids=["service name", "variable name", "route path", "project"],
)
def test_a_pattern_is_told_in_words(change: Callable[[dict[str, Any]], object], line: str) -> None:
    assert problems(change) == [f"platform.yaml: {line}"]


def _patterns(model: type) -> Iterator[str]:
    """Every pattern declared anywhere in `model`'s types."""
    seen: set[int] = set()
    stack = [msgspec.inspect.type_info(model)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if getattr(node, "pattern", None):
            yield node.pattern
        for attr in ("type", "item_type", "key_type", "value_type"):
            if getattr(node, attr, None) is not None:
                stack.append(getattr(node, attr))
        stack.extend(getattr(node, "types", ()))
        stack.extend(f.type for f in getattr(node, "fields", ()))


def test_every_declared_pattern_has_words() -> None:
    declared = set(_patterns(cfg.Config))
    assert len(declared) >= 15  # the walk reaches the nested structs
    assert sorted(declared - set(PATTERN_WORDS)) == []


# --- YAML: a repeated key is refused where it repeats ---------------------------------------------


def test_a_repeated_key_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("project: tap\nservices:\n  - name: api-gateway\n    cpu: 512\n    cpu: 256\n")
    with pytest.raises(cfg.ConfigError) as error:
        cfg.load(path)
    assert (
        str(error.value)
        == f"{path}: not valid YAML at line 5, column 5: duplicate key `cpu` (first at line 4)"
    )


def test_a_merge_key_may_be_overridden_and_equal_keys_in_two_mappings_are_no_repeat() -> None:
    text = "base: &b {cpu: 256, memory: 512}\nsvc:\n  <<: *b\n  cpu: 512\nother: {cpu: 256}\n"
    assert load_yaml(text)["svc"] == {"cpu": 512, "memory": 512}
    assert yaml.safe_load(text) == load_yaml(text)


def test_the_cli_refuses_a_repeated_key_with_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PACKAGED.read_text()
    line = "    cpu: 1024\n"  # api-gateway's
    assert text.count(line) == 1
    before = text[: text.index(line)].count("\n") + 1
    config = tmp_path / "platform.yaml"
    config.write_text(text.replace(line, line + "    cpu: 256\n"))
    out = tmp_path / "out"
    assert main(["templates", "--config", str(config), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"error: {config}: not valid YAML at line {before + 1}, column 5: duplicate key `cpu` "
        f"(first at line {before})\n"
    )
    assert not out.exists()


def test_the_cli_names_a_bad_default_once_with_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PACKAGED.read_text()
    assert text.count("\n  log_retention_days: 30\n") == 1
    config = tmp_path / "platform.yaml"
    config.write_text(text.replace("\n  log_retention_days: 30\n", "\n  log_retention_days: 31\n"))
    out = tmp_path / "out"
    assert main(["templates", "--config", str(config), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {config}: environment_defaults.log_retention_days: 31 is not one of (1, 3, 5, 7, 14, 30, "
        "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)"
    ]
    assert not out.exists()


def test_a_bad_value_in_a_mapping_is_named_by_its_key() -> None:
    # msgspec writes such a key as `[...]`
    assert problems(lambda r: r["services"][0]["environment"].update(RETRIES=3)) == [
        "platform.yaml: services[frontend].environment.RETRIES: Expected `str`, got `int`"
    ]
