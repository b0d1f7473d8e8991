"""The deploy, destroy and outputs subcommands, registered into the main CLI's argparse.

Importing this module must stay cheap: boto3 is imported when a handler runs, not before.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the deployer (and boto3 behind it) loads when a handler runs
    from tap_cfn.deploy.deployer import Console, Target


def parse_param(text: str) -> tuple[str, str]:
    from tap_cfn.deploy.deployer import UsageError

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--param {text!r}: expected KEY=VALUE")
    return key, value


def _add_targeting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", required=True, help="environment whose templates to deploy: templates/<env>/"
    )
    parser.add_argument("--suffix", required=True, help="environment suffix; the stack is tap-<suffix>")
    parser.add_argument("--region", help="AWS region (default: the standard boto3 chain)")
    parser.add_argument("--profile", help="AWS profile (default: the standard boto3 chain)")
    parser.add_argument("--endpoint-url", help="send every AWS call to this endpoint (a local AWS)")
    parser.add_argument(
        "--templates",
        type=Path,
        default=Path("templates"),
        help="rendered templates directory (default: templates)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="platform config: deploy and preflight generate (and deploy lints) its templates in a "
        "temporary folder instead of reading --templates",
    )


def register(subparsers: Any) -> None:
    """Add deploy, destroy and outputs to the main CLI's subparsers."""
    p = subparsers.add_parser("deploy", help="package, preview and deploy templates/<env>/root.yaml")
    _add_targeting(p)
    p.add_argument(
        "--bucket", help="S3 bucket for nested templates (default: tap-cfn-artifacts-<account>-<region>)"
    )
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="root stack parameter (repeatable)"
    )
    p.add_argument(
        "--plan", action="store_true", help="show the change set, then delete it without executing"
    )
    p.add_argument(
        "--yes", action="store_true", help="execute without asking (and replace a ROLLBACK_COMPLETE stack)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop watching after SECONDS and say what is still in progress (CloudFormation carries on)",
    )
    p.add_argument(
        "--no-preflight",
        action="store_true",
        help="skip the preflight checks (hand-written templates that no config generates)",
    )
    p.set_defaults(func=handle_deploy)

    p = subparsers.add_parser("preflight", help="check the account, quotas, images and stack before a deploy")
    _add_targeting(p)
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="root stack parameter (repeatable)"
    )
    p.add_argument("--yes", action="store_true", help="create the ECS service-linked role without asking")
    p.set_defaults(func=handle_preflight)

    p = subparsers.add_parser("recover", help="explain and continue a rollback of tap-<suffix> that failed")
    _add_targeting(p)
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="resource the rollback may skip (repeatable; nested: Stack.Resource, as listed)",
    )
    p.add_argument("--yes", action="store_true", help="continue the rollback without asking")
    p.set_defaults(func=handle_recover)

    p = subparsers.add_parser("destroy", help="delete the stack tap-<suffix> and its nested stacks")
    _add_targeting(p)
    p.add_argument("--yes", action="store_true", help="delete without asking")
    p.add_argument(
        "--purge", action="store_true", help="also remove the resources the stack retains (logs, keys, ...)"
    )
    p.set_defaults(func=handle_destroy)

    p = subparsers.add_parser("outputs", help="print the outputs of the stack tap-<suffix>")
    _add_targeting(p)
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(func=handle_outputs)


def _target(args: argparse.Namespace) -> Target:
    from tap_cfn.deploy.deployer import Target

    return Target(env=args.env, suffix=args.suffix, templates_dir=args.templates)


def _clients(args: argparse.Namespace) -> Any:
    from tap_cfn.deploy.aws import make_clients, make_session

    return make_clients(make_session(args.profile, args.region), args.endpoint_url)


def handle_deploy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console, DeployOptions, deploy, run_safely

    console = console or Console.system(verbose=getattr(args, "verbose", False))

    def run() -> int:
        code = 0 if args.no_preflight else _preflight(args, console)
        if code != 0:
            return code
        options = DeployOptions(
            parameters=dict(parse_param(p) for p in args.param),
            bucket=args.bucket,
            plan=args.plan,
            yes=args.yes,
            timeout=args.timeout,
        )
        return deploy(_clients(args), _target(args), options, console).exit_code

    return run_safely(lambda: _with_config(args, console, run, lint=True), console)


def _with_config(args: argparse.Namespace, console: Console, run: Any, lint: bool) -> int:
    """Run with args.templates pointing at templates generated from --config, when it is given."""
    from tap_cfn.deploy.configured import LintFailed, templates_for

    try:
        with templates_for(args.config, args.env, args.templates, lint, console) as templates:
            args.templates = templates
            return int(run())
    except LintFailed as exc:
        console.warn(f"error: {exc}; nothing was deployed")
        return 1


def _preflight(args: argparse.Namespace, console: Console) -> int:
    from tap_cfn.deploy.preflight import context, preflight

    given = dict(parse_param(p) for p in args.param)
    return preflight(context(_clients(args), _target(args), given, console, args.yes, args.config))


def handle_preflight(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console, run_safely

    console = console or Console.system(verbose=getattr(args, "verbose", False))
    return run_safely(
        lambda: _with_config(args, console, lambda: _preflight(args, console), lint=False), console
    )


def handle_recover(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console, run_safely
    from tap_cfn.deploy.recover import recover

    console = console or Console.system(verbose=getattr(args, "verbose", False))
    return run_safely(lambda: recover(_clients(args), _target(args), args.skip, args.yes, console), console)


def handle_destroy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console, run_safely
    from tap_cfn.deploy.retained import destroy_and_report

    console = console or Console.system(verbose=getattr(args, "verbose", False))
    return run_safely(
        lambda: destroy_and_report(_clients(args), _target(args), args.yes, args.purge, console), console
    )


def handle_outputs(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console, outputs, run_safely

    console = console or Console.system(verbose=getattr(args, "verbose", False))
    return run_safely(lambda: outputs(_clients(args), _target(args), args.json, console), console)


__all__ = [
    "register",
    "handle_deploy",
    "handle_preflight",
    "handle_recover",
    "handle_destroy",
    "handle_outputs",
]
