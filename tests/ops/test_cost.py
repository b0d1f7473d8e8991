"""The cost estimate, checked against hand-computed figures: each expectation is written out from
the price table and the profile (1 NAT x 730 h x $0.045 ...), not copied from the output."""

from __future__ import annotations

import json
import re

import pytest

from tap_cfn import config as cfg
from tap_cfn.ops import cost
from tests.conftest import PROFILES, _endpoints_config
from tests.test_config import mutated

H = 730  # hours a month
AS_OF = "2025-01-01"  # the date tap_cfn/ops/prices.json says its figures are from
PRICES = cost.load_prices()
P = PRICES.price
# The packaged services: (vCPU, GB) per task, 2 desired tasks each.
VCPU = 0.5 + 1 + 2
GB = 1 + 2 + 4
# Per service: 1 task on FARGATE (the base), the other split FARGATE:SPOT 1:4 -> 1.2 on-demand, 0.8 Spot.
ON_DEMAND, SPOT = 1 + 1 * 1 / 5, 1 * 4 / 5
# CPU, memory (1 metric each), running tasks (2 metrics: running and desired) on 3 services;
# 5xx, unhealthy, latency on 2 ALB services; 2 ALB alarms.
ALARM_METRICS = 3 * (1 + 1 + 2) + 2 * 3 + 2


def items(estimate: cost.Estimate) -> dict[str, float]:
    return {item.name.split(" (")[0]: item.monthly for item in estimate.items}


@pytest.fixture(scope="module")
def estimates() -> dict[str, cost.Estimate]:
    config = cfg.load()
    return {env: cost.estimate(cfg.Deployment(config, env), PRICES) for env in ("dev", "prod")}


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
    assert line.quantity == 5 * 3 * H  # 5 interface endpoints in each of 3 AZs, 730 h


def test_the_price_table_is_dated_and_sourced() -> None:
    raw = json.loads(cost.PRICES_FILE.read_text())
    assert raw["as_of"] == AS_OF and raw["region"] == "us-east-1" and raw["hours_per_month"] == H
    for name, entry in raw["prices"].items():
        assert (
            entry["price"] > 0 and entry["unit"] and entry["source"].startswith("https://aws.amazon.com/")
        ), name
    # the figures the hand computations below rely on
    assert (P["nat_gateway_hour"], P["alb_hour"], P["public_ipv4_hour"]) == (0.045, 0.0225, 0.005)
    assert (P["fargate_vcpu_hour"], P["fargate_gb_hour"], P["fargate_spot_discount"]) == (
        0.04048,
        0.004445,
        0.70,
    )


def test_dev_by_hand(estimates: dict[str, cost.Estimate]) -> None:
    dev = items(estimates["dev"])
    assert dev["NAT gateways"] == pytest.approx(1 * H * 0.045)  # 32.85
    assert dev["public IPv4 addresses"] == pytest.approx((1 + 3) * H * 0.005)  # 1 NAT EIP + 3 ALB nodes
    assert dev["application load balancer"] == pytest.approx(H * 0.0225)
    assert dev["ALB capacity"] == pytest.approx(1.0 * H * 0.008)
    assert dev["Fargate vCPU, on-demand"] == pytest.approx(ON_DEMAND * VCPU * H * 0.04048)  # 4.2 vCPU
    assert dev["Fargate memory, on-demand"] == pytest.approx(ON_DEMAND * GB * H * 0.004445)  # 8.4 GB
    assert dev["Fargate Spot vCPU"] == pytest.approx(SPOT * VCPU * H * 0.04048 * (1 - 0.70))
    assert dev["Fargate Spot memory"] == pytest.approx(SPOT * GB * H * 0.004445 * (1 - 0.70))
    assert dev["log ingestion"] == pytest.approx(6 * 1.0 * 0.50)  # 6 tasks x 1 GB assumed
    assert dev["log storage"] == pytest.approx(6 * 1.0 * 7 / (H / 24) * 0.03)  # 7 days of it kept
    assert dev["Secrets Manager secrets"] == pytest.approx(2 * 0.40)
    assert dev["KMS customer-managed key"] == pytest.approx(1.00)
    assert dev["CloudWatch alarms"] == pytest.approx(ALARM_METRICS * 0.10)
    assert dev["CloudWatch dashboard"] == pytest.approx(3.00)
    assert estimates["dev"].total == pytest.approx(sum(dev.values()))
    assert round(estimates["dev"].total, 2) == 261.20


def test_prod_differs_from_dev_by_its_nat_gateways_addresses_and_log_retention(
    estimates: dict[str, cost.Estimate],
) -> None:
    dev, prod = items(estimates["dev"]), items(estimates["prod"])
    assert prod["NAT gateways"] == pytest.approx(3 * H * 0.045)  # one per AZ: 98.55
    assert prod["public IPv4 addresses"] == pytest.approx((3 + 3) * H * 0.005)
    assert prod["log storage"] == pytest.approx(6 * 1.0 * 30 / (H / 24) * 0.03)
    same = set(dev) - {"NAT gateways", "public IPv4 addresses", "log storage"}
    assert all(dev[k] == pytest.approx(prod[k]) for k in same)
    difference = (2 * H * 0.045) + (2 * H * 0.005) + 6 * (30 - 7) / (H / 24) * 0.03
    assert estimates["prod"].total - estimates["dev"].total == pytest.approx(difference)
    assert round(estimates["prod"].total, 2) == 334.33


@pytest.mark.parametrize(
    ("desired", "base", "fargate", "spot", "expected"),
    [
        (2, 1, 1, 4, (1.2, 0.8)),
        (0, 1, 1, 4, (0.0, 0.0)),
        (1, 2, 1, 4, (1.0, 0.0)),  # all within the base
        (10, 0, 0, 1, (0.0, 10.0)),  # all Spot
        (7, 2, 1, 0, (7.0, 0.0)),  # no Spot weight
        (12, 2, 3, 2, (2 + 6.0, 4.0)),
    ],
)
def test_task_split_follows_the_capacity_strategy(
    desired: int, base: int, fargate: int, spot: int, expected: tuple[float, float]
) -> None:
    capacity = cfg.Capacity(fargate_base=base, fargate_weight=fargate, spot_weight=spot)
    assert cost.task_split(desired, capacity) == pytest.approx(expected)


def test_all_spot_and_more_tasks_move_the_fargate_lines() -> None:
    def change(raw: dict) -> None:
        raw["environments"]["prod"]["capacity"] = {"fargate_base": 0, "fargate_weight": 0, "spot_weight": 1}
        raw["services"][2].update(desired=4, max=10)

    prod = items(cost.estimate(cfg.Deployment(cfg.parse(mutated(change)), "prod"), PRICES))
    assert prod["Fargate vCPU, on-demand"] == 0
    # 2 frontend x 0.5 + 2 api-gateway x 1 + 4 processing x 2 vCPU, all on Spot
    assert prod["Fargate Spot vCPU"] == pytest.approx((1 + 2 + 8) * H * 0.04048 * 0.30)
    assert prod["log ingestion"] == pytest.approx(8 * 0.50)


def test_traced_profiles_show_x_ray_traces_recorded_and_the_others_a_zero_line() -> None:
    config = cfg.parse(mutated(lambda raw: raw["environments"]["dev"].update(tracing={})), "t.yaml")
    dev, prod = (cost.estimate(cfg.Deployment(config, env), PRICES) for env in ("dev", "prod"))
    (traced,) = [i for i in dev.items if i.name.startswith("X-Ray")]
    assert traced.name == "X-Ray traces recorded (5% sampled)"
    assert traced.unit_price == 0.000005  # $5.00 per million (https://aws.amazon.com/xray/pricing/)
    # 6 tasks (3 services x 2) x 10 requests/s x 730 h x 3600 s x 5 %
    assert traced.quantity == pytest.approx(6 * 10 * H * 3600 * 0.05)
    assert traced.monthly == pytest.approx(39.42)
    (off,) = [i for i in prod.items if i.name.startswith("X-Ray")]
    assert (off.name, off.quantity) == ("X-Ray traces recorded (off)", 0)
    # the collector runs inside the task size: Fargate costs the same as without tracing
    untraced = cost.estimate(cfg.Deployment(cfg.load(), "dev"), PRICES)
    assert items(dev)["Fargate vCPU, on-demand"] == items(untraced)["Fargate vCPU, on-demand"]
    assert not [i for i in untraced.items if i.name.startswith("X-Ray")]  # no line where none traces
