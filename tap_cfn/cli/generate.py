"""The commands that make and check files: templates, diagram, lint, docs, schema.

Heavy imports (the builders, cfn-lint) happen inside the handlers, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tap_cfn import config as cfg
from tap_cfn import conventions
from tap_cfn.cli import common
from tap_cfn.cli.common import EXIT_FAILED, EXIT_OK, UsageError
from tap_cfn.render import FORMATS

DEFAULT_README = Path("README.md")
ROOT_JSON = conventions.root_file("json")


def register(sub: argparse._SubParsersAction) -> None:
    _templates(sub)
    _diagram(sub)
    _lint(sub)
    _docs(sub)
    _schema(sub)


def _templates(sub: argparse._SubParsersAction) -> None:
    parser = common.command(
        sub,
        "templates",
        "write templates/<env>/root.{json,yaml} and one file per child stack",
        "Reads the platform config, builds every stack of each profile and writes them atomically: "
        "a failed run leaves the output folder as it was. The project's image registry goes to "
        "templates/registry/registry.{json,yaml}. Generated files of an earlier run that would "
        "describe something else are removed: an environment's drawings when its templates change "
        "(`diagram` draws them again; it keeps an SVG only if drawn from the same DOT text, so a "
        "change the drawing does not show costs no SVG where Graphviz is missing) and, with "
        "--env all, the folders of environments the config does not have. No other file is touched.",
        "  python generate.py templates --env prod --format yaml\n"
        "  python generate.py templates --config my-platform.yaml --out /tmp/t",
    )
    common.add_env(parser, "to generate", allow_all=True)
    parser.add_argument(
        "--format", choices=[*FORMATS, "both"], default="both", help="output format (default both)"
    )
    common.add_out(parser, "output folder")
    parser.add_argument(
        "--flat",
        action="store_true",
        help="also write <env>/flat.{json,yaml}: the environment as one template, no nested stacks",
    )
    common.add_config(parser)
    parser.set_defaults(func=cmd_templates)


def _diagram(sub: argparse._SubParsersAction) -> None:
    parser = common.command(
        sub,
        "diagram",
        "draw templates/<env>/topology.svg, services.svg and a Mermaid README.md from the templates",
        f"Reads {ROOT_JSON} and its child templates (run `templates` first), follows the root's "
        "wiring and draws the stacks, the resources that matter, the request paths and the "
        "security-group rules. The SVGs need Graphviz `dot` (apt-get install graphviz / "
        "brew install graphviz); without it they are skipped.",
        "  python generate.py diagram --env dev\n  python generate.py diagram --out /tmp/t",
    )
    common.add_env(parser, "to draw", allow_all=True)
    common.add_out(parser, f"folder holding <env>/{ROOT_JSON}; the drawings are written beside it")
    parser.set_defaults(func=cmd_diagram)


def _lint(sub: argparse._SubParsersAction) -> None:
    parser = common.command(
        sub,
        "lint",
        "run cfn-lint (informational rules included) on every generated template",
        "Regions us-east-1 and eu-west-1, one process per core. Findings print as "
        "file:line:column: RULE message; any finding exits 1.",
        "  python generate.py lint\n  python generate.py lint --out templates/dev",
    )
    common.add_out(parser, "folder to lint")
    parser.set_defaults(func=cmd_lint)


def _docs(sub: argparse._SubParsersAction) -> None:
    parser = common.command(
        sub,
        "docs",
        "rewrite README.md's config reference (from the schema) and deploy-time table (from the model)",
        "Replaces the text between the config-reference and the deploy-time markers; --check only "
        "reports whether both are current (exit 1 when stale), for CI and pre-commit.",
        "  python generate.py docs\n  python generate.py docs --check",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        default=DEFAULT_README,
        metavar="FILE",
        help="file to update (default README.md)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the section is stale"
    )
    parser.set_defaults(func=cmd_docs)


def _schema(sub: argparse._SubParsersAction) -> None:
    parser = common.command(
        sub,
        "schema",
        "print the JSON Schema of the config file",
        "For editors (yaml-language-server) and other tools; the README's config reference is "
        "generated from the same schema.",
        "  python generate.py schema > tap.schema.json",
    )
    parser.set_defaults(func=cmd_schema)


def cmd_templates(args: argparse.Namespace) -> int:
    from tap_cfn import generator

    config = cfg.load(args.config)
    formats = list(FORMATS) if args.format == "both" else [args.format]
    files = {
        env: generator.render_environment(cfg.Deployment(config, env), formats)
        for env in common.environments(config, args.env)
    }
    if args.flat:
        _add_flat(config, files, formats)
    files[conventions.REGISTRY] = generator.render_registry(config, formats)
    # every environment of the config: a folder of another config's environment goes
    generator.write(args.out, files, prune=args.env == "all")
    count = sum(len(f) for f in files.values())
    common.say(args, f"wrote {count} templates for {', '.join(files)} into {args.out}/")
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

    if not args.out.is_dir():
        raise UsageError(f"lint: {args.out} is not a folder")
    paths = template_files(args.out)
    if not paths:
        raise UsageError(f"lint: no templates in {args.out}; run `python generate.py templates` first")
    findings = lint(paths)
    for line in findings:
        print(line)
    common.say(args, f"cfn-lint: {len(paths)} templates, {len(findings)} findings")
    return EXIT_FAILED if findings else EXIT_OK


def cmd_diagram(args: argparse.Namespace) -> int:
    import time

    from tap_cfn import diagram

    folder: Path = args.out
    if not folder.is_dir():
        raise UsageError(f"diagram: {folder} is not a folder; run `python generate.py templates` first")
    known = sorted(p.name for p in folder.iterdir() if (p / ROOT_JSON).is_file())
    if not known:
        raise UsageError(
            f"diagram: no <env>/{ROOT_JSON} in {folder}; run `python generate.py templates` first"
        )
    if args.env != "all" and args.env not in known:
        raise UsageError(f"diagram: no {folder}/{args.env}/{ROOT_JSON}; known: {', '.join(known)}, all")
    envs = known if args.env == "all" else [args.env]
    start = time.perf_counter()
    try:  # everything is drawn before anything is written
        drawn = {env: diagram.render(folder / env) for env in envs}
    except diagram.model.TemplateError as exc:
        raise UsageError(f"diagram: {exc}") from None
    except diagram.dot.DotMissing as exc:  # the DOT files and README still; the SVGs need Graphviz
        print(f"diagram: SVG skipped: {exc}", file=sys.stderr)
        drawn = {env: diagram.render(folder / env, svg=False) for env in envs}
    for env, (graph, files) in drawn.items():
        diagram.write(folder / env, files)
        common.say(args, f"{env}: {len(graph.nodes)} nodes, {len(graph.edges)} edges", verbose_only=True)
    common.say(args, f"drew {', '.join(envs)} into {folder}/<env>/ in {time.perf_counter() - start:.2f} s")
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
        common.say(args, f"{args.readme}: config reference and deploy-time table are current")
        return EXIT_OK
    if args.check:
        print(
            f"{args.readme}: config reference or deploy-time table is stale; run `python generate.py docs`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    args.readme.write_text(updated, encoding="utf-8")
    common.say(args, f"{args.readme}: config reference and deploy-time table rewritten")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(cfg.json_schema_text())
    return EXIT_OK
