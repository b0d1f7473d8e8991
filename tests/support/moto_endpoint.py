"""A local AWS endpoint for deploy tests: moto's threaded server plus the fixes our stacks need.

Every fix is applied in this process (where the threaded server runs), never in the templates.
See ../shared/notes/local-aws-endpoint.md for what moto gets wrong; each patch below names
the note it answers. `install()` is idempotent.

What the patches make moto do, as CloudFormation does:
- `Fn::GetAtt [Child, Outputs.X]` on a nested stack (moto's Stack has no get_cfn_attribute), also
  inside Fn::Sub, and list parameters handed on to a nested stack joined by commas;
- outputs, parameters and exports of a stack refreshed after execute_change_set;
- per-resource stack events (moto records stack-level events only), so nested stacks can be
  discovered from their parent's events and progress means something;
- failures inside execute_change_set become what AWS reports asynchronously: a *_FAILED event
  on the resource, "Embedded stack ... was not successfully created" on each parent, and the
  stack left in ROLLBACK_COMPLETE (first create) or UPDATE_ROLLBACK_COMPLETE, instead of an
  HTTP error and a half-made stack;
- change sets that see parameter changes and include nested change sets (ChangeSetId) for
  nested stacks that are added or modified;
- CloudFormation models for the types moto skips: SecretsManager::Secret,
  ServiceDiscovery::PrivateDnsNamespace/Service, ApplicationAutoScaling::ScalableTarget/
  ScalingPolicy, CloudWatch::Alarm, EC2::SecurityGroupEgress,
  ECS::ClusterCapacityProviderAssociations, backed by moto's service backends where it has one;
- Fn::Cidr evaluated as CloudFormation documents it (tests/support/intrinsics.py);
- a generated name for an SSM::Parameter without Name, as CloudFormation gives one;
- EC2::SubnetRouteTableAssociation made with AssociateRouteTable, so DescribeRouteTables shows it;
- a JSON template read as JSON, a YAML one with libyaml (moto reads every template with PyYAML's
  pure-Python loader, a tenth of a second for each of ours, most of a deploy test's time);
- a nested stack whose delete fails (dependency on a sibling) is retried instead of forgotten,
  and route tables are deleted with their stack, so the VPC can go too.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random

from tests.support.intrinsics import fn_cidr

_installed = False

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # No profile or config file from the developer's machine may leak in.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


# --- models for resource types moto's CloudFormation skips ------------------------------------


def _props(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    return cloudformation_json.get("Properties") or {}


class _Model:
    """Shared defaults for our models, mixed in before CloudFormationModel.

    moto finds models through CloudFormationModel.__subclasses__(), which lists direct
    subclasses only: every model below names CloudFormationModel itself as a base.
    """

    ATTRS: tuple[str, ...] = ()

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRS

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.ATTRS:
            raise UnformattedGetAttTemplateException()
        return getattr(self, attribute_name.lower())

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls.create(resource_name, _props(cloudformation_json), account_id, region_name)

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        """Make the resource from its (resolved) Properties."""
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        return None

    def is_created(self) -> bool:
        return True


class SecretModel(_Model, CloudFormationModel):
    """AWS::SecretsManager::Secret in moto's Secrets Manager, GenerateSecretString honoured."""

    ATTRS = ("Id",)

    def __init__(self, arn: str, name: str):
        self.physical_resource_id = arn  # Ref returns the ARN
        self.id = arn
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> SecretModel:
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        secret_string = props.get("SecretString")
        generate = props.get("GenerateSecretString")
        if secret_string is None and generate is not None:
            password = backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
                exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
                exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
                exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
                include_space=bool(generate.get("IncludeSpace", False)),
                require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
            )
            password = json.loads(password)["RandomPassword"] if password.startswith("{") else password
            if "SecretStringTemplate" in generate:
                document = json.loads(generate["SecretStringTemplate"])
                document[generate["GenerateStringKey"]] = password
                secret_string = json.dumps(document)
            else:
                secret_string = password
        created = json.loads(
            backend.create_secret(
                name=resource_name,
                secret_string=secret_string,
                secret_binary=None,
                description=props.get("Description"),
                tags=props.get("Tags"),
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return cls(created["ARN"], resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        secretsmanager_backends[account_id][region_name].delete_secret(
            self.id, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class PrivateDnsNamespaceModel(_Model, CloudFormationModel):
    ATTRS = ("Id", "Arn", "HostedZoneId")

    def __init__(self, namespace: Any):
        self.physical_resource_id = self.id = namespace.id
        self.arn = namespace.arn
        self.hostedzoneid = getattr(namespace, "hosted_zone_id", "") or ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ServiceDiscovery::PrivateDnsNamespace"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> PrivateDnsNamespaceModel:
        from moto.servicediscovery.models import servicediscovery_backends

        backend = servicediscovery_backends[account_id][region_name]
        before = set(backend.namespaces)
        backend.create_private_dns_namespace(
            name=props["Name"],
            creator_request_id=mock_random.get_random_hex(8),
            description=props.get("Description", ""),
            vpc=props["Vpc"],
            tags=props.get("Tags") or [],
            properties=props.get("Properties") or {},
        )
        (new_id,) = set(backend.namespaces) - before
        return cls(backend.namespaces[new_id])

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.servicediscovery.models import servicediscovery_backends

        servicediscovery_backends[account_id][region_name].delete_namespace(self.id)


class DiscoveryServiceModel(_Model, CloudFormationModel):
    ATTRS = ("Id", "Arn", "Name")

    def __init__(self, service: Any):
        self.physical_resource_id = self.id = service.id
        self.arn = service.arn
        self.name = service.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ServiceDiscovery::Service"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> DiscoveryServiceModel:
        from moto.servicediscovery.models import servicediscovery_backends

        service = servicediscovery_backends[account_id][region_name].create_service(
            name=props.get("Name", resource_name),
            namespace_id=props.get("NamespaceId") or (props.get("DnsConfig") or {}).get("NamespaceId"),
            creator_request_id=mock_random.get_random_hex(8),
            description=props.get("Description", ""),
            dns_config=props.get("DnsConfig") or {},
            health_check_config=props.get("HealthCheckConfig") or {},
            health_check_custom_config=props.get("HealthCheckCustomConfig") or {},
            tags=props.get("Tags") or [],
            service_type=props.get("Type", "DNS_HTTP"),
        )
        return cls(service)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.servicediscovery.models import servicediscovery_backends

        servicediscovery_backends[account_id][region_name].delete_service(self.id)


class ScalableTargetModel(_Model, CloudFormationModel):
    """Registered in moto's Application Auto Scaling; the ECS service must exist (as on AWS)."""

    def __init__(self, namespace: str, resource_id: str, dimension: str):
        self.namespace, self.resource_id, self.dimension = namespace, resource_id, dimension
        # CloudFormation's Ref: resource id|dimension|namespace
        self.physical_resource_id = f"{resource_id}|{dimension}|{namespace}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ScalableTargetModel:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            namespace=props["ServiceNamespace"],
            r_id=props["ResourceId"],
            dimension=props["ScalableDimension"],
            min_capacity=int(props["MinCapacity"]),
            max_capacity=int(props["MaxCapacity"]),
            role_arn=props.get("RoleARN", ""),
            suspended_state=props.get("SuspendedState"),  # type: ignore[arg-type]
        )
        return cls(props["ServiceNamespace"], props["ResourceId"], props["ScalableDimension"])

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        applicationautoscaling_backends[account_id][region_name].deregister_scalable_target(
            self.namespace, self.resource_id, self.dimension
        )


class ScalingPolicyModel(_Model, CloudFormationModel):
    ATTRS = ("Arn",)

    def __init__(self, policy: Any, props: dict[str, Any]):
        self.physical_resource_id = self.arn = policy.policy_arn
        self.policy_name = policy.policy_name
        self.namespace = props["ServiceNamespace"]
        self.resource_id = props["ResourceId"]
        self.dimension = props["ScalableDimension"]

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ScalingPolicyModel:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        props = dict(props)
        target = props.pop("ScalingTargetId", None)
        if target:  # resource id|dimension|namespace, the target's Ref
            props["ResourceId"], props["ScalableDimension"], props["ServiceNamespace"] = target.split("|")
        body = {
            key: props[key]
            for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")
            if key in props
        }
        policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            policy_name=props.get("PolicyName", resource_name),
            service_namespace=props["ServiceNamespace"],
            resource_id=props["ResourceId"],
            scalable_dimension=props["ScalableDimension"],
            policy_body=body,
            policy_type=props.get("PolicyType"),
        )
        return cls(policy, props)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        applicationautoscaling_backends[account_id][region_name].delete_scaling_policy(
            self.policy_name, self.namespace, self.resource_id, self.dimension
        )


class AlarmModel(_Model, CloudFormationModel):
    ATTRS = ("Arn",)

    def __init__(self, alarm: Any):
        self.physical_resource_id = alarm.name
        self.arn = alarm.alarm_arn
        self.name = alarm.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> AlarmModel:
        from moto.cloudwatch.models import cloudwatch_backends

        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=props.get("AlarmName", resource_name),
            namespace=props.get("Namespace", ""),
            metric_name=props.get("MetricName", ""),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props.get("Period", 60)),
            threshold=float(props.get("Threshold", 0)),
            statistic=props.get("Statistic", "Average"),
            description=props.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions") or []],
            alarm_actions=props.get("AlarmActions") or [],
            ok_actions=props.get("OKActions") or [],
            insufficient_data_actions=props.get("InsufficientDataActions") or [],
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            treat_missing_data=props.get("TreatMissingData"),
            unit=props.get("Unit"),
        )
        return cls(alarm)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


class SecurityGroupEgressModel(_Model, CloudFormationModel):
    """Egress rule added to the group through moto's EC2 backend."""

    def __init__(self, group_id: str, rule: dict[str, Any]):
        self.group_id, self.rule = group_id, rule
        self.physical_resource_id = f"sgr-{mock_random.get_random_hex(17)}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> SecurityGroupEgressModel:
        from moto.ec2.models import ec2_backends

        ip_ranges = [{"CidrIp": props["CidrIp"]}] if "CidrIp" in props else []
        groups = (
            [{"GroupId": props["DestinationSecurityGroupId"]}]
            if "DestinationSecurityGroupId" in props
            else []
        )
        ec2_backends[account_id][region_name].authorize_security_group_egress(
            group_name_or_id=props["GroupId"],
            ip_protocol=str(props["IpProtocol"]),
            from_port=props.get("FromPort"),
            to_port=props.get("ToPort"),
            ip_ranges=ip_ranges,
            source_groups=groups,
        )
        return cls(props["GroupId"], props)


class RouteTableAssociationModel(_Model, CloudFormationModel):
    """Replaces moto's model, which records the association where DescribeRouteTables never looks."""

    def __init__(self, association_id: str):
        self.physical_resource_id = association_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SubnetRouteTableAssociation"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RouteTableAssociationModel:
        from moto.ec2.models import ec2_backends

        association = ec2_backends[account_id][region_name].associate_route_table(
            route_table_id=props["RouteTableId"], subnet_id=props["SubnetId"]
        )
        return cls(association)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.ec2.models import ec2_backends

        ec2_backends[account_id][region_name].disassociate_route_table(self.physical_resource_id)


class CapacityProviderAssociationsModel(_Model, CloudFormationModel):
    """Recorded only: moto's ECS keeps no capacity providers on clusters (see the notes)."""

    def __init__(self, cluster: str):
        self.physical_resource_id = cluster

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::ClusterCapacityProviderAssociations"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> CapacityProviderAssociationsModel:
        return cls(props.get("Cluster", resource_name))


# --- CloudFormation engine fixes -----------------------------------------------------------


class _ResourceFailed(Exception):
    """A resource of a stack failed to create; carries what CloudFormation would record."""

    def __init__(self, logical_id: str, resource_type: str, reason: str, physical_id: str = ""):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason, self.physical_id = (
            logical_id,
            resource_type,
            reason,
            physical_id,
        )


class _StackFailed(Exception):
    def __init__(self, stack: Any, failed: _ResourceFailed):
        super().__init__(failed.reason)
        self.stack, self.failed = stack, failed


def _reason(exc: BaseException) -> str:
    message = (
        getattr(exc, "message", None) or getattr(exc, "description", None) or str(exc) or type(exc).__name__
    )
    return f'Resource handler returned message: "{message}"'


def _event(
    stack: Any, logical_id: str, physical_id: str, resource_type: str, status: str, reason: str = ""
) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason or None,
            resource_properties=None,
        )
    )


def _owning_stack(resources_map: Any, account_id: str, region_name: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account_id][region_name].stacks.get(resources_map.stack_id)


def _physical_id(resource: Any) -> str:
    from moto.cloudformation.models import Stack

    if isinstance(resource, Stack):
        return str(resource.stack_id)
    return str(getattr(resource, "physical_resource_id", "") or "")


def _roll_back_create(stack: Any, failed: _ResourceFailed, backend: Any) -> None:
    """What CloudFormation does after a failed first create: record, delete what was made."""
    _event(stack, failed.logical_id, failed.physical_id, failed.resource_type, "CREATE_FAILED", failed.reason)
    _event(
        stack,
        stack.name,
        stack.stack_id,
        "AWS::CloudFormation::Stack",
        "ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{failed.logical_id}]. Rollback requested by user.",
    )
    _ROLLING_BACK_CREATE.append(True)  # RetainExceptOnCreate resources go too
    try:
        try:
            stack.resource_map.delete()
            status = "ROLLBACK_COMPLETE"
        except Exception:  # noqa: BLE001 - a failed rollback is a state, not a test error
            status = "ROLLBACK_FAILED"
        if failed.physical_id.startswith("arn:") and failed.physical_id in backend.stacks:
            backend.delete_stack(failed.physical_id)  # the failed nested stack goes with the parent
    finally:
        _ROLLING_BACK_CREATE.pop()
    stack.status = status
    _forget_resources(stack)
    _event(stack, stack.name, stack.stack_id, "AWS::CloudFormation::Stack", status)


def _forget_resources(stack: Any) -> None:
    """moto's ResourceMap creates resources lazily when listed: after a delete or a rollback,
    listing the stack's resources would create them all again, and its outputs would fail."""
    from moto.cloudformation.parsing import OutputMap

    stack.resource_map._resource_json_map = {}
    # Nor can its outputs be evaluated any more; CloudFormation shows none for such a stack.
    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)


def _install_engine_fixes() -> None:
    from moto.cloudformation import models, parsing
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    stack_cls = models.Stack

    # Notes: "Fn::GetAtt [Child, Outputs.X] on a nested stack fails with HTTP 500".
    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            output = self.output_map.get(attribute_name[len("Outputs.") :])
            if output is not None:
                return output.value
        raise UnformattedGetAttTemplateException()

    stack_cls.get_cfn_attribute = get_cfn_attribute

    # moto compares a UsePreviousValue parameter with the values the user passed at create, not
    # with the values in effect, so a defaulted parameter kept on update looks changed and every
    # stack that references it is updated. CloudFormation compares effective values.
    original_diff = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other_template: Any, parameters: Any = None) -> Any:
        effective = {k: v for k, v in (parameters or {}).items() if self.resolved_parameters.get(k) != v}
        return original_diff(self, other_template, effective)

    parsing.ResourceMap.build_resource_diff = build_resource_diff

    # moto's Fn::Sub splits "${Child.Outputs.X}" at every dot and asks the child for "Outputs".
    original_clean_json = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        # Notes: "Fn::Cidr ... not evaluated": Fn::Select indexed the unevaluated dict (KeyError).
        if isinstance(resource_json, dict) and list(resource_json) == ["Fn::Cidr"]:
            return fn_cidr(*clean_json(resource_json["Fn::Cidr"], resources_map))
        if isinstance(resource_json, dict) and "Fn::Sub" in resource_json:
            value = resource_json["Fn::Sub"]
            text = value[0] if isinstance(value, list) else value
            if isinstance(text, str) and _NESTED_OUTPUT.search(text):
                text = _NESTED_OUTPUT.sub(
                    lambda m: str(
                        original_clean_json({"Fn::GetAtt": [m[1], f"Outputs.{m[2]}"]}, resources_map)
                    ),
                    text,
                )
                resource_json = {"Fn::Sub": [text, value[1]] if isinstance(value, list) else text}
        return original_clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json

    # A list parameter (CommaDelimitedList, List<...>) passed on to a nested stack reaches it as a
    # Python list, which moto then tries to split(","); CloudFormation passes it joined by commas.
    original_create_stack = stack_cls.create_from_cloudformation_json.__func__

    def create_nested_stack(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        parameters = properties.get("Parameters") or {}
        properties["Parameters"] = {
            key: ",".join(map(str, value)) if isinstance(value, list) else value
            for key, value in parameters.items()
        }
        return original_create_stack(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )

    stack_cls.create_from_cloudformation_json = classmethod(create_nested_stack)

    # Per-resource events, and failures that name their resource.
    original_create = parsing.parse_and_create_resource

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        resource_type = resource_json.get("Type", "")
        stack = _owning_stack(resources_map, account_id, region_name)
        if stack is not None and not resource_json.get("Condition"):
            _event(stack, logical_id, "", resource_type, "CREATE_IN_PROGRESS")
        try:
            resource = original_create(logical_id, resource_json, resources_map, account_id, region_name)
        except _StackFailed as child:
            raise _ResourceFailed(
                logical_id,
                resource_type,
                f"Embedded stack {child.stack.stack_id} was not successfully created: "
                f"The following resource(s) failed to create: [{child.failed.logical_id}].",
                physical_id=child.stack.stack_id,
            ) from child
        except _ResourceFailed:
            raise
        except Exception as exc:
            raise _ResourceFailed(logical_id, resource_type, _reason(exc)) from exc
        if stack is not None and resource is not None:
            _event(stack, logical_id, _physical_id(resource), resource_type, "CREATE_COMPLETE")
        return resource

    parsing.parse_and_create_resource = parse_and_create_resource

    # A nested stack whose create fails rolls itself back and tells its parent.
    original_create_resources = stack_cls.create_resources

    def create_resources(self: Any) -> None:
        try:
            original_create_resources(self)
        except _ResourceFailed as failed:
            _roll_back_create(self, failed, models.cloudformation_backends[self.account_id][self.region_name])
            raise _StackFailed(self, failed) from failed

    stack_cls.create_resources = create_resources

    original_delete = stack_cls.delete

    def delete(self: Any) -> None:
        original_delete(self)
        _forget_resources(self)

    stack_cls.delete = delete

    # A parent deletes its nested stacks in no particular order and retries the ones that fail
    # (the network stack's VPC while the security stack's groups still exist). moto pops a stack
    # before deleting its resources, so the retry found nothing and the VPC was left behind.
    original_delete_stack = models.CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        before = dict(self.stacks)
        try:
            original_delete_stack(self, name_or_stack_id)
        except Exception:
            for stack_id, stack in before.items():
                if stack_id not in self.stacks and stack_id not in self.deleted_stacks:
                    self.stacks[stack_id] = stack
            raise

    models.CloudFormationBackend.delete_stack = delete_stack

    # moto's RouteTable has no CloudFormation delete: the tables outlived their stack and the
    # VPC could never be deleted ("has dependencies").
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.route_tables import RouteTable

    def delete_route_table(self: Any, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_route_table(self.id)

    RouteTable.delete = delete_route_table

    # Notes: "After execute_change_set, the stack's Outputs stay empty"; plus asynchronous failures.
    original_execute = models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        try:
            original_execute(self, change_set_name, stack_name)
        except (_ResourceFailed, _StackFailed) as exc:
            failed = exc.failed if isinstance(exc, _StackFailed) else exc
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type == "CREATE":
                _roll_back_create(stack, failed, self)
            else:
                _event(
                    stack,
                    failed.logical_id,
                    failed.physical_id,
                    failed.resource_type,
                    "UPDATE_FAILED",
                    failed.reason,
                )
                for status in ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"):
                    _event(stack, stack.name, stack.stack_id, "AWS::CloudFormation::Stack", status)
                stack.status = "UPDATE_ROLLBACK_COMPLETE"
            return
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = dict(change_set.parameters)
        stack.output_map = stack._create_output_map()
        # create_stack registers a stack's exports, execute_change_set does not: deleting the
        # stack then fails on the missing export (KeyError, HTTP 500).
        for export in stack.exports:
            self.exports[export.name] = export

    models.CloudFormationBackend.execute_change_set = execute_change_set

    # Change sets that see parameter changes and describe nested stacks' changes.
    models.ChangeSet.diff = _diff
    parsing.get_references_from_template = _references


_NESTED_OUTPUT = re.compile(r"\$\{([A-Za-z0-9]+)\.Outputs\.([A-Za-z0-9]+)\}")
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _references(template: Any) -> list[str]:
    """Names a resource refers to: moto sees `Ref` only, `Fn::Sub` "${Name}" counts as well
    (without it, changing a parameter used through Fn::Sub changes nothing on update)."""
    found: list[str] = []
    if isinstance(template, dict):
        for key, value in template.items():
            if key == "Ref":
                found.append(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.extend(name for name in _SUB_VARIABLE.findall(str(text)) if "." not in name)
                if isinstance(value, list):
                    found.extend(_references(value[1]))
            else:
                found.extend(_references(value))
    elif isinstance(template, list):
        for item in template:
            found.extend(_references(item))
    return found


def _template_of(url: str, account_id: str, region_name: str) -> str:
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.utilities.utils import get_partition

    return get_stack_from_s3_url(url, account_id=account_id, partition=get_partition(region_name))


def _child_parameters(
    resources_map: Any, parameters_json: dict[str, Any], overlay: dict[str, Any]
) -> dict[str, Any]:
    """The parameters a nested stack would get, with the parent's new parameter values."""
    from moto.cloudformation.parsing import clean_json

    saved = dict(resources_map._parsed_resources)
    resources_map._parsed_resources.update(overlay)
    try:
        return {key: clean_json(value, resources_map) for key, value in (parameters_json or {}).items()}
    finally:
        resources_map._parsed_resources.clear()
        resources_map._parsed_resources.update(saved)


def _diff(self: Any) -> list[Any]:
    """moto's ChangeSet.diff, plus parameter-driven modifications and nested change sets."""
    from moto.cloudformation.models import ChangeSet, Stack, cloudformation_backends
    from moto.cloudformation.parsing import ResourceMap
    from moto.cloudformation.utils import generate_changeset_id

    stack = self.stack
    resource_map: ResourceMap = stack.resource_map
    new_resources = self.template_dict.get("Resources") or {}
    if stack.template_dict:
        declared = self.template_dict.get("Parameters") or {}
        parameters = {k: v for k, v in self.parameters.items() if k in declared}
        actions = resource_map.build_resource_diff(self.template_dict, parameters)
    else:
        actions = {"Add": list(new_resources), "Modify": [], "Remove": []}
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    changes = []
    for action in ("Add", "Modify", "Remove"):
        for logical_id in dict.fromkeys(actions[action]):
            source = new_resources if action != "Remove" else resource_map._resource_json_map
            resource_json = source[logical_id]
            change = _Change(action, logical_id, resource_json["Type"])
            existing = resource_map._parsed_resources.get(logical_id)
            if existing is not None and action != "Add":
                change.physical_resource_id = _physical_id(existing)
            if action == "Modify":
                change.replacement = "False"
            if resource_json["Type"] == "AWS::CloudFormation::Stack" and action != "Remove":
                props = resource_json.get("Properties") or {}
                body = _template_of(props["TemplateURL"], stack.account_id, stack.region_name)
                if action == "Add":
                    child = Stack(
                        stack_id=f"{stack.stack_id}-{logical_id}-preview",
                        name=f"{stack.name}-{logical_id}",
                        template={},
                        parameters={},
                        account_id=stack.account_id,
                        region_name=stack.region_name,
                    )
                    child_parameters: dict[str, Any] = {}
                else:
                    child = existing
                    child_parameters = _child_parameters(
                        resource_map, props.get("Parameters") or {}, self.parameters
                    )
                nested = ChangeSet(
                    change_set_type="CREATE" if action == "Add" else "UPDATE",
                    change_set_id=generate_changeset_id(
                        f"{self.change_set_name}-{logical_id}", stack.region_name, stack.account_id
                    ),
                    change_set_name=f"{self.change_set_name}-{logical_id}",
                    stack=child,
                    template=body,
                    parameters=child_parameters,
                    description=f"Nested change set of {self.change_set_name}",
                )
                nested.status, nested.execution_status = "CREATE_COMPLETE", "AVAILABLE"
                backend.change_sets[nested.change_set_id] = nested
                change.change_set_id = nested.change_set_id
            changes.append(change)
    return changes


class _Change:
    """moto's Change with the ResourceChange fields AWS also returns."""

    def __init__(self, action: str, logical_resource_id: str, resource_type: str):
        self.action = action
        self.logical_resource_id = logical_resource_id
        self.resource_type = resource_type
        self.physical_resource_id: str | None = None
        self.replacement: str | None = None
        self.change_set_id: str | None = None


def _install_kms_fix() -> None:
    """moto's KMS Key model hands CloudFormation's Key/Value tags to a backend that wants
    TagKey/TagValue ('TagKey' error), and keeps a dict KeyPolicy that later breaks describe_key."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        props = dict(cloudformation_json.get("Properties", {}))
        props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        fixed = {**cloudformation_json, "Properties": props}
        return original(cls, resource_name, fixed, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def _install_target_group_attributes() -> None:
    """moto's target group model answers no Fn::GetAtt (the alarms and request-count scaling
    need TargetGroupFullName)."""
    from moto.elbv2.models import FakeTargetGroup

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "TargetGroupFullName":  # targetgroup/<name>/<id>, the ARN's resource
            return self.arn.split(":")[-1]
        if attribute_name == "TargetGroupName":
            return self.name
        if attribute_name == "TargetGroupArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    FakeTargetGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]
    FakeTargetGroup.has_cfn_attr = classmethod(  # type: ignore[attr-defined]
        lambda cls, attr: attr in {"TargetGroupFullName", "TargetGroupName", "TargetGroupArn"}
    )


_ROLLING_BACK_CREATE: list[bool] = []  # non-empty while a failed first create is rolled back


def _install_aws_refusals() -> None:
    """What AWS refuses and moto allows (notes: "What a green local deploy cannot tell you"):
    a bucket that holds objects, versions or delete markers cannot be deleted (BucketNotEmpty);
    a load balancer with deletion protection cannot be deleted (OperationNotPermitted); and
    DeletionPolicy RetainExceptOnCreate keeps a resource except when the create that made it
    rolls back (moto only knows Retain)."""
    from moto.cloudformation import parsing
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend
    from moto.s3.exceptions import BucketNotEmpty
    from moto.s3.models import FakeBucket, get_partition, s3_backends

    def delete_bucket(cls: Any, resource_name: str, _json: Any, account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        if backend.get_bucket(resource_name).keys:
            raise BucketNotEmpty(resource_name)
        backend.delete_bucket(resource_name)

    FakeBucket.delete_from_cloudformation_json = classmethod(delete_bucket)  # type: ignore[assignment]
    original_delete_load_balancer = ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self: Any, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
            raise ELBClientError(
                "OperationNotPermitted",
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled",
            )
        original_delete_load_balancer(self, arn)

    ELBv2Backend.delete_load_balancer = delete_load_balancer  # type: ignore[method-assign]
    original_delete = parsing.ResourceMap.delete

    def delete(self: Any) -> None:
        kept = "Delete" if _ROLLING_BACK_CREATE else "Retain"
        changed = [
            resource
            for resource in self._resource_json_map.values()
            if resource.get("DeletionPolicy") == "RetainExceptOnCreate"
        ]
        for resource in changed:
            resource["DeletionPolicy"] = kept
        try:
            original_delete(self)
        finally:
            for resource in changed:
                resource["DeletionPolicy"] = "RetainExceptOnCreate"

    parsing.ResourceMap.delete = delete  # type: ignore[method-assign]


# EC2-VPC Elastic IPs, default 5 per region:
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html
EC2_ELASTIC_IP_QUOTA = {
    "ServiceCode": "ec2",
    "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
    "QuotaArn": "arn:aws:servicequotas:us-east-1::ec2/L-0263D0A3",
    "QuotaCode": "L-0263D0A3",
    "QuotaName": "EC2-VPC Elastic IPs",
    "Value": 5.0,
    "Unit": "None",
    "Adjustable": True,
    "GlobalQuota": False,
}


def _install_ec2_quotas() -> None:
    """moto's Service Quotas knows only `vpc` codes; preflight also reads EC2's Elastic IP quota."""
    from moto.servicequotas.models import ServiceQuotasBackend

    original = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if (service_code, quota_code) == ("ec2", EC2_ELASTIC_IP_QUOTA["QuotaCode"]):
            return EC2_ELASTIC_IP_QUOTA
        return original(self, service_code, quota_code)

    ServiceQuotasBackend.get_service_quota = get_service_quota  # type: ignore[method-assign]


def _install_ecs_service_linked_role_name() -> None:
    """moto names ECS's service-linked role AWSServiceRoleForecs; AWS names it AWSServiceRoleForECS.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html"""
    from moto.iam import models

    models.SERVICE_NAME_CONVERSION.setdefault("ecs", "ECS")


def _install_ssm_parameter_names() -> None:
    """An AWS::SSM::Parameter without Name gets one generated by CloudFormation (Ref returns it:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ssm-parameter.html);
    moto passes the missing Name on to PutParameter and fails: use the physical name moto made.
    Its Tags are a map (Key: Value) in CloudFormation, a list of Key/Value pairs in PutParameter."""
    from moto.ssm.models import Parameter

    original = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        properties.setdefault("Name", resource_name)
        if isinstance(properties.get("Tags"), dict):
            properties["Tags"] = [{"Key": k, "Value": v} for k, v in properties["Tags"].items()]
        cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kw)

    Parameter.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def _install_template_parsing() -> None:
    """moto reads every template body with PyYAML's pure-Python loader, JSON ones too: most of a
    deploy test's time on the server. CloudFormation reads a JSON template as JSON: a body that
    parses as JSON is read so; YAML goes through the same loader classes built on libyaml
    (PyYAML's CLoader: the same constructor and resolver, moto's tag constructor registered on
    it too), when PyYAML has it."""
    import types

    import yaml
    from moto.cloudformation import models, responses

    fast = getattr(yaml, "CLoader", yaml.Loader)

    def load(stream: Any, Loader: Any) -> Any:  # noqa: N803 (yaml.load's own keyword)
        if isinstance(stream, str | bytes) and stream.lstrip()[:1] in ("{", b"{"):
            try:
                return json.loads(stream)
            except ValueError:
                pass  # YAML in flow style
        return yaml.load(stream, Loader=fast if Loader is yaml.Loader else Loader)

    def add_multi_constructor(prefix: str, constructor: Any) -> None:
        yaml.add_multi_constructor(prefix, constructor)
        yaml.add_multi_constructor(prefix, constructor, Loader=fast)

    shim = types.SimpleNamespace(load=load, Loader=yaml.Loader, add_multi_constructor=add_multi_constructor)
    models.yaml = responses.yaml = shim  # type: ignore[attr-defined]


def share_botocore_data() -> None:
    """One botocore loader for every session of this process: each new session otherwise reads
    the service models and endpoint rules (megabytes of JSON shipped with botocore, the same
    all run long) again, about half a second of CPU per test that makes clients."""
    import functools

    from botocore import loaders, session

    if getattr(session.create_loader, "__wrapped__", None) is not loaders.create_loader:
        session.create_loader = functools.cache(loaders.create_loader)


def install() -> None:
    """Register the models and the engine fixes in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing

    _install_engine_fixes()
    _install_aws_refusals()
    _install_kms_fix()
    _install_target_group_attributes()
    _install_ec2_quotas()
    _install_ecs_service_linked_role_name()
    _install_ssm_parameter_names()
    _install_template_parsing()
    # moto caches its type -> model map; our subclasses must be in it, and where moto has a model
    # of its own for the same type (SubnetRouteTableAssociation), ours must win.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    model_map = parsing.get_model_map()
    for model in _Model.__subclasses__():
        model_map[model.cloudformation_type()] = model  # type: ignore[attr-defined]
    _installed = True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on 127.0.0.1 (a free port) with the fixes installed; yield the endpoint URL.

    The URL says localhost, not 127.0.0.1: moto reads "127" of a path-style
    http://127.0.0.1:PORT/BUCKET/KEY TemplateURL as the bucket name (see the notes).
    """
    from moto.server import ThreadedMotoServer

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.stop()


@contextmanager
def dummy_credentials() -> Iterator[None]:
    """Fake keys and a fixed region in the environment, restored afterwards."""
    saved = {key: os.environ.get(key) for key in (*DUMMY_ENV, "AWS_PROFILE", "AWS_ENDPOINT_URL")}
    os.environ.update(DUMMY_ENV)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def reset_backends() -> None:
    """Forget every resource the endpoint holds (between tests)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
