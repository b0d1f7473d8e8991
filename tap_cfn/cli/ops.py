"""The `drift` and `cost` commands.

Importing this module stays cheap (it runs for every command, `templates` included): boto3 and
the builders are imported by the handlers that need them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from tap_cfn import config as cfg
from tap_cfn import conventions
from tap_cfn.cli import common
from tap_cfn.cli.common import EXIT_DRIFTED, EXIT_FAILED, EXIT_OK, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    drift = common.command(
        sub,
        "drift",
        "detect drift on the stack <project>-<suffix> and all its nested stacks",
        "Starts drift detection on the root stack and every nested stack, waits for it, "
        "and prints each drifted resource with its property differences.",
        "  python generate.py drift --env dev --suffix demo\n"
        "  python generate.py drift --env prod --suffix prod --region eu-west-1 --timeout 1800",
        f"exit codes: 0 in sync, {EXIT_DRIFTED} drifted, 1 failure (or detection incomplete), "
        "2 bad usage or input",
    )
    common.add_env(drift, "the stack was deployed from", allow_all=False)
    common.add_stack(drift)
    drift.add_argument(
        "--timeout", type=float, default=900.0, metavar="SECONDS", help="give up waiting after (default 900)"
    )
    drift.set_defaults(func=handle_drift)

    cost = common.command(
        sub,
        "cost",
        "print the monthly fixed cost a profile implies (committed us-east-1 price table)",
        "NAT gateways, ALB, public IPv4, Fargate (on-demand and Spot) at the desired counts, logs, "
        "secrets, KMS, alarms, dashboard.",
        "  python generate.py cost --env prod\n  python generate.py cost --config my-platform.yaml --json",
    )
    common.add_env(cost, "to price (all: side by side)", allow_all=True)
    cost.add_argument("--json", action="store_true", help="print JSON instead of tables")
    common.add_config(cost)
    cost.set_defaults(func=handle_cost)


def handle_cost(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from tap_cfn.ops import cost

    out = out or sys.stdout
    config = cfg.load(args.config)
    prices = cost.load_prices()
    estimates = [
        cost.estimate(cfg.Deployment(config, env), prices) for env in common.environments(config, args.env)
    ]
    if args.json:
        text = cost.as_json(estimates, prices) + "\n"
    elif len(estimates) == 1:
        text = cost.render(estimates[0], prices, config.project)
    else:
        text = cost.render_comparison(estimates, prices, config.project)
    out.write(text)
    return EXIT_OK


def handle_drift(args: argparse.Namespace, cfn: Any = None, out: TextIO | None = None) -> int:
    from tap_cfn.ops import drift

    out = out or sys.stdout
    config, env = common.one_environment(args)
    stack_name = conventions.stack_name(config.project, args.suffix)
    try:
        report = drift.detect(
            cfn or common.clients(args).cloudformation,
            stack_name,
            environment=env,
            timeout_seconds=args.timeout,
            progress=lambda line: common.say(args, line),
        )
    except drift.WrongEnvironment as exc:
        raise UsageError(str(exc)) from None
    except drift.DriftError as exc:
        common.print_error(str(exc), sys.stderr)
        return EXIT_FAILED
    out.write(drift.render(report))
    return report.exit_code


__all__ = ["register", "handle_cost", "handle_drift"]
