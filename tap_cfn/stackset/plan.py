"""What a StackSet deployment targets and how: parsed and checked before any AWS call."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_cfn.contract import VPC_CIDR
from tap_cfn.conventions import REGION_PATTERN

# An account is 12 digits, an OU `ou-<root>-<8..32>` (CreateStackInstances DeploymentTargets).
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html
ACCOUNT = re.compile(r"^\d{12}$")
OU = re.compile(r"^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$")
REGION = re.compile(REGION_PATTERN)
# Names global to an account: two regions of one account must not both create them.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (names unique per account)
ACCOUNT_GLOBAL_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
}


class PlanError(Exception):
    """Bad targets or options; the message is the one line the user sees (exit 2)."""


@dataclass(frozen=True)
class Preferences:
    """StackSetOperationPreferences: a count or a percentage for each of the two limits.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html"""

    max_concurrent: str = "1"
    failure_tolerance: str = "0"
    region_order: tuple[str, ...] = ()
    parallel_regions: bool = False

    def as_api(self) -> dict[str, Any]:
        prefs: dict[str, Any] = {
            "RegionConcurrencyType": "PARALLEL" if self.parallel_regions else "SEQUENTIAL",
        }
        for option, value, (count, percent) in (
            ("--max-concurrent", self.max_concurrent, ("MaxConcurrentCount", "MaxConcurrentPercentage")),
            (
                "--failure-tolerance",
                self.failure_tolerance,
                ("FailureToleranceCount", "FailureTolerancePercentage"),
            ),
        ):
            number, is_percent = _count_or_percent(option, value)
            prefs[percent if is_percent else count] = number
        if self.region_order:
            prefs["RegionOrder"] = list(self.region_order)
        return prefs


def _count_or_percent(option: str, value: str) -> tuple[int, bool]:
    match = re.fullmatch(r"(\d+)(%?)", value)
    if not match:
        raise PlanError(f"{option} {value!r}: expected a whole number or a percentage such as 25%")
    number, percent = int(match.group(1)), bool(match.group(2))
    if percent and not 0 <= number <= 100:
        raise PlanError(f"{option} {value!r}: a percentage is between 0% and 100%")
    if option == "--max-concurrent" and number < 1:
        raise PlanError(f"{option} {value!r}: at least 1 (or 1%)")
    return number, percent


@dataclass(frozen=True)
class Plan:
    """One StackSet and where its instances go."""

    name: str
    accounts: tuple[str, ...]
    ous: tuple[str, ...]
    regions: tuple[str, ...]
    parameters: dict[str, str]
    region_parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    preferences: Preferences = Preferences()

    @property
    def service_managed(self) -> bool:
        return bool(self.ous)

    def deployment_targets(self) -> dict[str, Any]:
        return {"OrganizationalUnitIds": list(self.ous)} if self.ous else {"Accounts": list(self.accounts)}

    def ordered_regions(self) -> list[str]:
        first = [r for r in self.preferences.region_order if r in self.regions]
        return first + [r for r in self.regions if r not in first]

    def region_values(self, template: dict[str, Any]) -> dict[str, dict[str, str]]:
        """Per region, what its instances get of every parameter a region overrides, and of
        VpcCidr: the region's override, else the StackSet's value, else the template's default."""
        declared = template.get("Parameters", {})
        keys = {k for overrides in self.region_parameters.values() for k in overrides}
        keys |= {VPC_CIDR.key} & set(declared)
        values: dict[str, dict[str, str]] = {}
        for region in self.ordered_regions():
            values[region] = {}
            for key in sorted(keys):
                value = self.region_parameters.get(region, {}).get(key, self.parameters.get(key))
                value = declared.get(key, {}).get("Default", "") if value is None else value
                values[region][key] = value
        return values

    def override_groups(self) -> list[tuple[list[str], dict[str, str]]]:
        """Regions that share the same overrides, in region order: one instance operation each
        (CreateStackInstances takes one ParameterOverrides list for all its regions)."""
        groups: list[tuple[list[str], dict[str, str]]] = []
        for region in self.ordered_regions():
            overrides = self.region_parameters.get(region, {})
            for regions, shared in groups:
                if shared == overrides:
                    regions.append(region)
                    break
            else:
                groups.append(([region], overrides))
        return groups


def split_list(option: str, text: str | None, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(i.strip() for i in (text or "").split(",") if i.strip()))
    bad = [i for i in items if not pattern.match(i)]
    if bad:
        raise PlanError(f"{option}: {bad[0]!r} is not {what}")
    return items


def parse_region_param(text: str) -> tuple[str, str, str]:
    region, sep, rest = text.partition(":")
    key, sep2, value = rest.partition("=")
    if not (sep and sep2 and key and REGION.match(region)):
        raise PlanError(
            f"--region-param {text!r}: expected REGION:KEY=VALUE, e.g. eu-west-1:CertificateArn=arn:..."
        )
    return region, key, value


def make_plan(
    name: str,
    template: dict[str, Any],
    targets: tuple[str | None, str | None],
    regions: str,
    parameters: Iterable[tuple[str, str]],
    region_parameters: Iterable[str],
    preferences: Preferences,
    configured: Mapping[str, Mapping[str, str]] | None = None,
    complete: bool = True,
) -> Plan:
    """The plan, checked against the template: every key a parameter it declares. `configured`:
    the config's values per region (environments.<env>.regions); a --param of the same key wins
    over them in every region, a --region-param in its region. `complete`: every parameter without
    a default must be given (a deploy; a preflight only looks)."""
    accounts_text, ous_text = targets
    if bool(accounts_text) == bool(ous_text):
        raise PlanError("give exactly one of --accounts (self-managed) and --ous (service-managed)")
    accounts = split_list("--accounts", accounts_text, ACCOUNT, "a 12-digit account ID")
    ous = split_list("--ous", ous_text, OU, "an organizational unit ID (ou-xxxx-xxxxxxxx)")
    region_list = split_list("--regions", regions, REGION, "a region name such as eu-west-1")
    if not region_list:
        raise PlanError("--regions: give at least one region")
    unknown = [r for r in preferences.region_order if r not in region_list]
    if unknown:
        raise PlanError(f"--region-order: {unknown[0]} is not one of --regions {','.join(region_list)}")
    declared = template.get("Parameters", {})
    params = dict(parameters)
    by_region: dict[str, dict[str, str]] = {}
    for region in region_list:
        given = {k: v for k, v in (configured or {}).get(region, {}).items() if k not in params}
        if given:
            by_region[region] = given
    for text in region_parameters:
        region, key, value = parse_region_param(text)
        if region not in region_list:
            raise PlanError(
                f"--region-param {text!r}: {region} is not one of --regions {','.join(region_list)}"
            )
        by_region.setdefault(region, {})[key] = value
    for key in [*params, *(k for o in by_region.values() for k in o)]:
        if key not in declared:
            raise PlanError(
                f"parameter {key} is not declared by the template; known: {', '.join(sorted(declared))}"
            )
    missing = [k for k, spec in declared.items() if complete and "Default" not in spec and k not in params]
    uncovered = [k for k in missing if any(k not in by_region.get(r, {}) for r in region_list)]
    if uncovered:
        raise PlanError(f"parameter {uncovered[0]} has no default: give --param {uncovered[0]}=VALUE")
    preferences.as_api()  # the counts and percentages fail here, before any call
    return Plan(name, accounts, ous, region_list, params, by_region, preferences)


def account_global_names(template: dict[str, Any]) -> list[str]:
    """Resources whose explicit name is global to the account and does not vary by region:
    a second region of the same account would fail with `already exists`."""
    clashing = []
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        key = ACCOUNT_GLOBAL_NAMES.get(resource.get("Type", ""))
        name = resource.get("Properties", {}).get(key) if key else None
        if name is not None and "${AWS::Region}" not in str(name) and "AWS::Region" not in str(name):
            clashing.append(logical_id)
    return clashing


def check_regions_per_account(plan: Plan, template: dict[str, Any]) -> None:
    if len(plan.regions) < 2:
        return
    clashing = account_global_names(template)
    if clashing:
        raise PlanError(
            f"{len(clashing)} IAM names do not contain ${{AWS::Region}} ({', '.join(clashing[:3])}, ...): "
            f"the second region of an account would fail with 'already exists'; deploy one region per account"
        )


def region_lines(plan: Plan, template: dict[str, Any]) -> list[str]:
    """Each region's values (the config's, a --param, a --region-param or the template's default),
    and a note where two regions' VPC ranges overlap: those VPCs can never be peered. A note, not a
    refusal: not every platform peers its regions (the config's own regions are checked)."""
    values = plan.region_values(template)
    lines = [
        f"{region}: "
        + (", ".join(f"{k}={v or '(empty)'}" for k, v in given.items()) or "the template's defaults")
        for region, given in values.items()
    ]
    seen: dict[str, ipaddress.IPv4Network] = {}
    for region, given in values.items():
        try:
            network = ipaddress.IPv4Network(given.get(VPC_CIDR.key, ""))
        except ValueError:
            continue  # none, or one CloudFormation's AllowedPattern refuses
        clash = next((other for other, net in seen.items() if net.overlaps(network)), None)
        if clash:
            lines.append(
                f"note: {region}'s {VPC_CIDR.key} {network} overlaps {clash}'s {seen[clash]}: "
                "they cannot be peered"
            )
        seen[region] = network
    return lines
