"""The operations part of the config: alarm thresholds (environment defaults, per-service
overrides) and the scheduled scaling window. Bad input gets one line naming the field."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tap_cfn import config as cfg
from tests.test_config import assert_rejected, mutated


def test_alarm_defaults_are_the_documented_ones() -> None:
    alarms = cfg.load().environments["prod"].alarms
    assert (alarms.period, alarms.evaluation_periods, alarms.datapoints_to_alarm) == (60, 5, 3)
    assert (alarms.cpu_high, alarms.memory_high) == (85.0, 85.0)
    assert (alarms.target_5xx, alarms.unhealthy_hosts, alarms.p99_latency) == (10, 1, 2.0)
    assert (alarms.alb_5xx, alarms.rejected_connections) == (10, 1)
    assert cfg.load().environments["dev"].scheduled_scaling is None


def test_a_service_overrides_the_environment_threshold_by_threshold() -> None:
    def change(raw: dict) -> None:
        raw["environments"]["dev"]["alarms"] = {"cpu_high": 95, "p99_latency": 5}
        raw["services"][1]["alarms"] = {"p99_latency": 0.5}

    config = cfg.parse(mutated(change))
    dev, prod = cfg.Deployment(config, "dev"), cfg.Deployment(config, "prod")
    api, frontend = config.service("api-gateway"), config.service("frontend")
    assert dev.alarms(api).p99_latency == 0.5  # the service's own figure wins everywhere
    assert prod.alarms(api).p99_latency == 0.5
    assert dev.alarms(frontend).p99_latency == 5.0  # dev's looser default
    assert prod.alarms(frontend).p99_latency == 2.0
    assert dev.alarms(api).cpu_high == 95.0 and prod.alarms(api).cpu_high == 85.0


def test_a_scheduled_window_parses() -> None:
    window = {
        "start": "cron(0 20 ? * MON-FRI *)",
        "end": "cron(0 7 ? * MON-FRI *)",
        "timezone": "Europe/Berlin",
    }
    config = cfg.parse(mutated(lambda r: r["environments"]["dev"].update(scheduled_scaling=window)))
    parsed = config.environments["dev"].scheduled_scaling
    assert parsed is not None and (parsed.min, parsed.max, parsed.timezone) == (0, 0, "Europe/Berlin")
    assert config.environments["prod"].scheduled_scaling is None


WINDOW = {"start": "cron(0 20 * * ? *)", "end": "cron(0 7 * * ? *)"}

BAD = [
    (
        "period not allowed",
        lambda r: r["environments"]["dev"].update(alarms={"period": 45}),
        r"environments\.dev\.alarms\.period: 45 s: CloudWatch takes 10, 30 or a multiple of 60",
    ),
    (
        "looks back over a day",
        lambda r: r["environment_defaults"].update(alarms={"period": 3600, "evaluation_periods": 25}),
        r"environment_defaults\.alarms\.evaluation_periods: 25 x 3600 s exceeds the one day",
    ),
    (
        "m of n",
        lambda r: r["environments"]["prod"].update(alarms={"evaluation_periods": 2}),
        r"environment_defaults\.alarms\.datapoints_to_alarm: 3 exceeds evaluation_periods \(2\) "
        r"\(in environments\.prod\)$",
    ),
    (
        "percent over 100",
        lambda r: r["environments"]["prod"].update(alarms={"cpu_high": 120}),
        r"environments\.prod\.alarms\.cpu_high: Expected `float` <= 100",
    ),
    (
        "zero 5xx threshold",
        lambda r: r["services"][0].update(alarms={"target_5xx": 0}),
        r"services\[frontend\]\.alarms\.target_5xx: Expected `int` >= 1",
    ),
    (
        "unknown alarm",
        lambda r: r["services"][0].update(alarms={"disk_high": 90}),
        r"services\[frontend\]\.alarms\.disk_high: unknown key",
    ),
    (
        "alb alarm on an internal service",
        lambda r: r["services"][2].update(alarms={"p99_latency": 1}),
        r"services\[processing\]\.alarms\.p99_latency: is about the ALB's targets: needs route.type: alb",
    ),
    (
        "window min over max",
        lambda r: r["environments"]["dev"].update(scheduled_scaling={**WINDOW, "min": 2, "max": 1}),
        r"environments\.dev\.scheduled_scaling\.min: min \(2\) must not exceed max \(1\)",
    ),
    (
        "window not cron",
        lambda r: r["environments"]["dev"].update(scheduled_scaling={**WINDOW, "start": "rate(1 day)"}),
        r"environments\.dev\.scheduled_scaling\.start: Invalid value 'rate\(1 day\)'; "
        r"allowed: cron\(minutes ",
    ),
    (
        "window five cron fields",
        lambda r: r["environments"]["dev"].update(scheduled_scaling={**WINDOW, "end": "cron(0 7 * * ?)"}),
        r"environments\.dev\.scheduled_scaling\.end: Invalid value 'cron\(0 7 \* \* \?\)'; allowed: cron\(",
    ),
    (
        "window empty",
        lambda r: r["environments"]["dev"].update(scheduled_scaling={**WINDOW, "end": WINDOW["start"]}),
        r"environments\.dev\.scheduled_scaling\.end: the window must end at another time",
    ),
    (
        "time zone",
        lambda r: r["environments"]["dev"].update(scheduled_scaling={**WINDOW, "timezone": "Mars/Olympus"}),
        r"environments\.dev\.scheduled_scaling\.timezone: 'Mars/Olympus' is not an IANA time zone",
    ),
    (
        "time zone path",
        lambda r: r["environments"]["dev"].update(
            scheduled_scaling={**WINDOW, "timezone": "../../etc/passwd"}
        ),
        r"environments\.dev\.scheduled_scaling\.timezone: '\.\./\.\./etc/passwd' is not an IANA",
    ),
    (
        "window without start",
        lambda r: r["environments"]["dev"].update(scheduled_scaling={"end": WINDOW["end"]}),
        r"environments\.dev\.scheduled_scaling\.start: required field is missing",
    ),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in BAD], ids=[i for i, _, _ in BAD])
def test_invalid_operations_config_names_file_field_and_rule(
    change: Callable[[dict], object], message: str
) -> None:
    assert_rejected(change, message)
