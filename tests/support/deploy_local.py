"""`make deploy-local`: the whole deploy path against a local AWS, no account needed.

Starts moto's server (with the fixes in moto_endpoint) in this process and follows the README's
first deploy through the same CLI handlers users run: `registry deploy`, a push of every image
(ECR PutImage, what `docker push` ends with), the deploy of templates/<env>/root.yaml with its
preflight (which prints the stack's outputs), then destroys the stack and stops the server. moto is
a dev dependency: `pip install -e '.[dev]'`.

    python -m tests.support.deploy_local [--env dev] [--suffix local] [--param KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tap_cfn.cli import build_parser
from tap_cfn.conventions import root_file
from tap_cfn.deploy.packaging import load_template
from tests.support.moto_endpoint import dummy_credentials, moto_server

LOCAL_IMAGE_TAG = "local"
MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'


def push(endpoint: str, templates: Path, env: str, values: dict[str, str]) -> None:
    """Put an image under each service's tag in its repository of the registry."""
    import boto3

    from tap_cfn.deploy.deployer import Target
    from tap_cfn.deploy.preflight import load_templates, repositories

    ecr = boto3.client("ecr", endpoint_url=endpoint)
    for repository, parameter in repositories(load_templates(Target(env, "local", templates))):
        ecr.put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag=values[parameter])
        print(f"Pushed {repository}:{values[parameter]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_local", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev")
    parser.add_argument("--suffix", default="local")
    parser.add_argument("--out", type=Path, default=Path("templates"), metavar="DIR")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--config", type=Path, help="deploy this config (generated and linted on the fly)")
    options = parser.parse_args(argv)

    if options.config is not None:  # the deploy command generates and lints; the tags are read here
        from tap_cfn.deploy.configured import render_into

        options.out = render_into(options.config, options.env, Path(tempfile.mkdtemp(prefix="tap-cfn-")))
    root = options.out / options.env / root_file("yaml")
    if not root.is_file():
        print(f"error: no template {root}: run `python generate.py templates` first", file=sys.stderr)
        return 2
    given = {key for key, _, _ in (p.partition("=") for p in options.param)}
    # Image tags have no default on purpose; locally any tag will do.
    tags = [
        f"{name}={LOCAL_IMAGE_TAG}"
        for name in (load_template(root).get("Parameters") or {})
        if name.endswith("ImageTag") and name not in given
    ]

    cli = build_parser()
    with dummy_credentials(), moto_server() as endpoint:
        print(f"Local AWS endpoint: {endpoint} (moto, in this process)")
        targeting = ["--env", options.env, "--suffix", options.suffix, "--endpoint-url", endpoint,
                     "--out", str(options.out)]  # fmt: skip
        if options.config is not None:
            targeting += ["--config", str(options.config)]

        def run(*argv: str) -> int:
            args = cli.parse_args(list(argv))
            return int(args.func(args))

        registry = [
            "--endpoint-url",
            endpoint,
            *(["--config", str(options.config)] if options.config else []),
        ]
        code = run("registry", "deploy", *registry, "--yes")
        if code != 0:
            return code
        push(endpoint, options.out, options.env, dict(p.partition("=")[::2] for p in [*options.param, *tags]))
        params = [arg for p in [*options.param, *tags] for arg in ("--param", p)]
        code = run("deploy", *targeting, *params, "--yes")  # prints the outputs when it succeeds
        if code == 0:
            code = run("destroy", *targeting, "--yes")
        print("Stopping the local endpoint")
    return code


if __name__ == "__main__":
    sys.exit(main())
