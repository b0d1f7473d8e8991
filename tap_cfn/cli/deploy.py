"""The deploy, destroy and outputs commands.

Importing this module must stay cheap: boto3 is imported when a handler runs, not before.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from tap_cfn import conventions
from tap_cfn.cli import common
from tap_cfn.cli.common import AWS_EXIT_CODES, UsageError

if TYPE_CHECKING:  # the deployer (and boto3 behind it) loads when a handler runs
    from tap_cfn.deploy.aws import Clients
    from tap_cfn.deploy.deployer import Console, Target

    Operation = Callable[[Target, Console], int]

ROOT_YAML = conventions.root_file("yaml")
PARAM_HELP = (
    "root stack parameter (repeatable); wins over the config's values for the region "
    "(environments.<env>.regions: VpcCidr, CertificateArn)"
)


def parse_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--param {text!r}: expected KEY=VALUE")
    return key, value


def _stack_command(
    sub: argparse._SubParsersAction, name: str, summary: str, details: str, examples: str
) -> common.Parser:
    parser = common.command(sub, name, summary, details, examples, AWS_EXIT_CODES)
    common.add_env(parser, "whose templates the stack is made of: <out>/<env>/", allow_all=False)
    common.add_stack(parser)
    common.add_out(parser, "rendered templates folder")
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    """Add deploy, destroy and outputs to the main CLI's subparsers."""
    p = _stack_command(
        sub,
        "deploy",
        f"package, preview and deploy templates/<env>/{ROOT_YAML} as the stack <project>-<suffix>",
        "Uploads the nested templates to S3 under content-hash keys, creates a change set, shows it, "
        "asks (unless --yes), executes it and follows the events of every nested stack.",
        "  python generate.py deploy --env dev --suffix demo --param FrontendImageTag=v1 ... --plan\n"
        "  python generate.py deploy --env prod --suffix prod --param ... --yes --region eu-west-1",
    )
    p.add_argument(
        "--bucket",
        help="S3 bucket for nested templates "
        f"(default: {conventions.ARTIFACT_BUCKET_PREFIX}-<account>-<region>)",
    )
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help=PARAM_HELP)
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
    _preflight_and_recover(sub)
    _destroy_and_outputs(sub)


def _destroy_and_outputs(sub: argparse._SubParsersAction) -> None:
    p = _stack_command(
        sub,
        "destroy",
        "delete the stack <project>-<suffix> and its nested stacks",
        "Asks first unless --yes; the artifact bucket is kept.",
        "  python generate.py destroy --env dev --suffix demo\n"
        "  python generate.py destroy --env dev --suffix demo --yes",
    )
    p.add_argument("--yes", action="store_true", help="delete without asking")
    p.add_argument(
        "--purge", action="store_true", help="also remove the resources the stack retains (logs, keys, ...)"
    )
    p.set_defaults(func=handle_destroy)

    p = _stack_command(
        sub,
        "outputs",
        "print the outputs of the stack <project>-<suffix>",
        "The root stack's outputs (ALB URL, cluster name, ...), as a table or as JSON.",
        "  python generate.py outputs --env dev --suffix demo\n"
        "  python generate.py outputs --env dev --suffix demo --json",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(func=handle_outputs)


def _preflight_and_recover(sub: argparse._SubParsersAction) -> None:
    p = _stack_command(
        sub,
        "preflight",
        "check the account, quotas, images and stack before a deploy of <project>-<suffix>",
        "One line per check, ok or the exact fix; any problem exits 1. `deploy` runs it first.",
        "  python generate.py preflight --env dev --suffix demo --param FrontendImageTag=v1 ...\n"
        "  python generate.py preflight --env prod --suffix prod --config my-platform.yaml --yes",
    )
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help=PARAM_HELP)
    p.add_argument("--yes", action="store_true", help="create the ECS service-linked role without asking")
    p.set_defaults(func=handle_preflight)

    p = _stack_command(
        sub,
        "recover",
        "explain and continue a rollback of <project>-<suffix> that failed (UPDATE_ROLLBACK_FAILED)",
        "Lists the resources that block the rollback and runs ContinueUpdateRollback, skipping "
        "only those named with --skip, after confirmation.",
        "  python generate.py recover --env prod --suffix prod\n"
        "  python generate.py recover --env prod --suffix prod --skip ServiceStack.Service --yes",
    )
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="resource the rollback may skip (repeatable; nested: Stack.Resource, as listed)",
    )
    p.add_argument("--yes", action="store_true", help="continue the rollback without asking")
    p.set_defaults(func=handle_recover)


def _target(args: argparse.Namespace) -> Target:
    """The stack of the config's project and the named profile; bad input fails before any client."""
    from tap_cfn.deploy.deployer import Target

    config, env = common.one_environment(args)
    return Target(env, args.suffix, args.out, config.project, args.config)


def _handle(args: argparse.Namespace, console: Console | None, operation: Operation) -> int:
    """Run `operation` on the checked target; clients are made only after the input is checked."""
    from tap_cfn.deploy.deployer import Console

    shown = console or Console.system(verbose=args.verbose)
    return common.run(lambda: operation(_target(args), shown), shown.err, args.verbose)


def _with_config(
    args: argparse.Namespace, target: Target, console: Console, run: Operation, lint: bool
) -> int:
    """Run on `target`, its templates generated from --config into a temporary folder when a config
    is given (cfn-lint first when `lint`: any finding stops it), else read from --out."""
    from dataclasses import replace

    from tap_cfn.deploy.configured import LintFailed, templates_for

    try:
        with templates_for(args.config, target.env, target.templates_dir, lint, console) as folder:
            return int(run(replace(target, templates_dir=folder), console))
    except LintFailed as exc:
        raise UsageError(f"{exc}; nothing was deployed") from None


def _parameters(args: argparse.Namespace, clients: Clients) -> dict[str, str]:
    """The --param values over the config's values in the clients' region (environments.<env>.
    regions: VpcCidr, CertificateArn): a region deploys with its own range and certificate."""
    from tap_cfn.contract import regional_parameters

    config, env = common.one_environment(args)
    given = dict(parse_param(p) for p in args.param)
    return {**regional_parameters(config.environments[env], clients.region), **given}


def _preflight(args: argparse.Namespace, target: Target, console: Console) -> int:
    from tap_cfn.deploy.preflight import context, preflight

    clients = common.clients(args)
    given = _parameters(args, clients)
    return preflight(context(clients, target, given, console, args.yes, args.config))


def handle_deploy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import DeployOptions, deploy

    def operation(target: Target, console: Console) -> int:
        code = 0 if args.no_preflight else _preflight(args, target, console)
        if code != 0:
            return code
        clients = common.clients(args)
        options = DeployOptions(
            parameters=_parameters(args, clients),
            bucket=args.bucket,
            plan=args.plan,
            yes=args.yes,
            timeout=args.timeout,
        )
        return deploy(clients, target, options, console).exit_code

    return _handle(args, console, lambda t, c: _with_config(args, t, c, operation, lint=True))


def handle_preflight(args: argparse.Namespace, console: Console | None = None) -> int:
    return _handle(
        args,
        console,
        lambda t, c: _with_config(args, t, c, lambda t2, c2: _preflight(args, t2, c2), lint=False),
    )


def handle_recover(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.recover import recover

    return _handle(
        args, console, lambda target, shown: recover(common.clients(args), target, args.skip, args.yes, shown)
    )


def handle_destroy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.retained import destroy_and_report

    return _handle(
        args,
        console,
        lambda target, shown: destroy_and_report(common.clients(args), target, args.yes, args.purge, shown),
    )


def handle_outputs(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import outputs

    return _handle(
        args, console, lambda target, shown: outputs(common.clients(args), target, args.json, shown)
    )


__all__ = [
    "register",
    "handle_deploy",
    "handle_preflight",
    "handle_recover",
    "handle_destroy",
    "handle_outputs",
]
