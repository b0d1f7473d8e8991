"""The flow-log stack (tap_cfn/stacks/flowlogs.py): flow logs of the VPC to an encrypted group, in a
stack nothing waits for."""

from __future__ import annotations

from tests.conftest import Built, statements


def test_vpc_flow_logs_go_to_an_encrypted_group_through_a_role_scoped_to_it(env_built: Built) -> None:
    flow = env_built.resource("flowlogs", "FlowLog")["Properties"]
    assert flow["ResourceId"] == {"Ref": "VpcId"} and flow["ResourceType"] == "VPC"
    assert env_built.fed_by("flowlogs", "VpcId") == {"Fn::GetAtt": ["NetworkStack", "Outputs.VpcId"]}
    assert flow["TrafficType"] == "ALL" and flow["LogDestinationType"] == "cloud-watch-logs"
    assert flow["LogGroupName"] == {"Ref": "FlowLogGroup"}
    assert flow["DeliverLogsPermissionArn"] == {"Fn::GetAtt": ["FlowLogRole", "Arn"]}
    group = env_built.resource("flowlogs", "FlowLogGroup")["Properties"]
    assert group["KmsKeyId"] == {"Ref": "KmsKeyArn"}
    assert env_built.fed_by("flowlogs", "KmsKeyArn") == {"Fn::GetAtt": ["DataStack", "Outputs.KmsKeyArn"]}

    role = env_built.resource("flowlogs", "FlowLogRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["vpc-flow-logs.amazonaws.com"]}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"
        }
    }
    writes = [s for s in statements(role) if "logs:PutLogEvents" in s["Action"]]
    assert [s["Resource"] for s in writes] == [[{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]]


def test_nothing_waits_for_the_flow_logs(env_built: Built) -> None:
    assert "Outputs" not in env_built.stack("flowlogs")
    for logical_id, stack in env_built.root["Resources"].items():
        assert "FlowLogStack" not in str(stack.get("Properties", {})), logical_id
        assert "FlowLogStack" not in stack.get("DependsOn", []), logical_id
