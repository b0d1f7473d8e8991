"""The cluster stack (tap_cfn/stacks/cluster.py): capacity providers and Container Insights."""

from __future__ import annotations

from tests.conftest import Built


def test_cluster_capacity_providers_and_container_insights(env_built: Built) -> None:
    cluster = env_built.resource("cluster", "Cluster")["Properties"]
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert sorted(cluster["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["DefaultCapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 4},
    ]
    # nothing of the network: the cluster is created beside it
    fed = env_built.root["Resources"]["ClusterStack"]["Properties"]["Parameters"].values()
    assert not [value for value in fed if "Fn::GetAtt" in value and value["Fn::GetAtt"][0] == "NetworkStack"]
