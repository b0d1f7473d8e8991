"""tap-cfn's cfn-lint rules: one AWS fact per file, each with the AWS page it rests on.

cfn-lint loads them as a module, `--append-rules tap_cfn.rules` (`.cfnlintrc`, `generate.py lint`,
pre-commit): it instantiates every rule class this package namespace holds, so each rule file is
imported here (a test checks that none is missing). Ids are E99xx/W99xx: cfn-lint's own
`--custom-rules` files number theirs 9000 + line number."""

from pathlib import Path

from cfnlint.rules import CloudFormationLintRule

from tap_cfn.rules.AccountGlobalNameHasRegion import AccountGlobalNameHasRegion
from tap_cfn.rules.AlbDeletionProtectionLiteral import AlbDeletionProtectionLiteral
from tap_cfn.rules.EcrLifecycleCountOverAnyTag import EcrLifecycleCountOverAnyTag
from tap_cfn.rules.EcsDeploymentWithinStackTimeout import EcsDeploymentWithinStackTimeout
from tap_cfn.rules.EcsServiceDesiredCountWithScaling import EcsServiceDesiredCountWithScaling
from tap_cfn.rules.EcsServiceHealthSignal import EcsServiceHealthSignal
from tap_cfn.rules.PolicyStatementEmptyCondition import PolicyStatementEmptyCondition
from tap_cfn.rules.SecurityGroupPathBothSides import SecurityGroupPathBothSides
from tap_cfn.rules.SnsTopicKeyAllowsPublishers import SnsTopicKeyAllowsPublishers
from tap_cfn.rules.StatefulRetainExceptOnCreate import StatefulRetainExceptOnCreate

MODULE = __name__  # what `append_rules` names
RULES_DIR = Path(__file__).resolve().parent
RULES: tuple[type[CloudFormationLintRule], ...] = (
    EcsServiceDesiredCountWithScaling,
    StatefulRetainExceptOnCreate,
    EcrLifecycleCountOverAnyTag,
    AccountGlobalNameHasRegion,
    PolicyStatementEmptyCondition,
    SnsTopicKeyAllowsPublishers,
    AlbDeletionProtectionLiteral,
    SecurityGroupPathBothSides,
    EcsServiceHealthSignal,
    EcsDeploymentWithinStackTimeout,
)


def table() -> str:
    """Our rules as the Markdown table the README shows (id, what must hold, the AWS page)."""
    lines = ["| rule | what must hold | source |", "|---|---|---|"]
    for rule in sorted(RULES, key=lambda rule: rule.id):
        page = rule.source_url.rsplit("/", 1)[1].replace(".html", "")
        lines.append(f"| {rule.id} | {rule.shortdesc} | [{page}]({rule.source_url}) |")
    return "\n".join(lines) + "\n"
