"""The contract between stacks (tap_cfn/contract.py): every output and child parameter is a value the
table declares once, with its owner and scope."""

from __future__ import annotations

import pytest

from tap_cfn import contract
from tests.conftest import Built


def test_every_output_is_a_declared_value_made_by_its_owner_stack(env_built: Built) -> None:
    for stem, template in env_built.children.items():
        kind = "service" if stem.startswith("service-") else stem
        for key in template.get("Outputs", {}):
            value = contract.value_of(key)
            assert value is not None, f"{stem}: output {key} is not declared in tap_cfn/contract.py"
            assert value.owner == kind, (stem, key, value.owner)
            owner = key.removesuffix(value.key)
            assert (owner != "") == (value.scope is not contract.Scope.PLATFORM), key


def test_every_child_parameter_is_a_declared_value(env_built: Built) -> None:
    for stem, template in env_built.children.items():
        for key in template.get("Parameters", {}):
            assert contract.value_of(key) is not None, f"{stem}: parameter {key}"


def test_the_contract_declares_each_key_once_with_owner_and_scope() -> None:
    keys = [v.key for v in contract.VALUES]
    assert len(keys) == len(set(keys))
    assert contract.KMS_KEY_ARN.owner == "data" and contract.KMS_KEY_ARN.scope is contract.Scope.PLATFORM
    assert contract.IMAGE_TAG.scope is contract.Scope.SERVICE and contract.IMAGE_TAG.owner == "root"
    assert contract.SECRET_ARN.scope is contract.Scope.SECRET
    with pytest.raises(ValueError, match="declared twice"):
        contract._declare("KmsKeyArn", "String", "data", "again")


def test_public_and_owned_come_from_the_table_not_the_descriptions() -> None:
    assert contract.is_public("VpcId") and not contract.is_owned("VpcId")
    assert contract.is_public("ApiGatewayServiceName") and contract.is_owned("ApiGatewayServiceName")
    assert not contract.is_public("AlbSecurityGroupId") and not contract.is_owned("AlbSecurityGroupId")
    assert contract.value_of("FrontendSecurityGroupId") is contract.SERVICE_SECURITY_GROUP_ID
    assert contract.value_of("NotAValue") is None
