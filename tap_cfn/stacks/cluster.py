"""Cluster stack: the ECS cluster on FARGATE and FARGATE_SPOT with Container Insights. When a
service enables ECS Exec, the cluster encrypts exec sessions with the platform key and logs them
to an encrypted log group. It takes nothing from the network stack, so it is created beside it
(the Cloud Map namespace, which needs the VPC, is the network stack's)."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, ecs

from tap_cfn.config import Deployment
from tap_cfn.contract import CLUSTER_ARN, CLUSTER_NAME, EXEC_LOG_GROUP_NAME, KMS_KEY_ARN
from tap_cfn.stacks.base import StackBuilder


def capacity_strategy(dep: Deployment) -> list[ecs.CapacityProviderStrategyItem]:
    """FARGATE takes the base; above it tasks split FARGATE : FARGATE_SPOT by weight."""
    cap = dep.env.capacity
    return [
        ecs.CapacityProviderStrategyItem(
            CapacityProvider="FARGATE", Base=cap.fargate_base, Weight=cap.fargate_weight
        ),
        ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE_SPOT", Weight=cap.spot_weight),
    ]


def build(dep: Deployment) -> Template:
    s = StackBuilder(dep, "ECS cluster (Fargate and Fargate Spot)")
    cluster = s.add(
        ecs.Cluster(
            "Cluster",
            ClusterName=s.name("cluster"),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
            CapacityProviders=["FARGATE", "FARGATE_SPOT"],
            DefaultCapacityProviderStrategy=capacity_strategy(dep),
            Tags=s.tags("cluster"),
        )
    )
    if any(svc.exec for svc in dep.services):
        cluster.Configuration = ecs.ClusterConfiguration(
            ExecuteCommandConfiguration=ecs.ExecuteCommandConfiguration(
                KmsKeyId=s.param(KMS_KEY_ARN),
                Logging="OVERRIDE",
                LogConfiguration=ecs.ExecuteCommandLogConfiguration(
                    CloudWatchLogGroupName=s.param(EXEC_LOG_GROUP_NAME),
                    CloudWatchEncryptionEnabled=True,
                ),
            )
        )
    s.output(CLUSTER_NAME, Ref(cluster))
    s.output(CLUSTER_ARN, GetAtt(cluster, "Arn"))
    return s.template
