"""The monthly fixed cost a profile implies, from the committed price table (`prices.json`).

"Fixed" means what runs around the clock at the configured counts: NAT gateways, the load
balancer, public IPv4 addresses, Fargate tasks at their desired counts (split between FARGATE and
FARGATE_SPOT the way the capacity strategy places them), log ingestion and storage at an assumed
volume, secrets, the KMS key, alarms and the dashboard. Traffic-driven charges are not included
(see `NOT_INCLUDED`). Pure functions: no AWS calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_cfn.config import Capacity, Deployment

PRICES_FILE = Path(__file__).with_name("prices.json")
HOURS_PER_DAY = 24

NOT_INCLUDED = (
    "data processed by NAT gateways (per GB)",
    "data transfer out to the internet and across AZs",
    "ALB LCUs above the assumed average",
    "ECR image storage and the registry key (the project's registry, shared by every environment)",
    "Container Insights metrics",
    "API requests (Secrets Manager, KMS, CloudWatch)",
    "free tiers",
)


@dataclass(frozen=True)
class Prices:
    as_of: str
    region: str
    currency: str
    hours: float
    source: str
    price: dict[str, float]
    unit: dict[str, str]
    assumption: dict[str, float]
    meaning: dict[str, str]


def load_prices(path: Path = PRICES_FILE) -> Prices:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return Prices(
        as_of=raw["as_of"],
        region=raw["region"],
        currency=raw["currency"],
        hours=float(raw["hours_per_month"]),
        source=raw["source"],
        price={k: float(v["price"]) for k, v in raw["prices"].items()},
        unit={k: v["unit"] for k, v in raw["prices"].items()},
        assumption={k: float(v["value"]) for k, v in raw["assumptions"].items()},
        meaning={k: v["meaning"] for k, v in raw["assumptions"].items()},
    )


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: float
    unit: str
    unit_price: float

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Quota:
    """How many of a regionally limited resource one deployment uses, against the default quota."""

    name: str
    used: int
    default: int


# Default regional quotas (adjustable on request): 5 Elastic IPs, 5 VPCs, 5 internet gateways
# (tied to the VPC quota), 5 NAT gateways per AZ.
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html
# https://docs.aws.amazon.com/general/latest/gr/vpc-service.html
DEFAULT_QUOTAS = {"Elastic IPs": 5, "NAT gateways per AZ": 5, "VPCs": 5, "internet gateways": 5}


def quotas(dep: Deployment) -> list[Quota]:
    """What one deployment of the profile takes from the account's regional quotas."""
    nat = nat_gateways(dep)
    # Each NAT gateway holds one Elastic IP and sits in its own AZ (at most 1 per AZ here).
    used = {"Elastic IPs": nat, "NAT gateways per AZ": min(nat, 1), "VPCs": 1, "internet gateways": 1}
    return [Quota(name, used[name], limit) for name, limit in DEFAULT_QUOTAS.items()]


def nat_gateways(dep: Deployment) -> int:
    env = dep.env
    if env.via_endpoints:
        return 0
    return 1 if env.nat == "single" else env.az_count


@dataclass(frozen=True)
class Estimate:
    env: str
    items: list[LineItem]
    notes: list[str]
    quotas: list[Quota] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(item.monthly for item in self.items)


def task_split(desired: int, capacity: Capacity) -> tuple[float, float]:
    """(on-demand, spot) tasks of one service: FARGATE takes the base, the tasks above it split by
    weight. Fractions are the long-run share, not a placement."""
    base = min(desired, capacity.fargate_base)
    rest = desired - base
    weights = capacity.fargate_weight + capacity.spot_weight
    spot = rest * capacity.spot_weight / weights
    return desired - spot, spot


def alarm_metrics(dep: Deployment) -> int:
    """Metrics alarmed on in the built templates (a metric-math alarm is billed per metric)."""
    from tap_cfn import generator

    count = 0
    for template in generator.build_environment(dep).values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::CloudWatch::Alarm":
                continue
            queries = resource["Properties"].get("Metrics")
            count += 1 if queries is None else sum(1 for q in queries if "MetricStat" in q)
    return count


@dataclass
class _Fargate:
    """Task resources of one CPU architecture at every service's desired count."""

    on_demand_vcpu: float = 0.0
    spot_vcpu: float = 0.0
    on_demand_gb: float = 0.0
    spot_gb: float = 0.0


def _fargate(dep: Deployment) -> tuple[dict[str, _Fargate], int]:
    """Per architecture (x86_64, arm64) the vCPU and GB split between on-demand and Spot; and the tasks."""
    by_arch = {"x86_64": _Fargate(), "arm64": _Fargate()}
    tasks = 0
    for svc in dep.services:
        size = svc  # as this profile runs it (overrides applied)
        on_demand, spot = task_split(size.desired, dep.env.capacity)
        use = by_arch[svc.architecture]
        use.on_demand_vcpu += on_demand * size.cpu / 1024
        use.spot_vcpu += spot * size.cpu / 1024
        use.on_demand_gb += on_demand * size.memory / 1024
        use.spot_gb += spot * size.memory / 1024
        tasks += size.desired
    return by_arch, tasks


def _fargate_items(dep: Deployment, prices: Prices) -> list[LineItem]:
    """Fargate vCPU and memory, on-demand and Spot; Graviton (arm64) lines only when a service runs on it."""
    p, hours = prices.price, prices.hours
    spot_factor = 1 - p["fargate_spot_discount"]
    by_arch, _ = _fargate(dep)
    items = []
    for arch, label, vcpu_price, gb_price in (
        ("x86_64", "Fargate", p["fargate_vcpu_hour"], p["fargate_gb_hour"]),
        ("arm64", "Fargate arm64", p["fargate_arm_vcpu_hour"], p["fargate_arm_gb_hour"]),
    ):
        if arch == "arm64" and not any(s.architecture == arch for s in dep.services):
            continue
        use = by_arch[arch]
        items += [
            LineItem(f"{label} vCPU, on-demand", use.on_demand_vcpu * hours, "vCPU-hours", vcpu_price),
            LineItem(f"{label} memory, on-demand", use.on_demand_gb * hours, "GB-hours", gb_price),
            LineItem(f"{label} Spot vCPU", use.spot_vcpu * hours, "vCPU-hours", vcpu_price * spot_factor),
            LineItem(f"{label} Spot memory", use.spot_gb * hours, "GB-hours", gb_price * spot_factor),
        ]
    return items


def estimate(dep: Deployment, prices: Prices) -> Estimate:
    env, p, a, hours = dep.env, prices.price, prices.assumption, prices.hours
    nat = nat_gateways(dep)
    endpoints = interface_endpoints(dep)
    # An internet-facing ALB has a node, and a public IPv4 address, in each of its AZs (at least).
    public_ips = nat + env.az_count
    _, tasks = _fargate(dep)
    logs_gb = tasks * a["log_gb_per_task_month"]
    days_per_month = hours / HOURS_PER_DAY
    items = [
        LineItem(f"NAT gateways ({nat})", nat * hours, "NAT gateway-hours", p["nat_gateway_hour"]),
        LineItem(
            f"VPC interface endpoints ({endpoints} endpoint-AZs)",
            endpoints * hours,
            "endpoint-hours",
            p["vpc_endpoint_hour"],
        ),
        LineItem(
            f"public IPv4 addresses ({nat} NAT + {env.az_count} ALB)",
            public_ips * hours,
            "address-hours",
            p["public_ipv4_hour"],
        ),
        LineItem("application load balancer", hours, "ALB-hours", p["alb_hour"]),
        LineItem(
            f"ALB capacity ({a['alb_lcu']:g} LCU assumed)",
            a["alb_lcu"] * hours,
            "LCU-hours",
            p["alb_lcu_hour"],
        ),
        *_fargate_items(dep, prices),
        LineItem("log ingestion", logs_gb, "GB", p["logs_ingestion_gb"]),
        # At steady state a log group holds `retention` days of what arrives each month.
        LineItem(
            f"log storage ({env.log_retention_days} days retention)",
            logs_gb * env.log_retention_days / days_per_month,
            "GB-months",
            p["logs_storage_gb_month"],
        ),
        LineItem("Secrets Manager secrets", len(dep.config.secrets), "secret-months", p["secret_month"]),
        LineItem("KMS customer-managed key", 1, "key-months", p["kms_key_month"]),
        LineItem("CloudWatch alarms", alarm_metrics(dep), "alarm metric-months", p["alarm_metric_month"]),
        LineItem("CloudWatch dashboard", 1, "dashboard-months", p["dashboard_month"]),
        *_tracing_items(dep, prices, tasks),
    ]
    return Estimate(dep.env_name, items, _notes(dep, prices, tasks), quotas(dep))


def _notes(dep: Deployment, prices: Prices, tasks: int) -> list[str]:
    """What the estimate assumes, in the words it prints."""
    env, p, a = dep.env, prices.price, prices.assumption
    notes = [
        f"{tasks} tasks around the clock at the desired counts; FARGATE takes {env.capacity.fargate_base} "
        f"per service, the rest splits FARGATE:FARGATE_SPOT {env.capacity.fargate_weight}:"
        f"{env.capacity.spot_weight}; Spot at {p['fargate_spot_discount']:.0%} off on-demand",
        f"{a['log_gb_per_task_month']:g} GB of logs per task and month (assumption), stored uncompressed",
        f"ALB at {a['alb_lcu']:g} LCU on average, every hour (assumption; {prices.meaning['alb_lcu']})",
    ]
    if env.scheduled_scaling is not None:
        notes.append("the scheduled scaling window is not reflected: tasks are counted around the clock")
    if env.tracing is not None:
        notes.append(
            f"traces: {a['requests_per_task_second']:g} requests per task and second (assumption), "
            f"{env.tracing.sample_ratio:.0%} sampled, one trace each (calls between services share "
            "their caller's trace, so this counts high); the collector runs inside the task's size"
        )
    return notes


def _tracing_items(dep: Deployment, prices: Prices, tasks: int) -> list[LineItem]:
    """X-Ray traces recorded, where any profile traces (zero in a profile that does not, so the
    profiles compare line by line)."""
    if all(env.tracing is None for env in dep.config.environments.values()):
        return []
    tracing = dep.env.tracing
    ratio = tracing.sample_ratio if tracing is not None else 0.0
    seconds = prices.hours * 3600
    traces = tasks * prices.assumption["requests_per_task_second"] * seconds * ratio
    sampled = f"{ratio:.0%} sampled" if tracing is not None else "off"
    label = f"X-Ray traces recorded ({sampled})"
    return [LineItem(label, traces, "traces", prices.price["xray_trace_recorded"])]


def interface_endpoints(dep: Deployment) -> int:
    """Interface endpoint-AZs billed per hour: one per endpoint and AZ, without NAT only."""
    from tap_cfn.stacks.egress import INTERFACE_ENDPOINTS

    return len(INTERFACE_ENDPOINTS) * dep.env.az_count if dep.env.via_endpoints else 0


def render_quotas(estimates: list[Estimate]) -> str:
    """Regional quota use per profile: one deployment each, and all of them in one account and region."""
    rows = [["quota (default per region)", *(e.env for e in estimates), "all together"]]
    for index, quota in enumerate(estimates[0].quotas):
        used = [e.quotas[index].used for e in estimates]
        rows.append([f"{quota.name} ({quota.default})", *map(str, used), f"{sum(used)} of {quota.default}"])
    return _table(rows, set(range(1, len(rows[0]))))


def money(value: float, currency: str = "USD") -> str:
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{value:,.2f}"


def unit_money(value: float, currency: str = "USD") -> str:
    """Unit prices keep their digits ($0.04048), with at least cents ($0.40, $3.00)."""
    text = f"{value:.6f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{whole}.{fraction.ljust(2, '0')}"


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _header(prices: Prices) -> str:
    return (
        f"{prices.region} on-demand prices as of {prices.as_of}, {prices.hours:g} hours a month "
        f"(tap_cfn/ops/prices.json)"
    )


def _footer(notes: list[str]) -> str:
    lines = ["assumptions:", *(f"  - {n}" for n in notes), "not included: " + ", ".join(NOT_INCLUDED)]
    return "\n".join(lines)


def render(estimate: Estimate, prices: Prices, project: str) -> str:
    rows = [["item", "quantity", "unit price", "per month"]]
    for item in estimate.items:
        rows.append(
            [
                item.name,
                f"{item.quantity:,.2f} {item.unit}",
                unit_money(item.unit_price, prices.currency),
                money(item.monthly, prices.currency),
            ]
        )
    rows.append(["total", "", "", money(estimate.total, prices.currency)])
    title = f"{project} {estimate.env}: monthly fixed cost, {_header(prices)}"
    quota = render_quotas([estimate])
    return f"{title}\n\n{_table(rows, {1, 2, 3})}\n\n{quota}\n\n{_footer(estimate.notes)}\n"


def render_comparison(estimates: list[Estimate], prices: Prices, project: str) -> str:
    """Line items as rows, one column per environment: what the profiles change at a glance."""
    rows = [["item", *(e.env for e in estimates)]]
    for index, item in enumerate(estimates[0].items):
        # Names may carry per-profile counts ("NAT gateways (3)"); label the row by its stem.
        label = item.name.split(" (")[0]
        rows.append([label, *(money(e.items[index].monthly, prices.currency) for e in estimates)])
    rows.append(["total", *(money(e.total, prices.currency) for e in estimates)])
    title = f"{project}: monthly fixed cost per environment, {_header(prices)}"
    notes = list(dict.fromkeys(n for e in estimates for n in e.notes))
    table = _table(rows, set(range(1, len(rows[0]))))
    return f"{title}\n\n{table}\n\n{render_quotas(estimates)}\n\n{_footer(notes)}\n"


def as_json(estimates: list[Estimate], prices: Prices) -> str:
    return json.dumps(
        {
            "as_of": prices.as_of,
            "region": prices.region,
            "currency": prices.currency,
            "environments": {
                e.env: {
                    "items": [
                        {
                            "item": i.name,
                            "quantity": round(i.quantity, 6),
                            "unit": i.unit,
                            "unit_price": i.unit_price,
                            "monthly": round(i.monthly, 2),
                        }
                        for i in e.items
                    ],
                    "total": round(e.total, 2),
                    "quotas": {q.name: {"used": q.used, "default": q.default} for q in e.quotas},
                }
                for e in estimates
            },
        },
        indent=2,
        sort_keys=True,
    )
