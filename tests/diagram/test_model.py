"""The diagram model (tap_cfn/diagram/model.py) is drawn from the rendered templates: its nodes and
edges are what the templates say (checked against the requirement, not against the drawing code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tap_cfn import config as cfg
from tap_cfn.diagram import dot, mermaid, model
from tap_cfn.diagram.model import ALLOWS, REQUEST, ROUTE, USES
from tests.diagram.conftest import REPO, write_templates


def test_request_paths_run_internet_alb_target_groups_services(dev: model.Graph) -> None:
    assert dev.named_edges(REQUEST) == {
        # both branches of the HTTPS option, each labelled with when it holds: the 443 listener
        # and the redirect on 80 exist only with a certificate; without one, 80 forwards
        (
            "internet",
            "tap-alb",
            "HTTP :80 (if CertificateArn: redirect to HTTPS :443), HTTPS :443 (if CertificateArn)",
        ),
        ("tap-alb", "tap-tg-frontend", "default"),
        ("tap-alb", "tap-tg-api-gateway", "/api/*"),
        ("tap-tg-frontend", "frontend", ":3000"),
        ("tap-tg-api-gateway", "api-gateway", ":8080"),
    }


def test_security_group_edges_say_who_may_call_whom_on_which_port(dev: model.Graph) -> None:
    assert dev.named_edges(ALLOWS) == {
        # network.json's AlbIngressHttps has Condition HasCertificate: 443 is open only with one
        ("internet", "tap-alb", "tcp 80, tcp 443 (if CertificateArn)"),
        ("tap-alb", "frontend", "tcp 3000"),
        ("tap-alb", "api-gateway", "tcp 8080"),
        ("api-gateway", "processing", "tcp 9000"),
    }


def test_services_use_their_images_secrets_cluster_and_cloud_map(dev: model.Graph) -> None:
    uses = dev.named_edges(USES)
    for svc in ("frontend", "api-gateway", "processing"):
        assert (svc, f"tap/{svc}", "image") in uses
        assert (svc, "tap-cluster", "runs on") in uses
    secrets = {(s, t) for s, t, label in uses if label == "secret"}
    assert secrets == {
        ("api-gateway", "tap-secret-db-credentials"),
        ("api-gateway", "tap-secret-api-keys"),
        ("processing", "tap-secret-db-credentials"),
    }
    registrations = {(s, t, label) for s, t, label in uses if label.startswith("registers")}
    assert registrations == {("processing", "tap-SUFFIX.local", "registers processing")}


@pytest.mark.parametrize(("env", "nats"), [("dev", 1), ("staging", 3), ("prod", 3)])
def test_subnets_per_az_and_nat_egress(folders: dict[str, Path], env: str, nats: int) -> None:
    graph = model.build(folders[env])
    azs = [g for g in graph.groups if g.label.startswith("AZ ") and g.parent == "NetworkStack"]
    assert [g.label for g in azs] == ["AZ 1", "AZ 2", "AZ 3"]
    for index, group in enumerate(azs):
        titles = sorted(n.title for n in graph.nodes if n.group == group.id and n.kind == "subnet")
        assert titles == [f"private 10.0.{128 + index}.0/24", f"public 10.0.{index}.0/24"]
    assert len(graph.titles("nat")) == nats
    # NAT gateway n is drawn in the AZ of the public subnet it sits in, inside the network stack
    for node in (n for n in graph.nodes if n.kind == "nat"):
        group = next(g for g in graph.groups if g.id == node.group)
        assert (group.parent, group.label) == ("NetworkStack", f"AZ {node.title.rsplit(' ', 1)[-1]}")
    routes = graph.named_edges(ROUTE)
    private_to_nat = {(s, t) for s, t, _ in routes if s.startswith("private")}
    assert len(private_to_nat) == 3 and {t for _, t in private_to_nat} == set(graph.titles("nat"))
    assert ("internet gateway", "internet", "") in routes
    public_to_igw = {(s, t) for s, t, _ in routes if s.startswith("public")}
    assert len(public_to_igw) == 3 and {t for _, t in public_to_igw} == {"internet gateway"}
    assert {t for s, t, _ in routes if s.startswith("NAT")} == {"internet gateway"}


def test_every_node_sits_in_the_group_of_the_stack_that_declares_it(folders: dict[str, Path]) -> None:
    stacks = model.read(folders["dev"])
    graph = model.build(folders["dev"])
    groups = {g.id: g for g in graph.groups}
    for node in graph.nodes:
        if node.kind == "internet":
            assert node.group is None
            continue
        if node.kind == "repository":  # the project's registry stack: no stack of the environment's
            assert node.group == model.REGISTRY_GROUP and groups[node.group].parent is None
            continue
        stack = node.group
        while stack not in stacks.templates:  # an AZ group inside the network stack
            stack = groups[stack].parent
        assert node.id.removeprefix(f"{stack}_") in stacks.templates[stack]["Resources"], node


def test_a_large_platform_is_drawn_through_its_nested_groups(tmp_path: Path) -> None:
    """GIVEN 13 services (more than one group of 10), WHEN drawn, THEN the group stacks nest and
    the edges still reach through them: a service of the second group, its caller, image and target."""
    import yaml

    raw = yaml.safe_load((REPO / "tap_cfn" / "tap.yaml").read_text(encoding="utf-8"))
    for index in range(10):
        raw["services"].append(
            {
                "name": f"worker{index}",
                "port": 7000 + index,
                "cpu": 256,
                "memory": 512,
                "route": {"type": "internal"},
                "health_check": {"command": ["CMD", "/bin/probe"]},
                "callers": ["api-gateway"],
            }
        )
    graph = model.build(write_templates(cfg.parse(raw, "big.yaml"), tmp_path, "dev"))
    groups = {g.id: g for g in graph.groups}
    worker = next(n for n in graph.nodes if n.title == "worker9")
    assert groups[worker.group].label == "service-worker9 stack"
    assert groups[groups[worker.group].parent].label == "services-2 stack"
    assert ("api-gateway", "worker9", "tcp 7009") in graph.named_edges(ALLOWS)
    uses = graph.named_edges(USES)
    assert ("worker9", "tap/worker9", "image") in uses and ("worker9", "tap-cluster", "runs on") in uses
    assert len(graph.titles("service")) == 13
    assert len([e for e in graph.edges if e.kind == ALLOWS]) == 4 + 10


def test_edges_match_the_security_group_rules_in_the_template(folders: dict[str, Path]) -> None:
    """As many service-to-service permissions as ingress rules in the security stack, same ports."""
    stacks = model.read(folders["prod"])
    rules = sorted(
        (props["FromPort"], props["Description"])
        for _, props in stacks.resources("AWS::EC2::SecurityGroupIngress")
        if "SourceSecurityGroupId" in props  # group to group, not the ALB's internet ports
    )
    graph = model.build(folders["prod"])
    edges = sorted(
        (
            int(label.split()[1]),
            f"{graph.node(t).title} accepts {label.split()[1]} from {graph.node(s).title}",
        )
        for s, t, label in ((e.source, e.target, e.label) for e in graph.edges if e.kind == ALLOWS)
        if s != model.INTERNET
    )
    assert [port for port, _ in rules] == [port for port, _ in edges]
    # the rule descriptions say "<target> accepts <port> from <source>" with service names
    assert [d.replace("alb", "tap-alb") for _, d in rules] == [d for _, d in edges]


def test_a_new_service_appears_with_its_edges(audit_config: cfg.Config, tmp_path: Path) -> None:
    """GIVEN a 4th internal service `audit` called by processing, WHEN drawn, THEN it is there."""
    graph = model.build(write_templates(audit_config, tmp_path, "dev"))
    assert graph.titles("service") == ["api-gateway", "audit", "frontend", "processing"]
    assert ("processing", "audit", "tcp 9100") in graph.named_edges(ALLOWS)
    uses = graph.named_edges(USES)
    assert {("audit", "tap/audit", "image"), ("audit", "tap-secret-api-keys", "secret")} <= uses
    assert ("audit", "tap-SUFFIX.local", "registers audit") in uses
    assert not any("audit" in (s, t) for s, t, _ in graph.named_edges(REQUEST))  # internal only
    audit = next(n for n in graph.nodes if n.title == "audit")
    assert audit.group == "AuditServiceStack"
    assert audit.detail == "ECS service, 256 CPU / 512 MiB, 2-10 tasks"  # min 2, max 10 by default
    text = mermaid.render(graph)
    assert re.search(r"ProcessingServiceStack_Service -\.->\|\"tcp 9100\"\| AuditServiceStack_Service", text)
    assert '"AuditServiceStack_Service" [label="audit\\n' in dot.render(graph)


def test_the_model_does_not_depend_on_the_file_order(folders: dict[str, Path], tmp_path: Path) -> None:
    """Same graph when the JSON keys come in another order (e.g. a hand-formatted template)."""
    import json

    for path in folders["dev"].glob("*.json"):
        data = json.loads(path.read_text())
        shuffled = dict(reversed(list(data.items())))
        shuffled["Resources"] = dict(reversed(list(data["Resources"].items())))
        (tmp_path / path.name).write_text(json.dumps(shuffled))
    assert model.build(tmp_path, title="x").edges == model.build(folders["dev"], title="x").edges


def test_missing_templates_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(model.TemplateError, match="root.json: no such file; generate the JSON templates"):
        model.build(tmp_path)


def test_the_services_view_keeps_the_services_and_how_they_are_reached(dev: model.Graph) -> None:
    view = model.services_view(dev)
    assert view.titles("service") == ["api-gateway", "frontend", "processing"]
    assert {n.kind for n in view.nodes} == {"internet", "alb", "target-group", "service"}
    assert view.named_edges(REQUEST) == dev.named_edges(REQUEST)
    assert view.named_edges(ALLOWS) == dev.named_edges(ALLOWS)
    assert view.named_edges(USES) == set() and view.named_edges(ROUTE) == set()
    labels = {g.label for g in view.groups}
    assert "data stack" not in labels and not [label for label in labels if label.startswith("AZ ")]
    assert {"network stack", "service-processing stack"} <= labels  # the ALB is the network stack's


def test_traced_services_send_traces_to_the_deployment_s_x_ray_group(tmp_path: Path) -> None:
    """GIVEN dev traced, WHEN drawn, THEN every service says so and points at the X-Ray group; the
    collector does not turn a one-container service into a multi-container one."""
    from tests.conftest import _raw

    raw = _raw()
    raw["environments"]["dev"]["tracing"] = {}
    graph = model.build(write_templates(cfg.parse(raw), tmp_path, "dev"))
    assert graph.titles("trace-group") == ["tap-traces"]
    assert graph.titles("service") == ["api-gateway", "frontend", "processing"]
    traces = {(s, t) for s, t, label in graph.named_edges(USES) if label == "traces"}
    assert traces == {(svc, "tap-traces") for svc in ("api-gateway", "frontend", "processing")}
    processing = next(n for n in graph.nodes if n.title == "processing")
    assert processing.detail == "ECS service, 2048 CPU / 4096 MiB, 2-10 tasks, traced"


def test_an_untraced_profile_draws_no_trace_group(dev: model.Graph) -> None:
    assert dev.titles("trace-group") == []
    assert not any(n.detail.endswith("traced") for n in dev.nodes)


def test_a_canary_service_is_drawn_with_its_strategy_and_both_target_groups(tmp_path: Path) -> None:
    config = cfg.load(REPO / "tests" / "fixtures" / "real-services.yaml")
    graph = model.build(write_templates(config, tmp_path, "dev"))
    details = {n.title: n.detail for n in graph.nodes if n.kind == "service"}
    assert details["api"].endswith(", canary 10.0% for 15 min, bake 20 min")
    assert details["jobs"].endswith(", blue/green, bake 10 min")
    assert sorted(t for t, d in details.items() if "bake" in d) == ["api", "jobs"]  # rolling: as before
    assert {e for e in graph.named_edges(REQUEST) if "api" in e[1]} == {
        # the weighted production rule and the test rule each name both groups
        ("real-alb", "real-tg-api", "/api/*, /api/* header x-amzn-ecs-blue-green-test"),
        ("real-alb", "real-tg2-api", "/api/*, /api/* header x-amzn-ecs-blue-green-test"),
        ("real-tg-api", "api", ":8000"),
        ("real-tg2-api", "api", ":8000 (alternate)"),
    }


def _anywhere(port: int) -> dict[str, object]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "0.0.0.0/0"}


# A stack written by hand: every drawn thing that can exist only under a Condition (a resource's
# Condition, or an item behind Fn::If), beside one that always exists. Nested, as the generator's are.
CONDITIONAL_CHILD = {
    "Parameters": {"CertificateArn": {"Type": "String", "Default": ""}, "Env": {"Type": "String"}},
    "Conditions": {
        "HasCertificate": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
    },
    "Resources": {
        "Alb": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Name": "web", "SecurityGroups": [{"Ref": "AlbGroup"}]},
        },
        "AlbGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "ALB",
                "SecurityGroupIngress": [
                    _anywhere(80),
                    {"Fn::If": ["HasCertificate", _anywhere(443), {"Ref": "AWS::NoValue"}]},
                ],
            },
        },
        "AdminIngress": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Condition": "IsProd",
            "Properties": {"GroupId": {"Fn::GetAtt": ["AlbGroup", "GroupId"]}, **_anywhere(8443)},
        },
        "Web": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Name": "tg-web"}},
        "Admin": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Name": "tg-admin"}},
        "Http": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "Alb"},
                "Protocol": "HTTP",
                "Port": 80,
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Web"}}],
            },
        },
        "AdminRule": {
            "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
            "Condition": "IsProd",
            "Properties": {
                "ListenerArn": {"Ref": "Http"},
                "Priority": 1,
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/admin/*"]}}],
                "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Admin"}}],
            },
        },
        "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
        "Public": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"AvailabilityZone": "eu-west-1a", "CidrBlock": "10.0.0.0/24"},
        },
        "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {}},
        "Association": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": {"Ref": "Public"}, "RouteTableId": {"Ref": "Table"}},
        },
        "DefaultRoute": {
            "Type": "AWS::EC2::Route",
            "Condition": "IsProd",
            "Properties": {
                "RouteTableId": {"Ref": "Table"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "Gateway"},
            },
        },
        "Token": {
            "Type": "AWS::SecretsManager::Secret",
            "Condition": "IsProd",
            "Properties": {"Name": "token", "GenerateSecretString": {}},
        },
    },
}


def test_what_exists_only_under_a_condition_is_labelled_with_it(tmp_path: Path) -> None:
    """GIVEN rules, a listener rule, a route and a secret that exist only under a Condition, WHEN drawn,
    THEN each label says when ("if CertificateArn" for a parameter left empty by default, the
    condition's name otherwise) and the unconditional ones say nothing more."""
    import json

    nested = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "child.json"}}
    (tmp_path / "root.json").write_text(json.dumps({"Resources": {"ChildStack": nested}}))
    (tmp_path / "child.json").write_text(json.dumps(CONDITIONAL_CHILD))
    graph = model.build(tmp_path, title="conditions")
    assert graph.named_edges(ALLOWS) == {
        ("internet", "web", "tcp 80, tcp 443 (if CertificateArn), tcp 8443 (if IsProd)"),
    }
    assert graph.named_edges(REQUEST) == {
        ("internet", "web", "HTTP :80"),
        ("web", "tg-web", "default"),
        ("web", "tg-admin", "/admin/* (if IsProd)"),
    }
    assert graph.named_edges(ROUTE) == {
        ("internet gateway", "internet", ""),
        ("subnet 10.0.0.0/24", "internet gateway", "0.0.0.0/0 (if IsProd)"),
    }
    assert {(n.title, n.detail) for n in graph.nodes if n.kind == "secret"} == {
        ("token", "secret, generated (if IsProd)")
    }
