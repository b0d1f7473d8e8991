"""What every command shares: errors, exit codes, the common options, progress output, AWS clients.

Cheap to import (the deployer imports it for `UsageError`): boto3 loads only when a command asks
for clients.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tap_cfn import conventions

if TYPE_CHECKING:
    from tap_cfn import config as cfg
    from tap_cfn.deploy.aws import Clients

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DRIFTED = 0, 1, 2, 3
EXIT_CODES = "exit codes: 0 success, 1 failure (lint findings, a tool failed), 2 bad usage or input"
AWS_EXIT_CODES = "exit codes: 0 success, 1 failure (AWS said no, the stack failed), 2 bad usage or input"
HELP_WIDTH = 88
UNEXPECTED = " (run with --verbose for the traceback)"
DEFAULT_OUT = Path("templates")


class UsageError(Exception):
    """Bad usage or input (exit 2); the message is the one line the user sees."""


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line and exit 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def command(
    sub: argparse._SubParsersAction,
    name: str,
    summary: str,
    details: str,
    examples: str,
    exit_codes: str = EXIT_CODES,
) -> Parser:
    """A subcommand whose --help shows what it does, examples to copy and its exit codes."""
    parser: Parser = sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(f"{summary[:1].upper()}{summary[1:]}. {details}", HELP_WIDTH),
        epilog=f"examples:\n{examples}\n\n{exit_codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_verbosity(parser)
    return parser


# --- The common options, declared once -------------------------------------------------------------


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="platform config (YAML); default: the packaged tap_cfn/tap.yaml",
    )


def add_env(parser: argparse.ArgumentParser, what: str, allow_all: bool) -> None:
    """--env: one profile of the config; `allow_all` makes 'all' the default."""
    if allow_all:
        parser.add_argument("--env", default="all", help=f"environment profile {what}, or 'all' (default)")
    else:
        parser.add_argument("--env", required=True, help=f"environment profile {what}")


def add_out(parser: argparse.ArgumentParser, help: str) -> None:
    """--out DIR: the templates folder, spelled the same by every command that reads or writes it."""
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"{help} (default templates/)"
    )


def _suffix(text: str) -> str:
    if not conventions.is_suffix(text):
        raise argparse.ArgumentTypeError(f"{text!r}: use {conventions.SUFFIX_RULE}")
    return text


def add_stack(parser: argparse.ArgumentParser) -> None:
    """--suffix and the AWS session options of a command that talks to the stack of an environment."""
    parser.add_argument(
        "--suffix", required=True, type=_suffix, help="environment suffix; the stack is <project>-<suffix>"
    )
    add_session(parser)


def add_session(parser: argparse.ArgumentParser) -> None:
    """--region, --profile, --endpoint-url and --config: a command that talks to AWS for a project."""
    parser.add_argument("--region", help="AWS region (default: the standard boto3 chain)")
    parser.add_argument("--profile", help="AWS profile (default: the standard boto3 chain)")
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to this endpoint, e.g. a local AWS (default: AWS_ENDPOINT_URL if set)",
    )
    add_config(parser)


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print only errors and findings")
    group.add_argument(
        "-v", "--verbose", action="store_true", help="print more detail, tracebacks on failure"
    )


# --- Environments -----------------------------------------------------------------------------------


def environments(config: cfg.Config, env: str, allow_all: bool = True) -> list[str]:
    """The profiles `--env` names ('all' for every one); an unknown name is a UsageError."""
    if env == "all" and allow_all:
        return list(config.environments)
    if env not in config.environments:
        known = [*config.environments, "all"] if allow_all else list(config.environments)
        raise UsageError(f"--env: unknown environment {env!r}; known: {', '.join(known)}")
    return [env]


def one_environment(args: argparse.Namespace) -> tuple[cfg.Config, str]:
    """The config and the one profile a stack command works on, checked before any AWS call."""
    from tap_cfn import config as cfg

    config = cfg.load(args.config)
    if args.env == "all":
        raise UsageError(f"--env: {args.command} works on one environment's stack; name it")
    (env,) = environments(config, args.env, allow_all=False)
    return config, env


def clients(args: argparse.Namespace) -> Clients:
    """The AWS clients of a command, from --profile, --region and --endpoint-url."""
    from tap_cfn.deploy import aws

    return aws.connect(args.profile, args.region, args.endpoint_url)


# --- Output and errors ------------------------------------------------------------------------------


def say(args: argparse.Namespace, message: str, verbose_only: bool = False) -> None:
    """Progress on stderr: silenced by --quiet; `verbose_only` lines need --verbose."""
    if getattr(args, "quiet", False) or (verbose_only and not getattr(args, "verbose", False)):
        return
    print(message, file=sys.stderr)


def print_error(message: str, err: TextIO) -> None:
    """The one way an error reaches the user: one line on stderr, `error:` first."""
    from tap_cfn.term import RED, colour

    print(f"{colour('error:', RED, err)} {message}", file=err, flush=True)


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line for an exception that ends a command."""
    from tap_cfn.config import ConfigError

    if isinstance(exc, UsageError | ConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_FAILED, "interrupted"
    deployer = sys.modules.get("tap_cfn.deploy.deployer")  # its errors come with their next step
    if deployer is not None:
        line, code = deployer.explain(exc)
        if line is not None:
            return code, line
    botocore = sys.modules.get("botocore.exceptions")  # not loaded: the error cannot be one of its
    if botocore is not None:
        from tap_cfn.deploy.aws import error_code, error_message
        from tap_cfn.deploy.events import EXPIRED

        if isinstance(exc, botocore.NoRegionError | botocore.ProfileNotFound):
            return EXIT_USAGE, f"{exc} (pass --region / --profile or configure the AWS CLI)"
        if isinstance(exc, botocore.NoCredentialsError):
            return EXIT_FAILED, "no AWS credentials found (set AWS_PROFILE or pass --profile)"
        if isinstance(exc, botocore.ClientError) and error_code(exc) in EXPIRED:
            return (
                EXIT_FAILED,
                f"AWS credentials expired ({error_code(exc)}): refresh them (aws sso login) and rerun",
            )
        if isinstance(exc, botocore.ClientError):
            return EXIT_FAILED, f"{exc.operation_name}: {error_code(exc)}: {error_message(exc)}"
        if isinstance(exc, botocore.BotoCoreError):
            return EXIT_FAILED, str(exc)
    return EXIT_FAILED, f"{type(exc).__name__}: {exc}{UNEXPECTED}"


def run(operation: Callable[[], int], err: TextIO, verbose: bool = False) -> int:
    """Run a command; whatever ends it becomes an exit code and one line on `err` (with --verbose,
    a failure other than bad input shows its traceback first)."""
    try:
        return int(operation())
    except (Exception, KeyboardInterrupt) as exc:
        code, message = classify(exc)
        if verbose and code != EXIT_USAGE and not isinstance(exc, KeyboardInterrupt):
            traceback.print_exception(exc, file=err)
            message = message.removesuffix(UNEXPECTED)
        print_error(message, err)
        return code
