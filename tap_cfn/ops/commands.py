"""The `drift` and `cost` commands, registered into the main CLI's argparse.

Importing this module stays cheap (it runs for every command, `templates` included): boto3 and
the builders are imported by the handlers that need them.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, TextIO

from tap_cfn import cli
from tap_cfn import config as cfg

STACK_PREFIX = "tap-"  # the deployer's convention: the root stack of suffix S is tap-S
EXIT_DRIFTED = 3


def register(subparsers: Any) -> None:
    drift = subparsers.add_parser(
        "drift",
        help="detect drift on the stack tap-<suffix> and all its nested stacks",
        description="Start drift detection on the root stack and every nested stack, wait for it, "
        "and print each drifted resource with its property differences.",
        epilog=f"Exit codes: 0 in sync, {EXIT_DRIFTED} drifted, 1 error (or detection incomplete), "
        "2 bad usage.",
    )
    drift.add_argument("--env", required=True, help="environment profile the stack was deployed from")
    drift.add_argument("--suffix", required=True, help="environment suffix; the stack is tap-<suffix>")
    drift.add_argument("--region", help="AWS region (default: the standard boto3 chain)")
    drift.add_argument("--profile", help="AWS profile (default: the standard boto3 chain)")
    drift.add_argument("--endpoint-url", help="send the CloudFormation calls to this endpoint")
    drift.add_argument(
        "--timeout", type=float, default=900.0, metavar="SECONDS", help="give up waiting after (default 900)"
    )
    cli._add_config(drift)
    drift.set_defaults(func=handle_drift)

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


def handle_drift(args: argparse.Namespace, cfn: Any = None, out: TextIO | None = None) -> int:
    from tap_cfn.naming import SUFFIX_PATTERN
    from tap_cfn.ops import drift

    out = out or sys.stdout
    config = cfg.load(args.config)
    if args.env == "all":
        raise cli.UsageError("--env: drift checks one environment's stack; name it")
    (env,) = cli.environments(config, args.env)
    if not re.fullmatch(SUFFIX_PATTERN, args.suffix):
        raise cli.UsageError(f"--suffix {args.suffix!r}: lowercase letters, digits and inner hyphens")
    stack_name = f"{STACK_PREFIX}{args.suffix}"
    try:
        cfn = cfn or _cloudformation(args)
        report = drift.detect(
            cfn,
            stack_name,
            environment=env,
            timeout_seconds=args.timeout,
            progress=lambda line: cli._say(args, line),
        )
    except drift.WrongEnvironment as exc:
        raise cli.UsageError(str(exc)) from None
    except drift.DriftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.EXIT_FAILED
    out.write(drift.render(report))
    return report.exit_code


def _cloudformation(args: argparse.Namespace) -> Any:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError, ProfileNotFound

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        return session.client(
            "cloudformation",
            endpoint_url=args.endpoint_url,
            # Adaptive retries: detection is polled across many stacks, which is what gets throttled.
            config=Config(retries={"mode": "adaptive", "max_attempts": 10}),
        )
    except ProfileNotFound as exc:
        raise cli.UsageError(f"--profile: {exc}") from None
    except NoRegionError:
        raise cli.UsageError("no AWS region: pass --region or set AWS_REGION") from None


__all__ = ["register", "handle_cost", "handle_drift"]
