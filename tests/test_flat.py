"""The flat template (tap_cfn/flat.py): the same resources and properties as the nested stacks.

The expected side is computed here, from the nested templates alone: a small evaluator turns both
forms into concrete values (root parameters given, each resource's Ref and GetAtt a token naming
the resource by its path of nested stacks) and the two results must be equal."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tap_cfn import config as cfg
from tap_cfn import flat
from tap_cfn.render import render
from tests.support.intrinsics import fn_cidr

NO_VALUE = object()
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "111122223333",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "tap-demo",
    "AWS::StackId": "stack-id",
    "AWS::NoValue": NO_VALUE,
}
CASES = [  # root parameter values; the conditions take both branches
    {"EnvironmentSuffix": "demo", "CertificateArn": "", "AlarmEmail": ""},
    {
        "EnvironmentSuffix": "demo",
        "CertificateArn": "arn:aws:acm:eu-west-1:111122223333:certificate/x",
        "AlarmEmail": "ops@example.com",
    },
]


class Evaluator:
    """Concrete values of one template: `params` given, resources named by `ident`."""

    def __init__(self, templates: dict[str, Any], stem: str, params: dict[str, Any], ident: Any) -> None:
        self.templates, self.template, self.params, self.ident = templates, templates[stem], params, ident
        self.conditions: dict[str, bool] = {}
        for name in self.template.get("Conditions", {}):
            self.condition(name)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self.conditions[name]

    def child(self, name: str) -> Evaluator:
        resource = self.template["Resources"][name]
        stem = resource["Properties"]["TemplateURL"].rsplit(".", 1)[0]
        fed = {k: self.value(v) for k, v in resource["Properties"]["Parameters"].items()}
        spec = self.templates[stem].get("Parameters", {})
        lists = {k for k, v in spec.items() if v["Type"].startswith(("List<", "CommaDelimitedList"))}
        params = {k: v.split(",") if k in lists else v for k, v in fed.items()}
        return Evaluator(self.templates, stem, params, lambda n: self.ident((name, n)))

    def ref(self, name: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        return f"ref:{self.ident(name)}"

    def get_att(self, name: str, attribute: str) -> Any:
        if attribute.startswith("Outputs."):
            return self.child(name).value(self.child(name).template["Outputs"][attribute[8:]]["Value"])
        return f"att:{self.ident(name)}.{attribute}"

    def sub(self, text: str, local: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(self.value(local[name]))
            return str(self.get_att(*name.split(".", 1)) if "." in name else self.ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", one, text)

    def value(self, v: Any) -> Any:  # noqa: PLR0911 - one branch per intrinsic function
        if isinstance(v, list):
            return [x for x in (self.value(i) for i in v) if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            ((key, arg),) = v.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*(arg.split(".", 1) if isinstance(arg, str) else arg))
            if key == "Fn::Sub":
                return self.sub(arg, {}) if isinstance(arg, str) else self.sub(arg[0], arg[1])
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::Split":
                return self.value(arg[1]).split(arg[0])
            if key == "Fn::GetAZs":
                return ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
            if key == "Fn::Cidr":
                return fn_cidr(*self.value(arg))
        out = {k: self.value(i) for k, i in v.items()}
        return {k: i for k, i in out.items() if i is not NO_VALUE}

    def resources(self) -> dict[str, Any]:
        """Canonical name -> the resource's type, properties and attributes, evaluated."""
        found: dict[str, Any] = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            if resource["Type"] == "AWS::CloudFormation::Stack":
                # a stack's DependsOn: each of its resources waits for all of those it names
                waits: set[str] = set()
                depends = resource.get("DependsOn", [])
                for other in [depends] if isinstance(depends, str) else depends:
                    if self.template["Resources"][other]["Type"] == "AWS::CloudFormation::Stack":
                        waits |= set(self.child(other).resources())
                    else:
                        waits.add(self.ident(other))
                for ident, body in self.child(name).resources().items():
                    found[ident] = {**body, "DependsOn": sorted({*body["DependsOn"], *waits})}
                continue
            body = {k: self.value(v) for k, v in resource.items() if k not in {"Condition", "DependsOn"}}
            depends = resource.get("DependsOn", [])
            body["DependsOn"] = sorted(
                self.ident(d) for d in ([depends] if isinstance(depends, str) else depends)
            )
            found[self.ident(name)] = body
        return found

    def outputs(self) -> dict[str, Any]:
        return {k: self.value(o["Value"]) for k, o in self.template.get("Outputs", {}).items()}


def canonical(path: Any) -> str:
    """('FrontendServiceStack', ('Service')) nested tuples -> 'FrontendServiceStack/Service'."""
    return "/".join(canonical(p) for p in path) if isinstance(path, tuple) else path


def expected_flat_names(templates: dict[str, Any]) -> dict[str, str]:
    """The naming rule, restated: a leaf name declared once is kept; a name declared by several
    stacks becomes the path of stack logical IDs (without 'Stack') followed by the name."""
    leaves: list[tuple[tuple[str, ...], str]] = []

    def walk(stem: str, path: tuple[str, ...]) -> None:
        for name, resource in templates[stem]["Resources"].items():
            if resource["Type"] == "AWS::CloudFormation::Stack":
                walk(resource["Properties"]["TemplateURL"].rsplit(".", 1)[0], (*path, name))
            else:
                leaves.append((path, name))

    walk("root", ())
    counts = Counter(name for _path, name in leaves)
    return {
        (name if counts[name] == 1 else "".join(p.removesuffix("Stack") for p in path) + name): "/".join(
            (*path, name)
        )
        for path, name in leaves
    }


GATEWAY_ATTACHMENT = "NetworkStack/InternetGatewayAttachment"


# dev and prod: three zones, a default route per private route table (to the NAT gateways)
WAY_OUT = [
    *(f"NetworkStack/PrivateDefaultRoute{az}" for az in (1, 2, 3)),
    *(f"NetworkStack/PrivateSubnet{az}RouteTableAssociation" for az in (1, 2, 3)),
    "NetworkStack/PublicDefaultRoute",
    *(f"NetworkStack/PublicSubnet{az}RouteTableAssociation" for az in (1, 2, 3)),
]


@pytest.fixture(scope="module", params=["dev", "prod"])
def forms(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    dep = cfg.Deployment(cfg.load(None), request.param)
    return flat.source_templates(dep), flat.build(dep)


@pytest.mark.parametrize("case", CASES, ids=["http", "https-email"])
def test_flat_declares_the_nested_resources_with_the_same_properties(
    forms: tuple[dict[str, Any], dict[str, Any]], case: dict[str, str]
) -> None:
    # GIVEN the nested templates of an environment and the flat template made from them
    nested, folded = forms
    params = {**{k: v.get("Default", "") for k, v in nested["root"]["Parameters"].items()}, **case}
    names = expected_flat_names(nested)
    # WHEN both are evaluated with the same root parameters
    want = Evaluator(nested, "root", params, canonical)
    got = Evaluator({"flat": folded}, "flat", params, lambda n: names[n] if isinstance(n, str) else n)
    # THEN they declare the same resources, properties and outputs; in both, the Elastic IPs and the
    # internet-facing ALB wait for the gateway attachment of the same template; flat, each service
    # behind the load balancer also waits for the listener or rule of its target group, the HTTPS
    # listener only when there is one, and every service for the way out of the subnets (routes,
    # their associations); nested, its stack waits for the whole network stack
    flat_resources, nested_resources = got.resources(), want.resources()
    for ident, body in flat_resources.items():
        if body["Type"] in ("AWS::EC2::EIP", "AWS::ElasticLoadBalancingV2::LoadBalancer"):
            assert GATEWAY_ATTACHMENT in body["DependsOn"]
            assert GATEWAY_ATTACHMENT in nested_resources[ident]["DependsOn"]
    https = "ref:NetworkStack/HttpsListener" if case["CertificateArn"] else ""
    listeners = {
        "ApiGatewayServiceStack/Service": ("NetworkStack/ApiGatewayListenerRule", None),
        "FrontendServiceStack/Service": ("NetworkStack/HttpListener", [https]),
    }
    for ident, (listener, optional) in listeners.items():
        body = flat_resources[ident]
        body["DependsOn"].remove(listener)
        assert listener not in nested_resources[ident]["DependsOn"]
        assert body.get("Metadata", {}).pop(flat.WAITS_FOR, None) == optional
        if body.get("Metadata") == {}:
            del body["Metadata"]
    for ident in (
        "ApiGatewayServiceStack/Service",
        "FrontendServiceStack/Service",
        "ProcessingServiceStack/Service",
    ):
        body = flat_resources[ident]
        assert body["DependsOn"][-len(WAY_OUT) :] == WAY_OUT
        del body["DependsOn"][-len(WAY_OUT) :]
    assert flat_resources == nested_resources
    assert got.outputs() == want.outputs()
    assert folded["Parameters"] == nested["root"]["Parameters"]


def test_a_name_two_stacks_declare_is_prefixed_and_a_unique_one_is_kept(
    forms: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _nested, folded = forms
    assert "FrontendServiceTaskDefinition" in folded["Resources"]
    assert "TaskDefinition" not in folded["Resources"]
    assert "Vpc" in folded["Resources"]
    assert not any(r["Type"] == "AWS::CloudFormation::Stack" for r in folded["Resources"].values())


def test_identical_conditions_of_several_stacks_merge_into_one(
    forms: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    nested, folded = forms
    declared = [name for t in nested.values() for name in t.get("Conditions", {})]
    assert declared.count("RegistryInThisAccount") > 1  # the premise: several stacks declare it
    assert sorted(folded["Conditions"]) == sorted(set(declared))


def test_conditions_with_different_bodies_are_renamed() -> None:
    child = {
        "Parameters": {"Size": {"Type": "String"}},
        "Conditions": {"IsBig": {"Fn::Equals": [{"Ref": "Size"}, "big"]}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Condition": "IsBig"}},
    }
    root = {
        "Parameters": {"Size": {"Type": "String"}},
        "Conditions": {"IsBig": {"Fn::Equals": [{"Ref": "Size"}, "huge"]}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Condition": "IsBig"},
            "ChildStack": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "child.json", "Parameters": {"Size": {"Ref": "Size"}}},
            },
        },
    }
    folded = flat.flatten({"root": root, "child": child})
    assert folded["Resources"]["Topic"]["Condition"] == "ChildIsBig"
    assert folded["Conditions"]["ChildIsBig"] == {"Fn::Equals": [{"Ref": "Size"}, "big"]}
    assert folded["Resources"]["Queue"]["Condition"] == "IsBig"


def test_a_sibling_output_inside_a_sub_becomes_the_producing_attribute() -> None:
    producer = {
        "Resources": {"Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"}},
        "Outputs": {"Dns": {"Value": {"Fn::GetAtt": ["Lb", "DNSName"]}}},
    }
    root = {
        "Resources": {
            "LbStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "lb.json"}},
        },
        "Outputs": {"Url": {"Value": {"Fn::Sub": "http://${LbStack.Outputs.Dns}/"}}},
    }
    folded = flat.flatten({"root": root, "lb": producer})
    assert folded["Outputs"]["Url"]["Value"] == {"Fn::Sub": "http://${Lb.DNSName}/"}


def test_a_platform_over_the_resource_quota_is_refused_in_one_line() -> None:
    many = {"Resources": {f"Topic{i}": {"Type": "AWS::SNS::Topic"} for i in range(flat.MAX_RESOURCES + 1)}}
    with pytest.raises(flat.FlatError, match=r"501 resources \(quota 500\)"):
        flat.check_quotas(many, "big/flat")


def test_templates_flat_exits_2_when_the_platform_does_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """30 services (about 580 resources in prod) do not fit one template; nothing is written."""
    import yaml

    from tap_cfn.cli import main
    from tests.platforms import platform

    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump(platform(30)), encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(["templates", "--flat", "--env", "prod", "--config", str(config), "--out", str(out), "-q"]) == 2
    )
    assert not (out / "prod").exists()
    (line,) = capsys.readouterr().err.splitlines()
    assert re.search(r"prod/flat: one template would hold \d+ resources \(quota 500\)", line)


def test_flat_templates_pass_the_lint_gate(tmp_path: Path) -> None:
    """dev as JSON and prod as YAML: both formats, both profiles, half the cfn-lint time."""
    from tap_cfn.lint import lint

    paths = []
    for env, fmt in (("dev", "json"), ("prod", "yaml")):
        template = flat.build(cfg.Deployment(cfg.load(None), env))
        path = tmp_path / env / f"flat.{fmt}"
        path.parent.mkdir()
        path.write_text(render(template, fmt), encoding="utf-8")
        paths.append(path)
    assert lint(paths) == []


def test_the_flat_template_takes_the_vpc_range_as_its_own_parameter_and_cuts_the_same_subnets() -> None:
    from tests.support.intrinsics import evaluate

    template = flat.build(cfg.Deployment(cfg.load(None), "prod"))
    assert template["Parameters"]["VpcCidr"]["Default"] == "10.0.0.0/16"
    assert template["Resources"]["Vpc"]["Properties"]["CidrBlock"] == {"Ref": "VpcCidr"}
    subnets = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::Subnet"}
    # the range one StackSet region overrides it with, its subnets worked out by hand
    assert {
        k: evaluate(r["Properties"]["CidrBlock"], {"VpcCidr": "10.2.0.0/16"}) for k, r in subnets.items()
    } == {
        "PublicSubnet1": "10.2.0.0/24",
        "PublicSubnet2": "10.2.1.0/24",
        "PublicSubnet3": "10.2.2.0/24",
        "PrivateSubnet1": "10.2.128.0/24",
        "PrivateSubnet2": "10.2.129.0/24",
        "PrivateSubnet3": "10.2.130.0/24",
    }


def test_a_service_waits_for_every_listener_and_rule_forwarding_to_its_target_groups() -> None:
    # GIVEN a blue/green service registered in two target groups, a rule weighting both, a plain
    # listener forwarding to the first and an HTTPS listener that exists only with a certificate
    lb = "AWS::ElasticLoadBalancingV2::"
    forward = {"Type": "forward", "TargetGroupArn": {"Ref": "Blue"}}
    weighted = {
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": {"Ref": "Blue"}, "Weight": 100},
                {"TargetGroupArn": {"Ref": "Green"}, "Weight": 0},
            ]
        }
    }
    templates = {
        "root": {
            "Conditions": {"HasCertificate": {"Fn::Equals": ["a", "b"]}},
            "Resources": {
                "Blue": {"Type": f"{lb}TargetGroup", "Properties": {}},
                "Green": {"Type": f"{lb}TargetGroup", "Properties": {}},
                "Other": {"Type": f"{lb}TargetGroup", "Properties": {}},
                "Http": {"Type": f"{lb}Listener", "Properties": {"DefaultActions": [forward]}},
                "Https": {
                    "Type": f"{lb}Listener",
                    "Condition": "HasCertificate",
                    "Properties": {"DefaultActions": [forward]},
                },
                "Rule": {
                    "Type": f"{lb}ListenerRule",
                    "Properties": {"Actions": [{"Type": "forward", **weighted}]},
                },
                "OtherRule": {
                    "Type": f"{lb}ListenerRule",
                    "Properties": {"Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Other"}}]},
                },
                "Service": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "LoadBalancers": [
                            {
                                "TargetGroupArn": {"Ref": "Green"},
                                "AdvancedConfiguration": {"AlternateTargetGroupArn": {"Ref": "Blue"}},
                            }
                        ]
                    },
                },
            },
        }
    }
    # WHEN folded
    service = flat.flatten(templates)["Resources"]["Service"]
    # THEN it waits for the plain listener and the rule, and for the HTTPS one only when it exists
    assert service["DependsOn"] == ["Http", "Rule"]
    assert service["Metadata"] == {flat.WAITS_FOR: [{"Fn::If": ["HasCertificate", {"Ref": "Https"}, ""]}]}


def test_a_service_waits_for_the_way_out_of_the_subnets_and_not_for_other_resources() -> None:
    # GIVEN a service, a NAT route and the public route with their associations, two VPC
    # endpoints (one only under a condition) and resources that are no way out
    ec2 = "AWS::EC2::"
    templates = {
        "root": {
            "Conditions": {"WithLogs": {"Fn::Equals": ["a", "b"]}},
            "Resources": {
                "Nat": {"Type": f"{ec2}NatGateway", "Properties": {}},
                "PrivateRoute": {"Type": f"{ec2}Route", "Properties": {"NatGatewayId": {"Ref": "Nat"}}},
                "PublicRoute": {"Type": f"{ec2}Route", "Properties": {}},
                "PrivateAssociation": {"Type": f"{ec2}SubnetRouteTableAssociation", "Properties": {}},
                "EcrEndpoint": {"Type": f"{ec2}VPCEndpoint", "Properties": {}},
                "LogsEndpoint": {"Type": f"{ec2}VPCEndpoint", "Condition": "WithLogs", "Properties": {}},
                "Subnet": {"Type": f"{ec2}Subnet", "Properties": {}},
                "Group": {"Type": f"{ec2}SecurityGroup", "Properties": {}},
                "Service": {"Type": "AWS::ECS::Service", "Properties": {"Subnets": [{"Ref": "Subnet"}]}},
            },
        }
    }
    # WHEN folded
    service = flat.flatten(templates)["Resources"]["Service"]
    # THEN it waits for the routes, the association and the endpoints, the conditional one when it exists
    assert service["DependsOn"] == ["EcrEndpoint", "PrivateAssociation", "PrivateRoute", "PublicRoute"]
    assert service["Metadata"] == {flat.WAITS_FOR: [{"Fn::If": ["WithLogs", {"Ref": "LogsEndpoint"}, ""]}]}
