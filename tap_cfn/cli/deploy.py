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
    from tap_cfn.deploy.deployer import Console, Target

    Operation = Callable[[Target, Console], int]

ROOT_YAML = conventions.root_file("yaml")


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
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="root stack parameter (repeatable)"
    )
    p.add_argument(
        "--plan", action="store_true", help="show the change set, then delete it without executing"
    )
    p.add_argument(
        "--yes", action="store_true", help="execute without asking (and replace a ROLLBACK_COMPLETE stack)"
    )
    p.set_defaults(func=handle_deploy)

    p = _stack_command(
        sub,
        "destroy",
        "delete the stack <project>-<suffix> and its nested stacks",
        "Asks first unless --yes; the artifact bucket is kept.",
        "  python generate.py destroy --env dev --suffix demo\n"
        "  python generate.py destroy --env dev --suffix demo --yes",
    )
    p.add_argument("--yes", action="store_true", help="delete without asking")
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


def handle_deploy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import DeployOptions, deploy

    def operation(target: Target, console: Console) -> int:
        options = DeployOptions(
            parameters=dict(parse_param(p) for p in args.param),
            bucket=args.bucket,
            plan=args.plan,
            yes=args.yes,
        )
        return deploy(common.clients(args), target, options, console).exit_code

    return _handle(args, console, operation)


def handle_destroy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import destroy

    return _handle(
        args, console, lambda target, shown: destroy(common.clients(args), target, args.yes, shown)
    )


def handle_outputs(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import outputs

    return _handle(
        args, console, lambda target, shown: outputs(common.clients(args), target, args.json, shown)
    )


__all__ = ["register", "handle_deploy", "handle_destroy", "handle_outputs"]
