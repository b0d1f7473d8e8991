"""What every child stack builder shares: parameters added on first use, outputs from the
contract, names and tags from `naming`, and the data-retention policy of the profile.

Several parts may build into one template (the network stack holds the VPC, the egress and the
load balancer): a value one part outputs is, for the parts after it, its own expression, not a
parameter."""

from __future__ import annotations

from troposphere import (
    AWS_ACCOUNT_ID,
    AWSObject,
    Equals,
    GetAtt,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)

from tap_cfn import naming
from tap_cfn.config import Deployment
from tap_cfn.contract import CERTIFICATE_ARN, ENVIRONMENT_SUFFIX, REGISTRY_ACCOUNT_ID, Value

HAS_CERTIFICATE = "HasCertificate"
REGISTRY_HERE = "RegistryInThisAccount"
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"


class StackBuilder:
    """A child template under construction. Builders stay pure: this holds no global state."""

    def __init__(self, dep: Deployment, description: str) -> None:
        self.dep = dep
        self.template = Template(Description=f"{dep.project} ({dep.env_name}): {description}")
        self.template.set_version("2010-09-09")
        # Value name -> its expression in this template, for the values a part has made.
        self._local: dict[str, object] = {}

    def add(self, resource: AWSObject) -> AWSObject:
        return self.template.add_resource(resource)

    def param(self, value: Value, owner: str | None = None) -> object:
        """The expression of `value` when a part of this template made it; else a Ref to the
        parameter carrying it, declared the first time it is used."""
        key = value.name(owner)
        if key in self._local:
            return self._local[key]
        parameter = self.template.parameters.get(key)
        if parameter is None:
            parameter = self.template.add_parameter(
                Parameter(key, Type=value.type, Description=value.describe(owner))
            )
        return Ref(parameter)

    def var(self, value: Value, owner: str | None = None) -> str:
        """`${Name}` of the parameter carrying `value` (or of the resource a part of this template
        made it from), for use inside Fn::Sub."""
        made = self.param(value, owner)
        if isinstance(made, Ref):
            return "${" + _title(made.data["Ref"]) + "}"
        if isinstance(made, GetAtt):
            resource, attribute = made.data["Fn::GetAtt"]
            return "${" + _title(resource) + "." + attribute + "}"
        raise ValueError(f"{value.name(owner)} is made in this template as {made!r}: no Fn::Sub variable")

    def output(self, value: Value, what: object, owner: str | None = None, local: object = None) -> None:
        """Output `value` as `what`; the parts built after this one use `local` (by default `what`)
        instead of a parameter. A list value's Output is one joined string, so its `local` is the
        list itself (a consumer selects from it)."""
        self.template.add_output(Output(value.name(owner), Value=what, Description=value.describe(owner)))
        self.made(value, what if local is None else local, owner)

    def made(self, value: Value, what: object, owner: str | None = None) -> None:
        """Record that this template makes `value` as `what`, without an Output."""
        key = value.name(owner)
        if key in self.template.parameters:
            raise ValueError(f"{key} was taken as a parameter before a part of this template made it")
        self._local[key] = what

    def name(self, resource: str, service: str | None = None) -> Sub:
        self.param(ENVIRONMENT_SUFFIX)
        return naming.name(self.dep, resource, service)

    def sub(self, text: str) -> Sub:
        """Fn::Sub of `text`, declaring EnvironmentSuffix when the text uses it."""
        if naming.SUFFIX_VAR in text:
            self.param(ENVIRONMENT_SUFFIX)
        return Sub(text)

    def tags(self, resource: str, service: str | None = None, **extra: str) -> Tags:
        self.param(ENVIRONMENT_SUFFIX)
        return naming.tags(self.dep, resource, service, **extra)

    def has_certificate(self) -> str:
        """The HasCertificate condition (the CertificateArn parameter is not empty), declared on first use."""
        if HAS_CERTIFICATE not in self.template.conditions:
            self.template.add_condition(HAS_CERTIFICATE, Not(Equals(self.param(CERTIFICATE_ARN), "")))
        return HAS_CERTIFICATE

    def registry_account(self) -> If:
        """The account of the project's repositories: RegistryAccountId, this account when empty
        (the RegistryInThisAccount condition, declared on first use)."""
        account = self.param(REGISTRY_ACCOUNT_ID)
        if REGISTRY_HERE not in self.template.conditions:
            self.template.add_condition(REGISTRY_HERE, Equals(account, ""))
        return If(REGISTRY_HERE, Ref(AWS_ACCOUNT_ID), account)

    def stateful(self, resource: AWSObject) -> AWSObject:
        """Keep data on stack deletion or replacement where the profile says so (prod, staging).
        RetainExceptOnCreate: kept like Retain, except when the create that made it rolls back,
        so a failed first deploy leaves no named resource to block a retry with the same suffix
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
        UpdateReplacePolicy has no such value: a replaced resource is kept."""
        keep = self.dep.env.retain_data
        resource.DeletionPolicy = RETAIN_EXCEPT_ON_CREATE if keep else "Delete"
        resource.UpdateReplacePolicy = "Retain" if keep else "Delete"
        return self.add(resource)


def _title(resource: object) -> str:
    return resource if isinstance(resource, str) else str(resource.title)  # type: ignore[attr-defined]


def skip_check(resource: AWSObject, check: str, reason: str) -> AWSObject:
    """Tell checkov not to run `check` on `resource`, for `reason` (kept in the template, listed in
    the README). The only way a check may be skipped; tests refuse a skip without a reason."""
    if not reason.strip():
        raise ValueError(f"{resource.title}: skipping {check} needs a reason")
    metadata = getattr(resource, "Metadata", None) or {}
    skips = metadata.setdefault("checkov", {}).setdefault("skip", [])
    skips.append({"id": check, "comment": reason})
    resource.Metadata = metadata
    return resource
