"""GIVEN the packaged config, WHEN the templates are built, THEN they have the topology the
platform promises (figures from the generator issue, not copied from the output)."""

from __future__ import annotations

import ipaddress
import json

import pytest

from tests.conftest import PROFILES, SERVICES, Built

NAT_PER_PROFILE = {"dev": 1, "staging": 3, "prod": 3}
RETENTION = {"dev": 7, "staging": 30, "prod": 30}
SIZES = {"frontend": ("512", "1024"), "api-gateway": ("1024", "2048"), "processing": ("2048", "4096")}
PORTS = {"frontend": 3000, "api-gateway": 8080, "processing": 9000}
CAMEL = {"frontend": "Frontend", "api-gateway": "ApiGateway", "processing": "Processing"}


def count(b: Built, stem: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in b.stack(stem)["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    return counts


@pytest.mark.parametrize("env", PROFILES)
def test_resource_counts_per_stack_and_profile(built: dict[str, Built], env: str) -> None:
    b = built[env]
    nat = NAT_PER_PROFILE[env]
    assert count(b, "network") == {
        "AWS::EC2::VPC": 1,
        "AWS::EC2::InternetGateway": 1,
        "AWS::EC2::VPCGatewayAttachment": 1,
        "AWS::EC2::Subnet": 6,
        "AWS::EC2::EIP": nat,
        "AWS::EC2::NatGateway": nat,
        "AWS::EC2::RouteTable": 1 + 3,
        "AWS::EC2::Route": 1 + 3,
        "AWS::EC2::SubnetRouteTableAssociation": 6,
        "AWS::EC2::FlowLog": 1,
        "AWS::Logs::LogGroup": 1,
        "AWS::IAM::Role": 1,
    }
    assert count(b, "security") == {
        "AWS::EC2::SecurityGroup": 4,
        # ALB->frontend, ALB->api-gateway, api-gateway->processing: one ingress and one egress each;
        # plus HTTPS into the ALB (only with a certificate)
        "AWS::EC2::SecurityGroupIngress": 3 + 1,
        "AWS::EC2::SecurityGroupEgress": 3,
    }
    assert count(b, "data") == {
        "AWS::ECR::Repository": 3,
        "AWS::Logs::LogGroup": 3,
        "AWS::SecretsManager::Secret": 2,
        "AWS::KMS::Key": 1,
        "AWS::S3::Bucket": 1,
        "AWS::S3::BucketPolicy": 1,
    }
    assert count(b, "loadbalancer") == {
        "AWS::ElasticLoadBalancingV2::LoadBalancer": 1,
        "AWS::ElasticLoadBalancingV2::TargetGroup": 2,
        "AWS::ElasticLoadBalancingV2::Listener": 2,  # 80, and 443 with a certificate
        "AWS::ElasticLoadBalancingV2::ListenerRule": 1,
        "AWS::Route53::RecordSet": 1,  # only with a DomainName and a HostedZoneId
    }
    assert count(b, "cluster") == {"AWS::ECS::Cluster": 1, "AWS::ServiceDiscovery::PrivateDnsNamespace": 1}
    for svc in SERVICES:
        expected = {
            "AWS::IAM::Role": 2,
            "AWS::ECS::TaskDefinition": 1,
            "AWS::ECS::Service": 1,
            "AWS::ApplicationAutoScaling::ScalableTarget": 1,
            "AWS::ApplicationAutoScaling::ScalingPolicy": 1,
            # CPU, memory, running tasks; behind the ALB also 5xx, unhealthy targets, p99 latency
            "AWS::CloudWatch::Alarm": 3 if svc == "processing" else 6,
        }
        if svc == "processing":
            expected["AWS::ServiceDiscovery::Service"] = 1
        assert count(b, f"service-{svc}") == expected, svc
    assert count(b, "monitoring") == {
        "AWS::SNS::Topic": 1,
        "AWS::SNS::Subscription": 1,
        "AWS::CloudWatch::Alarm": 2,
        "AWS::CloudWatch::Dashboard": 1,
    }
    assert len(b.root["Resources"]) == 6 + 3


def test_vpc_spans_three_azs_without_hard_coded_names(env_built: Built) -> None:
    vpc = env_built.resource("network", "Vpc")["Properties"]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True
    subnets = env_built.resources("network", "AWS::EC2::Subnet")
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert azs == {json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(3)}
    networks = [ipaddress.ip_network(s["Properties"]["CidrBlock"]) for s in subnets.values()]
    assert all(n.prefixlen == 24 and n.subnet_of(ipaddress.ip_network("10.0.0.0/16")) for n in networks)
    assert len(set(networks)) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())


@pytest.mark.parametrize("env", PROFILES)
def test_private_subnets_route_through_nat_public_through_igw(built: dict[str, Built], env: str) -> None:
    b = built[env]
    resources = b.stack("network")["Resources"]
    routes = b.resources("network", "AWS::EC2::Route")
    public = routes.pop("PublicDefaultRoute")["Properties"]
    assert public["GatewayId"] == {"Ref": "InternetGateway"} and public["DestinationCidrBlock"] == "0.0.0.0/0"
    targets = []
    for index in (1, 2, 3):
        route = routes[f"PrivateDefaultRoute{index}"]["Properties"]
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        assert route["RouteTableId"] == {"Ref": f"PrivateRouteTable{index}"}
        targets.append(route["NatGatewayId"]["Ref"])
        association = resources[f"PrivateSubnet{index}RouteTableAssociation"]["Properties"]
        assert association == {
            "RouteTableId": {"Ref": f"PrivateRouteTable{index}"},
            "SubnetId": {"Ref": f"PrivateSubnet{index}"},
        }
        public_assoc = resources[f"PublicSubnet{index}RouteTableAssociation"]["Properties"]
        assert public_assoc["RouteTableId"] == {"Ref": "PublicRouteTable"}
    if env == "dev":
        assert targets == ["NatGateway1"] * 3
    else:
        assert targets == ["NatGateway1", "NatGateway2", "NatGateway3"]
        for index in (1, 2, 3):  # each NAT sits in its own AZ's public subnet
            nat = resources[f"NatGateway{index}"]["Properties"]
            assert nat["SubnetId"] == {"Ref": f"PublicSubnet{index}"}


def _ingress(b: Built) -> dict[str, list[tuple[str, int]]]:
    """Target security group -> [(source group, port)] over every ingress the stack allows."""
    found: dict[str, list[tuple[str, int]]] = {}
    security = b.stack("security")["Resources"]
    for resource in security.values():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            continue
        props = resource["Properties"]
        assert props["FromPort"] == props["ToPort"]
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress" and "SourceSecurityGroupId" in props:
            target = props["GroupId"]["Fn::GetAtt"][0]
            source = props["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            found.setdefault(target, []).append((source, props["FromPort"]))
    return found


def test_security_groups_chain_alb_to_services_to_processing(env_built: Built) -> None:
    assert _ingress(env_built) == {
        "FrontendSecurityGroup": [("AlbSecurityGroup", 3000)],
        "ApiGatewaySecurityGroup": [("AlbSecurityGroup", 8080)],
        "ProcessingSecurityGroup": [("ApiGatewaySecurityGroup", 9000)],
    }
    groups = env_built.resources("security", "AWS::EC2::SecurityGroup")
    alb_rules = groups["AlbSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [(r["FromPort"], r["CidrIp"]) for r in alb_rules] == [(80, "0.0.0.0/0")]
    # 443 opens only with a certificate: a conditional rule of its own
    https = env_built.resource("security", "AlbIngressHttps")
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["GroupId"] == {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}
    assert (https["Properties"]["FromPort"], https["Properties"]["CidrIp"]) == (443, "0.0.0.0/0")
    for name, group in groups.items():
        if name != "AlbSecurityGroup":  # services accept nothing by CIDR
            assert "SecurityGroupIngress" not in group["Properties"], name


def test_every_security_group_rule_has_a_description_and_no_vpc_cidr(env_built: Built) -> None:
    vpc = ipaddress.ip_network("10.0.0.0/16")
    rules = []
    for resource in env_built.stack("security")["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules += props.get("SecurityGroupIngress", []) + props.get("SecurityGroupEgress", [])
        else:
            rules.append(props)
    assert len(rules) >= 6
    for rule in rules:
        assert rule["Description"].strip()
        if "CidrIp" in rule:
            assert not ipaddress.ip_network(rule["CidrIp"]).subnet_of(vpc)


def test_egress_mirrors_ingress_so_sources_may_only_reach_their_targets(env_built: Built) -> None:
    egress = set()
    for resource in env_built.resources("security", "AWS::EC2::SecurityGroupEgress").values():
        props = resource["Properties"]
        egress.add(
            (
                props["GroupId"]["Fn::GetAtt"][0],
                props["DestinationSecurityGroupId"]["Fn::GetAtt"][0],
                props["FromPort"],
            )
        )
    ingress = {(src, target, port) for target, pairs in _ingress(env_built).items() for src, port in pairs}
    assert egress == ingress
    alb = env_built.resource("security", "AlbSecurityGroup")["Properties"]["SecurityGroupEgress"]
    assert alb == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]


def test_data_stack_repositories_logs_and_generated_secrets(built: dict[str, Built]) -> None:
    for env, b in built.items():
        for svc in SERVICES:
            repo = b.resource("data", f"{CAMEL[svc]}Repository")["Properties"]
            assert repo["ImageTagMutability"] == "IMMUTABLE"
            assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
            policy = json.loads(repo["LifecyclePolicy"]["LifecyclePolicyText"])
            untagged, tagged = sorted(policy["rules"], key=lambda r: r["rulePriority"])
            # untagged by age, the newest 20 tagged kept; never a count over tagStatus any
            assert untagged["selection"] == {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            }
            assert tagged["selection"] == {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": 20,
            }
            assert {r["action"]["type"] for r in policy["rules"]} == {"expire"}
            logs = b.resource("data", f"{CAMEL[svc]}LogGroup")["Properties"]
            assert logs["LogGroupName"] == {"Fn::Sub": f"/ecs/tap-{svc}-${{EnvironmentSuffix}}"}
            assert logs["RetentionInDays"] == RETENTION[env]
        for secret in b.resources("data", "AWS::SecretsManager::Secret").values():
            props = secret["Properties"]
            assert "SecretString" not in props
            assert props["GenerateSecretString"]["PasswordLength"] >= 32


def test_no_secret_value_anywhere(env_built: Built) -> None:
    value_keys = {"SecretString", "Password", "MasterUserPassword", "SecretValue"}
    for stem, template in [("root", env_built.root), *env_built.children.items()]:
        for path, _ in walk_strings(template):
            assert path.rsplit(".", 1)[-1] not in value_keys, (stem, path)
        for parameter in template.get("Parameters", {}).values():
            assert "Default" not in parameter or "secret" not in parameter["Description"].lower()
    for svc in SERVICES:
        (task,) = env_built.resources(f"service-{svc}", "AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]:
            for variable in container.get("Environment", []):
                assert "SECRET" not in variable["Name"] and "PASSWORD" not in variable["Name"]


def walk_strings(node: object, path: str = ""):  # noqa: ANN201
    from tests.conftest import walk

    for where, value in walk(node, path):
        if isinstance(value, str):
            yield where, value


def test_secrets_are_injected_by_reference_from_the_data_stack(env_built: Built) -> None:
    expected = {
        "frontend": set(),
        "api-gateway": {("DB_CREDENTIALS", "DbCredentialsSecretArn"), ("API_KEYS", "ApiKeysSecretArn")},
        "processing": {("DB_CREDENTIALS", "DbCredentialsSecretArn")},
    }
    for svc, pairs in expected.items():
        (task,) = env_built.resources(f"service-{svc}", "AWS::ECS::TaskDefinition").values()
        (container,) = task["Properties"]["ContainerDefinitions"]
        found = {(s["Name"], s["ValueFrom"]["Ref"]) for s in container.get("Secrets", [])}
        assert found == pairs, svc
        for _, parameter in pairs:
            assert env_built.fed_by(f"service-{svc}", parameter) == {
                "Fn::GetAtt": ["DataStack", f"Outputs.{parameter}"]
            }


def test_load_balancer_listener_rules_and_target_groups(env_built: Built) -> None:
    lb = env_built.resource("loadbalancer", "LoadBalancer")["Properties"]
    assert lb["Scheme"] == "internet-facing" and lb["Type"] == "application"
    assert lb["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert env_built.fed_by("loadbalancer", "PublicSubnetIds") == {
        "Fn::GetAtt": ["NetworkStack", "Outputs.PublicSubnetIds"]
    }
    listener = env_built.resource("loadbalancer", "HttpListener")["Properties"]
    assert listener["Port"] == 80 and listener["Protocol"] == "HTTP"
    # without a certificate (the If's false branch) port 80 forwards to the frontend
    assert listener["DefaultActions"]["Fn::If"][2] == [
        {"TargetGroupArn": {"Ref": "FrontendTargetGroup"}, "Type": "forward"}
    ]
    (rule,) = env_built.resources("loadbalancer", "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    props = rule["Properties"]
    assert props["Priority"] == 100
    assert props["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]
    assert props["Actions"] == [{"TargetGroupArn": {"Ref": "ApiGatewayTargetGroup"}, "Type": "forward"}]
    for svc, path in (("frontend", "/"), ("api-gateway", "/health")):
        tg = env_built.resource("loadbalancer", f"{CAMEL[svc]}TargetGroup")["Properties"]
        assert (tg["Port"], tg["TargetType"], tg["HealthCheckPath"]) == (PORTS[svc], "ip", path)
        assert tg["Matcher"] == {"HttpCode": "200"}
        assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
        assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 3)
        assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in tg["TargetGroupAttributes"]


def test_cluster_capacity_providers_and_container_insights(env_built: Built) -> None:
    cluster = env_built.resource("cluster", "Cluster")["Properties"]
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert sorted(cluster["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["DefaultCapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 4},
    ]
    namespace = env_built.resource("cluster", "Namespace")["Properties"]
    assert namespace["Name"] == {"Fn::Sub": "tap-${EnvironmentSuffix}.local"}


def test_services_use_the_capacity_strategy_private_subnets_and_no_public_ip(env_built: Built) -> None:
    for svc in SERVICES:
        service = env_built.resource(f"service-{svc}", "Service")["Properties"]
        assert "LaunchType" not in service  # a launch type would silently disable Fargate Spot
        assert service["CapacityProviderStrategy"] == [
            {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
            {"CapacityProvider": "FARGATE_SPOT", "Weight": 4},
        ]
        # auto scaling owns the count: a DesiredCount would reset it on every update
        assert "DesiredCount" not in service
        network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        assert network["Subnets"] == {"Ref": "PrivateSubnetIds"}
        assert env_built.fed_by(f"service-{svc}", "PrivateSubnetIds") == {
            "Fn::GetAtt": ["NetworkStack", "Outputs.PrivateSubnetIds"]
        }
        assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
            "Enable": True,
            "Rollback": True,
        }
        behind_alb = svc != "processing"
        assert ("HealthCheckGracePeriodSeconds" in service) is behind_alb
        if behind_alb:
            assert service["HealthCheckGracePeriodSeconds"] == 60
            (lb,) = service["LoadBalancers"]
            assert (lb["ContainerName"], lb["ContainerPort"]) == (svc, PORTS[svc])
            # the target group comes from the stack that holds the listener: the service waits for it
            assert env_built.fed_by(f"service-{svc}", lb["TargetGroupArn"]["Ref"]) == {
                "Fn::GetAtt": ["LoadBalancerStack", f"Outputs.{CAMEL[svc]}TargetGroupArn"]
            }


def test_task_definitions_sizes_images_and_logging(env_built: Built) -> None:
    for svc in SERVICES:
        task = env_built.resource(f"service-{svc}", "TaskDefinition")["Properties"]
        assert (task["Cpu"], task["Memory"]) == SIZES[svc]
        assert task["NetworkMode"] == "awsvpc" and task["RequiresCompatibilities"] == ["FARGATE"]
        (container,) = task["ContainerDefinitions"]
        camel = CAMEL[svc]
        assert container["Image"] == {"Fn::Sub": f"${{{camel}RepositoryUri}}:${{{camel}ImageTag}}"}
        assert env_built.fed_by(f"service-{svc}", f"{camel}ImageTag") == {"Ref": f"{camel}ImageTag"}
        assert container["PortMappings"] == [{"ContainerPort": PORTS[svc], "Protocol": "tcp"}]
        options = container["LogConfiguration"]["Options"]
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert options["awslogs-group"] == {"Ref": f"{camel}LogGroupName"}
        assert env_built.fed_by(f"service-{svc}", f"{camel}LogGroupName") == {
            "Fn::GetAtt": ["DataStack", f"Outputs.{camel}LogGroupName"]
        }


def test_environment_points_at_the_alb_and_at_processing_through_cloud_map(env_built: Built) -> None:
    def env_of(svc: str) -> dict:
        (container,) = env_built.resource(f"service-{svc}", "TaskDefinition")["Properties"][
            "ContainerDefinitions"
        ]
        return {v["Name"]: v["Value"] for v in container.get("Environment", [])}

    assert env_of("frontend") == {"API_ENDPOINT": {"Fn::Sub": "${AlbUrl}/api"}}
    assert env_built.fed_by("service-frontend", "AlbUrl") == {
        "Fn::GetAtt": ["LoadBalancerStack", "Outputs.AlbUrl"]
    }
    assert env_of("api-gateway") == {
        "PROCESSING_SERVICE_URL": {"Fn::Sub": "http://processing.${NamespaceName}:9000"}
    }
    assert env_built.fed_by("service-api-gateway", "NamespaceName") == {
        "Fn::GetAtt": ["ClusterStack", "Outputs.NamespaceName"]
    }


def test_processing_is_reachable_only_through_cloud_map(env_built: Built) -> None:
    (discovery,) = env_built.resources("service-processing", "AWS::ServiceDiscovery::Service").values()
    props = discovery["Properties"]
    assert props["Name"] == "processing"
    assert props["DnsConfig"] == {"DnsRecords": [{"TTL": 10, "Type": "A"}], "RoutingPolicy": "MULTIVALUE"}
    assert props["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    service = env_built.resource("service-processing", "Service")["Properties"]
    assert service["ServiceRegistries"] == [{"RegistryArn": {"Fn::GetAtt": ["DiscoveryService", "Arn"]}}]
    assert "LoadBalancers" not in service
    assert not any(
        "Processing" in json.dumps(r) for r in env_built.stack("loadbalancer")["Resources"].values()
    )


def test_auto_scaling_on_every_service(env_built: Built) -> None:
    for svc in SERVICES:
        stem = f"service-{svc}"
        (target,) = env_built.resources(stem, "AWS::ApplicationAutoScaling::ScalableTarget").values()
        props = target["Properties"]
        assert (props["MinCapacity"], props["MaxCapacity"]) == (2, 10)
        assert props["ScalableDimension"] == "ecs:service:DesiredCount"
        assert props["ResourceId"] == {"Fn::Sub": "service/${ClusterName}/${Service.Name}"}
        (policy,) = env_built.resources(stem, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert (
            config["PredefinedMetricSpecification"]["PredefinedMetricType"]
            == "ECSServiceAverageCPUUtilization"
        )
        assert config["TargetValue"] == 70.0
        assert (config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (60, 60)


def test_root_outputs_what_an_operator_needs(env_built: Built) -> None:
    outputs = env_built.root["Outputs"]
    expected = {
        "AlbDnsName",
        "AlbUrl",
        "ClusterName",
        "ClusterArn",
        "VpcId",
        "PublicSubnetIds",
        "PrivateSubnetIds",
        "NamespaceName",
        "AlarmTopicArn",
        "DashboardName",
        *(f"{CAMEL[s]}ServiceName" for s in SERVICES),
        *(f"{CAMEL[s]}RepositoryUri" for s in SERVICES),
    }
    assert set(outputs) == expected
    assert outputs["AlbUrl"]["Value"] == {"Fn::GetAtt": ["LoadBalancerStack", "Outputs.AlbUrl"]}
    assert outputs["FrontendServiceName"]["Value"] == {
        "Fn::GetAtt": ["FrontendServiceStack", "Outputs.FrontendServiceName"]
    }
    for name, output in outputs.items():
        assert output["Description"]
        assert output["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}
