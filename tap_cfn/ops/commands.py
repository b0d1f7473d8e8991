"""The `cost` command, registered into the main CLI's argparse.

Importing this module stays cheap (it runs for every command, `templates` included): boto3 and
the builders are imported by the handlers that need them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from tap_cfn import cli
from tap_cfn import config as cfg


def register(subparsers: Any) -> None:
    cost = subparsers.add_parser(
        "cost",
        help="print the monthly fixed cost a profile implies (committed us-east-1 price table)",
        description="Monthly fixed cost of an environment: NAT gateways, ALB, public IPv4, Fargate "
        "(on-demand and Spot) at the desired counts, logs, secrets, KMS, alarms, dashboard.",
    )
    cost.add_argument(
        "--env", default="all", help="environment profile, or 'all' (default) to compare them side by side"
    )
    cost.add_argument("--json", action="store_true", help="print JSON instead of tables")
    cli._add_config(cost)
    cost.set_defaults(func=handle_cost)


def handle_cost(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from tap_cfn.ops import cost

    out = out or sys.stdout
    config = cfg.load(args.config)
    prices = cost.load_prices()
    estimates = [
        cost.estimate(cfg.Deployment(config, env), prices) for env in cli.environments(config, args.env)
    ]
    if args.json:
        text = cost.as_json(estimates, prices) + "\n"
    elif len(estimates) == 1:
        text = cost.render(estimates[0], prices, config.project)
    else:
        text = cost.render_comparison(estimates, prices, config.project)
    out.write(text)
    return cli.EXIT_OK


__all__ = ["register", "handle_cost"]
