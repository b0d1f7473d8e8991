"""Flow-log stack: every accepted and rejected flow of the VPC, to a log group encrypted with the
platform key. A stack of its own, so that the network waits for no key: nothing waits for this one."""

from __future__ import annotations

from awacs import logs as log_actions
from troposphere import GetAtt, Ref, Sub, Template, ec2, iam, logs

from tap_cfn import naming
from tap_cfn.config import Deployment
from tap_cfn.contract import KMS_KEY_ARN, VPC_ID
from tap_cfn.iam import LOG_GROUPS_HERE, allow, document, service_trust
from tap_cfn.stacks.base import StackBuilder


def build(dep: Deployment) -> Template:
    """The log group, the delivery role (it may write to that group only, for flow logs of this
    account) and the flow log of the VPC."""
    s = StackBuilder(dep, "VPC flow logs to an encrypted log group")
    group = s.stateful(
        logs.LogGroup(
            "FlowLogGroup",
            LogGroupName=s.sub(naming.flow_log_group_text(dep)),
            RetentionInDays=dep.env.log_retention_days,
            KmsKeyId=s.param(KMS_KEY_ARN),
            Tags=s.tags("logs", "flow"),
        )
    )
    role = s.add(
        iam.Role(
            "FlowLogRole",
            Description="Delivers the VPC flow logs to their log group",
            AssumeRolePolicyDocument=service_trust(
                "vpc-flow-logs.amazonaws.com",
                "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*",
            ),
            Policies=[
                iam.Policy(
                    PolicyName="deliver",
                    PolicyDocument=document(
                        allow(
                            [
                                log_actions.CreateLogStream,
                                log_actions.PutLogEvents,
                                log_actions.DescribeLogStreams,
                            ],
                            [GetAtt(group, "Arn")],
                        ),
                        allow([log_actions.DescribeLogGroups], [Sub(LOG_GROUPS_HERE)]),
                    ),
                )
            ],
            Tags=s.tags("flowlogs-role"),
        )
    )
    s.add(
        ec2.FlowLog(
            "FlowLog",
            ResourceId=s.param(VPC_ID),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(role, "Arn"),
            Tags=s.tags("flowlog"),
        )
    )
    return s.template
