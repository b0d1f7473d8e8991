"""The service stacks (tap_cfn/stacks/service.py): task definitions, roles, the ECS service on its
capacity strategy, secrets by reference, Cloud Map, scaling, deployment alarms, hardened containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tap_cfn import generator
from tap_cfn.lint import lint
from tap_cfn.render import render
from tests.conftest import SERVICES, Built, statements
from tests.stacks.conftest import ALB_SERVICES, CAMEL, KEY_ARN_PARAM, PORTS, alarms, build
from tests.test_config import mutated


def actions_of(role: dict[str, Any]) -> set[str]:
    return {a for s in statements(role) for a in s["Action"]}


SIZES = {"frontend": ("512", "1024"), "api-gateway": ("1024", "2048"), "processing": ("2048", "4096")}


def test_an_unset_user_keeps_the_image_s_user_for_every_container_of_the_task() -> None:
    """The opt-out for an image that must run as root (README; the cfn-guard gate reports it)."""

    def change(raw: dict[str, Any]) -> None:
        del raw["services"][0]["user"]
        raw["services"][0]["sidecars"] = [{"name": "agent", "image": "public.ecr.aws/x/y:1"}]

    task = build(mutated(change), "dev").resource("service-frontend", "TaskDefinition")["Properties"]
    assert [c["Name"] for c in task["ContainerDefinitions"]] == ["frontend", "agent"]
    assert not [c for c in task["ContainerDefinitions"] if "User" in c]


def test_execution_roles_decrypt_with_the_key_only_through_secrets_manager(env_built: Built) -> None:
    for svc in SERVICES:
        role = env_built.resource(f"service-{svc}", "ExecutionRole")
        decrypts = [s for s in statements(role) if "kms:Decrypt" in s["Action"]]
        has_secrets = svc != "frontend"
        assert len(decrypts) == int(has_secrets), svc
        for statement in decrypts:
            assert statement["Action"] == ["kms:Decrypt"]
            assert statement["Resource"] == [KEY_ARN_PARAM]
            assert statement["Condition"] == {
                "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
            }


def test_containers_are_unprivileged_read_only_with_a_scratch_tmp_and_no_exec(env_built: Built) -> None:
    for svc in SERVICES:
        task = env_built.resource(f"service-{svc}", "TaskDefinition")["Properties"]
        (container,) = task["ContainerDefinitions"]
        assert container["Privileged"] is False
        assert container["ReadonlyRootFilesystem"] is True
        assert container["MountPoints"] == [
            {"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}
        ]
        assert task["Volumes"] == [{"Name": "tmp"}]
        service = env_built.resource(f"service-{svc}", "Service")["Properties"]
        assert service["EnableExecuteCommand"] is False
        assert not any(
            a.startswith("ssmmessages:") for a in actions_of(env_built.resource(f"service-{svc}", "TaskRole"))
        )
    assert "Configuration" not in env_built.resource("cluster", "Cluster")["Properties"]
    assert "ExecLogGroup" not in env_built.stack("data")["Resources"]


def test_ecs_exec_when_enabled_is_encrypted_logged_and_granted_to_that_service_only(
    exec_built: Built,
) -> None:
    cluster = exec_built.resource("cluster", "Cluster")["Properties"]
    assert cluster["Configuration"] == {
        "ExecuteCommandConfiguration": {
            "KmsKeyId": KEY_ARN_PARAM,
            "Logging": "OVERRIDE",
            "LogConfiguration": {
                "CloudWatchLogGroupName": {"Ref": "ExecLogGroupName"},
                "CloudWatchEncryptionEnabled": True,
            },
        }
    }
    group = exec_built.resource("data", "ExecLogGroup")["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    key = exec_built.resource("data", "Key")["Properties"]["KeyPolicy"]
    (sessions,) = [s for s in key["Statement"] if s["Sid"] == "EcsExecSessions"]
    assert sessions["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sessions["Condition"] == {"StringEquals": {"kms:CallerAccount": {"Fn::Sub": "${AWS::AccountId}"}}}

    for svc in SERVICES:
        enabled = svc == "api-gateway"
        stem = f"service-{svc}"
        assert exec_built.resource(stem, "Service")["Properties"]["EnableExecuteCommand"] is enabled
        actions = actions_of(exec_built.resource(stem, "TaskRole"))
        channels = {
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        }
        assert (channels <= actions) is enabled and ("kms:Decrypt" in actions) is enabled
    (container,) = exec_built.resource("service-api-gateway", "TaskDefinition")["Properties"][
        "ContainerDefinitions"
    ]
    assert container["ReadonlyRootFilesystem"] is False and "MountPoints" not in container


def test_the_ecs_exec_variant_is_lint_clean(exec_built: Built, tmp_path: Path) -> None:
    # Only the three stacks ECS Exec changes; the packaged profiles are linted in test_lint.
    paths = []
    for stem, template in generator.build_environment(exec_built.dep).items():
        if stem in ("data", "cluster", "service-api-gateway"):
            path = tmp_path / f"{stem}.yaml"
            path.write_text(render(template, "yaml"))
            paths.append(path)
    assert len(paths) == 3
    assert lint(paths) == []


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
                "Fn::GetAtt": ["NetworkStack", f"Outputs.{CAMEL[svc]}TargetGroupArn"]
            }


REGISTRY_ACCOUNT = {
    "Fn::If": ["RegistryInThisAccount", {"Ref": "AWS::AccountId"}, {"Ref": "RegistryAccountId"}]
}


def test_task_definitions_sizes_images_and_logging(env_built: Built) -> None:
    for svc in SERVICES:
        task = env_built.resource(f"service-{svc}", "TaskDefinition")["Properties"]
        assert (task["Cpu"], task["Memory"]) == SIZES[svc]
        assert task["NetworkMode"] == "awsvpc" and task["RequiresCompatibilities"] == ["FARGATE"]
        (container,) = task["ContainerDefinitions"]
        camel = CAMEL[svc]
        # the project's registry (registry stack), in RegistryAccountId's account or this one
        assert container["Image"] == {
            "Fn::Sub": [
                f"${{RegistryAccount}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/tap/{svc}:${{{camel}ImageTag}}",
                {"RegistryAccount": REGISTRY_ACCOUNT},
            ]
        }
        assert env_built.fed_by(f"service-{svc}", "RegistryAccountId") == {"Ref": "RegistryAccountId"}
        assert env_built.stack(f"service-{svc}")["Conditions"]["RegistryInThisAccount"] == {
            "Fn::Equals": [{"Ref": "RegistryAccountId"}, ""]
        }
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
        "Fn::GetAtt": ["NetworkStack", "Outputs.AlbUrl"]
    }
    assert env_of("api-gateway") == {
        "PROCESSING_SERVICE_URL": {"Fn::Sub": "http://processing.${NamespaceName}:9000"}
    }
    assert env_built.fed_by("service-api-gateway", "NamespaceName") == {
        "Fn::GetAtt": ["NetworkStack", "Outputs.NamespaceName"]
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
    # no target group, no listener rule for it (its security group is the network stack's)
    assert not any(
        name.startswith("Processing") and r["Type"].startswith("AWS::ElasticLoadBalancingV2::")
        for name, r in env_built.stack("network")["Resources"].items()
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


def test_deployments_roll_back_on_the_services_symptom_alarms(env_built: Built) -> None:
    for svc in SERVICES:
        stem = f"service-{svc}"
        config = env_built.resource(stem, "Service")["Properties"]["DeploymentConfiguration"]
        assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert (config["MinimumHealthyPercent"], config["MaximumPercent"]) == (100, 200)
        guarded = config["Alarms"]
        assert guarded["Enable"] is True and guarded["Rollback"] is True
        listed = {ref["Ref"] for ref in guarded["AlarmNames"]}
        expected = {"RunningTasksLowAlarm"}
        if svc in ALB_SERVICES:
            expected |= {"Target5xxAlarm", "UnhealthyHostsAlarm", "LatencyP99Alarm"}
        assert listed == expected
        assert not listed & {"CpuHighAlarm", "MemoryHighAlarm"}  # saturation is for auto scaling
        assert listed <= set(alarms(env_built, stem))


def test_memory_and_request_scaling_track_the_right_metrics() -> None:
    raw = mutated(
        lambda r: r["services"][1].update(scaling={"memory_target": 75, "requests_per_target": 500})
    )
    b = build(raw, "prod")
    stem = "service-api-gateway"
    policies = {
        k: v["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for k, v in b.resources(stem, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
    }
    assert set(policies) == {"CpuScalingPolicy", "MemoryScalingPolicy", "RequestsScalingPolicy"}
    memory = policies["MemoryScalingPolicy"]
    assert memory["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageMemoryUtilization"
    }
    assert memory["TargetValue"] == 75.0
    requests = policies["RequestsScalingPolicy"]
    assert requests["TargetValue"] == 500.0
    spec = requests["PredefinedMetricSpecification"]
    assert spec["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    # app/<alb>/<id>/targetgroup/<tg>/<id>: this service's target group on this load balancer
    assert spec["ResourceLabel"] == {"Fn::Sub": "${AlbFullName}/${ApiGatewayTargetGroupFullName}"}
    assert b.fed_by(stem, "ApiGatewayTargetGroupFullName") == {
        "Fn::GetAtt": ["NetworkStack", "Outputs.ApiGatewayTargetGroupFullName"]
    }
    for props in b.resources(stem, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
        assert props["Properties"]["ScalingTargetId"] == {"Ref": "ScalableTarget"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_scheduled_window_replaces_the_bounds_and_gives_them_back(env: str) -> None:
    window = {
        "start": "cron(0 20 ? * MON-FRI *)",
        "end": "cron(0 7 ? * MON-FRI *)",
        "timezone": "Europe/Berlin",
        "min": 0,
        "max": 1,
    }
    raw = mutated(lambda r: r["environments"]["dev"].update(scheduled_scaling=window))
    raw["services"][0].update(min=3, desired=3, max=12)
    b = build(raw, env)
    for svc, (low, high) in {"frontend": (3, 12), "api-gateway": (2, 10), "processing": (2, 10)}.items():
        (target,) = b.resources(f"service-{svc}", "AWS::ApplicationAutoScaling::ScalableTarget").values()
        actions = target["Properties"].get("ScheduledActions")
        if env == "prod":
            assert actions is None
            continue
        assert actions == [
            {
                "ScheduledActionName": "window-start",
                "Schedule": "cron(0 20 ? * MON-FRI *)",
                "Timezone": "Europe/Berlin",
                "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 1},
            },
            {
                "ScheduledActionName": "window-end",
                "Schedule": "cron(0 7 ? * MON-FRI *)",
                "Timezone": "Europe/Berlin",
                "ScalableTargetAction": {"MinCapacity": low, "MaxCapacity": high},
            },
        ]


def test_each_execution_role_reads_only_its_own_secrets_repository_and_logs(env_built: Built) -> None:
    expected_secrets = {
        "frontend": set(),
        "api-gateway": {"ApiKeysSecretArn", "DbCredentialsSecretArn"},
        "processing": {"DbCredentialsSecretArn"},
    }
    for svc, secrets in expected_secrets.items():
        role = env_built.resource(f"service-{svc}", "ExecutionRole")["Properties"]
        (policy,) = role["Policies"]
        by_action = {}
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in statement["Action"]:
                by_action[action] = statement["Resource"]
        read = by_action.get("secretsmanager:GetSecretValue", [])
        assert {r["Ref"] for r in read} == secrets, svc
        camel = "".join(w.title() for w in svc.split("-"))
        # exactly its repository, in the registry's account; the login token has no resource
        repository = f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{RegistryAccount}}:repository/tap/{svc}"
        pull = [{"Fn::Sub": [repository, {"RegistryAccount": REGISTRY_ACCOUNT}]}]
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
            assert by_action[action] == pull, (svc, action)
        assert by_action["ecr:GetAuthorizationToken"] == ["*"]
        assert f"${{{camel}LogGroupName}}" in by_action["logs:PutLogEvents"][0]["Fn::Sub"]
        trust = role["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": ["ecs-tasks.amazonaws.com"]}
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]


def test_an_internal_service_reports_its_health_through_a_container_check(env_built: Built) -> None:
    (task,) = env_built.resources("service-processing", "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["HealthCheck"] == {
        "Command": ["CMD-SHELL", "curl -fs http://localhost:9000/health || exit 1"],
        "Interval": 30,
        "Timeout": 5,
        "Retries": 3,
        "StartPeriod": 30,
    }


# --- releases: ECS deployment strategies ---------------------------------------------------------


def _released(strategy: str, **figures: Any) -> Built:
    """The packaged platform with api-gateway (an ALB path-rule service) released by `strategy`."""

    def change(raw: dict[str, Any]) -> None:
        raw["services"][1]["deployment"] = {"strategy": strategy, **figures}

    return build(mutated(change), "dev")


def test_a_rolling_service_keeps_its_percentages_and_gets_no_strategy(env_built: Built) -> None:
    for svc in SERVICES:
        config = env_built.resource(f"service-{svc}", "Service")["Properties"]["DeploymentConfiguration"]
        assert {k: v for k, v in config.items() if k != "Alarms"} == {
            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
            "MinimumHealthyPercent": 100,
            "MaximumPercent": 200,
        }
        assert "TrafficShiftRole" not in env_built.stack(f"service-{svc}")["Resources"]


def test_a_canary_release_shifts_its_share_then_bakes_guarded_by_alarms_and_the_breaker() -> None:
    built = _released("canary", canary_percent=10, canary_bake_time_minutes=15, bake_time_minutes=20)
    service = built.resource("service-api-gateway", "Service")["Properties"]
    config = service["DeploymentConfiguration"]
    assert config["Strategy"] == "CANARY"
    assert config["CanaryConfiguration"] == {"CanaryPercent": 10.0, "CanaryBakeTimeInMinutes": 15}
    assert config["BakeTimeInMinutes"] == 20
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert config["Alarms"]["Enable"] is True and config["Alarms"]["Rollback"] is True
    assert config["Alarms"]["AlarmNames"]  # the same deployment alarms as a rolling release
    assert not {"MinimumHealthyPercent", "MaximumPercent", "LinearConfiguration"} & set(config)
    (balancer,) = service["LoadBalancers"]
    assert balancer["TargetGroupArn"] == {"Ref": "ApiGatewayTargetGroupArn"}
    assert balancer["AdvancedConfiguration"] == {
        "AlternateTargetGroupArn": {"Ref": "ApiGatewayTargetGroup2Arn"},
        "ProductionListenerRule": {"Ref": "ApiGatewayListenerRuleArn"},
        "RoleArn": {"Fn::GetAtt": ["TrafficShiftRole", "Arn"]},
    }
    # the other services are released as before
    assert (
        "Strategy"
        not in built.resource("service-frontend", "Service")["Properties"]["DeploymentConfiguration"]
    )


def test_linear_and_blue_green_releases_carry_their_own_figures_with_ecs_defaults() -> None:
    linear = _released("linear", step_percent=20)
    config = linear.resource("service-api-gateway", "Service")["Properties"]["DeploymentConfiguration"]
    assert (config["Strategy"], config["BakeTimeInMinutes"]) == ("LINEAR", 10)
    assert config["LinearConfiguration"] == {"StepPercent": 20.0, "StepBakeTimeInMinutes": 6}
    blue_green = _released("blue_green")
    config = blue_green.resource("service-api-gateway", "Service")["Properties"]["DeploymentConfiguration"]
    assert (config["Strategy"], config["BakeTimeInMinutes"]) == ("BLUE_GREEN", 10)
    assert not {"CanaryConfiguration", "LinearConfiguration"} & set(config)


def test_ecs_shifts_load_balancer_traffic_with_an_infrastructure_role_of_the_managed_policy() -> None:
    role = _released("blue_green").resource("service-api-gateway", "TrafficShiftRole")["Properties"]
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["ecs.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
        ],
    }
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"}
    ]
    assert "Policies" not in role and "RoleName" not in role


def test_the_alternate_group_and_the_rule_come_from_the_network_stack() -> None:
    built = _released("canary")
    lb = built.logical_ids["network"]
    assert built.fed_by("service-api-gateway", "ApiGatewayTargetGroup2Arn") == {
        "Fn::GetAtt": [lb, "Outputs.ApiGatewayTargetGroup2Arn"]
    }
    assert built.fed_by("service-api-gateway", "ApiGatewayListenerRuleArn") == {
        "Fn::GetAtt": [lb, "Outputs.ApiGatewayListenerRuleArn"]
    }
