"""The cfn-guard gate: every AWS Control Tower proactive control on every template of every profile.

cfn-guard 3.1.1 and the controls come from the npm package @cdklabs/cdk-validator-cfnguard, pinned
in tools/guard/ and installed by `make guard` into .guard/ (offline afterwards). The controls do not
read template Metadata, so the failures we accept are the one table below (WAIVERS): control id,
logical id (or a pattern of them, for a decision the platform makes for every such resource),
reason. The gate fails on any failure the table does not explain, and on a table row
that explains nothing (so the table cannot outlive what it excuses). `python -m tap_cfn.guard --out
DIR` runs the gate (`make guard`); `python -m tap_cfn.guard --table` prints the table the README shows."""

from __future__ import annotations

import argparse
import fnmatch
import json
import platform
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / ".guard" / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
CONTROLS = PACKAGE / "rules" / "control-tower" / "cfn-guard"
CONTROL_ID = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")


@dataclass(frozen=True)
class Waiver:
    control: str  # CT.<SERVICE>.PR.<n>
    resource: str  # logical id (a public contract, stable across releases), or a pattern: *LogGroup
    reason: str


# Failures that are not defects of the templates, each with why. Never a real fix: containers
# running as root, key grants not limited to AWS services and the like are changed in the templates.
WAIVERS: tuple[Waiver, ...] = (
    Waiver(
        "CT.CLOUDWATCH.PR.2",
        "*LogGroup",  # every log group: the services', the flow logs', ECS Exec's
        "Retention is the profile's `log_retention_days` (tap.yaml), the same for every log group; "
        "365 or more where a year is required.",
    ),
    Waiver(
        "CT.CLOUDWATCH.PR.3",
        "FlowLogGroup",
        "Encrypted with the data stack's key, passed in as the KmsKeyArn parameter: a Ref the engine "
        "cannot resolve (it accepts only a key of the same template).",
    ),
    Waiver(
        "CT.ELASTICLOADBALANCING.PR.1",
        "HttpListener",
        "With a CertificateArn port 80 only redirects to HTTPS (Fn::If on the default action, which the "
        "engine cannot evaluate); without one, HTTP only is the deployment's choice.",
    ),
    Waiver(
        "CT.ELASTICLOADBALANCING.PR.2",
        "HttpsListener",
        "The certificate is the CertificateArn parameter (a Ref the engine cannot resolve); the listener "
        "exists only when one is given.",
    ),
    Waiver(
        "CT.ELASTICLOADBALANCING.PR.5",
        "LoadBalancer",
        "Deletion protection is switched by the deployer after a successful create, not hard-coded: a "
        "literal true traps a failed first create in ROLLBACK_FAILED (rule E9907).",
    ),
    Waiver(
        "CT.S3.PR.10",
        "AccessLogBucket",
        "ALB access logs support only SSE-S3 on the destination bucket "
        "(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).",
    ),
    Waiver(
        "CT.S3.PR.2",
        "AccessLogBucket",
        "This bucket is the log destination; server access logs of it would need another bucket, which "
        "would need one in turn. Audit reads with CloudTrail S3 data events.",
    ),
    Waiver(
        "CT.S3.PR.4",
        "AccessLogBucket",
        "Nothing consumes events of the access-log objects; a notification target would be a resource "
        "without a reader.",
    ),
    Waiver(
        "CT.S3.PR.8",
        "AccessLogBucketPolicy",
        "The DenyInsecureTransport statement covers the bucket and `${AccessLogBucket.Arn}/*`; the engine "
        "accepts the objects' ARN only as Fn::Join, which cfn-lint (I1022) asks to write as Fn::Sub.",
    ),
    Waiver(
        "CT.S3.PR.9",
        "AccessLogBucket",
        "Object Lock would stop the 30-day expiry of access logs and the emptying of the bucket on "
        "`destroy` of a profile that keeps no data.",
    ),
)


@dataclass(frozen=True)
class Failure:
    template: str  # file stem, e.g. "data"
    control: str
    resource: str

    def waiver(self, waivers: Iterable[Waiver] = WAIVERS) -> Waiver | None:
        matching = (w for w in waivers if w.control == self.control)
        return next((w for w in matching if fnmatch.fnmatchcase(self.resource, w.resource)), None)


@dataclass(frozen=True)
class Result:
    """One profile: every control that applied to some template, and the failures (control, resource)."""

    passed: frozenset[str]  # controls (cfn-guard rule names) compliant wherever they applied
    failed: frozenset[str]  # controls with at least one failure
    failures: tuple[Failure, ...]

    @property
    def unexplained(self) -> list[Failure]:
        return [f for f in self.failures if f.waiver() is None]


def binary() -> Path:
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system(), platform.system().lower())
    machine = {"arm64": "aarch64", "AMD64": "x86_64"}.get(platform.machine(), platform.machine())
    return PACKAGE / "bin" / system / machine / "cfn-guard"


def validate(files: Sequence[Path]) -> list[dict[str, Any]]:
    """cfn-guard's structured report: one entry per data file, in the order given."""
    data = [arg for path in files for arg in ("--data", str(path))]
    command = [
        str(binary()),
        "validate",
        "--rules",
        str(CONTROLS),
        *data,
        "-o",
        "json",
        "--structured",
        "-S",
        "none",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 19):  # 19: some rule failed; anything else is an error of the run
        raise RuntimeError(f"cfn-guard exited {done.returncode}: {done.stderr.strip()}")
    report: list[dict[str, Any]] = json.loads(done.stdout)
    return report


def _walk(node: Any, controls: set[str], resources: set[str]) -> None:
    """Control ids (from the custom messages) and logical ids (from the paths) below `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "custom_message" and isinstance(value, str):
                controls.update(CONTROL_ID.findall(value))
            elif key == "path" and isinstance(value, str) and (m := re.match(r"/Resources/([^/\[]+)", value)):
                resources.add(m.group(1))
            else:
                _walk(value, controls, resources)
    elif isinstance(node, list):
        for value in node:
            _walk(value, controls, resources)


def result(report: Iterable[Mapping[str, Any]]) -> Result:
    """Fold a report of one profile's templates into the controls that passed, failed, and where."""
    passed: set[str] = set()
    failed: set[str] = set()
    failures = set()
    for entry in report:
        template = Path(entry["name"]).stem
        passed.update(entry.get("compliant", []))
        for rule in entry.get("not_compliant", []):
            failed.add(rule["Rule"]["name"])
            controls: set[str] = set()
            resources: set[str] = set()
            _walk(rule, controls, resources)
            control = min(controls) if controls else rule["Rule"]["name"]
            failures |= {Failure(template, control, resource) for resource in resources or {"(template)"}}
    return Result(
        frozenset(passed - failed),
        frozenset(failed),
        tuple(sorted(failures, key=lambda f: (f.template, f.control, f.resource))),
    )


def profile_files(directory: Path) -> dict[str, list[Path]]:
    """The JSON template of every stack, per profile folder (the YAML files are the same templates)."""
    return {
        folder.name: sorted(folder.glob("*.json"))
        for folder in sorted(directory.iterdir())
        if folder.is_dir() and any(folder.glob("*.json"))
    }


def gate(directory: Path) -> tuple[dict[str, Result], list[Waiver]]:
    """Every profile's result, and the waivers that explain no failure of any profile."""
    results = {profile: result(validate(files)) for profile, files in profile_files(directory).items()}
    used = {f.waiver() for r in results.values() for f in r.failures}
    return results, [w for w in WAIVERS if w not in used]


def table(waivers: Iterable[Waiver] = WAIVERS) -> str:
    """The waivers as the Markdown table the README shows."""
    lines = ["| control | resource | reason |", "|---|---|---|"]
    for w in sorted(waivers, key=lambda w: (w.control, w.resource)):
        lines.append(f"| {w.control} | `{w.resource}` | {w.reason} |")
    return "\n".join(lines) + "\n"


EXIT_CODES = (
    "exit codes: 0 every finding waived, 1 an unexplained finding or a stale waiver, 2 bad usage or input"
)
EXAMPLES = (
    "examples:\n"
    "  python -m tap_cfn.guard --out templates    every profile's templates (make guard)\n"
    "  python -m tap_cfn.guard --table            the waiver table the README shows"
)


def parser() -> argparse.ArgumentParser:
    from tap_cfn.cli import common

    parser = common.Parser(
        prog="python -m tap_cfn.guard",
        description=textwrap.fill(
            "Run cfn-guard with every AWS Control Tower control on the templates of every profile; "
            "fail on a finding WAIVERS does not explain or a waiver that explains none.",
            common.HELP_WIDTH,
        ),
        epilog=f"{EXAMPLES}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_out(parser, "the templates folder, one subfolder per profile")
    parser.add_argument("--table", action="store_true", help="print the waiver table (Markdown) and exit")
    return parser


def main(argv: Sequence[str]) -> int:
    """The gate as a command, on the CLI's conventions: one `error:` line and exit 2 on bad usage."""
    from tap_cfn.cli import common

    return common.run(lambda: _run(parser().parse_args(argv)), sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from tap_cfn.cli.common import EXIT_FAILED, EXIT_OK, UsageError

    if args.table:
        sys.stdout.write(table())
        return EXIT_OK
    if not args.out.is_dir():
        raise UsageError(f"guard: {args.out} is not a folder; run `python generate.py templates` first")
    if not binary().is_file():
        raise UsageError(
            f"guard: {binary()} is missing: run `make guard` (installs tools/guard/ into .guard/)"
        )
    results, stale = gate(args.out)
    for profile, r in results.items():
        waived = len(r.failures) - len(r.unexplained)
        print(
            f"{profile}: {len(r.passed)} controls pass, {len(r.failed)} fail "
            f"({len(r.failures)} findings: {waived} waived, {len(r.unexplained)} unexplained)"
        )
        for f in r.unexplained:
            print(f"  {profile}/{f.template}: {f.control} {f.resource}")
    for w in stale:
        print(f"stale waiver (explains no failure): {w.control} {w.resource}")
    return EXIT_FAILED if stale or any(r.unexplained for r in results.values()) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
