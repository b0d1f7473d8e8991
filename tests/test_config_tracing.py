"""The `tracing` setting of an environment profile (tap_cfn/config.py Tracing, and the collector
checks in tap_cfn/checks.py): off by default, on per profile, and every bad value one line naming
the environment, the service and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from tap_cfn import config as cfg
from tests.test_config import mutated


def _trace(env: str = "dev", **settings: Any):  # noqa: ANN202 (a mutation of the raw config)
    def change(raw: dict[str, Any]) -> None:
        raw["environments"][env]["tracing"] = settings

    return change


def test_tracing_is_off_unless_a_profile_turns_it_on() -> None:
    assert all(env.tracing is None for env in cfg.load().environments.values())
    config = cfg.parse(mutated(_trace()), "t.yaml")
    assert config.environments["dev"].tracing == cfg.Tracing(
        collector_cpu=64, collector_memory=128, sample_ratio=0.05
    )
    assert config.environments["prod"].tracing is None


def test_a_profile_turns_off_what_environment_defaults_turn_on() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["environment_defaults"]["tracing"] = {"sample_ratio": 0.2}
        raw["environments"]["dev"]["tracing"] = None

    config = cfg.parse(mutated(change), "t.yaml")
    assert config.environments["dev"].tracing is None
    assert config.environments["prod"].tracing == cfg.Tracing(sample_ratio=0.2)


def _rename_sidecar(raw: dict[str, Any]) -> None:
    raw["services"][2]["sidecars"] = [{"name": "otel-collector", "image": "public.ecr.aws/x/y:1"}]


def _port(index: int, port: int):  # noqa: ANN202
    def change(raw: dict[str, Any]) -> None:
        raw["services"][index]["port"] = port

    return change


def _sidecar_port(raw: dict[str, Any]) -> None:
    raw["services"][0]["sidecars"] = [{"name": "agent", "image": "public.ecr.aws/x/y:1", "port": 13133}]


def _big_sidecar(raw: dict[str, Any]) -> None:
    raw["services"][0]["sidecars"] = [{"name": "agent", "image": "public.ecr.aws/x/y:1", "memory": 900}]


def _without_nat(raw: dict[str, Any]) -> None:
    raw["environments"]["dev"]["egress"] = "endpoints"
    raw["services"][0]["environment"] = {}  # nothing may call the public ALB without NAT


def _both(*changes):  # noqa: ANN202, ANN002
    def change(raw: dict[str, Any]) -> None:
        for one in changes:
            one(raw)

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _trace(collector_memory=16),
            r"^t\.yaml: environments\.dev\.tracing\.collector_memory: Expected `int` >= 32",
        ),
        (
            _trace(collector_cpu=8),
            r"^t\.yaml: environments\.dev\.tracing\.collector_cpu: Expected `int` >= 16",
        ),
        (_trace(sample_ratio=0), r"^t\.yaml: environments\.dev\.tracing\.sample_ratio: Expected `float` > 0"),
        (
            _trace(sample_ratio=1.5),
            r"^t\.yaml: environments\.dev\.tracing\.sample_ratio: Expected `float` <= 1",
        ),
        (
            _trace(colector_cpu=32),
            r"^t\.yaml: environments\.dev\.tracing\.colector_cpu: unknown key; "
            r"did you mean `collector_cpu`\?$",
        ),
        (
            lambda raw: raw["environments"]["dev"].update(tracing="otel"),
            r"^t\.yaml: environments\.dev\.tracing: Expected `object \| null`, got `str`$",
        ),
        # frontend: 1024 MiB, 512 CPU units
        (
            _trace(collector_memory=1020),
            r"^t\.yaml: environments\.dev\.tracing\.collector_memory: 1020 MiB leaves service 'frontend' "
            r"\(1024 MiB in dev\) less than the 6 MiB a container needs$",
        ),
        (
            _trace(collector_cpu=512),
            r"^t\.yaml: environments\.dev\.tracing\.collector_cpu: 512 units leave service 'frontend' "
            r"\(512 CPU in dev\) none$",
        ),
        (  # 900 MiB fits frontend's 1024 alone (prod), not beside dev's 128 MiB collector
            _both(_trace(), _big_sidecar),
            r"^t\.yaml: services\[frontend\]\.sidecars\[agent\]\.memory: 900 MiB leaves the main container "
            r"of service 'frontend' 0 of the task's 1024 MiB in dev, less than the 6 MiB a container needs; "
            r"allowed: at most 890$",
        ),
        (
            _both(_trace(), _without_nat),
            r"^t\.yaml: environments\.dev\.tracing: the collector needs egress: nat \(public ECR image, "
            r"X-Ray API\); allowed: nat$",
        ),
        (
            _both(_trace("prod"), _rename_sidecar),
            r"^t\.yaml: services\[processing\]\.sidecars\[otel-collector\]\.name: 'otel-collector' is the "
            r"tracing collector's name \(tracing is on in prod\)$",
        ),
        (
            _both(_trace(), _port(2, 4318)),
            r"^t\.yaml: services\[processing\]\.port: 4318 is the tracing collector's OTLP HTTP port "
            r"\(tracing is on in dev\); allowed: any other$",
        ),
        (
            _both(_trace(), _sidecar_port),
            r"^t\.yaml: services\[frontend\]\.sidecars\[agent\]\.port: 13133 is the tracing collector's "
            r"health check port \(tracing is on in dev\); allowed: any other$",
        ),
    ],
)
def test_bad_tracing_settings_are_one_line_naming_the_field(change: Any, message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.parse(mutated(change), "t.yaml")


def test_the_room_check_reads_each_profile_s_own_size() -> None:
    """A dev override shrinks api-gateway to 512 MiB: only dev's collector must fit in that."""

    def change(raw: dict[str, Any]) -> None:
        raw["services"][1]["overrides"] = {"dev": {"cpu": 256, "memory": 512}}
        raw["environments"]["dev"]["tracing"] = {"collector_memory": 512}
        raw["environments"]["prod"]["tracing"] = {"collector_memory": 512}

    with pytest.raises(cfg.ConfigError) as caught:
        cfg.parse(mutated(change), "t.yaml")
    assert str(caught.value) == (
        "t.yaml: environments.dev.tracing.collector_memory: 512 MiB leaves service 'api-gateway' "
        "(512 MiB in dev) less than the 6 MiB a container needs"
    )


def test_without_tracing_the_collector_s_name_and_ports_are_free() -> None:
    config = cfg.parse(mutated(_both(_rename_sidecar, _port(2, 4318))), "t.yaml")
    assert config.service("processing").port == 4318
