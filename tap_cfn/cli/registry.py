"""`registry deploy|outputs` (the project's image repositories, one stack per account and region)
and `images` (what to push where, per service). The options and errors are the CLI's common ones.

Importing this module stays cheap: boto3 and the builders load when a handler runs."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_cfn import conventions
from tap_cfn.cli import common
from tap_cfn.cli.common import AWS_EXIT_CODES, EXIT_OK, UsageError

if TYPE_CHECKING:
    from tap_cfn import config as cfg
    from tap_cfn.deploy.deployer import Console

PULL_ACCOUNTS_PARAMETER = "PullAccounts"  # the registry template's parameter (tap_cfn/stacks/registry.py)
IMAGES_EXIT_CODES = "exit codes: 0 success, 1 failure (AWS said no), 2 bad usage or input"
TAG_PLACEHOLDER = "$TAG"


def register(sub: argparse._SubParsersAction) -> None:
    group = common.command(
        sub,
        "registry",
        "create or update the project's image repositories, <project>-registry",
        "One stack per account and region, shared by every environment and kept when one is "
        "destroyed: an ECR repository per service that runs the platform's image. Deploy it once, "
        "before the first environment; each ACTION has its own --help.",
        "  python generate.py registry deploy --region eu-west-1\n"
        "  python generate.py registry outputs --config my-platform.yaml",
        AWS_EXIT_CODES,
    )
    actions = group.add_subparsers(
        dest="registry_command", metavar="ACTION", required=True, parser_class=common.Parser
    )
    deploy = common.command(
        actions,
        "deploy",
        "preview and deploy the registry stack <project>-registry",
        "Generates the registry template from the config, creates a change set, shows it, asks "
        "(unless --yes) and executes it; the same deployer as `deploy`.",
        "  python generate.py registry deploy --region eu-west-1 --yes\n"
        "  python generate.py registry deploy --pull-accounts 222222222222,333333333333",
        AWS_EXIT_CODES,
    )
    common.add_session(deploy)
    deploy.add_argument(
        "--pull-accounts",
        type=_accounts,
        metavar="A,B",
        help="accounts whose environments may pull the images (default: the config's registry.pull_accounts)",
    )
    deploy.add_argument("--bucket", help="S3 bucket for the template (default as for deploy)")
    deploy.add_argument("--plan", action="store_true", help="show the change set, then delete it")
    deploy.add_argument("--yes", action="store_true", help="execute without asking")
    deploy.set_defaults(func=handle_registry_deploy)
    outputs = common.command(
        actions,
        "outputs",
        "print the repository URIs of <project>-registry",
        "The registry stack's outputs, <Service>RepositoryUri, as a table or as JSON.",
        "  python generate.py registry outputs --region eu-west-1\n"
        "  python generate.py registry outputs --json",
        AWS_EXIT_CODES,
    )
    common.add_session(outputs)
    outputs.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    outputs.set_defaults(func=handle_registry_outputs)
    _images(sub)


def _images(sub: argparse._SubParsersAction) -> None:
    parser = common.command(
        sub,
        "images",
        "print, per service, its repository and the docker login, tag and push lines",
        "The repositories are the project's registry (`registry deploy`); services with an external "
        "image are pulled from their own registry. Without --account the caller's account is read "
        "(STS); then deploy with the printed --param lines.",
        "  python generate.py images --env dev --tag v1.4.2\n"
        "  python generate.py images --env prod --tag 3f9c2ab --account 111111111111 --region eu-west-1",
        IMAGES_EXIT_CODES,
    )
    common.add_env(parser, "whose services are listed", allow_all=False)
    parser.add_argument(
        "--tag", type=_tag, help=f"image tag to push (default: {TAG_PLACEHOLDER}, a shell variable to set)"
    )
    parser.add_argument(
        "--account", type=_account, help="account of the registry (default: the caller's, from STS)"
    )
    common.add_session(parser)
    parser.set_defaults(func=handle_images)


def _account(text: str) -> str:
    if not re.fullmatch(conventions.ACCOUNT_ID_PATTERN, text):
        raise argparse.ArgumentTypeError(f"{text!r}: an AWS account ID is 12 digits")
    return text


def _accounts(text: str) -> list[str]:
    return [_account(a.strip()) for a in text.split(",") if a.strip()]


def _tag(text: str) -> str:
    if not re.fullmatch(conventions.IMAGE_TAG_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: 1 to 128 letters, digits, '_', '.', '-', not starting with '.' or '-'; not latest"
        )
    return text


def handle_registry_deploy(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console

    shown = console or Console.system(verbose=args.verbose)
    return common.run(lambda: _registry_deploy(args, shown), shown.err, args.verbose)


def _registry_deploy(args: argparse.Namespace, console: Console) -> int:
    """Generate the registry template into a temporary folder and deploy it as <project>-registry."""
    import tempfile
    from pathlib import Path

    from tap_cfn import config as cfg
    from tap_cfn import generator
    from tap_cfn.deploy.deployer import DeployOptions, Target, deploy

    config = cfg.load(args.config)
    accounts = args.pull_accounts if args.pull_accounts is not None else config.registry.pull_accounts
    with tempfile.TemporaryDirectory(prefix="tap-cfn-") as tmp:
        files = {conventions.REGISTRY: generator.render_registry(config, ["yaml"])}
        generator.write(Path(tmp), files)
        target = Target.registry(Path(tmp), config.project, args.config)
        options = DeployOptions(
            parameters={PULL_ACCOUNTS_PARAMETER: ",".join(accounts)},
            bucket=args.bucket,
            plan=args.plan,
            yes=args.yes,
        )
        return deploy(common.clients(args), target, options, console).exit_code


def handle_registry_outputs(args: argparse.Namespace, console: Console | None = None) -> int:
    from pathlib import Path

    from tap_cfn import config as cfg
    from tap_cfn.deploy.deployer import Console, Target, outputs

    shown = console or Console.system(verbose=args.verbose)

    def operation() -> int:
        target = Target.registry(Path(), cfg.load(args.config).project, args.config)
        return outputs(common.clients(args), target, args.json, shown)

    return common.run(operation, shown.err, args.verbose)


@dataclass(frozen=True)
class Registry:
    """Where the images go: the registry of `account` in `region` (a `--profile` for the CLI lines)."""

    account: str
    region: str
    profile: str | None = None

    @property
    def host(self) -> str:
        return conventions.registry_host(self.account, self.region)

    def login(self) -> str:
        """The login line; the token it gets is valid for 12 hours
        (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html)."""
        profile = f" --profile {self.profile}" if self.profile else ""
        return (
            f"aws ecr get-login-password --region {self.region}{profile} | "
            f"docker login --username AWS --password-stdin {self.host}"
        )


def image_lines(config: cfg.Config, env: str, registry: Registry, tag: str) -> list[str]:
    """What `images` prints: the login once, then per service its repository and the tag and push
    lines, or where an external image comes from; last, the --param lines of the deploy."""
    from tap_cfn import config as cfg
    from tap_cfn.contract import IMAGE_TAG

    services = cfg.Deployment(config, env).services
    lines = [
        f"Images of {config.project} (env {env}), registry {registry.account} in {registry.region}, "
        f"tag {tag}",
        "",
        "Log in once (the token lasts 12 hours):",
        f"  {registry.login()}",
    ]
    params = []
    for svc in services:
        lines.append("")
        if svc.image is not None:
            lines.append(
                f"{svc.name}: external image {svc.image}, pulled from its registry (nothing to push)"
            )
            continue
        uri = f"{registry.host}/{conventions.repository_name(config.project, svc.name)}"
        lines += [
            f"{svc.name}: {uri}",
            f"  docker tag {svc.name}:{tag} {uri}:{tag}",
            f"  docker push {uri}:{tag}",
        ]
        params.append(f"--param {IMAGE_TAG.name(svc.name)}={tag}")
    if params:
        lines += ["", "Then deploy with:", f"  {' '.join(params)}"]
    return lines


def handle_images(args: argparse.Namespace, console: Console | None = None) -> int:
    from tap_cfn.deploy.deployer import Console

    shown = console or Console.system(verbose=args.verbose)

    def operation() -> int:
        config, env = common.one_environment(args)
        account, region = args.account, args.region
        if account is None or region is None:  # only then are credentials needed
            clients = common.clients(args)
            region = region or clients.region
            account = account or clients.sts.get_caller_identity()["Account"]
        tag = args.tag or TAG_PLACEHOLDER
        for line in image_lines(config, env, Registry(account, region, args.profile), tag):
            shown.say(line)
        return EXIT_OK

    return common.run(operation, shown.err, args.verbose)


__all__ = ["register", "handle_registry_deploy", "handle_registry_outputs", "handle_images", "UsageError"]
