"""`stackset deploy|status|outputs|destroy|preflight|roles`: one environment in many accounts and
regions. The options and errors are the CLI's common ones (tap_cfn/cli/common.py).

Importing this module stays cheap: boto3 loads when a handler runs."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_cfn.cli import common
from tap_cfn.cli.common import AWS_EXIT_CODES, EXIT_FAILED, EXIT_OK, UsageError
from tap_cfn.conventions import SUFFIX_PARAMETER, TOOL, stack_name

if TYPE_CHECKING:
    from tap_cfn.config import Environment
    from tap_cfn.stackset.operations import Admin
    from tap_cfn.stackset.plan import Plan
    from tap_cfn.stackset.progress import Io

EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
STATUS_EXIT_CODES = (
    "exit codes: 0 all CURRENT, 1 no StackSet, one not CURRENT or AWS said no, 2 bad usage or input"
)


def register(subparsers: Any) -> None:
    group = common.command(
        subparsers,
        "stackset",
        "deploy one environment to many accounts and regions as a CloudFormation StackSet",
        "The StackSet <project>-<suffix> gets the environment's flat template (no nested stacks); "
        "each ACTION has its own --help.",
        "  python generate.py stackset deploy --env prod --suffix prod --accounts 111111111111 \\\n"
        "      --regions eu-west-1 --plan\n"
        "  python generate.py stackset status --env prod --suffix prod",
        AWS_EXIT_CODES,
    )
    sub = group.add_subparsers(
        dest="stackset_command", metavar="ACTION", required=True, parser_class=common.Parser
    )
    _deploy(sub)
    _preflight_and_roles(sub)
    for name, text, func in (
        ("status", "the StackSet, each instance's status and the last operation", handle_status),
        ("outputs", "the outputs of every instance, read in its account", handle_outputs),
        ("destroy", "delete every instance, then the StackSet", handle_destroy),
    ):
        examples = f"  python generate.py stackset {name} --env prod --suffix prod"
        parser = _action(sub, name, text, examples, STATUS_EXIT_CODES if name == "status" else AWS_EXIT_CODES)
        _common(parser)
        if name == "destroy":
            parser.add_argument("--yes", action="store_true", help="delete without asking")
        parser.set_defaults(func=func)


def _deploy(sub: argparse._SubParsersAction) -> None:
    deploy = _action(
        sub,
        "deploy",
        "create or update the StackSet <project>-<suffix> and its instances",
        "  python generate.py stackset deploy --env prod --suffix prod \\\n"
        "      --accounts 111111111111,222222222222 --regions eu-west-1,us-east-1 \\\n"
        "      --region-param us-east-1:CertificateArn=arn:...",
    )
    _common(deploy)
    _targets(deploy)
    deploy.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="parameter for every instance (wins over the config's per-region value of KEY)",
    )
    deploy.add_argument(
        "--region-param",
        action="append",
        default=[],
        metavar="REGION:KEY=VALUE",
        help="override in one region; the config's environments.<env>.regions give the rest "
        "(VpcCidr, CertificateArn), a --region-param wins over them",
    )
    deploy.add_argument(
        "--max-concurrent", default="1", metavar="N|N%", help="accounts at once per region (default 1)"
    )
    deploy.add_argument(
        "--failure-tolerance", default="0", metavar="N|N%", help="failed accounts per region (default 0)"
    )
    deploy.add_argument("--region-order", default="", metavar="R1,R2", help="regions in this order first")
    deploy.add_argument(
        "--parallel-regions", action="store_true", help="all regions at once (default one at a time)"
    )
    deploy.add_argument(
        "--bucket", help="S3 bucket for the template (default tap-cfn-artifacts-<account>-<region>)"
    )
    deploy.add_argument(
        "--plan", action="store_true", help="show which instances would change; change nothing"
    )
    deploy.add_argument("--yes", action="store_true", help="deploy without asking")
    deploy.set_defaults(func=handle_deploy)


def _preflight_and_roles(sub: argparse._SubParsersAction) -> None:
    preflight = _action(
        sub,
        "preflight",
        "check every target account and region that can be seen",
        "  python generate.py stackset preflight --env prod --suffix prod \\\n"
        "      --accounts 111111111111 --regions eu-west-1",
    )
    _common(preflight)
    _targets(preflight)
    preflight.set_defaults(func=handle_preflight)
    roles = _action(
        sub,
        "roles",
        "print the administration and execution roles of self-managed StackSets (YAML)",
        "  python generate.py stackset roles --env prod > stackset-roles.yaml",
    )
    common.add_env(roles, "whose template the execution role must deploy", allow_all=False)
    common.add_config(roles)
    roles.set_defaults(func=handle_roles)


def _action(
    sub: argparse._SubParsersAction, name: str, summary: str, examples: str, exit_codes: str = AWS_EXIT_CODES
) -> common.Parser:
    """One ACTION of `stackset`, with the help every command has."""
    return common.command(
        sub, name, summary, "The region and profile are the administrator account's.", examples, exit_codes
    )


def _common(parser: argparse.ArgumentParser) -> None:
    """The StackSet of one environment: --env, --suffix and the session options, as every command."""
    common.add_env(parser, "of the config", allow_all=False)
    common.add_stack(parser)
    parser.add_argument(
        "--target-role",
        default=EXECUTION_ROLE,
        help=f"role assumed to read inside targets (default {EXECUTION_ROLE})",
    )


def _targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", metavar="A,B", help="target account IDs (self-managed permissions)")
    parser.add_argument(
        "--ous", metavar="OU,...", help="target organizational units (service-managed, Organizations)"
    )
    parser.add_argument("--regions", required=True, metavar="R1,R2", help="target regions")


@dataclass
class _Context:
    """The flat template and the StackSet name for one command; the clients come after the
    arguments are checked, so bad input fails before any AWS call."""

    name: str
    template: dict[str, Any]
    args: argparse.Namespace
    env: Environment

    def clients(self) -> tuple[Admin, Any]:
        return _clients(self.args)


def _context(args: argparse.Namespace) -> _Context:
    from tap_cfn import config as cfg
    from tap_cfn import flat

    config, env = common.one_environment(args)
    dep = cfg.Deployment(config, env)
    try:
        template = flat.build(dep)
    except flat.FlatError as exc:
        raise _usage(str(exc)) from None
    return _Context(stack_name(dep.project, args.suffix), template, args, dep.env)


def _clients(args: argparse.Namespace) -> tuple[Admin, Any]:
    """The administrator's clients, and a factory of CloudFormation clients inside a target account
    (through --target-role, assumed once per account)."""
    from tap_cfn.deploy.aws import make_client, make_clients, make_session
    from tap_cfn.stackset.operations import Admin

    session = make_session(args.profile, args.region)
    if not session.region_name:
        raise _usage("--region: give the administrator region (none is configured)")
    clients = make_clients(session, args.endpoint_url)
    sts = clients.sts
    admin = Admin(clients.cloudformation, clients.s3, sts, clients.client("iam"), clients.region)
    sessions: dict[str, Any] = {}

    def open_target(account: str, region: str) -> Any:
        if account not in sessions:
            partition = sts.get_caller_identity()["Arn"].split(":")[1]
            role = f"arn:{partition}:iam::{account}:role/{args.target_role}"
            answer = sts.assume_role(RoleArn=role, RoleSessionName=f"{TOOL}-stackset")
            sessions[account] = make_session(credentials=answer["Credentials"])
        return make_client(sessions[account], "cloudformation", args.endpoint_url, region)

    return admin, open_target


def _plan(args: argparse.Namespace, ctx: _Context, with_params: bool) -> Plan:
    from tap_cfn.cli.deploy import parse_param
    from tap_cfn.contract import regional_parameters
    from tap_cfn.stackset.plan import REGION, PlanError, Preferences, make_plan, split_list

    try:
        prefs = Preferences(
            getattr(args, "max_concurrent", "1"),
            getattr(args, "failure_tolerance", "0"),
            split_list("--region-order", getattr(args, "region_order", ""), REGION, "a region name"),
            getattr(args, "parallel_regions", False),
        )
        params = dict(parse_param(p) for p in getattr(args, "param", []))
        params.setdefault(SUFFIX_PARAMETER, args.suffix)
        return make_plan(
            ctx.name,
            ctx.template,
            (args.accounts, args.ous),
            args.regions,
            params.items(),
            getattr(args, "region_param", []),
            prefs,
            configured={region: regional_parameters(ctx.env, region) for region in ctx.env.regions},
            complete=with_params,
        )
    except PlanError as exc:
        raise _usage(str(exc)) from None


def _io(args: argparse.Namespace) -> Io:
    from tap_cfn.stackset.progress import Io

    def say(line: str) -> None:
        if not args.quiet or line.startswith(("failed", "  ")):  # --quiet keeps the failures
            print(line, file=sys.stderr)

    return Io(say, input if sys.stdin.isatty() else None)


def _usage(message: str) -> Exception:
    return UsageError(f"stackset: {message}")


def handle_deploy(args: argparse.Namespace, io: Io | None = None) -> int:
    from tap_cfn.render import to_json
    from tap_cfn.stackset import operations
    from tap_cfn.stackset.plan import PlanError, check_regions_per_account, region_lines

    io = io or _io(args)
    ctx = _context(args)
    plan = _plan(args, ctx, with_params=True)
    try:
        check_regions_per_account(plan, ctx.template)
    except PlanError as exc:
        raise _usage(str(exc)) from None
    admin, open_target = ctx.clients()
    cfn = admin.cloudformation
    current = operations.instances(cfn, plan.name) if operations.find(cfn, plan.name) else []
    for line in region_lines(plan, ctx.template):
        io.say(line)
    operations.preview(plan, current, operations.current_overrides(cfn, plan, current), io)
    if args.plan:
        return EXIT_OK
    if not args.yes:
        if io.ask is None:
            raise _usage(f"deploy: {operations.NO_TERMINAL}")
        if io.ask("Deploy? [y/N] ").strip().lower() not in {"y", "yes"}:
            io.say("not deployed")
            return EXIT_FAILED
    template = operations.template_argument(admin, to_json(ctx.template), args.bucket, io.say)
    return operations.deploy(cfn, plan, template, io, open_target)


def handle_status(args: argparse.Namespace, io: Io | None = None) -> int:
    from tap_cfn.stackset import operations

    ctx = _context(args)
    return operations.status(ctx.clients()[0].cloudformation, ctx.name, io or _io(args))


def handle_outputs(args: argparse.Namespace, io: Io | None = None) -> int:
    import json

    from tap_cfn.stackset import operations

    ctx = _context(args)
    admin, open_target = ctx.clients()
    found = operations.outputs(admin.cloudformation, ctx.name, open_target, io or _io(args))
    print(json.dumps(found, indent=2, sort_keys=True))
    return EXIT_OK


def handle_destroy(args: argparse.Namespace, io: Io | None = None) -> int:
    from tap_cfn.stackset import operations

    io = io or _io(args)
    if not args.yes and io.ask is None:  # refused before any AWS call
        raise _usage(f"destroy: {operations.NO_TERMINAL}")
    ctx = _context(args)
    return operations.destroy(ctx.clients()[0].cloudformation, ctx.name, args.yes, io)


def handle_preflight(args: argparse.Namespace, io: Io | None = None) -> int:
    from tap_cfn.render import to_json
    from tap_cfn.stackset.preflight import preflight

    ctx = _context(args)
    plan = _plan(args, ctx, with_params=False)
    size = len(to_json(ctx.template).encode())
    admin, open_target = ctx.clients()
    return preflight(admin, plan, ctx.template, size, open_target, io or _io(args))


def handle_roles(args: argparse.Namespace) -> int:
    from tap_cfn import config as cfg
    from tap_cfn import flat
    from tap_cfn.render import as_dict, render
    from tap_cfn.stackset import roles

    config = cfg.load(args.config)
    (env,) = common.environments(config, args.env, allow_all=False)
    try:
        template = flat.build(cfg.Deployment(config, env))
    except flat.FlatError as exc:
        raise _usage(str(exc)) from None
    sys.stdout.write(render(as_dict(roles.build(template)), "yaml"))
    return EXIT_OK
