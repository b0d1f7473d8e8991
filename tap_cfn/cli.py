"""Command line: `python generate.py [templates|lint|...]`.

Exit codes: 0 success, 1 failure, 2 bad usage or input (one line naming what is wrong).
Heavy imports (cfn-lint, boto3) happen inside the commands that need them, so generating stays fast.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from tap_cfn import config as cfg
from tap_cfn.render import FORMATS

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_OUT = Path("templates")
DEFAULT_README = Path("README.md")


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


HELP_WIDTH = 88
EXIT_CODES = "exit codes: 0 success, 1 failure (lint findings, a tool failed), 2 bad usage or input"


def _command(
    sub: argparse._SubParsersAction, name: str, summary: str, details: str, examples: str
) -> _Parser:
    """A subcommand whose --help shows what it does, examples and the exit codes."""
    parser: _Parser = sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(f"{summary[:1].upper()}{summary[1:]}. {details}", HELP_WIDTH),
        epilog=f"examples:\n{examples}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    templates = _command(
        sub,
        "templates",
        "write templates/<env>/root.{json,yaml} and one file per child stack",
        "Reads the platform config, builds every stack of each profile and writes them atomically: "
        "a failed run leaves the output folder as it was.",
        "  python generate.py templates --env prod --format yaml\n"
        "  python generate.py templates --config my-platform.yaml --out /tmp/t",
    )
    templates.add_argument("--env", default="all", help="environment profile to generate, or 'all' (default)")
    templates.add_argument(
        "--format", choices=[*FORMATS, "both"], default="both", help="output format (default both)"
    )
    templates.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="output folder (default templates/)"
    )
    templates.add_argument(
        "--flat",
        action="store_true",
        help="also write <env>/flat.{json,yaml}: the environment as one template, no nested stacks",
    )
    _add_config(templates)
    templates.set_defaults(func=cmd_templates)

    diagram = _command(
        sub,
        "diagram",
        "draw templates/<env>/topology.svg and a Mermaid README.md from the generated templates",
        "Reads root.json and its child templates (run `templates` first), follows the root's "
        "wiring and draws the stacks, the resources that matter, the request paths and the "
        "security-group rules. The SVG needs Graphviz `dot` (apt-get install graphviz).",
        "  python generate.py diagram --env dev\n  python generate.py diagram --dir /tmp/t",
    )
    diagram.add_argument("--env", default="all", help="environment profile to draw, or 'all' (default)")
    diagram.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="folder holding <env>/root.json; the drawings are written beside it (default templates/)",
    )
    diagram.set_defaults(func=cmd_diagram)

    lint = _command(
        sub,
        "lint",
        "run cfn-lint (informational rules included) on every generated template",
        "Regions us-east-1 and eu-west-1, one process per core. Findings print as "
        "file:line:column: RULE message; any finding exits 1.",
        "  python generate.py lint\n  python generate.py lint templates/dev",
    )
    lint.add_argument(
        "dir", nargs="?", type=Path, default=DEFAULT_OUT, help="folder to lint (default templates/)"
    )
    lint.set_defaults(func=cmd_lint)

    docs = _command(
        sub,
        "docs",
        "rewrite the config reference in README.md from the config schema",
        "Replaces the text between the config-reference markers; --check only reports whether "
        "it is current (exit 1 when stale), for CI and pre-commit.",
        "  python generate.py docs\n  python generate.py docs --check",
    )
    docs.add_argument(
        "--readme",
        type=Path,
        default=DEFAULT_README,
        metavar="FILE",
        help="file to update (default README.md)",
    )
    docs.add_argument("--check", action="store_true", help="write nothing; exit 1 when the section is stale")
    docs.set_defaults(func=cmd_docs)

    schema = _command(
        sub,
        "schema",
        "print the JSON Schema of the config file",
        "For editors (yaml-language-server) and other tools; the README's config reference is "
        "generated from the same schema.",
        "  python generate.py schema > tap.schema.json",
    )
    schema.set_defaults(func=cmd_schema)

    _register_commands(sub)
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


def _register_commands(sub: argparse._SubParsersAction) -> None:
    """The deployer's and the operations' commands. Their modules only declare arguments: boto3
    is imported by the handlers, so `templates` stays fast."""
    from tap_cfn.deploy import commands as deploy_commands
    from tap_cfn.ops import commands as ops_commands
    from tap_cfn.stackset import commands as stackset_commands

    deploy_commands.register(sub)
    ops_commands.register(sub)
    stackset_commands.register(sub)


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
    if args.flat:
        _add_flat(config, files, formats)
    generator.write(args.out, files)
    count = sum(len(f) for f in files.values())
    _say(args, f"wrote {count} templates for {', '.join(files)} into {args.out}/")
    return EXIT_OK


def _add_flat(config: cfg.Config, files: dict[str, dict[str, str]], formats: list[str]) -> None:
    from tap_cfn import flat
    from tap_cfn.render import render

    for env, env_files in files.items():
        try:
            template = flat.build(cfg.Deployment(config, env))
        except flat.FlatError as exc:
            raise UsageError(f"templates --flat: {exc}") from None
        env_files.update((f"{flat.STEM}.{fmt}", render(template, fmt)) for fmt in formats)


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


def cmd_diagram(args: argparse.Namespace) -> int:
    import time

    from tap_cfn import diagram

    if not args.dir.is_dir():
        raise UsageError(f"diagram: {args.dir} is not a folder; run `python generate.py templates` first")
    known = sorted(p.name for p in args.dir.iterdir() if (p / "root.json").is_file())
    if not known:
        raise UsageError(
            f"diagram: no <env>/root.json in {args.dir}; run `python generate.py templates` first"
        )
    if args.env != "all" and args.env not in known:
        raise UsageError(f"diagram: no {args.dir}/{args.env}/root.json; known: {', '.join(known)}, all")
    envs = known if args.env == "all" else [args.env]
    start = time.perf_counter()
    try:  # everything is drawn before anything is written
        drawn = {env: diagram.render(args.dir / env) for env in envs}
    except diagram.model.TemplateError as exc:
        raise UsageError(f"diagram: {exc}") from None
    except diagram.dot.DotMissing as exc:
        print(f"{_error()} diagram: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for env, (graph, files) in drawn.items():
        diagram.write(args.dir / env, files)
        _say(args, f"{env}: {len(graph.nodes)} nodes, {len(graph.edges)} edges", verbose_only=True)
    _say(args, f"drew {', '.join(envs)} into {args.dir}/<env>/ in {time.perf_counter() - start:.2f} s")
    return EXIT_OK


def cmd_docs(args: argparse.Namespace) -> int:
    from tap_cfn import docs

    try:
        current = args.readme.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"docs: cannot read {args.readme} ({exc.strerror})") from None
    try:
        updated = docs.update(current)
    except docs.MarkerError as exc:
        raise UsageError(f"docs: {args.readme}: {exc}") from None
    if updated == current:
        _say(args, f"{args.readme}: config reference is current")
        return EXIT_OK
    if args.check:
        print(f"{args.readme}: config reference is stale; run `python generate.py docs`", file=sys.stderr)
        return EXIT_FAILED
    args.readme.write_text(updated, encoding="utf-8")
    _say(args, f"{args.readme}: config reference rewritten")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(cfg.json_schema_text())
    return EXIT_OK


def _say(args: argparse.Namespace, message: str, verbose_only: bool = False) -> None:
    """Progress on stderr: silenced by --quiet; `verbose_only` lines need --verbose."""
    if getattr(args, "quiet", False) or (verbose_only and not getattr(args, "verbose", False)):
        return
    print(message, file=sys.stderr)


def _error() -> str:
    from tap_cfn.term import RED, colour

    return colour("error:", RED, sys.stderr)


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
        print(f"{_error()} {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the last line of defence prints one line, not a traceback
        if "--verbose" in argv or "-v" in argv:
            raise
        print(
            f"{_error()} {type(exc).__name__}: {exc} (run with --verbose for the traceback)", file=sys.stderr
        )
        return EXIT_FAILED
