"""The generated dev and prod templates deployed by the deploy command, checked with describe calls.

Expectations come from three places: the platform config (dev has one NAT gateway and 7-day
logs, prod one NAT per AZ and 30-day logs), the rendered templates themselves (names, ports),
so that "what was declared is what exists" is what these tests check, and CIDRs worked out by
hand from the default VpcCidr (the local endpoint evaluates Fn::Cidr with our own fn_cidr).
Only what the local endpoint keeps is asserted (see ../shared/notes/local-aws-endpoint.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from tap_cfn.deploy.aws import Clients
from tap_cfn.deploy.packaging import load_template

from .conftest import Terminal
from .test_cli_fixture import run

IMAGE_TAGS = {"FrontendImageTag": "1.0.0", "ApiGatewayImageTag": "1.0.0", "ProcessingImageTag": "1.0.0"}
PER_ENV = {
    # env: (NAT gateways, log retention days) as tap.yaml asks for them
    "dev": (1, 7),
    "prod": (3, 30),
}


def params(**overrides: str) -> list[str]:
    return [
        arg for key, value in {**IMAGE_TAGS, **overrides}.items() for arg in ("--param", f"{key}={value}")
    ]


class Declared:
    """What the rendered templates of one environment declare, with the suffix filled in."""

    def __init__(self, templates: Path, env: str, suffix: str):
        self.dir, self.suffix = templates / env, suffix
        self.root = load_template(self.dir / "root.yaml")

    def resources(self, stack_file: str, resource_type: str) -> dict[str, dict[str, Any]]:
        template = load_template(self.dir / stack_file)
        return {  # those deployed unconditionally (HTTPS and alarm e-mail are off in these tests)
            logical: resource.get("Properties") or {}
            for logical, resource in template["Resources"].items()
            if resource["Type"] == resource_type and "Condition" not in resource
        }

    def text(self, value: Any) -> Any:
        """A literal, or an Fn::Sub that only uses the suffix, as the deployed string."""
        if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"].replace("${EnvironmentSuffix}", self.suffix)
        return value


class Deployed:
    """Physical ids of a deployed tree, by nested stack logical id and resource logical id."""

    def __init__(self, cfn: Any, stack_name: str):
        self.cfn = cfn
        self._physical: dict[str, dict[str, str]] = {}
        self.root = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        self.children = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
            if r["ResourceType"] == "AWS::CloudFormation::Stack"
        }

    def physical(self, child: str, logical: str) -> str:
        if child not in self._physical:
            resources = self.cfn.describe_stack_resources(StackName=self.children[child])["StackResources"]
            self._physical[child] = {  # moto also lists the resources a false Condition left out
                r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                for r in resources
                if "LogicalResourceId" in r
            }
        return self._physical[child][logical]

    @property
    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.root.get("Outputs") or []}


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def child_logical_id(declared: Declared, stack_file: str) -> str:
    """The root's logical id of the nested stack rendered into `stack_file`."""
    for logical, resource in declared.root["Resources"].items():
        if (
            resource["Type"] == "AWS::CloudFormation::Stack"
            and resource["Properties"]["TemplateURL"] == stack_file
        ):
            return logical
    raise AssertionError(f"root.yaml has no nested stack for {stack_file}")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_generated_templates_deploy_and_build_what_they_declare(
    env: str, aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN the generated templates of `env` and an empty account
    declared = Declared(generated_templates, env, "demo")
    nat_count, retention = PER_ENV[env]
    # WHEN the deploy command deploys them
    term: Terminal = terminal()
    code = run(aws, generated_templates, term, "deploy", "--env", env, *params(), "--yes")
    # THEN it succeeds
    assert code == 0, term.stderr
    tree = Deployed(clients.cloudformation, "tap-demo")
    assert tree.root["StackStatus"] == "CREATE_COMPLETE"
    ec2, elb, ecs = client(aws, "ec2"), client(aws, "elbv2"), client(aws, "ecs")

    # network: the VPC, its subnets, route tables, and the NAT gateways and default routes its egress
    # part adds to them (route n through NAT gateway n)
    network = child_logical_id(declared, "network.yaml")
    (vpc_props,) = declared.resources("network.yaml", "AWS::EC2::VPC").values()
    vpc_id = tree.outputs["VpcId"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc_props["CidrBlock"] == {"Ref": "VpcCidr"}
    assert vpc["CidrBlock"] == "10.0.0.0/16"  # the parameter's default
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    # by hand, in both profiles (three AZs): public /24s from the bottom of 10.0.0.0/17, private
    # ones from the bottom of 10.0.128.0/17
    assert sorted(s["CidrBlock"] for s in subnets) == [
        "10.0.0.0/24",
        "10.0.1.0/24",
        "10.0.128.0/24",
        "10.0.129.0/24",
        "10.0.130.0/24",
        "10.0.2.0/24",
    ]
    nats = ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]
    assert len(nats) == nat_count == len(declared.resources("network.yaml", "AWS::EC2::NatGateway"))
    public_subnets = set(tree.outputs["PublicSubnetIds"].split(","))
    assert {n["SubnetId"] for n in nats} <= public_subnets  # NATs live in public subnets
    tables = [t for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"] if not _is_main(t)]
    assert len(tables) == len(declared.resources("network.yaml", "AWS::EC2::RouteTable"))
    defaults = [r for t in tables for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert sum(1 for r in defaults if r.get("GatewayId", "").startswith("igw-")) == 1
    assert {r["NatGatewayId"] for r in defaults if r.get("NatGatewayId")} == {n["NatGatewayId"] for n in nats}
    private_subnets = set(tree.outputs["PrivateSubnetIds"].split(","))
    for table in tables:  # every private subnet routes to the internet through a NAT gateway
        routes_to_nat = any(r.get("NatGatewayId") for r in table["Routes"])
        associated = {a.get("SubnetId") for a in table.get("Associations", [])}
        assert routes_to_nat == bool(associated & private_subnets)
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
        "InternetGateways"
    ]
    assert network in tree.children

    # security groups (in the network stack): every declared ingress rule exists between the groups
    security = network
    for logical, rule in declared.resources("network.yaml", "AWS::EC2::SecurityGroupIngress").items():
        target = tree.physical(security, rule["GroupId"]["Fn::GetAtt"][0])
        source = tree.physical(security, rule["SourceSecurityGroupId"]["Fn::GetAtt"][0])
        (group,) = ec2.describe_security_groups(GroupIds=[target])["SecurityGroups"]
        assert any(
            p.get("FromPort") == rule["FromPort"]
            and source in [g["GroupId"] for g in p.get("UserIdGroupPairs", [])]
            for p in group["IpPermissions"]
        ), f"{logical}: no rule for port {rule['FromPort']} from {source} on {target}"
    alb_group = tree.physical(security, "AlbSecurityGroup")
    (alb_sg,) = ec2.describe_security_groups(GroupIds=[alb_group])["SecurityGroups"]
    open_ports = {p.get("FromPort") for p in alb_sg["IpPermissions"] if {"CidrIp": "0.0.0.0/0"} in _cidrs(p)}
    assert 80 in open_ports

    # load balancer: the ALB, one target group per routed service, the listener and the path rule
    (alb_props,) = declared.resources("network.yaml", "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    (alb,) = elb.describe_load_balancers(Names=[declared.text(alb_props["Name"])])["LoadBalancers"]
    assert alb["DNSName"] == tree.outputs["AlbDnsName"] and alb["VpcId"] == vpc_id
    groups = {g["TargetGroupName"]: g for g in elb.describe_target_groups()["TargetGroups"]}
    declared_groups = declared.resources("network.yaml", "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert set(groups) == {declared.text(p["Name"]) for p in declared_groups.values()}
    for props in declared_groups.values():
        group = groups[declared.text(props["Name"])]
        assert (group["Port"], group["HealthCheckPath"], group["VpcId"]) == (
            props["Port"],
            props["HealthCheckPath"],
            vpc_id,
        )
    (listener,) = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80
    rules = [
        r for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]
    ]
    patterns = {
        value: rule["Actions"][0]["TargetGroupArn"]
        for rule in rules
        for condition in rule["Conditions"]
        for value in condition.get("PathPatternConfig", {}).get("Values", condition.get("Values", []))
    }
    assert groups["tap-tg-api-gateway-demo"]["TargetGroupArn"] == patterns["/api/*"]

    # data: log groups (with the environment's retention) and secrets; no repository (the registry's)
    ecr, logs = client(aws, "ecr"), client(aws, "logs")
    assert ecr.describe_repositories()["repositories"] == []
    log_groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    declared_logs = declared.resources("data.yaml", "AWS::Logs::LogGroup")
    assert {declared.text(p["LogGroupName"]) for p in declared_logs.values()} <= set(log_groups)
    assert {
        log_groups[declared.text(p["LogGroupName"])]["retentionInDays"] for p in declared_logs.values()
    } == {retention}
    secrets = client(aws, "secretsmanager")
    db = json.loads(secrets.get_secret_value(SecretId="tap-secret-db-credentials-demo")["SecretString"])
    assert db["username"] == "tapadmin" and len(db["password"]) == 32

    # IAM: every role a service stack declares exists and trusts ECS tasks
    iam = client(aws, "iam")
    services = sorted(declared.dir.glob("service-*.yaml"))
    assert len(services) == 3
    for path in services:
        stack = child_logical_id(declared, path.name)
        for logical in declared.resources(path.name, "AWS::IAM::Role"):
            role = iam.get_role(RoleName=tree.physical(stack, logical))["Role"]
            assert "ecs-tasks.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])

    # ECS: the cluster, one service per service stack, task definitions running the tagged images
    cluster = tree.outputs["ClusterName"]
    (described_cluster,) = ecs.describe_clusters(clusters=[cluster])["clusters"]
    assert described_cluster["clusterArn"] == tree.outputs["ClusterArn"]
    service_arns = ecs.list_services(cluster=cluster)["serviceArns"]
    described = ecs.describe_services(cluster=cluster, services=service_arns)["services"]
    assert {s["serviceName"] for s in described} == {
        tree.outputs["FrontendServiceName"],
        tree.outputs["ApiGatewayServiceName"],
        tree.outputs["ProcessingServiceName"],
    }
    for service in described:
        task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        images = [c["image"] for c in task["containerDefinitions"]]
        # the project's registry in this account (RegistryAccountId empty), <project>/<service>
        assert images == [
            f"123456789012.dkr.ecr.us-east-1.amazonaws.com/tap/{service['serviceName'][12:-5]}:1.0.0"
        ]

    # root outputs: every declared output is published
    assert set(tree.outputs) == set(declared.root["Outputs"])


def _is_main(table: dict[str, Any]) -> bool:
    return any(a.get("Main") for a in table.get("Associations", []))


def _cidrs(permission: dict[str, Any]) -> list[dict[str, str]]:
    return [{"CidrIp": r["CidrIp"]} for r in permission.get("IpRanges", [])]


def test_redeploy_is_a_no_op_and_a_new_image_tag_touches_one_service_stack(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN dev deployed
    first = terminal()
    assert run(aws, generated_templates, first, "deploy", *params(), "--yes") == 0, first.stderr
    uploaded = int(first.stdout.split(" bytes")[0].rsplit(" ", 1)[1])
    assert uploaded > 0
    events = len(clients.cloudformation.describe_stack_events(StackName="tap-demo")["StackEvents"])

    # WHEN the same thing is deployed again
    again = terminal()
    assert run(aws, generated_templates, again, "deploy", *params(), "--yes") == 0
    # THEN nothing is uploaded and nothing executed
    assert "Uploaded 0 template(s), 0 bytes" in again.stdout and "No changes" in again.stdout
    assert len(clients.cloudformation.describe_stack_events(StackName="tap-demo")["StackEvents"]) == events

    # WHEN only the frontend's image tag changes, planned
    plan = terminal()
    assert run(aws, generated_templates, plan, "deploy", *params(FrontendImageTag="1.0.1"), "--plan") == 0
    # THEN the preview lists the root's pointer to the frontend stack and the frontend stack, nothing else
    headers = [line for line in plan.stdout.splitlines() if line.startswith("Stack tap-demo")]
    assert [h.split(":")[0] for h in headers[1:]] == ["Stack tap-demo", "Stack tap-demo/FrontendServiceStack"]
    assert "Modify  FrontendServiceStack" in plan.stdout and "TaskDefinition" in plan.stdout
    assert "ApiGateway" not in plan.stdout.split("Stack tap-demo:")[1]

    # and deploying it runs the new image in the frontend only
    assert (
        run(aws, generated_templates, terminal(), "deploy", *params(FrontendImageTag="1.0.1"), "--yes") == 0
    )
    ecs = client(aws, "ecs")
    images = {}
    cluster = "tap-cluster-demo"
    for service in ecs.describe_services(
        cluster=cluster, services=ecs.list_services(cluster=cluster)["serviceArns"]
    )["services"]:
        task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        images[service["serviceName"]] = task["containerDefinitions"][0]["image"].rsplit(":", 1)[1]
    assert images == {
        "tap-service-frontend-demo": "1.0.1",
        "tap-service-api-gateway-demo": "1.0.0",
        "tap-service-processing-demo": "1.0.0",
    }


def test_a_resource_that_cannot_be_made_fails_the_deploy_until_it_can(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN the frontend's log group name is already taken in the account
    logs = client(aws, "logs")
    logs.create_log_group(logGroupName="/ecs/tap-frontend-demo")
    # WHEN dev is deployed
    failed = terminal()
    assert run(aws, generated_templates, failed, "deploy", *params(), "--yes") == 1
    # THEN the first line of the failure names the log group in the data stack
    first = failed.stderr.splitlines()[0]
    assert first.startswith("Root cause: FrontendLogGroup (AWS::Logs::LogGroup) in stack tap-demo/DataStack")
    assert "already exists" in first
    # WHEN the name is freed and the deploy rerun (--yes replaces the ROLLBACK_COMPLETE stack)
    logs.delete_log_group(logGroupName="/ecs/tap-frontend-demo")
    fixed = terminal()
    assert run(aws, generated_templates, fixed, "deploy", *params(), "--yes") == 0, fixed.stderr
    assert (
        clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]["StackStatus"]
        == "CREATE_COMPLETE"
    )


@pytest.mark.parametrize(("env", "kept"), [("dev", False), ("prod", True)])
def test_destroy_removes_the_platform_and_keeps_prod_data(
    env: str, kept: bool, aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN `env` deployed
    assert run(aws, generated_templates, terminal(), "deploy", "--env", env, *params(), "--yes") == 0
    vpc_id = Deployed(clients.cloudformation, "tap-demo").outputs["VpcId"]
    # WHEN it is destroyed (prod's protected load balancer: the stack name typed back)
    term = terminal(interactive=True, answers="tap-demo\n")
    assert run(aws, generated_templates, term, "destroy", "--env", env, "--yes") == 0, term.stderr
    # THEN the stack and the network are gone
    assert "tap-demo: DELETE_COMPLETE" in term.stdout
    live = [s["StackName"] for s in clients.cloudformation.describe_stacks()["Stacks"]]
    assert not [name for name in live if name == "tap-demo"]
    assert not client(aws, "ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    # and the data (the service logs) survives in prod only (DeletionPolicy: RetainExceptOnCreate)
    log_groups = client(aws, "logs").describe_log_groups(logGroupNamePrefix="/ecs/tap-")["logGroups"]
    assert len(log_groups) == (3 if kept else 0)


def test_a_platform_large_enough_for_group_stacks_deploys_three_levels_deep(
    aws: str, clients: Clients, tmp_path: Path, terminal
) -> None:
    # GIVEN a platform of 12 services: the generator puts them in two `services-<k>` group stacks,
    # whose templates reference their own children by relative TemplateURL
    import yaml

    from tap_cfn.cli import main

    config = yaml.safe_load((Path(__file__).parents[2] / "tap_cfn" / "tap.yaml").read_text())
    for i in range(1, 10):
        config["services"].append(
            {
                "name": f"worker-{i}",
                "port": 9100 + i,
                "cpu": 256,
                "memory": 512,
                "health_check_path": "/health",
                "route": {"type": "alb", "path": f"/w{i}/*"},
            }
        )
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "templates"
    assert (
        main(["templates", "--config", str(tmp_path / "big.yaml"), "--env", "dev", "--out", str(out), "-q"])
        == 0
    )
    declared = load_template(out / "dev" / "root.yaml")["Parameters"]
    tags = [arg for name in declared if name.endswith("ImageTag") for arg in ("--param", f"{name}=2.0.0")]
    assert len(tags) == 24
    # WHEN the deploy command deploys it
    term: Terminal = terminal()
    assert run(aws, out, term, "deploy", *tags, "--yes") == 0, term.stderr
    # THEN every group's services run the tagged images, found through two levels of nested stacks
    # (the preview and the events name the third level by its path)
    third_level = set(re.findall(r"tap-demo/Services\dStack/\w+ServiceStack", term.stdout))
    assert len(third_level) == 12
    ecs = client(aws, "ecs")
    arns = ecs.list_services(cluster="tap-cluster-demo", maxResults=100)["serviceArns"]
    assert len(arns) == 12
    for batch in (arns[:10], arns[10:]):
        for service in ecs.describe_services(cluster="tap-cluster-demo", services=batch)["services"]:
            task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
            assert task["containerDefinitions"][0]["image"].endswith(":2.0.0")
    tree = Deployed(clients.cloudformation, "tap-demo")
    assert {"Services1Stack", "Services2Stack"} <= set(tree.children)


def test_redeploy_without_certificate_keeps_https(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN dev deployed with a certificate: HTTPS on 443
    certificate = client(aws, "acm").request_certificate(DomainName="demo.example.com")["CertificateArn"]
    first = terminal()
    assert (
        run(aws, generated_templates, first, "deploy", *params(CertificateArn=certificate), "--yes") == 0
    ), first.stderr
    elb = client(aws, "elbv2")

    def ports() -> set[int]:
        balancer = elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
        return {
            listener["Port"] for listener in elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
        }

    assert 443 in ports()
    # WHEN a new image is deployed without --param CertificateArn
    again = terminal()
    assert run(aws, generated_templates, again, "deploy", *params(FrontendImageTag="1.0.1"), "--yes") == 0, (
        again.stderr
    )
    # THEN the certificate is kept (and said to be), and HTTPS stays on
    assert "Parameters kept from the last deploy: AlarmEmail, CertificateArn" in again.stdout
    root = clients.cloudformation.describe_stacks(StackName="tap-demo")["Stacks"][0]
    kept = {p["ParameterKey"]: p["ParameterValue"] for p in root["Parameters"]}
    assert kept["CertificateArn"] == certificate
    assert 443 in ports()


def test_a_region_with_its_own_vpc_range_gets_its_subnets_cut_from_that_range(
    aws: str, clients: Clients, generated_templates: Path, terminal
) -> None:
    # GIVEN the dev templates WHEN deployed with VpcCidr 172.20.0.0/16 (another region's range)
    term: Terminal = terminal()
    code = run(aws, generated_templates, term, "deploy", *params(VpcCidr="172.20.0.0/16"), "--yes")
    assert code == 0, term.stderr
    # THEN the VPC has that range and the subnets sit where they sit in 10.0.0.0/16 (by hand:
    # public /24s from the bottom of the lower /17, private ones from the bottom of the upper /17)
    ec2 = client(aws, "ec2")
    vpc_id = Deployed(clients.cloudformation, "tap-demo").outputs["VpcId"]
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"] == "172.20.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == [
        "172.20.0.0/24",
        "172.20.1.0/24",
        "172.20.128.0/24",
        "172.20.129.0/24",
        "172.20.130.0/24",
        "172.20.2.0/24",
    ]
