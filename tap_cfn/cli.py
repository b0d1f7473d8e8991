"""Command line: `python generate.py [templates|lint|...]`.

Exit codes: 0 success, 1 failure, 2 bad usage or input (one line naming what is wrong).
Heavy imports (cfn-lint, boto3) happen inside the commands that need them, so generating stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tap_cfn import config as cfg
from tap_cfn.render import FORMATS

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_OUT = Path("templates")


class UsageError(Exception):
    """Bad usage or input; the message is the one line the user sees."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="platform config (YAML); default: the packaged tap_cfn/tap.yaml",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="generate.py",
        description="Generate, lint and deploy the tap platform as nested CloudFormation stacks.",
        epilog="Exit codes: 0 success, 1 failure, 2 bad usage or input. "
        "Without a command, `templates` runs with its defaults.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    templates = sub.add_parser(
        "templates", help="write templates/<env>/root.{json,yaml} and one file per child stack"
    )
    templates.add_argument("--env", default="all", help="environment profile to generate, or 'all' (default)")
    templates.add_argument(
        "--format", choices=[*FORMATS, "both"], default="both", help="output format (default both)"
    )
    templates.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="output folder (default templates/)"
    )
    _add_config(templates)
    templates.set_defaults(func=cmd_templates)

    lint = sub.add_parser(
        "lint", help="run cfn-lint (informational rules included) on every generated template"
    )
    lint.add_argument(
        "dir", nargs="?", type=Path, default=DEFAULT_OUT, help="folder to lint (default templates/)"
    )
    lint.set_defaults(func=cmd_lint)

    schema = sub.add_parser("schema", help="print the JSON Schema of the config file")
    schema.set_defaults(func=cmd_schema)

    _register_optional(sub)
    for command in sub.choices.values():
        _add_verbosity(command)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    """--quiet and --verbose on every command, including those registered by other packages."""
    if any("--quiet" in action.option_strings for action in parser._actions):
        return
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print only errors and findings")
    group.add_argument(
        "-v", "--verbose", action="store_true", help="print more detail, tracebacks on failure"
    )


OPTIONAL_COMMANDS = ("tap_cfn.deploy.commands", "tap_cfn.ops.commands")


def _register_optional(sub: argparse._SubParsersAction) -> None:
    """Commands that live in other packages register themselves here (when the package is there)."""
    import importlib

    for module in OPTIONAL_COMMANDS:
        try:
            commands = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise  # the package is there but broken: say so
            continue
        commands.register(sub)


def environments(config: cfg.Config, env: str) -> list[str]:
    if env == "all":
        return list(config.environments)
    if env not in config.environments:
        raise UsageError(f"--env: unknown environment {env!r}; known: {', '.join(config.environments)}, all")
    return [env]


def cmd_templates(args: argparse.Namespace) -> int:
    from tap_cfn import generator

    config = cfg.load(args.config)
    formats = list(FORMATS) if args.format == "both" else [args.format]
    files = {
        env: generator.render_environment(cfg.Deployment(config, env), formats)
        for env in environments(config, args.env)
    }
    generator.write(args.out, files)
    count = sum(len(f) for f in files.values())
    _say(args, f"wrote {count} templates for {', '.join(files)} into {args.out}/")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    from tap_cfn.lint import lint, template_files

    if not args.dir.is_dir():
        raise UsageError(f"lint: {args.dir} is not a folder")
    paths = template_files(args.dir)
    if not paths:
        raise UsageError(f"lint: no templates in {args.dir}; run `python generate.py templates` first")
    findings = lint(paths)
    for line in findings:
        print(line)
    _say(args, f"cfn-lint: {len(paths)} templates, {len(findings)} findings")
    return EXIT_FAILED if findings else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    print(json.dumps(cfg.json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def _say(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if not argv or argv[0].startswith("-") and argv[0] not in {"-h", "--help"}:
            argv = ["templates", *argv]
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["templates"])
        return int(args.func(args))
    except (UsageError, cfg.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the last line of defence prints one line, not a traceback
        if "--verbose" in argv or "-v" in argv:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", file=sys.stderr)
        return EXIT_FAILED
