"""Command line: `python generate.py [templates|diagram|lint|...]`.

`common` holds what every command shares (errors, exit codes, options, AWS clients); each command
group has its module. Heavy imports (cfn-lint, boto3) happen inside the commands that need them,
so generating stays fast.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from tap_cfn.cli import common, deploy, generate, ops, registry, stackset
from tap_cfn.cli.common import EXIT_CODES, HELP_WIDTH, Parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="generate.py",
        description=textwrap.fill(
            "Generate, draw, lint and deploy the tap platform (ECS Fargate) as nested "
            "CloudFormation stacks. Without a command, `templates` runs with its defaults.",
            HELP_WIDTH,
        ),
        epilog="examples:\n"
        "  python generate.py                          every profile, JSON and YAML, into templates/\n"
        "  python generate.py templates --env dev      one profile\n"
        "  python generate.py diagram --env dev        templates/dev/topology.svg and README.md\n"
        "  python generate.py COMMAND --help           the options of one command\n\n"
        f"{EXIT_CODES} (drift: 3 when drifted); errors are one line on stderr.\n"
        "Colour only on a terminal; set NO_COLOR=1 to turn it off.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for group in (generate, deploy, registry, ops, stackset):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv or "-v" in argv  # known before parsing, which can fail too

    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help"}):
        argv = ["templates", *argv]  # no command: templates

    def run() -> int:
        args = build_parser().parse_args(argv)
        return int(args.func(args))

    return common.run(run, sys.stderr, verbose)
