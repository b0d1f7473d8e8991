"""Temporary CLI for the deploy branch; replaced by the lead's tap_cfn/cli.py on merge."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tap_cfn.deploy import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="generate.py")
    subparsers = parser.add_subparsers(dest="command", required=True)
    commands.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
